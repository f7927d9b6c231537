import Foundation
import HeedData
import HeedGraph
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

final class AttentionCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        _ = try TestDevices.requireOpenCL()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-attention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    private let small = ["--synthetic-train", "60", "--synthetic-test", "20", "--batch-size", "10"]

    /// Train (synthetic and CIFAR layout), then evaluate, predict and draw from the checkpoint.
    func testTrainEvaluatePredictAndDrawAnAttentionNetwork() throws {
        let run = scratch.appendingPathComponent("run")
        let trained = try runHeed(
            [
                "train", "--epochs", "1", "--attention-depth", "3", "--attention-width", "2",
                "--attention-gate", "sigmoid", "--output", run.path,
            ] + small)
        XCTAssertEqual(trained.status, 0, trained.standardError)
        XCTAssertTrue(trained.standardOutput.contains("+ attention (AD 3, AW 2, sigmoid gate)"), trained.standardOutput)
        let weights = run.appendingPathComponent("model.safetensors").path

        let evaluated = try runHeed(["evaluate", "--checkpoint", weights] + small)
        XCTAssertEqual(evaluated.status, 0, evaluated.standardError)
        for part in [
            "network output (gated mixture)", "att2 alone", "att1 alone", "att0 alone", "classifier alone",
            "early exit (att1, att0)", "mean output-gate weight", "mean attention gates of att0", "early exit skips",
        ] {
            XCTAssertTrue(evaluated.standardOutput.contains(part), "\(part): \(evaluated.standardOutput)")
        }

        let maps = scratch.appendingPathComponent("maps")
        let drawn = try runHeed(["attention-maps", "--checkpoint", weights, "--indices", "0", "7", "--out", maps.path] + small)
        XCTAssertEqual(drawn.status, 0, drawn.standardError)
        for name in ["image_0.png", "image_7.png", "image_7_att0_head2.png", "image_7_att2_head1.png"] {
            XCTAssertNoThrow(try RGBImage.read(from: maps.appendingPathComponent(name)), name)
        }
        let overlay = try RGBImage.read(from: maps.appendingPathComponent("image_7_att1_head1.png"))
        XCTAssertEqual([overlay.width, overlay.height], [32, 32])

        // predict with flags that agree with the checkpoint.
        var configuration = SyntheticFineGrained.Configuration()
        configuration.trainCount = 10
        configuration.testCount = 3
        let images = SyntheticFineGrained.make(configuration, seed: 4).test
        let input = scratch.appendingPathComponent("input.safetensors")
        try SafeTensors(tensors: ["input": .init(shape: [3, 3, 32, 32], floats: images.pixels.map { Float($0) / 255 })]).write(to: input)
        let output = scratch.appendingPathComponent("out.safetensors")
        let predicted = try runHeed([
            "predict", "--weights", weights, "--input", input.path, "--output", output.path,
            "--classes", "10", "--attention-depth", "3", "--attention-width", "2", "--attention-gate", "sigmoid",
        ])
        XCTAssertEqual(predicted.status, 0, predicted.standardError)
        XCTAssertEqual(try SafeTensors.read(from: output).tensors["log_probs"]?.shape, [3, 10])
    }

    /// `--coarse2fine` trains on the synthetic set and on CIFAR-layout files, and its
    /// checkpoints work with evaluate, predict and attention-maps.
    func testCoarse2FineTrainsAndItsCheckpointsWork() throws {
        let run = scratch.appendingPathComponent("c2f")
        let trained = try runHeed(
            [
                "train", "--coarse2fine", "--attention-width", "2", "--c2f-start-epoch", "0", "--epochs", "1",
                "--output", run.path,
            ] + small)
        XCTAssertEqual(trained.status, 0, trained.standardError)
        XCTAssertTrue(trained.standardOutput.contains("+ attention (AD 3, AW 2, softmax gate) + Coarse2Fine"), trained.standardOutput)
        let weights = run.appendingPathComponent("model.safetensors")
        XCTAssertNotNil(try SafeTensors.read(from: weights).tensors["inverse_mapping.weight"])

        let evaluated = try runHeed(["evaluate", "--checkpoint", weights.path] + small)
        XCTAssertEqual(evaluated.status, 0, evaluated.standardError)
        XCTAssertTrue(evaluated.standardOutput.contains("Coarse2Fine"), evaluated.standardOutput)

        let maps = scratch.appendingPathComponent("maps")
        XCTAssertEqual(
            try runHeed(["attention-maps", "--checkpoint", weights.path, "--indices", "2", "--out", maps.path] + small).status, 0)
        XCTAssertNoThrow(try RGBImage.read(from: maps.appendingPathComponent("image_2.png")))

        let input = scratch.appendingPathComponent("input.safetensors")
        try SafeTensors(tensors: ["input": .init(shape: [2, 3, 32, 32], floats: (0..<(2 * 3 * 32 * 32)).map { Float($0 % 7) / 7 })]).write(
            to: input)
        let output = scratch.appendingPathComponent("out.safetensors")
        let predicted = try runHeed(["predict", "--checkpoint", weights.path, "--input", input.path, "--output", output.path])
        XCTAssertEqual(predicted.status, 0, predicted.standardError)
        XCTAssertEqual(try SafeTensors.read(from: output).tensors["log_probs"]?.shape, [2, 10])

        // CIFAR layout.
        var configuration = SyntheticFineGrained.Configuration()
        configuration.trainCount = 20
        configuration.testCount = 10
        let (train, test) = SyntheticFineGrained.make(configuration, seed: 3)
        let cifar = scratch.appendingPathComponent("cifar100")
        try FileManager.default.createDirectory(at: cifar, withIntermediateDirectories: true)
        try Data(CIFAR.encode(train, as: .cifar100)).write(to: cifar.appendingPathComponent("train.bin"))
        try Data(CIFAR.encode(test, as: .cifar100)).write(to: cifar.appendingPathComponent("test.bin"))
        let onCIFAR = try runHeed([
            "train", "--coarse2fine", "--attention-width", "2", "--c2f-start-epoch", "0", "--epochs", "1",
            "--dataset", "cifar100", "--data-dir", cifar.path, "--batch-size", "10",
            "--output", scratch.appendingPathComponent("c2f-cifar").path,
        ])
        XCTAssertEqual(onCIFAR.status, 0, onCIFAR.standardError)
        XCTAssertTrue(onCIFAR.standardOutput.contains("100 classes"), onCIFAR.standardOutput)
    }

    /// `heed predict` on weights saved by PyTorch for the attention network (every attention
    /// depth 1–3, every width 1–4, both gates) reproduces PyTorch's output within 1e-4.
    func testPredictReproducesPyTorchAttentionNetworks() throws {
        let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models")
        for (depth, width) in [(1, 4), (2, 1), (3, 2), (3, 3), (3, 4)] {
            for gate in ["softmax", "sigmoid"] {
                let io = models.appendingPathComponent("attention_ad\(depth)_aw\(width)_eval_\(gate)_io.safetensors")
                let output = scratch.appendingPathComponent("ad\(depth)-aw\(width)-\(gate).safetensors")
                let result = try runHeed([
                    "predict", "--weights", models.appendingPathComponent("attention_ad\(depth)_aw\(width).safetensors").path,
                    "--input", io.path, "--output", output.path, "--depth", "10", "--width", "1", "--classes", "3",
                    "--attention-depth", "\(depth)", "--attention-width", "\(width)", "--attention-gate", gate,
                ])
                XCTAssertEqual(result.status, 0, result.standardError)
                let predicted = try XCTUnwrap(SafeTensors.read(from: output).tensors["log_probs"]).floats()
                let expected = try XCTUnwrap(SafeTensors.read(from: io).tensors["log_probs"]).floats()
                XCTAssertEqual(predicted.count, expected.count)
                for (a, e) in zip(predicted, expected) { XCTAssertEqual(a, e, accuracy: 1e-4, "AD \(depth) AW \(width) \(gate)") }
            }
        }
    }

    func testBaselineCheckpointsHaveNoAttentionMaps() throws {
        let run = scratch.appendingPathComponent("baseline")
        XCTAssertEqual(try runHeed(["train", "--epochs", "1", "--output", run.path] + small).status, 0)
        let result = try runHeed(
            [
                "attention-maps", "--checkpoint", run.appendingPathComponent("model.safetensors").path,
                "--indices", "0", "--out", scratch.appendingPathComponent("maps").path,
            ] + small)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("has no attention maps"), result.standardError)
    }
}
