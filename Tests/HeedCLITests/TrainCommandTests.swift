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
            (["train", "--epochs", "0"], "--epochs must be 1...1000000, not 0"),
            (["train", "--schedule", "sometimes"], "unknown learning-rate schedule 'sometimes'"),
            (["train", "--no-such-option"], "Unknown option '--no-such-option'"),
        ]
        for (arguments, message) in cases {
            let result = try runHeed(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }
    }

    /// A tiny synthetic run: 4 steps of 4 images per epoch.
    private let tiny = [
        "train", "--synthetic-train", "16", "--synthetic-test", "4", "--synthetic-classes", "2", "--batch-size", "4", "--quiet",
    ]

    func testBadNumericOptionsAreOneLineErrorsNamingTheOption() throws {
        let cases: [([String], String)] = [
            (["--lr", "inf"], "--lr must be a finite number above 0, not inf"),
            (["--lr", "nan"], "--lr must be a finite number above 0, not nan"),
            (["--weight-decay", "inf"], "--weight-decay must be a finite number, 0 or more, not inf"),
            (["--momentum", "nan"], "--momentum must be in [0, 1), not nan"),
            (["--schedule", "multistep:1:inf"], "--schedule multistep:1:inf: the factor must be a finite number above 0"),
            (
                ["--schedule", "multistep:1,2:1e31", "--lr", "1"],
                "--schedule multistep:1,2:1e31 with --lr 1.0 gives learning rate inf at epoch 3"
            ),
            (["--schedule", "multistep:0:0.5"], "--schedule multistep:0:0.5: milestones must be epochs 1 or more"),
            (["--batch-size", "9223372036854775807"], "--batch-size must be 2...65536, not 9223372036854775807"),
            (["--image-size", "3037000500"], "--image-size must be 8...4096, not 3037000500"),
            (["--epochs", "9223372036854775807"], "--epochs must be 1...1000000, not 9223372036854775807"),
            (["--synthetic-train", "9223372036854775807"], "--synthetic-train must be 10...1000000, not 9223372036854775807"),
            (["--checkpoint-every=-1"], "--checkpoint-every must be 0...2147483647, not -1"),
            (["--reg-weight", "inf"], "--reg-weight must be a finite number, 0 or more, not inf"),
            (["--dropout", "nan"], "--dropout must be in [0, 1), not nan"),
        ]
        for (arguments, message) in cases {
            let result = try runHeed(["train"] + arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertEqual(result.standardError, "Error: \(message)\n", arguments.joined(separator: " "))
        }
    }

    /// `--lr 1e30` blows the weights up within a few steps: the run stops with one line
    /// naming the step, and the checkpoint left behind is whole and finite.
    func testADivergingRunStopsAndKeepsTheLastGoodCheckpoint() throws {
        let output = scratch.appendingPathComponent("diverge")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let orphan = output.appendingPathComponent(".checkpoint.safetensors.tmp-2147483646-1")
        try Data([1, 2, 3]).write(to: orphan)
        let result = try runHeed(tiny + ["--lr", "1e30", "--checkpoint-every", "1", "--output", output.path])
        XCTAssertNotEqual(result.status, 0)
        let checkpoint = output.appendingPathComponent("checkpoint.safetensors")
        let line = try XCTUnwrap(
            result.standardError.wholeMatch(
                of: /Error: training diverged at epoch 1, step (\d+) \(loss (nan|inf|-inf)\); the last good checkpoint is (.*)\n/),
            result.standardError)
        XCTAssertEqual(String(line.3), checkpoint.path)
        let file = try SafeTensors.read(from: checkpoint)
        XCTAssertEqual(file.metadata["heed.step"], String(Int(line.1)! - 1))
        for (name, entry) in file.tensors where entry.dtype == .f32 {
            XCTAssertTrue(entry.floats().allSatisfy(\.isFinite), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: orphan.path), "the killed run's temporary file stays")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.appendingPathComponent("model.safetensors").path))
    }

    func testAResumeDropsADamagedLastMetricsLine() throws {
        let output = scratch.appendingPathComponent("resume")
        let first = try runHeed(tiny + ["--epochs", "2", "--stop-after-step", "6", "--output", output.path])
        XCTAssertEqual(first.status, 0, first.standardError)
        // The stopped run finished its first epoch: its curves are drawn already.
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("curves.png").path))
        let metrics = output.appendingPathComponent("metrics.jsonl")
        let handle = try FileHandle(forWritingTo: metrics)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"epoch":2,"lr""#.utf8))
        try handle.close()
        let resumed = try runHeed(tiny + ["--epochs", "2", "--resume", "--output", output.path])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertEqual(
            resumed.standardError, "\(metrics.path): removed a damaged last line (15 bytes, from an interrupted run)\n")
        XCTAssertTrue(resumed.standardOutput.contains("done: 2 epochs, 8 steps"), resumed.standardOutput)
        let lines = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
    }

    func testAnUnwritableOutputIsAOneLineErrorNamingIt() throws {
        let file = scratch.appendingPathComponent("a-file")
        try Data().write(to: file)
        let result = try runHeed(tiny + ["--epochs", "1", "--output", file.appendingPathComponent("run").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(
            result.standardError, "Error: \(file.appendingPathComponent("run").path): cannot create the output folder: Not a directory\n")
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
