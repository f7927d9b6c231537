import Foundation
import HeedSupport
import HeedTraining
import XCTest

final class MetricsLogTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func record(_ epoch: Int, loss: Double = 1.5) -> EpochMetrics {
        EpochMetrics(
            epoch: epoch, learningRate: 0.1, trainLoss: loss, trainAccuracy: 0.5, testLoss: 2, testAccuracy: 0.25, seconds: 3,
            imagesPerSecond: 4)
    }

    func testNonFiniteNumbersAreWrittenAsNull() throws {
        let log = MetricsLog(url: scratch.appendingPathComponent("metrics.jsonl"))
        var diverged = record(1, loss: .nan)
        diverged.learningRate = .infinity
        diverged.testLoss = -.infinity
        try log.append(diverged)
        let line = try String(contentsOf: log.url, encoding: .utf8)
        XCTAssertEqual(
            line,
            #"{"epoch":1,"images_per_second":4,"lr":null,"seconds":3,"test_accuracy":0.25,"test_loss":null,"train_accuracy":0.5,"train_loss":null}"#
                + "\n")
        let read = try XCTUnwrap(log.read().first)
        XCTAssertTrue(read.trainLoss.isNaN && read.learningRate.isNaN && read.testLoss.isNaN)
        XCTAssertEqual(read.testAccuracy, 0.25)
    }

    /// A run killed while appending leaves part of a line: resuming drops it and goes on.
    func testADamagedLastLineIsDroppedAndAppendingGoesOn() throws {
        let log = MetricsLog(url: scratch.appendingPathComponent("metrics.jsonl"))
        try log.append(record(1))
        XCTAssertNil(try log.dropDamagedLastLine())
        let partial = #"{"epoch":2,"images_per"#
        let handle = try FileHandle(forWritingTo: log.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(partial.utf8))
        try handle.close()
        XCTAssertThrowsError(try log.read()) {
            XCTAssertEqual($0 as? FileError, FileError(path: log.url.path, problem: "line 2 is not a metrics record"))
        }

        XCTAssertEqual(try log.dropDamagedLastLine(), partial.utf8.count)
        try log.append(record(2))
        XCTAssertEqual(try log.read(), [record(1), record(2)])
    }
}
