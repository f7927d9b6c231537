import Foundation
import HeedData
import HeedGraph
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

final class TrainCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        _ = try TestDevices.requireOpenCL()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// Small files in the exact CIFAR binary layouts (from the synthetic set), then a
    /// short `heed train` on each.
    func testTrainsOnCIFARLayoutFiles() throws {
        var configuration = SyntheticFineGrained.Configuration()
        configuration.trainCount = 40
        configuration.testCount = 10
        let (train, test) = SyntheticFineGrained.make(configuration, seed: 2)
        let cifar10 = scratch.appendingPathComponent("cifar10")
        let cifar100 = scratch.appendingPathComponent("cifar100")
        try FileManager.default.createDirectory(at: cifar10, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: cifar100, withIntermediateDirectories: true)
        let trainBytes = CIFAR.encode(train, as: .cifar10)
        for index in 1...5 {
            let share = trainBytes.count / 5
            try Data(trainBytes[(index - 1) * share..<index * share]).write(to: cifar10.appendingPathComponent("data_batch_\(index).bin"))
        }
        try Data(CIFAR.encode(test, as: .cifar10)).write(to: cifar10.appendingPathComponent("test_batch.bin"))
        try Data(CIFAR.encode(train, as: .cifar100)).write(to: cifar100.appendingPathComponent("train.bin"))
        try Data(CIFAR.encode(test, as: .cifar100)).write(to: cifar100.appendingPathComponent("test.bin"))

        let attention = ["--attention-depth", "3", "--attention-width", "4"]
        for (dataset, folder, classes, model) in [
            ("cifar10", cifar10, "10 classes", []), ("cifar100", cifar100, "100 classes", []),
            ("cifar10", cifar10, "10 classes", attention),
        ] {
            let output = scratch.appendingPathComponent("run-\(dataset)-\(model.count)")
            let result = try runHeed(
                [
                    "train", "--dataset", dataset, "--data-dir", folder.path, "--epochs", "1",
                    "--batch-size", "8", "--output", output.path,
                ] + model)
            XCTAssertEqual(result.status, 0, result.standardError)
            XCTAssertTrue(result.standardOutput.contains(classes), result.standardOutput)
            XCTAssertTrue(result.standardOutput.contains("done: 1 epochs, 5 steps"), result.standardOutput)
            XCTAssertTrue(result.standardError.contains("epoch 1/1"), "progress: \(result.standardError)")
            for file in ["model.safetensors", "checkpoint.safetensors", "metrics.jsonl"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), file)
            }
        }
    }

    func testBadDataIsAOneLineErrorNamingTheFile() throws {
        let truncated = scratch.appendingPathComponent("truncated")
        try FileManager.default.createDirectory(at: truncated, withIntermediateDirectories: true)
        for index in 1...5 {
            try Data(repeating: 1, count: 3073).write(to: truncated.appendingPathComponent("data_batch_\(index).bin"))
        }
        try Data(repeating: 1, count: 3000).write(to: truncated.appendingPathComponent("test_batch.bin"))
        let folderMissing = scratch.appendingPathComponent("absent")

        let cases: [([String], String)] = [
            (["train", "--dataset", "cifar10", "--data-dir", truncated.path], "test_batch.bin: truncated or not cifar10"),
            (["train", "--dataset", "cifar10", "--data-dir", folderMissing.path], "absent: no such folder"),
            (["train", "--dataset", "folder", "--data-dir", folderMissing.path], "absent/train: no such folder"),
            (["train", "--dataset", "cifar10"], "--dataset cifar10 needs --data-dir"),
            (["train", "--epochs", "0"], "--epochs must be at least 1"),
            (["train", "--schedule", "sometimes"], "unknown learning-rate schedule 'sometimes'"),
            (["train", "--no-such-option"], "Unknown option '--no-such-option'"),
        ]
        for (arguments, message) in cases {
            let result = try runHeed(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }
    }

    func testPredictReproducesPyTorchAndRefusesCorruptWeights() throws {
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models")
        let output = scratch.appendingPathComponent("out.safetensors")
        let result = try runHeed([
            "predict", "--weights", models.appendingPathComponent("wrn_baseline.safetensors").path,
            "--input", models.appendingPathComponent("wrn_baseline_io.safetensors").path,
            "--output", output.path, "--depth", "10", "--width", "2", "--classes", "5",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let predicted = try XCTUnwrap(SafeTensors.read(from: output).tensors["log_probs"])
        let expected = try XCTUnwrap(
            SafeTensors.read(from: models.appendingPathComponent("wrn_baseline_io.safetensors")).tensors["log_probs"])
        XCTAssertEqual(predicted.shape, expected.shape)
        for (a, e) in zip(predicted.floats(), expected.floats()) { XCTAssertEqual(a, e, accuracy: 1e-4) }

        let corrupt = scratch.appendingPathComponent("corrupt.safetensors")
        let good = try Data(contentsOf: models.appendingPathComponent("wrn_baseline.safetensors"))
        try good.prefix(good.count / 2).write(to: corrupt)
        let refused = try runHeed([
            "predict", "--weights", corrupt.path, "--input", corrupt.path, "--output", output.path,
            "--classes", "5",
        ])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.standardError.contains("corrupt.safetensors: "), refused.standardError)
        XCTAssertTrue(refused.standardError.contains("truncated"), refused.standardError)
        XCTAssertEqual(refused.standardError.split(separator: "\n").count, 1, refused.standardError)

        let contradicting = try runHeed([
            "predict", "--weights", models.appendingPathComponent("wrn_baseline.safetensors").path,
            "--input", models.appendingPathComponent("wrn_baseline_io.safetensors").path,
            "--output", output.path, "--depth", "16", "--width", "2", "--classes", "5",
        ])
        XCTAssertNotEqual(contradicting.status, 0)
        XCTAssertTrue(
            contradicting.standardError.contains("wrn_baseline.safetensors: --depth 16 contradicts the checkpoint's depth 10"),
            contradicting.standardError)
    }
}
