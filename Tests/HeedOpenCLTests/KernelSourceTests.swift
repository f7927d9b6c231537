import Foundation
import HeedKernels
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

final class KernelSourceTests: XCTestCase {
    func testSharedFunctionsAreDefinedOnceInTheirPrelude() throws {
        let functions = [
            "columns": ["int first_column_at_least("],
            "reductions": ["float group_sum(", "float group_max("],
        ]
        XCTAssertEqual(KernelLibrary.preludes.sorted(), functions.keys.sorted())
        for (name, defined) in functions {
            XCTAssertFalse(KernelLibrary.families.contains(name))
            let prelude = try KernelLibrary.source(of: name, directory: nil)
            for function in defined {
                XCTAssertTrue(prelude.contains(function), function)
                for family in KernelLibrary.families {
                    XCTAssertFalse(
                        try KernelLibrary.source(of: family, directory: nil).contains(function), "\(function) in \(family)")
                }
            }
        }
    }

    func testAProgramIsItsPreludesThenItsFamily() throws {
        let softmax = try KernelLibrary.programSource(of: "softmax", directory: nil)
        let expected =
            try "#line 1 \"reductions.cl\"\n" + KernelLibrary.source(of: "reductions", directory: nil)
            + "\n#line 1 \"softmax.cl\"\n" + KernelLibrary.source(of: "softmax", directory: nil)
        XCTAssertEqual(softmax, expected)
        // A family without preludes is its file, unchanged (so its cached binaries stay valid).
        XCTAssertEqual(
            try KernelLibrary.programSource(of: "blas", directory: nil),
            try KernelLibrary.source(of: "blas", directory: nil))
        assertThrows(try KernelLibrary.programSource(of: "reductions", directory: nil), as: KernelLibraryError.self)
    }

    /// With `HEED_KERNEL_DIR`, the prelude is read from that folder too, and the compiler's
    /// messages still give the line in the family's own file.
    func testBuildErrorsAfterAPreludeNameTheFamilysFileAndLine() throws {
        let shared = try TestDevices.requireOpenCL()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-prelude-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try KernelLibrary.source(of: "reductions", directory: nil)
            .write(to: folder.appendingPathComponent("reductions.cl"), atomically: true, encoding: .utf8)
        try """
        __kernel void softmax_forward(__global float* x) {
            x[0] = group_sum(0, x[0], undeclared_value);
        }
        """.write(to: folder.appendingPathComponent("softmax.cl"), atomically: true, encoding: .utf8)
        let backend = try OpenCLBackend(
            device: shared.device, diskCache: false,
            settings: OpenCLSettings(environment: ["HEED_KERNEL_DIR": folder.path]))
        assertThrows(try backend.prepare(family: "softmax"), as: ProgramBuildError.self) { error in
            XCTAssertTrue(error.log.contains("undeclared_value"), error.log)
            XCTAssertTrue(error.log.contains("softmax.cl:2:"), error.log)
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("reductions.cl"))
        let fresh = try OpenCLBackend(
            device: shared.device, diskCache: false,
            settings: OpenCLSettings(environment: ["HEED_KERNEL_DIR": folder.path]))
        assertThrows(try fresh.prepare(family: "softmax"), as: KernelLibraryError.self) {
            XCTAssertTrue($0.description.contains("reductions.cl"), $0.description)
        }
    }

    func testSettingsKeepTheVariablesHeedReadsAndReachTheBackend() throws {
        let settings = OpenCLSettings(environment: ["HEED_GEMM": "clblast", "HEED_CACHE_DIR": "/tmp/h", "PATH": "/bin"])
        XCTAssertEqual(settings.environment, ["HEED_GEMM": "clblast", "HEED_CACHE_DIR": "/tmp/h"])
        let device = try TestDevices.requireOpenCL().device
        let backend = try OpenCLBackend(device: device, settings: settings)
        XCTAssertEqual(backend.gemmEngine, .clblast)
        XCTAssertEqual(backend.programCacheDirectory?.path, "/tmp/h/programs")
        XCTAssertEqual(
            try OpenCLBackend(device: device, settings: OpenCLSettings(environment: [:])).gemmEngine,
            device.kind == .cpu ? .packed : .clblast)
    }
}
