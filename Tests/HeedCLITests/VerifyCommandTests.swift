import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

final class VerifyCommandTests: XCTestCase {
    func testVerifiesGemmAndPrintsTheTable() throws {
        _ = try TestDevices.requireOpenCL()
        let result = try runHeed(["verify", "--op", "gemm"])
        XCTAssertEqual(result.status, 0, result.standardOutput + result.standardError)
        let output = result.standardOutput
        for column in ["op", "shape", "max abs err", "max rel err", "tolerance", "result"] {
            XCTAssertTrue(output.contains(column), output)
        }
        XCTAssertTrue(output.contains("1025×7×129 Aᵀ·Bᵀ"), output)
        XCTAssertTrue(output.contains(" 0 failed"), output)
        XCTAssertFalse(output.contains("FAIL"), output)
    }

    func testUnknownOpIsRefused() throws {
        let result = try runHeed(["verify", "--op", "no_such_op"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("unknown op 'no_such_op'"), result.standardError)
    }

    func testBrokenKernelSourceFailsVerificationWithTheCompilersMessage() throws {
        _ = try TestDevices.requireOpenCL()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-broken-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
        __kernel void scale_matrix(__global float* c) {
            c[get_global_id(0)] = undeclared_value;
        }
        """.write(to: folder.appendingPathComponent("blas.cl"), atomically: true, encoding: .utf8)
        let result = try runHeed(["verify", "--op", "gemm"], environment: ["HEED_KERNEL_DIR": folder.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardOutput.contains("OpenCL program 'blas' failed to build"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains(":2:"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("undeclared_value"), result.standardOutput)
    }
}
