import Foundation
import HeedData
import HeedGraph
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

/// `heed train --pretrained`: what it loads and initialises, what it refuses, the frozen batch
/// norms, ImageNet's normalisation, and --resume of a fine-tuning run.
final class FineTuneCommandTests: XCTestCase {
    private var scratch: URL!
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    override func setUpWithError() throws {
        _ = try TestDevices.requireOpenCL()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-finetune-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// 40 synthetic images in batches of 10: 4 steps an epoch. The fixture's BN statistics are
    /// random, not the synthetic images': frozen, at the default --lr 0.1 they diverge; 0.01 trains.
    private func tiny(classes: Int) -> [String] {
        [
            "train", "--epochs", "1", "--lr", "0.01", "--synthetic-train", "40", "--synthetic-test", "12", "--batch-size", "10",
            "--synthetic-classes", "\(classes)",
        ]
    }

    /// The PyTorch fixture of docs/design.md §4 (WRN-10-1, AD 1, AW 4, 3 classes; BN statistics
    /// random, num_batches_tracked 7), in the authors' form: with its diag buffer.
    private func pretrainedAttention() throws -> URL {
        var file = try SafeTensors.read(from: fixtures.appendingPathComponent("attention_ad1_aw4.safetensors"))
        file.tensors["att2.att_head.diag"] = .init(shape: [1, 4, 4], floats: (0..<16).map { $0 / 4 == $0 % 4 ? 0 : 1 })
        let url = scratch.appendingPathComponent("pretrained.safetensors")
        try file.write(to: url)
        return url
    }

    private let attention14 = ["--attention-depth", "1", "--attention-width", "4"]

    /// A baseline WRN-10-1 for 10 classes fine-tuned as an attention network for 5: the trunk's
    /// tensors load; the attention stem's bn0, the final bn_g2 (the baseline calls it bn), the
    /// module and the gate are initialised; the classifier is re-initialised; bn is ignored.
    func testABaselineFineTunesIntoAnAttentionNetworkForOtherClasses() throws {
        let baseline = scratch.appendingPathComponent("baseline")
        let trained = try runHeed(tiny(classes: 10) + ["--quiet", "--output", baseline.path])
        XCTAssertEqual(trained.status, 0, trained.standardError)
        let result = try runHeed(
            tiny(classes: 5) + [
                "--pretrained", baseline.appendingPathComponent("model.safetensors").path, "--attention-depth", "1",
                "--attention-width", "2", "--quiet", "--output", scratch.appendingPathComponent("tuned").path,
            ])
        XCTAssertEqual(result.status, 0, result.standardError)
        // conv0 1; group_0.block_0: bn0 and bn1 (weight, bias, running_mean, running_var,
        // num_batches_tracked) and conv0, conv1: 12; group_1 and group_2 also conv_reduce: 13.
        let lines = [
            "pretrained: 39 tensors loaded, 21 initialised, 5 in the file ignored; backbone lr x 1.0, the pretrained file's normalisation",
            "  loaded: conv0 (1), group_0 (12), group_1 (13), group_2 (13)",
            "  initialised: bn0 (5), bn_g2 (5), att2 (3), output_gate (6)",
            "  re-initialised (another class count): classifier.weight [10, 64] in the file, [5, 64] in the model",
            "  re-initialised (another class count): classifier.bias [10] in the file, [5] in the model",
            "  ignored: bn (5)",
        ]
        for line in lines { XCTAssertTrue(result.standardOutput.contains(line + "\n"), "\(line)\n\(result.standardOutput)") }
        // A Heed file records its normalisation (the synthetic set's, measured): the fine-tuned run keeps it.
        let recorded = try DataMetadata.normalization(
            in: SafeTensors.read(from: baseline.appendingPathComponent("model.safetensors")).metadata)
        let tuned = try DataMetadata.normalization(
            in: SafeTensors.read(from: scratch.appendingPathComponent("tuned").appendingPathComponent("model.safetensors")).metadata)
        XCTAssertEqual(tuned, try XCTUnwrap(recorded))
    }

    /// --freeze-bn keeps every loaded BN's running statistics and counter as the file has them
    /// (without it, one epoch changes them); the diag buffer comes back in the weights; the
    /// evaluation transform records ImageNet's statistics (the PyTorch file records none).
    func testFrozenBatchNormsKeepThePretrainedStatistics() throws {
        let pretrained = try pretrainedAttention()
        let source = try SafeTensors.read(from: pretrained)
        let statistics = source.tensors.keys.filter { $0.hasSuffix("running_mean") || $0.hasSuffix("running_var") }.sorted()
        XCTAssertEqual(statistics.count, 18, "9 BNs: bn0, bn0 and bn1 of each group's block, bn_g2, output_gate.bn")
        for freeze in [true, false] {
            let output = scratch.appendingPathComponent("freeze-\(freeze)")
            let result = try runHeed(
                tiny(classes: 3) + attention14 + ["--pretrained", pretrained.path, "--quiet", "--output", output.path]
                    + (freeze ? ["--freeze-bn"] : []))
            XCTAssertEqual(result.status, 0, result.standardError)
            XCTAssertTrue(result.standardOutput.contains("0 initialised, 0 in the file ignored"), result.standardOutput)
            let weights = try SafeTensors.read(from: output.appendingPathComponent("model.safetensors"))
            for name in statistics {
                let same = weights.tensors[name]?.floats() == source.tensors[name]?.floats()
                XCTAssertEqual(same, freeze, "\(name), --freeze-bn \(freeze)")
            }
            XCTAssertEqual(weights.tensors["bn0.num_batches_tracked"]?.int64s(), [freeze ? 7 : 11])
            XCTAssertEqual(weights.tensors["att2.att_head.diag"], source.tensors["att2.att_head.diag"])
            XCTAssertNotEqual(weights.tensors["bn0.weight"], source.tensors["bn0.weight"], "BN's affine parameters still learn")
            let transform = try XCTUnwrap(try DataMetadata.transform(in: weights.metadata))
            XCTAssertEqual(transform.normalization, Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]))
        }
    }

    /// A fine-tuning run stopped and resumed (--backbone-lr-scale, --freeze-bn read back from the
    /// checkpoint) ends with the weights of the run that was not stopped, bit for bit; a
    /// --backbone-lr-scale other than 1 changes them.
    func testAResumedFineTuningRunEndsAsTheUninterruptedOne() throws {
        let pretrained = try pretrainedAttention()
        let arguments = tiny(classes: 3) + attention14 + ["--pretrained", pretrained.path, "--freeze-bn", "--quiet"]
        func weights(_ run: String) throws -> SafeTensors {
            var file = try SafeTensors.read(from: scratch.appendingPathComponent(run).appendingPathComponent("model.safetensors"))
            file.metadata = [:]
            return file
        }
        let whole = try runHeed(arguments + ["--backbone-lr-scale", "0.1", "--output", scratch.appendingPathComponent("whole").path])
        XCTAssertEqual(whole.status, 0, whole.standardError)
        let stopped = try runHeed(
            arguments + ["--backbone-lr-scale", "0.1", "--stop-after-step", "2", "--output", scratch.appendingPathComponent("parts").path])
        XCTAssertEqual(stopped.status, 0, stopped.standardError)
        let resumed = try runHeed(
            tiny(classes: 3) + attention14 + ["--resume", "--quiet", "--output", scratch.appendingPathComponent("parts").path])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertEqual(try weights("parts"), try weights("whole"))
        let unscaled = try runHeed(arguments + ["--output", scratch.appendingPathComponent("unscaled").path])
        XCTAssertEqual(unscaled.status, 0, unscaled.standardError)
        XCTAssertNotEqual(try weights("unscaled"), try weights("whole"))
    }

    func testBadInputIsAOneLineError() throws {
        let pretrained = try pretrainedAttention()
        let junk = scratch.appendingPathComponent("junk.safetensors")
        try Data("not safetensors".utf8).write(to: junk)
        var nonfinite = try SafeTensors.read(from: pretrained)
        nonfinite.tensors["group_1.block_0.conv0.weight"]!.bytes.replaceSubrange(0..<4, with: Float.infinity.bitPatternBytes)
        let nonfiniteURL = scratch.appendingPathComponent("inf.safetensors")
        try nonfinite.write(to: nonfiniteURL)
        let cases: [([String], String)] = [
            (
                ["--pretrained", pretrained.path, "--synthetic-classes", "5"] + attention14,
                "pretrained.safetensors: tensors that do not fit the model: att2.out_head.conv.weight [12, 64, 3, 3] in the file, "
                    + "[20, 64, 3, 3] in the model (another architecture or --classes?)"
            ),
            (
                ["--pretrained", pretrained.path, "--synthetic-classes", "3", "--attention-depth", "2", "--attention-width", "4"],
                "tensors that do not fit the model: output_gate.gates.weight [2, 64] in the file, [3, 64] in the model; "
                    + "output_gate.bn.weight [2] in the file, [3] in the model; output_gate.bn.bias [2] in the file, [3] in the model; "
                    + "output_gate.bn.running_mean [2] in the file, [3] in the model; output_gate.bn.running_var [2] in the file, [3] in the model"
            ),
            (["--pretrained", nonfiniteURL.path] + attention14, "tensor 'group_1.block_0.conv0.weight' holds inf at element 0"),
            (["--pretrained", junk.path], "junk.safetensors: not a safetensors file"),
            (["--pretrained", pretrained.path, "--resume"], "--pretrained and --resume exclude each other"),
            (["--freeze-bn"], "--freeze-bn needs --pretrained"),
            (["--backbone-lr-scale", "0.5"], "--backbone-lr-scale needs --pretrained"),
            (
                ["--pretrained", pretrained.path, "--backbone-lr-scale=-1"],
                "--backbone-lr-scale must be a finite number, 0 or more, not -1.0"
            ),
        ]
        for (arguments, message) in cases {
            let result = try runHeed(tiny(classes: 3) + arguments + ["--quiet", "--output", scratch.appendingPathComponent("bad").path])
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError)
            XCTAssertTrue(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }
    }
}

extension Float {
    fileprivate var bitPatternBytes: [UInt8] { withUnsafeBytes(of: bitPattern.littleEndian) { Array($0) } }
}
