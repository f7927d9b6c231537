import Foundation
import HeedKernels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

/// The op table is the one list of ops: every registration elsewhere is checked against it.
final class OpTableTests: XCTestCase {
    func testOpNamesAreUnique() {
        let names = OpTable.all.map(\.name)
        XCTAssertEqual(names.count, Set(names).count, "duplicate op names in \(names)")
    }

    func testEveryOpHasABodyOnBothBackendsAndNoBackendHasMore() {
        let names = Set(OpTable.all.map(\.name))
        XCTAssertEqual(OpenCLBackend.implementationTable.opNames, names)
        XCTAssertEqual(ReferenceBackend.implementationTable.opNames, names)
    }

    /// `heed verify` runs every op and nothing else.
    func testVerificationCoversExactlyTheTable() {
        XCTAssertEqual(Set(VerificationSuite.opNames), Set(OpTable.all.map(\.name)))
    }

    func testEveryNamedKernelExistsInTheKernelSources() throws {
        let sources = try KernelLibrary.families.map { try KernelLibrary.source(of: $0, environment: [:]) }.joined()
        // `__kernel void NAME(`, or with an attribute between (gemm_cpu.cl's reqd_work_group_size).
        let declaration = try Regex(#"__kernel\s+(?:__attribute__\(\(.*?\)\)\s+)?void\s+(\w+)\("#)
        let defined = Set(sources.matches(of: declaration).compactMap { $0.output[1].substring.map(String.init) })
        for op in OpTable.all {
            for kernel in op.kernels {
                XCTAssertTrue(defined.contains(kernel), "\(op.name) names kernel \(kernel), which no .cl file defines")
            }
        }
    }

    /// Package.swift embeds every `.cl` file of Kernels/, and the library serves each (as a
    /// family or a prelude).
    func testEveryKernelFileIsEmbedded() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Kernels")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".cl") }
        XCTAssertEqual(Set(files.map { String($0.dropLast(3)) }), Set(KernelLibrary.families + KernelLibrary.preludes))
    }

    func testABufferOfAnotherBackendIsRefusedNamingTheOpAndBuffer() throws {
        let openCL = try TestDevices.requireOpenCL()
        let d = LinearDescriptor(batch: 1, inFeatures: 2, outFeatures: 1)
        let foreign = try TestDevices.reference.makeBuffer(count: 2, of: Float.self)
        let output = try openCL.makeBuffer(count: 1, of: Float.self)
        assertThrows(try openCL.linearForward(d, input: foreign, weight: foreign, bias: nil, output: output), as: HeedError.self) {
            XCTAssertEqual($0, .foreignBuffer(op: "linear (input)", expected: "OpenCL"))
        }
    }
}
