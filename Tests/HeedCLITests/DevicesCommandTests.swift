import Foundation
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

final class DevicesCommandTests: XCTestCase {
    func testListsDevicesAndMarksTheDefault() throws {
        let openCL = try TestDevices.requireOpenCL()
        let result = try runHeed(["devices"], environment: ["HEED_DEVICE": ""])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("Platform 0:"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains(openCL.device.name), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("compute units"), result.standardOutput)
        // Exactly one device line is marked as the default.
        let marked = result.standardOutput.split(separator: "\n").filter { $0.hasPrefix("  * ") }
        XCTAssertEqual(marked.count, 1, result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("* default device: "), result.standardOutput)
    }

    func testWithoutAnyPlatformSaysSoInOneLineAndFails() throws {
        // An empty vendor folder: the ICD loader then finds no platform at all.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("heed-no-icd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let result = try runHeed(["devices"], environment: ["OCL_ICD_VENDORS": empty.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.standardOutput, "")
        let lines = result.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.standardError)
        XCTAssertTrue(result.standardError.contains("no OpenCL platform found"), result.standardError)
    }

    func testBadDeviceSelectorIsAClearError() throws {
        _ = try TestDevices.requireOpenCL()
        let result = try runHeed(["verify", "--op", "gemm", "--device", "7:3"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("no OpenCL device 7:3"), result.standardError)
        let malformed = try runHeed(["verify", "--device", "first"])
        XCTAssertNotEqual(malformed.status, 0)
        XCTAssertTrue(malformed.standardError.contains("expected P:D"), malformed.standardError)
    }
}
