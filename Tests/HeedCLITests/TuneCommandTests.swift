import Foundation
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

/// `heed tune`: progress, the table of winners, the file; and the commands that say
/// which tuning they run with.
final class TuneCommandTests: XCTestCase {
    func testQuickTuneWritesAFileThatBenchThenUses() throws {
        let device = try TestDevices.requireOpenCL()
        guard device.gemmEngine == .packed else { throw XCTSkip("no packed GEMM to tune: this device runs GEMM through CLBlast") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-tune-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fileURL = folder.appendingPathComponent("tuning.json")

        let tune = try runHeed(["tune", "--quick", "--output", fileURL.path])
        XCTAssertEqual(tune.status, 0, tune.standardOutput + tune.standardError)
        XCTAssertTrue(tune.standardOutput.contains("[tile 1/2]"), tune.standardOutput)
        XCTAssertTrue(tune.standardOutput.contains("[kc 1/"), tune.standardOutput)
        XCTAssertTrue(tune.standardOutput.contains("gemm_cpu"), tune.standardOutput)
        XCTAssertTrue(tune.standardOutput.contains("wrote \(fileURL.path)"), tune.standardOutput)
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: fileURL)) as! [String: Any]
        let gemm = (file["families"] as! [String: Any])["gemm_cpu"] as! [String: Any]
        XCTAssertEqual(Set((gemm["knobs"] as! [String: Int]).keys), ["MR", "VW", "NV", "mc", "nc", "kc"])
        XCTAssertTrue(tune.standardOutput.contains("[vector 2/2]"), tune.standardOutput)
        let normalization = (file["families"] as! [String: Any])["normalization"] as! [String: Any]
        XCTAssertEqual(Set((normalization["knobs"] as! [String: Int]).keys), ["BN_WG", "BN_VECTOR"])

        let tuned = try runHeed(["bench", "--quick", "--filter", "gemm 256"], environment: ["HEED_TUNING": fileURL.path])
        XCTAssertEqual(tuned.status, 0, tuned.standardError)
        XCTAssertTrue(tuned.standardOutput.contains("Tuning: heed tune of"), tuned.standardOutput)
        XCTAssertTrue(tuned.standardOutput.contains(fileURL.path), tuned.standardOutput)

        let defaults = try runHeed(["bench", "--quick", "--filter", "gemm 256"], environment: ["HEED_TUNING": "defaults"])
        XCTAssertEqual(defaults.status, 0, defaults.standardError)
        XCTAssertTrue(defaults.standardOutput.contains("Tuning: device defaults"), defaults.standardOutput)

        // A damaged file costs a one-line warning, not the run.
        try Data("{\"format\": 1".utf8).write(to: fileURL)
        let damaged = try runHeed(["bench", "--quick", "--filter", "gemm 256"], environment: ["HEED_TUNING": fileURL.path])
        XCTAssertEqual(damaged.status, 0, damaged.standardError)
        let warnings = damaged.standardError.split(separator: "\n").filter { $0.hasPrefix("warning:") }
        XCTAssertEqual(warnings.count, 1, damaged.standardError)
        XCTAssertTrue(damaged.standardOutput.contains("Tuning: device defaults"), damaged.standardOutput)
    }

    func testUnknownFamilyIsRefused() throws {
        let result = try runHeed(["tune", "--op", "everything"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("unknown kernel family 'everything'"), result.standardError)
    }
}
