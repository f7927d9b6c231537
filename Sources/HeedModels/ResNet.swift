import HeedGraph
import HeedOps

/// torchvision's ResNet family by constructor name (`resnet50`, `resnext50_32x4d`, ...), as
/// `torchvision.models.resnet` defines it (docs/design.md §9), for `classes` classes.
public struct ResNetConfiguration: Codable, Sendable, Equatable {
    /// torchvision's constructor name: a key of `architectures`.
    public var arch: String
    public var classes: Int

    public init(arch: String, classes: Int) {
        self.arch = arch
        self.classes = classes
    }

    public enum Block: String, Sendable {
        case basic, bottleneck

        /// Output channels per `planes`: torchvision's `expansion`.
        public var expansion: Int { self == .basic ? 1 : 4 }
    }

    /// A constructor's block, blocks per stage, and the bottleneck's groups and width per group.
    public struct Architecture: Sendable, Equatable {
        public let block: Block
        public let layers: [Int]
        public let groups: Int
        public let widthPerGroup: Int
    }

    /// torchvision's constructors (torchvision/models/resnet.py).
    public static let architectures: [String: Architecture] = [
        "resnet18": Architecture(block: .basic, layers: [2, 2, 2, 2], groups: 1, widthPerGroup: 64),
        "resnet34": Architecture(block: .basic, layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 64),
        "resnet50": Architecture(block: .bottleneck, layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 64),
        "resnet101": Architecture(block: .bottleneck, layers: [3, 4, 23, 3], groups: 1, widthPerGroup: 64),
        "resnet152": Architecture(block: .bottleneck, layers: [3, 8, 36, 3], groups: 1, widthPerGroup: 64),
        "resnext50_32x4d": Architecture(block: .bottleneck, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4),
        "resnext101_32x8d": Architecture(block: .bottleneck, layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8),
        "resnext101_64x4d": Architecture(block: .bottleneck, layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4),
        "wide_resnet50_2": Architecture(block: .bottleneck, layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 128),
        "wide_resnet101_2": Architecture(block: .bottleneck, layers: [3, 4, 23, 3], groups: 1, widthPerGroup: 128),
    ]

    /// The constructor names, in the order torchvision lists them.
    public static let names = [
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
        "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
    ]

    /// `planes` of layer1 … layer4.
    static let planes = [64, 128, 256, 512]

    public func architecture() throws -> Architecture {
        guard let architecture = Self.architectures[arch] else {
            throw HeedError.invalidArgument(
                op: "ResNet", "unknown arch '\(arch)'; valid: wrn, \(Self.names.joined(separator: ", "))")
        }
        return architecture
    }

    public func validate() throws {
        _ = try architecture()
        guard classes <= WideResNetConfiguration.maximumClasses else {
            throw HeedError.invalidArgument(
                op: "ResNet", "classes \(classes) is more than the limit of \(WideResNetConfiguration.maximumClasses)")
        }
        guard classes >= 2 else { throw HeedError.invalidArgument(op: "ResNet", "\(classes) classes: need at least 2") }
    }

    /// Each stage's output, `layer1` … `layer4` (after its last block's ReLU), at a
    /// quarter, an eighth, a sixteenth and a thirty-second of the input's side.
    public var taps: [FeatureTap] {
        guard let architecture = try? architecture() else { return [] }
        return Self.planes.indices.map { stage in
            FeatureTap(
                name: "layer\(stage + 1)", index: stage + 1, channels: Self.planes[stage] * architecture.block.expansion,
                scale: 4 << stage)
        }
    }

    /// The weights of the convolutions and `fc` (biases and batch norm left out), or nil on overflow.
    public var weightCount: Int? {
        guard let architecture = try? architecture() else { return nil }
        let expansion = architecture.block.expansion
        var total = 3 * 64 * 49
        var inChannels = 64
        for (stage, planes) in Self.planes.enumerated() {
            let width = planes * architecture.widthPerGroup / 64 * architecture.groups
            let outChannels = planes * expansion
            for block in 0..<architecture.layers[stage] {
                let input = block == 0 ? inChannels : outChannels
                switch architecture.block {
                case .basic: total += input * planes * 9 + planes * planes * 9
                case .bottleneck: total += input * width + width * (width / architecture.groups) * 9 + width * outChannels
                }
                if block == 0 && (stage > 0 || input != outChannels) { total += input * outChannels }
            }
            inChannels = outChannels
        }
        let (sum, overflow) = classes.multipliedReportingOverflow(by: inChannels)
        return overflow ? nil : total + sum
    }
}

/// torchvision's `ResNet`, parameter for parameter (docs/design.md §9):
///
///     x = maxpool3x3/2 pad 1(relu(bn1(conv1 7×7/2 pad 3(x))))
///     x = layer4(layer3(layer2(layer1(x))))
///     logits = fc(adaptive average pool to 1×1(x))
///
/// Its `state_dict` names: `conv1.weight`, `bn1.*`, `layer{1..4}.{i}.conv{1,2,3}.weight`,
/// `layer{s}.{i}.bn{1,2,3}.*`, `layer{s}.0.downsample.{0,1}.*`, `fc.weight`, `fc.bias`.
/// Initialised as torchvision: convolutions Kaiming-normal by fan-out, batch norm 1 and 0,
/// `fc` as `nn.Linear` (uniform ±1/√in, weight and bias); no zero-initialised residuals.
public final class ResNet: Module, Trunk {
    public let configuration: ResNetConfiguration
    public let conv1: ResNetConvolution
    public let bn1: BatchNorm
    public let layers: [ResNetStage]
    public let fc: Linear

    public init(_ configuration: ResNetConfiguration, on backend: any Backend, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        let architecture = try configuration.architecture()
        var random = SeededGenerator(seed: seed)
        conv1 = try ResNetConvolution(3, 64, kernelSize: 7, stride: 2, padding: 3, on: backend, random: &random)
        bn1 = try BatchNorm(64, on: backend)
        var inChannels = 64
        var stages: [ResNetStage] = []
        for (stage, planes) in ResNetConfiguration.planes.enumerated() {
            stages.append(
                try ResNetStage(
                    architecture, inChannels: inChannels, planes: planes, count: architecture.layers[stage],
                    stride: stage == 0 ? 1 : 2, on: backend, random: &random))
            inChannels = planes * architecture.block.expansion
        }
        layers = stages
        fc = try Linear(inChannels, configuration.classes, on: backend, random: &random)
        try fc.weight.assign(Initialization.uniformBias(count: inChannels * configuration.classes, fanIn: inChannels, random: &random))
        super.init()
        register(child: conv1, as: "conv1")
        register(child: bn1, as: "bn1")
        for (index, layer) in layers.enumerated() { register(child: layer, as: "layer\(index + 1)") }
        register(child: fc, as: "fc")
    }

    // MARK: Trunk

    public var taps: [FeatureTap] { configuration.taps }
    public var finalChannels: Int { fc.weight.shape[1] }
    public var classifier: Linear { fc }

    /// The final features are layer4's output; global average pooling of them is
    /// torchvision's adaptive average pool to 1×1, at any input size.
    public func features(_ images: Tensor, taps names: Set<String>) throws -> TrunkFeatures {
        var x = try bn1(conv1(images), relu: true).maxPool2d(kernelSize: 3, stride: 2, padding: 1)
        var maps: [String: Tensor] = [:]
        for (index, layer) in layers.enumerated() {
            x = try layer(x)
            if names.contains("layer\(index + 1)") { maps["layer\(index + 1)"] = x }
        }
        return TrunkFeatures(final: x, taps: maps)
    }

    public func forwardFlops(height: Int, width: Int) -> Int {
        var total = conv1.flops(height: height, width: width)
        var (h, w) = (conv1.outputSide(height), conv1.outputSide(width))
        (h, w) = ((h + 2 - 3) / 2 + 1, (w + 2 - 3) / 2 + 1)  // the max-pool
        for block in layers.flatMap(\.blocks) {
            let flops = block.flops(height: h, width: w)
            total += flops.flops
            (h, w) = (flops.height, flops.width)
        }
        return total + 2 * fc.weight.count
    }
}
