import Foundation
import HeedGraph
import HeedModels
import HeedOps
import HeedTestSupport
import XCTest

/// The model configuration's two metadata forms (the `heed.model` JSON and the separate
/// keys of older files) and the command line's flags.
final class ModelConfigurationTests: XCTestCase {
    private let coarse2fine = ModelConfiguration(
        backbone: .wideResNet(WideResNetConfiguration(depth: 16, width: 2, classes: 10, dropout: 0.25)),
        attention: AttentionConfiguration(depth: 3, width: 2, gate: .sigmoid, regularizerWeight: 0.004, orthogonalInitialization: true),
        coarse2fine: Coarse2FineConfiguration(fineStartEpoch: 2, fineWeight: 0.5, minimumScale: 0.3, fineGradient: false))

    /// The metadata of a Coarse2Fine run as `heed train` wrote it before `heed.model`.
    private let legacyCoarse2Fine = [
        "depth": "16", "width": "2", "dropout": "0.25", "classes": "10", "attention_depth": "3", "attention_width": "2",
        "attention_gate": "sigmoid", "reg_weight": "0.004", "attention_init": "orthogonal", "coarse2fine": "1",
        "c2f_start_epoch": "2", "c2f_fine_weight": "0.5", "c2f_min_scale": "0.3", "c2f_fine_gradient": "0",
        "dataset": "synthetic", "seed": "1",
    ]

    func testJSONRoundTrips() throws {
        let baseline = ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 4)))
        let attention = ModelConfiguration(backbone: baseline.backbone, attention: AttentionConfiguration(depth: 1, width: 4))
        for configuration in [baseline, attention, coarse2fine] {
            let metadata = try configuration.metadata()
            XCTAssertEqual(Array(metadata.keys), [ModelConfiguration.metadataKey])
            XCTAssertEqual(try ModelConfiguration(metadata: metadata), configuration)
        }
        let json = try XCTUnwrap(try baseline.metadata()[ModelConfiguration.metadataKey])
        XCTAssertEqual(json, #"{"backbone":{"classes":4,"depth":10,"dropout":0,"inputChannels":3,"kind":"wideResNet","width":1}}"#)
    }

    func testLegacyKeysDecodeToTheSameConfiguration() throws {
        XCTAssertEqual(try ModelConfiguration(metadata: legacyCoarse2Fine), coarse2fine)
        let baseline = ["depth": "28", "width": "10", "dropout": "0.0", "classes": "100", "attention_depth": "0"]
        XCTAssertEqual(
            try ModelConfiguration(metadata: baseline),
            ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 28, width: 10, classes: 100))))
    }

    /// The PyTorch fixtures record the shape but not the gate: the command line supplies it.
    func testFlagsSupplyWhatAFileLacks() throws {
        let pytorch = ["depth": "10", "width": "1", "classes": "3", "attention_depth": "3", "attention_width": "2", "reg_weight": "0.001"]
        XCTAssertThrowsError(try ModelConfiguration(metadata: pytorch)) {
            XCTAssertEqual($0 as? ModelMetadataError, .missing(key: "attention_gate"))
        }
        let decoded = try ModelConfiguration(metadata: pytorch, flags: .init(attentionGate: .softmax))
        XCTAssertEqual(decoded.attention, AttentionConfiguration(depth: 3, width: 2, gate: .softmax))
        XCTAssertThrowsError(try ModelConfiguration(metadata: [:])) { XCTAssertEqual($0 as? ModelMetadataError, .missing(key: "depth")) }
        let flags = ModelConfiguration.Flags(depth: 16, width: 2, classes: 5)
        XCTAssertEqual(
            try ModelConfiguration(metadata: [:], flags: flags),
            ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 16, width: 2, classes: 5))))
    }

    /// Flags that agree with a file are accepted; the first that does not is named with both values.
    func testFlagsThatContradictTheFileAreErrors() throws {
        for metadata in [try coarse2fine.metadata(), legacyCoarse2Fine] {
            let agreeing = ModelConfiguration.Flags(
                depth: 16, width: 2, classes: 10, attentionDepth: 3, attentionWidth: 2, attentionGate: .sigmoid)
            XCTAssertEqual(try ModelConfiguration(metadata: metadata, flags: agreeing), coarse2fine)
            for (flags, error) in [
                (ModelConfiguration.Flags(depth: 22), ModelMetadataError.contradiction(key: "depth", given: "22", recorded: "16")),
                (.init(classes: 5), .contradiction(key: "classes", given: "5", recorded: "10")),
                (.init(attentionDepth: 0), .contradiction(key: "attention_depth", given: "0", recorded: "3")),
                (.init(attentionGate: .softmax), .contradiction(key: "attention_gate", given: "softmax", recorded: "sigmoid")),
            ] {
                XCTAssertThrowsError(try ModelConfiguration(metadata: metadata, flags: flags)) {
                    XCTAssertEqual($0 as? ModelMetadataError, error)
                }
            }
        }
        let baseline = try ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 4))).metadata()
        XCTAssertThrowsError(try ModelConfiguration(metadata: baseline, flags: .init(attentionWidth: 4))) {
            XCTAssertEqual($0 as? ModelMetadataError, .contradiction(key: "attention_width", given: "4", recorded: "none"))
        }
    }

    func testUnreadableMetadataIsNamed() throws {
        XCTAssertThrowsError(try ModelConfiguration(metadata: ["depth": "ten", "width": "1", "classes": "3"])) {
            XCTAssertEqual($0 as? ModelMetadataError, .unreadable(key: "depth", detail: "'ten'"))
        }
        XCTAssertThrowsError(try ModelConfiguration(metadata: [ModelConfiguration.metadataKey: #"{"backbone":{"kind":"vgg"}}"#])) {
            XCTAssertTrue("\($0)".hasPrefix("metadata 'heed.model' is unreadable: at 'backbone.kind': "), "\($0)")
        }
    }

    /// Coded fields name what two configurations differ in.
    func testCodedFieldsNameTheDifference() throws {
        var other = coarse2fine
        other.attention?.width = 3
        let (a, b) = (try coarse2fine.codedFields(), try other.codedFields())
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertEqual(a.keys.filter { a[$0] != b[$0] }, ["attention.width"])
        XCTAssertEqual(a["attention.gate"], #""sigmoid""#)
        XCTAssertEqual(a["coarse2fine.fineWeight"], "0.5")
    }

    /// The composed network keeps the reference's flat names and PyTorch's order.
    func testNetworkNamesItsTensorsAsTheReference() throws {
        let network = try coarse2fine.makeModel(on: TestDevices.reference, seed: 1)
        let names = network.namedParameters.map(\.name)
        XCTAssertEqual(names.first, "conv0.weight")
        XCTAssertEqual(names.last, "inverse_mapping.bias")
        XCTAssertTrue(
            Set(names).isSuperset(of: [
                "bn0.weight", "group_1.block_0.conv_reduce.weight", "bn_g2.weight", "classifier.bias",
                "att2.att_head.conv.weight", "att0.score.conv.weight", "output_gate.gates.weight",
                "output_gate.bn.weight",
            ]))
        XCTAssertTrue(network.namedCounters().map(\.name).contains("group_0.block_0.bn0.num_batches_tracked"))
        XCTAssertEqual("\(network.configuration)", "WRN-16-2 + attention (AD 3, AW 2, sigmoid gate) + Coarse2Fine")
    }

    /// A torchvision backbone with attention at named taps: stored flat beside its kind,
    /// read back to the same configuration; the Wide ResNet's JSON keeps its form.
    func testResNetConfigurationRoundTrips() throws {
        let configuration = ModelConfiguration(
            backbone: .resNet(ResNetConfiguration(arch: "resnext50_32x4d", classes: 200)),
            attention: AttentionConfiguration(depth: 2, width: 4, taps: ["layer4", "layer3"]))
        let metadata = try configuration.metadata()
        XCTAssertEqual(try ModelConfiguration(metadata: metadata), configuration)
        let json = try XCTUnwrap(metadata[ModelConfiguration.metadataKey])
        XCTAssertTrue(json.contains(#""backbone":{"arch":"resnext50_32x4d","classes":200,"kind":"resNet"}"#), json)
        XCTAssertTrue(json.contains(#""taps":["layer4","layer3"]"#), json)
        XCTAssertEqual(configuration.description, "resnext50_32x4d + attention (at layer4, layer3, AW 4, softmax gate)")
        XCTAssertEqual(
            try ModelConfiguration(metadata: metadata, flags: .init(arch: "resnext50_32x4d", classes: 200)), configuration)
        XCTAssertThrowsError(try ModelConfiguration(metadata: metadata, flags: .init(arch: "resnet50"))) {
            XCTAssertEqual($0 as? ModelMetadataError, .contradiction(key: "arch", given: "resnet50", recorded: "resnext50_32x4d"))
        }
        XCTAssertThrowsError(try ModelConfiguration(metadata: metadata, flags: .init(depth: 28))) {
            XCTAssertEqual($0 as? ModelMetadataError, .contradiction(key: "depth", given: "28", recorded: "none"))
        }
    }

    /// A plain torchvision state_dict has no metadata: `--arch` and the classes make its configuration.
    func testArchFlagGivesTheBackboneOfAFileWithoutMetadata() throws {
        XCTAssertEqual(
            try ModelConfiguration(metadata: [:], flags: .init(arch: "resnet50", classes: 1000)),
            ModelConfiguration(backbone: .resNet(ResNetConfiguration(arch: "resnet50", classes: 1000))))
        XCTAssertThrowsError(try ModelConfiguration(metadata: [:], flags: .init(arch: "resnet50"))) {
            XCTAssertEqual($0 as? ModelMetadataError, .missing(key: "classes"))
        }
        XCTAssertThrowsError(try ModelConfiguration(metadata: [:], flags: .init(arch: "resnet51", classes: 10))) {
            XCTAssertEqual(
                "\($0)",
                "metadata gives an invalid model: ResNet: invalid argument: unknown arch 'resnet51'; valid: wrn, "
                    + ResNetConfiguration.names.joined(separator: ", "))
        }
    }

    /// Unknown and repeated taps are refused naming the valid ones; stage indices name taps;
    /// the weight count is torchvision's parameter count less biases and batch norm.
    func testTapsAndWeightCounts() throws {
        let resnet = ModelConfiguration.Backbone.resNet(ResNetConfiguration(arch: "resnet18", classes: 10))
        XCTAssertEqual(resnet.taps.map(\.name), ["layer1", "layer2", "layer3", "layer4"])
        XCTAssertEqual(resnet.taps.map(\.channels), [64, 128, 256, 512])
        XCTAssertEqual(try FeatureTap.select(["3", "layer4"], from: resnet.taps, backbone: "resnet18").map(\.name), ["layer4", "layer3"])
        XCTAssertThrowsError(try FeatureTap.select(["layer5"], from: resnet.taps, backbone: "resnet18")) {
            XCTAssertEqual(
                "\($0)",
                "attention: invalid argument: resnet18 has no tap 'layer5'; valid taps: layer1 (1), layer2 (2), layer3 (3), layer4 (4)")
        }
        XCTAssertThrowsError(try FeatureTap.select(["layer4", "4"], from: resnet.taps, backbone: "resnet18")) {
            XCTAssertEqual("\($0)", "attention: invalid argument: tap 'layer4' is named twice")
        }
        // torchvision's parameter counts (sum of numel) less batch norm and fc.bias, for 1000 classes.
        let counts = ["resnet18": 11_689_512 - 9_600 - 1_000, "resnet50": 25_557_032 - 53_120 - 1_000]
        for (arch, count) in counts {
            let configuration = ModelConfiguration(backbone: .resNet(ResNetConfiguration(arch: arch, classes: 1000)))
            XCTAssertEqual(configuration.weightCount, count, arch)
        }
        let network = try ModelConfiguration(backbone: .resNet(ResNetConfiguration(arch: "resnet18", classes: 1000)))
            .makeModel(on: TestDevices.reference, seed: 1)
        XCTAssertEqual(network.parameterCount, 11_689_512)
    }
}
