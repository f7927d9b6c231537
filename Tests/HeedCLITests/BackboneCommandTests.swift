import Foundation
import HeedGraph
import HeedModels
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

/// `--arch` and `--attention-at` on the command line: a torchvision backbone trains with
/// attention at named taps, its files record it, and a plain torchvision state_dict
/// predicts with the arch given on the command line (docs/design.md §9).
final class BackboneCommandTests: XCTestCase {
    private var scratch: URL!
    private let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    override func setUpWithError() throws {
        _ = try TestDevices.requireOpenCL()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// ResNet-18 with modules on layer2 (given as its index) and layer3 of 32×32 images;
    /// `heed evaluate` rebuilds it from the file's `heed.model` alone.
    func testTrainsAResNetWithAttentionAtTapsAndEvaluatesItFromItsFile() throws {
        let output = scratch.appendingPathComponent("run")
        let result = try runHeed([
            "train", "--arch", "resnet18", "--attention-at", "2,layer3", "--synthetic-train", "20", "--synthetic-test", "10",
            "--epochs", "1", "--batch-size", "10", "--output", output.path,
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("resnet18 + attention (at layer3, layer2, AW 4, softmax gate)"), result.standardOutput)
        let weights = output.appendingPathComponent("model.safetensors")
        let file = try SafeTensors.read(from: weights)
        for name in ["conv1.weight", "layer4.1.bn2.num_batches_tracked", "att3.att_head.conv.weight", "att2.score.conv.weight", "fc.bias"] {
            XCTAssertNotNil(file.tensors[name], name)
        }
        XCTAssertEqual(
            try ModelConfiguration(metadata: file.metadata),
            ModelConfiguration(
                backbone: .resNet(ResNetConfiguration(arch: "resnet18", classes: 10)),
                attention: AttentionConfiguration(depth: 2, width: 4, taps: ["layer3", "layer2"])))

        let evaluated = try runHeed(["evaluate", "--weights", weights.path, "--synthetic-train", "20", "--synthetic-test", "10"])
        XCTAssertEqual(evaluated.status, 0, evaluated.standardError)
        XCTAssertTrue(evaluated.standardOutput.contains("att3 alone"), evaluated.standardOutput)
        XCTAssertFalse(evaluated.standardOutput.contains("early exit"), evaluated.standardOutput)
    }

    func testBadArchAndTapsAreOneLineErrorsListingTheValidOnes() throws {
        let archs = "wrn, " + ResNetConfiguration.names.joined(separator: ", ")
        let cases: [([String], String)] = [
            (["--arch", "resnet51"], "unknown --arch 'resnet51'; valid: \(archs)"),
            (
                ["--arch", "resnet18", "--attention-at", "layer3,layer5"],
                "--attention-at: resnet18 has no tap 'layer5'; valid taps: layer1 (1), layer2 (2), layer3 (3), layer4 (4)"
            ),
            (
                ["--attention-at", "layer3"],
                "--attention-at: WRN-10-1 has no tap 'layer3'; valid taps: group1_input (0), group2_input (1), final (2)"
            ),
            (
                ["--arch", "resnet18", "--attention-at", "4", "--attention-depth", "1"],
                "--attention-at and --attention-depth contradict each other: give one"
            ),
            (["--arch", "resnet50", "--coarse2fine"], "--coarse2fine is built for --arch wrn only, not resnet50"),
            (["--arch", "resnet18", "--depth", "16"], "--depth sets the Wide ResNet (--arch wrn), not resnet18"),
            (
                ["--arch", "resnet34", "--width", "2", "--dropout", "0.3"],
                "--width, --dropout set the Wide ResNet (--arch wrn), not resnet34"
            ),
        ]
        for (arguments, message) in cases {
            let result = try runHeed(["train"] + arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertEqual(result.standardError, "Error: \(message)\n", arguments.joined(separator: " "))
        }
    }

    /// layer4 of a 32×32 image is 1×1: the regulariser cannot pool it, and the run says so
    /// in one line instead of failing inside the pooling op.
    func testAModuleOnAMapSmallerThan2x2IsAnErrorNamingTheTap() throws {
        let result = try runHeed([
            "train", "--arch", "resnet18", "--attention-at", "layer4", "--synthetic-train", "20", "--synthetic-test", "10",
            "--epochs", "1", "--batch-size", "10", "--output", scratch.appendingPathComponent("run").path,
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains(
                "att4 reads layer4 at 1x1; the regulariser pools its masks 2x2: use larger images or a shallower tap"),
            result.standardError)
    }

    /// A state_dict with torchvision's names and no heed metadata (the fixture's formula
    /// weights, as torchvision's `save_file(model.state_dict())` would write them): its
    /// backbone from `--arch`, its classes from `fc.weight`; the output is torchvision's,
    /// for ResNet-18 and ResNet-50 (basic blocks and bottlenecks).
    func testPredictTakesTheArchOfAPlainTorchvisionStateDict() throws {
        var weights = scratch.appendingPathComponent("none")
        let output = scratch.appendingPathComponent("out.safetensors")
        var io = weights
        for arch in ["resnet18", "resnet50"] {
            let network = try ModelConfiguration(backbone: .resNet(ResNetConfiguration(arch: arch, classes: 10)))
                .makeModel(on: TestDevices.reference, seed: 0)
            for (name, tensor) in network.state {
                try tensor.assign(TorchvisionWeights.values(name: name, shape: tensor.shape))
            }
            weights = scratch.appendingPathComponent("\(arch).safetensors")
            try Checkpoint.weights(of: network, metadata: [:]).write(to: weights)
            io = models.appendingPathComponent("torchvision_\(arch)_io.safetensors")
            let result = try runHeed(["predict", "--arch", arch, "--weights", weights.path, "--input", io.path, "--output", output.path])
            XCTAssertEqual(result.status, 0, result.standardError)
            let predicted = try XCTUnwrap(SafeTensors.read(from: output).tensors["log_probs"])
            let expected = try XCTUnwrap(SafeTensors.read(from: io).tensors["log_probs"])
            XCTAssertEqual(predicted.shape, expected.shape, arch)
            // As TorchvisionInteropTests: float32 through 18 or 50 layers against float64.
            for (a, e) in zip(predicted.floats(), expected.floats()) { XCTAssertEqual(a, e, accuracy: 1e-4, arch) }
        }

        let withoutArch = try runHeed(["predict", "--weights", weights.path, "--input", io.path, "--output", output.path])
        XCTAssertNotEqual(withoutArch.status, 0)
        XCTAssertEqual(withoutArch.standardError.split(separator: "\n").count, 1, withoutArch.standardError)
        XCTAssertTrue(
            withoutArch.standardError.contains(
                "records no 'depth' (not written by heed train?): pass --depth (a Wide ResNet), or --arch for a torchvision ResNet"),
            withoutArch.standardError)
    }
}
