import HeedGraph
import HeedOps

/// The hyper-parameters of a Wide ResNet (Zagoruyko & Komodakis), as the attention
/// paper's reference code builds it (docs/design.md §3).
public struct WideResNetConfiguration: Codable, Sendable, Equatable {
    /// Total depth; (depth − 4) must be a multiple of 6.
    public var depth: Int
    /// Widening factor k: group widths are 16k, 32k, 64k.
    public var width: Int
    public var classes: Int
    /// Channel-dropout probability inside each block (training only).
    public var dropout: Float
    public var inputChannels = 3

    public init(depth: Int, width: Int, classes: Int, dropout: Float = 0) {
        self.depth = depth
        self.width = width
        self.classes = classes
        self.dropout = dropout
    }

    /// Blocks per group, n = (depth − 4) / 6.
    public var blocksPerGroup: Int { (depth - 4) / 6 }
    public var groupWidths: [Int] { [16 * width, 32 * width, 64 * width] }

    /// The maps attention modules may read (docs/design.md §4), shallowest first: u of
    /// group_1.block_0 (`group1_input`, att0), u of group_2.block_0 (`group2_input`, att1)
    /// and relu(bn_g2(g2)) (`final`, att2).
    public var taps: [FeatureTap] {
        let widths = groupWidths
        return [
            FeatureTap(name: "group1_input", index: 0, channels: widths[0], scale: 1),
            FeatureTap(name: "group2_input", index: 1, channels: widths[1], scale: 2),
            FeatureTap(name: "final", index: 2, channels: widths[2], scale: 4),
        ]
    }

    /// Limits on the sizes a file's metadata or the command line may ask for, checked
    /// before anything is built (WRN-1000, 64k = 65,536 channels, 2^20 classes); the
    /// network's weight count has its own limit (`ModelConfiguration.maximumWeights`).
    public static let maximumDepth = 1000
    public static let maximumWidth = 1024
    public static let maximumClasses = 1 << 20

    /// Refuses sizes the network cannot have or Heed will not build, naming the field.
    public func validate() throws {
        guard depth <= Self.maximumDepth else {
            throw HeedError.invalidArgument(op: "WideResNet", "depth \(depth) is more than the limit of \(Self.maximumDepth)")
        }
        guard width <= Self.maximumWidth else {
            throw HeedError.invalidArgument(op: "WideResNet", "width \(width) is more than the limit of \(Self.maximumWidth)")
        }
        guard classes <= Self.maximumClasses else {
            throw HeedError.invalidArgument(op: "WideResNet", "classes \(classes) is more than the limit of \(Self.maximumClasses)")
        }
        guard depth >= 10, (depth - 4) % 6 == 0 else {
            throw HeedError.invalidArgument(
                op: "WideResNet", "depth \(depth): (depth - 4) must be a positive multiple of 6 (10, 16, 22, 28, 40, ...)")
        }
        guard width >= 1 else { throw HeedError.invalidArgument(op: "WideResNet", "width \(width) must be at least 1") }
        guard classes >= 2 else { throw HeedError.invalidArgument(op: "WideResNet", "\(classes) classes: need at least 2") }
        guard (0..<1).contains(dropout) else { throw HeedError.invalidArgument(op: "WideResNet", "dropout \(dropout) must be in [0, 1)") }
    }
}

/// The pre-activation residual block:
///
///     u = relu(bn0(x)); v = relu(bn1(conv0(u)));  [dropout2d(v)];  z = conv1(v)
///     out = z + (ni ≠ no ? conv_reduce(x) : x)          — x, not u, as the reference
///
/// Parameters `bn0`, `conv0` (3×3, stride), `bn1`, `conv1` (3×3), `conv_reduce` (1×1,
/// stride) when the width changes.
public final class Block: Module {
    public let bn0: BatchNorm
    public let conv0: Conv2d
    public let bn1: BatchNorm
    public let conv1: Conv2d
    public let convReduce: Conv2d?
    public let dropout: Dropout2d?

    public init(
        _ ni: Int, _ no: Int, stride: Int, dropout: Float, dropoutSeed: UInt64,
        on backend: any Backend, random: inout SeededGenerator
    ) throws {
        bn0 = try BatchNorm(ni, on: backend)
        conv0 = try Conv2d(ni, no, kernelSize: 3, stride: stride, padding: 1, on: backend, random: &random)
        bn1 = try BatchNorm(no, on: backend)
        conv1 = try Conv2d(no, no, kernelSize: 3, stride: 1, padding: 1, on: backend, random: &random)
        convReduce = ni != no ? try Conv2d(ni, no, kernelSize: 1, stride: stride, on: backend, random: &random) : nil
        self.dropout = dropout > 0 ? Dropout2d(probability: dropout, seed: UInt32(truncatingIfNeeded: dropoutSeed)) : nil
        super.init()
        register(child: bn0, as: "bn0")
        register(child: conv0, as: "conv0")
        register(child: bn1, as: "bn1")
        register(child: conv1, as: "conv1")
        if let convReduce { register(child: convReduce, as: "conv_reduce") }
        if let dropout = self.dropout { register(child: dropout, as: "dropout") }
    }

    /// u = relu(bn0(x)), the block's pre-activation (an attention module's input), the
    /// ReLU fused into the batch norm: nothing reads the batch norm's output but the ReLU.
    public func preActivation(_ x: Tensor) throws -> Tensor {
        try bn0(x, relu: true)
    }

    /// Multiply-adds ×2 of the block's convolutions for an input of `height × width`.
    func flops(height: Int, width: Int) -> Int {
        let (h, w) = ((height - 1) / conv0.stride + 1, (width - 1) / conv0.stride + 1)
        return [conv0, conv1].reduce(0) { $0 + $1.flops(outputHeight: h, outputWidth: w) }
            + (convReduce?.flops(outputHeight: h, outputWidth: w) ?? 0)
    }

    /// The block's output, and u = relu(bn0(x)) (an attention module's input). Both ReLUs
    /// are fused into their batch norms, and the shortcut is added in place to z, which
    /// no rule saved (a convolution saves its input, not its output).
    public func forward(_ x: Tensor) throws -> (output: Tensor, preActivation: Tensor) {
        let u = try preActivation(x)
        // v is a temporary, so that evaluation frees it as soon as conv1 has read it.
        let z = try conv1(residualActivation(u))
        let shortcut = try convReduce.map { try $0(x) } ?? x
        return (try z.adding(shortcut, inPlace: true), u)
    }

    /// v = relu(bn1(conv0(u))), after channel dropout in training when the block has it.
    private func residualActivation(_ u: Tensor) throws -> Tensor {
        let v = try bn1(conv0(u), relu: true)
        return try dropout.map { try $0(v) } ?? v
    }
}

/// A group of blocks at one width; block 0 changes width and stride.
public final class Group: Module {
    public let blocks: [Block]

    public init(
        _ ni: Int, _ no: Int, count: Int, stride: Int, dropout: Float, dropoutSeed: UInt64,
        on backend: any Backend, random: inout SeededGenerator
    ) throws {
        blocks = try (0..<count).map { index in
            try Block(
                index == 0 ? ni : no, no, stride: index == 0 ? stride : 1, dropout: dropout,
                dropoutSeed: dropoutSeed &+ UInt64(index), on: backend, random: &random)
        }
        super.init()
        for (index, block) in blocks.enumerated() { register(child: block, as: "block_\(index)") }
    }

    /// The group's output, and u of block 0 (an attention module's input). Each block's
    /// output replaces the last, so that evaluation frees each once the next has read it.
    public func forward(_ x: Tensor) throws -> (output: Tensor, firstPreActivation: Tensor) {
        let u: Tensor
        var output: Tensor
        (output, u) = try blocks[0].forward(x)
        for block in blocks.dropFirst() { output = try block.forward(output).output }
        return (output, u)
    }
}

/// The Wide ResNet trunk and classifier, baseline layout (docs/design.md §3):
///
///     x = conv0(x); g0 = group_0(x); g1 = group_1(g0); g2 = group_2(g1)
///     o = relu(bn(g2)); o = global average pool(o); logits = classifier(o)
///
/// With `attentionStem` (the attention network's trunk, docs/design.md §4) the stem is
/// relu(bn0(conv0(x))) and the final normalisation is named `bn_g2`. A `Network`
/// holds it as its backbone.
public final class WideResNet: Module, Trunk {
    public let configuration: WideResNetConfiguration
    public let conv0: Conv2d
    public let stemNorm: BatchNorm?
    public let groups: [Group]
    public let finalNorm: BatchNorm
    public let classifier: Linear

    /// What the trunk computed, for heads that attach to it.
    public struct Features {
        /// relu(final BN(g2)), before pooling: (N, 64k, h, w).
        public let final: Tensor
        /// u = relu(bn0(·)) inside block 0 of groups 1 and 2 (the inputs of attention modules att0 and att1).
        public let group1Input: Tensor
        public let group2Input: Tensor
    }

    public init(_ configuration: WideResNetConfiguration, attentionStem: Bool = false, on backend: any Backend, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        var random = SeededGenerator(seed: seed)
        let widths = configuration.groupWidths
        conv0 = try Conv2d(configuration.inputChannels, 16, kernelSize: 3, padding: 1, on: backend, random: &random)
        stemNorm = attentionStem ? try BatchNorm(16, on: backend) : nil
        groups = try (0..<3).map { g in
            try Group(
                g == 0 ? 16 : widths[g - 1], widths[g], count: configuration.blocksPerGroup, stride: [1, 2, 2][g],
                dropout: configuration.dropout, dropoutSeed: seed &+ UInt64(1000 * (g + 1)), on: backend, random: &random)
        }
        finalNorm = try BatchNorm(widths[2], on: backend)
        classifier = try Linear(widths[2], configuration.classes, on: backend, random: &random)
        super.init()
        register(child: conv0, as: "conv0")
        if let stemNorm { register(child: stemNorm, as: "bn0") }
        for (index, group) in groups.enumerated() { register(child: group, as: "group_\(index)") }
        register(child: finalNorm, as: attentionStem ? "bn_g2" : "bn")
        register(child: classifier, as: "classifier")
    }

    /// Runs the trunk on images (N, C, H, W). Each stage's output replaces the last, so
    /// that evaluation frees each once the next has read it.
    public func features(_ images: Tensor) throws -> Features {
        var x = try stem(images)
        x = try groups[0].forward(x).output
        let (u1, u2): (Tensor, Tensor)
        (x, u1) = try groups[1].forward(x)
        (x, u2) = try groups[2].forward(x)
        return Features(final: try finalNorm(x, relu: true), group1Input: u1, group2Input: u2)
    }

    /// conv0, then relu(bn0(·)) in the attention network's stem.
    private func stem(_ images: Tensor) throws -> Tensor {
        let x = try conv0(images)
        return try stemNorm.map { try $0(x, relu: true) } ?? x
    }

    /// The inputs of attention modules att0 and att1 alone: the trunk up to u of
    /// group_2.block_0, without the rest of group 2 (evaluation: early exit).
    public func featuresBeforeLastGroup(_ images: Tensor) throws -> (group1Input: Tensor, group2Input: Tensor) {
        let g0 = try groups[0].forward(stem(images)).output
        let (g1, u1) = try groups[1].forward(g0)
        return (u1, try groups[2].blocks[0].preActivation(g1))
    }

    /// Floating-point operations (2 per multiply-add) of the trunk's convolutions per
    /// image of `height × width`, by stage: the stem and groups 0–1, and group 2.
    public func trunkFlops(height: Int, width: Int) -> (early: Int, lastGroup: Int) {
        var (h, w) = (height, width)
        var stages: [Int] = []
        for group in groups {
            var total = 0
            for block in group.blocks {
                total += block.flops(height: h, width: w)
                (h, w) = ((h - 1) / block.conv0.stride + 1, (w - 1) / block.conv0.stride + 1)
            }
            stages.append(total)
        }
        let stem = conv0.flops(outputHeight: height, outputWidth: width)
        return (stem + stages[0] + stages[1], stages[2] + classifier.weight.count * 2)
    }

    // MARK: Trunk

    public var taps: [FeatureTap] { configuration.taps }
    public var finalChannels: Int { configuration.groupWidths[2] }

    /// The trunk computes all three taps' maps on its way (`features(_:)`); those not
    /// asked for are dropped.
    public func features(_ images: Tensor, taps names: Set<String>) throws -> TrunkFeatures {
        let features = try features(images)
        let maps = ["group1_input": features.group1Input, "group2_input": features.group2Input, "final": features.final]
        return TrunkFeatures(final: features.final, taps: maps.filter { names.contains($0.key) })
    }

    public func forwardFlops(height: Int, width: Int) -> Int {
        let flops = trunkFlops(height: height, width: width)
        return flops.early + flops.lastGroup
    }

    /// Classifier logits (N, classes) from the trunk's features.
    public func logits(_ features: Features) throws -> Tensor {
        try classifier(features.final.globalAveragePool())
    }

    /// Logits (N, classes) of images (N, C, H, W).
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        try logits(features(images))
    }
}
