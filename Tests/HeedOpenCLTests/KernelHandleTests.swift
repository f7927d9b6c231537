import Foundation
import HeedKernels
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

final class KernelHandleTests: XCTestCase {
    /// `scale_matrix` arguments scaling `c` (one row of `count` floats) by `beta`.
    private static func scale(_ c: any DeviceBuffer, count: Int, by beta: Float) -> [KernelArgument] {
        [.buffer(c), .int(0), .int(Int32(count)), .int(0), .int(1), .int(Int32(count)), .float(beta)]
    }

    func testAKernelIsResolvedOnceAndFoundByFamilyDefinesAndName() throws {
        let backend = try TestDevices.requireOpenCL()
        let first = try backend.kernel(family: "blas", kernel: "scale_matrix")
        let before = backend.programStatistics
        XCTAssertTrue(try backend.kernel(family: "blas", kernel: "scale_matrix") === first)
        let c = try backend.makeBuffer([Float](repeating: 1, count: 5))
        try backend.launch(family: "blas", kernel: "scale_matrix", global: [5, 1, 1], arguments: Self.scale(c, count: 5, by: 3))
        try backend.launch(first, global: [5, 1, 1], arguments: Self.scale(c, count: 5, by: 2))
        XCTAssertEqual(try backend.read(c, as: Float.self), Array(repeating: 6, count: 5))
        // One lookup and two launches, each finding its program in memory, as before handles.
        XCTAssertEqual(
            backend.programStatistics,
            ProgramCacheStatistics(
                compiledFromSource: before.compiledFromSource, loadedFromDisk: before.loadedFromDisk,
                memoryHits: before.memoryHits + 3))
        // Other defines are another program, so another kernel object.
        XCTAssertFalse(try backend.kernel(family: "blas", kernel: "scale_matrix", defines: ["UNUSED": "1"]) === first)
    }

    func testUnknownKernelsAndFamiliesAreErrorsEveryTime() throws {
        let backend = try TestDevices.requireOpenCL()
        for _ in 0..<2 {
            assertThrows(
                try backend.launch(family: "blas", kernel: "no_such_kernel", global: [1], arguments: []),
                as: OpenCLError.self
            ) { XCTAssertEqual($0.statusName, "CL_INVALID_KERNEL_NAME") }
            assertThrows(try backend.kernel(family: "no_such_family", kernel: "k"), as: KernelLibraryError.self)
        }
    }

    /// Kernel arguments are state of the shared `cl_kernel`: launches from several threads,
    /// each scaling its own buffer, must not set arguments into each other's launches.
    func testConcurrentLaunchesKeepTheirOwnArguments() throws {
        let backend = try TestDevices.requireOpenCL()
        let handle = try backend.kernel(family: "blas", kernel: "scale_matrix")
        let (threads, launches, count) = (8, 48, 257)
        let buffers = try (0..<threads).map { t in try backend.makeBuffer([Float](repeating: Float(t + 1), count: count)) }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            do {
                for launch in 0..<launches {
                    let arguments = Self.scale(buffers[t], count: count, by: 2)
                    if launch.isMultiple(of: 2) {
                        try backend.launch(handle, global: [count, 1, 1], local: [16, 1, 1], arguments: arguments)
                    } else {
                        try backend.launch(family: "blas", kernel: "scale_matrix", global: [count, 1, 1], arguments: arguments)
                    }
                }
            } catch {
                failures.add("thread \(t): \(error)")
            }
        }
        XCTAssertEqual(failures.list, [])
        for t in 0..<threads {
            let expected = Float(t + 1) * Float(sign: .plus, exponent: launches, significand: 1)
            XCTAssertEqual(Set(try backend.read(buffers[t], as: Float.self)), [expected], "thread \(t)")
        }
    }

    func testAHandleRunsOnlyOnTheBackendThatMadeIt() throws {
        let shared = try TestDevices.requireOpenCL()
        let handle = try shared.kernel(family: "blas", kernel: "scale_matrix")
        let other = try OpenCLBackend(device: shared.device, diskCache: false)
        let c = try other.makeBuffer([Float](repeating: 1, count: 3))
        assertThrows(try other.launch(handle, global: [3, 1, 1], arguments: Self.scale(c, count: 3, by: 2)), as: HeedError.self) {
            XCTAssertEqual($0, .invalidArgument(op: "scale_matrix", "the kernel handle belongs to another backend"))
        }
    }
}

/// What the threads of a test report, collected under a lock.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []

    var list: [String] { lock.withLock { messages } }

    func add(_ message: String) {
        lock.withLock { messages.append(message) }
    }
}
