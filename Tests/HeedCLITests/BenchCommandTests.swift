import Foundation
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

/// `heed bench`: the CI smoke test (`--quick` runs every case once) and its errors.
final class BenchCommandTests: XCTestCase {
    /// Every case of benchmarks/suites.json that --quick keeps runs, appears in the table
    /// and in the JSON with sane times, rates, ceilings and (for networks) memory.
    func testQuickRunCoversEveryCaseAndWritesTheJSON() throws {
        _ = try TestDevices.requireOpenCL()
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let jsonURL = folder.appendingPathComponent("bench.json")
        let result = try runHeed(["bench", "--quick", "--json", jsonURL.path])
        XCTAssertEqual(result.status, 0, result.standardOutput + result.standardError)

        let suites = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.suitesURL)) as! [String: Any]
        let cases = (suites["kernels"] as! [[String: Any]]) + (suites["train"] as! [[String: Any]])
        let expected =
            cases
            .filter { $0["quick"] as? Bool != false }.map { $0["id"] as! String }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: jsonURL)) as! [String: Any]
        XCTAssertEqual(report["tool"] as? String, "heed")
        XCTAssertEqual(report["quick"] as? Bool, true)
        let ceilings = report["ceilings"] as! [String: Any]
        XCTAssertGreaterThan(ceilings["copy_gbs"] as! Double, 0)
        XCTAssertGreaterThan(ceilings["gemm_gflops"] as! Double, 0)

        let rows = report["rows"] as! [[String: Any]]
        XCTAssertEqual(rows.map { $0["id"] as! String }, expected)
        for row in rows {
            let id = row["id"] as! String
            let (median, low, high) = (row["median_ms"] as! Double, row["min_ms"] as! Double, row["max_ms"] as! Double)
            XCTAssertTrue(median > 0 && low <= median && median <= high, "\(id): \(low) \(median) \(high)")
            XCTAssertGreaterThan(row["flops"] as! Int, 0, id)
            XCTAssertGreaterThan(row["fraction"] as! Double, 0, id)
            XCTAssertTrue(["compute", "memory"].contains(row["bound"] as! String), id)
            XCTAssertTrue(result.standardOutput.contains(id), "\(id) missing from the table")
            if row["suite"] as? String == "train" {
                XCTAssertGreaterThan(row["images_per_s"] as! Double, 0, id)
                // peak_bytes is the reserved peak, which holds the in-use one.
                let (reserved, inUse) = (row["peak_bytes"] as! Int, row["peak_in_use_bytes"] as! Int)
                XCTAssertTrue(0 < inUse && inUse <= reserved, "\(id): \(inUse) in use, \(reserved) reserved")
                XCTAssertGreaterThanOrEqual(row["driver_allocations_per_step"] as! Double, 0, id)
                XCTAssertGreaterThan(row["pool_hits_per_step"] as! Double, 0, id)
            }
        }
        XCTAssertTrue(result.standardOutput.contains("Ceilings (same run): copy"), result.standardOutput)
        XCTAssertTrue(result.standardError.contains("[1/\(expected.count)] \(expected[0])"), result.standardError)
    }

    func testUnknownSuiteAndAFilterMatchingNothingAreRefused() throws {
        let suite = try runHeed(["bench", "--suite", "everything"])
        XCTAssertNotEqual(suite.status, 0)
        XCTAssertTrue(suite.standardError.contains("everything"), suite.standardError)

        _ = try TestDevices.requireOpenCL()
        let filter = try runHeed(["bench", "--filter", "no-such-case"])
        XCTAssertNotEqual(filter.status, 0)
        XCTAssertTrue(
            filter.standardError.contains("no benchmark cases to run: suite 'all' with filter 'no-such-case' matches none"),
            filter.standardError)
    }

    func testBrokenSuitesFileIsNamed() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("suites.json")
        try Data("{\"settings\": ".utf8).write(to: broken)
        let result = try runHeed(["bench", "--suites", broken.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("invalid benchmark suites in \(broken.path)"), result.standardError)
    }

    /// A JSON path that cannot be written (its folder is a file) fails the command after
    /// the table, naming the path.
    func testUnwritableJSONPathFails() throws {
        _ = try TestDevices.requireOpenCL()
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("not-a-folder")
        try Data().write(to: file)
        let target = file.appendingPathComponent("bench.json").path
        let result = try runHeed(["bench", "--quick", "--filter", "gemm 256", "--json", target])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardOutput.contains("gemm 256"), result.standardOutput)
        XCTAssertTrue(result.standardError.contains(file.path), result.standardError)
    }

    private static let suitesURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../benchmarks/suites.json").standardized

    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}
