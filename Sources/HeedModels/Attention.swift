import HeedGraph
import HeedOps

// The gate is part of a model's configuration, stored as its raw value ("softmax").
extension AggregationGate: Codable {}

/// The options of the attention network (docs/design.md §4).
public struct AttentionConfiguration: Codable, Sendable, Equatable {
    /// Attention depth AD: the number of modules. Without `taps`, the modules sit on the
    /// AD deepest taps of the trunk (the Wide ResNet's groups 2, 1, 0: 1…3).
    public var depth: Int
    /// Attention width AW: heads K per module.
    public var width: Int
    public var gate: AggregationGate
    /// Weight of the head-separation regulariser.
    public var regularizerWeight: Float
    /// Orthogonal rows for the attention-head weights (docs/design.md §5.1) instead of Kaiming.
    public var orthogonalInitialization: Bool
    /// The trunk's taps the modules sit on (`layer3`, `layer4`; see `FeatureTap`), `depth`
    /// of them; nil for the AD deepest. Absent from the files of networks without it.
    public var taps: [String]?

    public init(
        depth: Int, width: Int, gate: AggregationGate = .softmax, regularizerWeight: Float = 0.001,
        orthogonalInitialization: Bool = false, taps: [String]? = nil
    ) {
        self.depth = depth
        self.width = width
        self.gate = gate
        self.regularizerWeight = regularizerWeight
        self.orthogonalInitialization = orthogonalInitialization
        self.taps = taps
    }

    /// The most heads per module Heed builds, checked before anything is built.
    public static let maximumWidth = 1024

    public func validate() throws {
        guard width <= Self.maximumWidth else {
            throw HeedError.invalidArgument(op: "attention", "attention width \(width) is more than the limit of \(Self.maximumWidth)")
        }
        if let taps {
            guard !taps.isEmpty, taps.count == depth else {
                throw HeedError.invalidArgument(op: "attention", "attention depth \(depth) but \(taps.count) taps \(taps): they must agree")
            }
        } else {
            guard (1...3).contains(depth) else {
                throw HeedError.invalidArgument(op: "attention", "attention depth \(depth) must be 1, 2 or 3 (0 is the baseline network)")
            }
        }
        guard width >= 1 else { throw HeedError.invalidArgument(op: "attention", "attention width \(width) must be at least 1") }
        guard regularizerWeight >= 0 else { throw HeedError.invalidArgument(op: "attention", "regulariser weight must be 0 or more") }
    }

    /// The taps the modules sit on among a trunk's `available` ones, deepest first: `taps`,
    /// or the `depth` deepest. Throws naming an unknown tap and listing the valid ones.
    public func resolvedTaps(_ available: [FeatureTap], backbone: String) throws -> [FeatureTap] {
        if let taps { return try FeatureTap.select(taps, from: available, backbone: backbone) }
        guard depth <= available.count else {
            throw HeedError.invalidArgument(op: "attention", "attention depth \(depth): \(backbone) has \(available.count) taps")
        }
        return Array(available.sorted { $0.index > $1.index }.prefix(depth))
    }
}

/// A 3×3, padding 1, bias-free convolution kept one level down, so its weight is named
/// `<head>.conv.weight` as in the reference code.
public final class HeadConvolution: Module {
    public let conv: Conv2d

    init(_ inChannels: Int, _ outChannels: Int, orthogonal: Bool, on backend: any Backend, random: inout SeededGenerator) throws {
        conv = try Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, on: backend, random: &random)
        if orthogonal {
            let fanIn = inChannels * 9
            try conv.weight.assign(
                Initialization.orthogonalRows(rows: outChannels, columns: fanIn, gain: 2.0.squareRoot(), random: &random))
        }
        super.init()
        register(child: conv, as: "conv")
    }
}

/// One attention module on a feature map Z (B, C, h, w), with K heads for L classes:
///
///     M = softmax_s att_head(Z)           (B, K, hw)    where each head looks
///     O = out_head(Z)                     (B, K, L, hw) what each position says
///     o = Σ_s O·M                         (B, K, L)     each head's class scores
///     g = softmax_k tanh(Σ_s score(Z)·M)  (B, K)        how much to trust each head
///     output = Σ_k g·o                    (B, L)
public final class AttentionModule: Module {
    public let heads: Int
    public let classes: Int
    public let attentionHead: HeadConvolution
    public let outputHead: HeadConvolution
    public let score: HeadConvolution

    /// What a module computed for a batch.
    public struct Result {
        public let output: Tensor
        /// The attention masks (B, K, h, w), each summing to 1 over its positions.
        public let masks: Tensor
        /// The attention gates g (B, K) (constant).
        public let gates: Tensor
    }

    public init(channels: Int, classes: Int, heads: Int, orthogonal: Bool, on backend: any Backend, random: inout SeededGenerator) throws {
        self.heads = heads
        self.classes = classes
        attentionHead = try HeadConvolution(channels, heads, orthogonal: orthogonal, on: backend, random: &random)
        outputHead = try HeadConvolution(channels, heads * classes, orthogonal: false, on: backend, random: &random)
        score = try HeadConvolution(channels, heads, orthogonal: false, on: backend, random: &random)
        super.init()
        // The authors' AttentionHead registers 1 - I as a persistent buffer `diag` (the
        // regulariser's mask; Heed's op builds its own): accepted and kept (docs/design.md §9).
        attentionHead.register(constant: .offDiagonalMask(heads), as: "diag")
        register(child: attentionHead, as: "att_head")
        register(child: outputHead, as: "out_head")
        register(child: score, as: "score")
    }

    public func callAsFunction(_ z: Tensor) throws -> Result {
        let (b, h, w) = (z.shape[0], z.shape[2], z.shape[3])
        // The three heads read the same Z with the same 3×3 window: one convolution with
        // their weights stacked (one im2col and one GEMM instead of three), then split.
        let weight = try Tensor.concatenate([attentionHead.conv.weight, outputHead.conv.weight, score.conv.weight])
        let all = try z.conv2d(weight: weight, bias: nil, stride: 1, padding: 1)
        let masks = try all.channels(0..<heads).reshaped([b, heads, h * w]).softmax()
        let values = try all.channels(heads..<heads * (classes + 1)).reshaped([b, heads, classes, h * w])
        let headOutputs = try Tensor.attendedSum(values: values, mask: masks)
        let scores = try all.channels(heads * (classes + 1)..<heads * (classes + 2)).reshaped([b, heads, h * w])
        let (output, gates) = try Tensor.attentionGates(scores: scores, mask: masks, headOutputs: headOutputs)
        return Result(output: output, masks: try masks.reshaped([b, heads, h, w]), gates: gates)
    }
}

/// The global output gate: gates = tanh(BN1d(x̄·Wᵀ)), one per source, from the pooled
/// final features x̄ (B, 64k). Parameters `gates.weight` (AD+1, 64k), `bn.*`.
public final class OutputGate: Module {
    public let gates: Linear
    public let bn: BatchNorm

    init(features: Int, sources: Int, on backend: any Backend, random: inout SeededGenerator) throws {
        gates = try Linear(features, sources, bias: false, on: backend, random: &random)
        bn = try BatchNorm(sources, on: backend)
        super.init()
        register(child: gates, as: "gates")
        register(child: bn, as: "bn")
    }

    func callAsFunction(_ pooled: Tensor) throws -> Tensor {
        try bn(gates(pooled)).tanh()
    }
}

/// The attention parts of "Pay Attention to the Activations" (Rodriguez et al., 2019)
/// on any trunk, as docs/design.md §4 fixes them: modules `att{i}` on the trunk's taps
/// (the Wide ResNet's default: `att2`, `att1`, `att0` on relu(bn_g2(g2)), on u of
/// group_2.block_0 and on u of group_1.block_0, the first AD of them), and the output gate
/// on the pooled final features that mixes their outputs and the classifier's logits after
/// a log-softmax each.
public final class AttentionHeads: Module {
    public let configuration: AttentionConfiguration
    /// The taps the modules read, deepest first (the source order).
    public let taps: [FeatureTap]
    /// The modules in source order (att2, att1, att0 on a Wide ResNet).
    public let modules: [AttentionModule]
    public let outputGate: OutputGate

    /// Everything the network computed for a batch, for analysis and pictures.
    public struct Analysis {
        /// The network's output (B, L): a mixture of log-probabilities.
        public let output: Tensor
        /// Sources in module order, then the classifier: (B, AD+1, L) raw scores.
        public let sources: Tensor
        /// Global gate values after tanh (B, AD+1).
        public let globalGates: Tensor
        public let modules: [AttentionModule.Result]
        /// The trunk's final features (B, C, h, w) before pooling (relu(bn_g2(g2)) on a
        /// Wide ResNet: the input of att2, the deepest module).
        public let finalFeatures: Tensor
    }

    /// - Parameters:
    ///   - taps: the maps the modules read, deepest first (`AttentionConfiguration.resolvedTaps`).
    ///   - finalChannels: the channels of the pooled final features the output gate reads.
    ///   - seed: the network's seed; the heads draw from a generator of their own.
    init(
        _ configuration: AttentionConfiguration, taps: [FeatureTap], finalChannels: Int, classes: Int,
        on backend: any Backend, seed: UInt64
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.taps = taps
        var random = SeededGenerator(seed: seed ^ 0xA77E_4710)
        modules = try taps.map {
            try AttentionModule(
                channels: $0.channels, classes: classes, heads: configuration.width,
                orthogonal: configuration.orthogonalInitialization, on: backend, random: &random)
        }
        outputGate = try OutputGate(features: finalChannels, sources: taps.count + 1, on: backend, random: &random)
        super.init()
        for (tap, module) in zip(taps, modules) { register(child: module, as: "att\(tap.index)") }
        register(child: outputGate, as: "output_gate")
    }

    /// The modules, the output gate and the mixture on the trunk's features; the
    /// classifier's logits are the last source.
    func analyse(_ features: TrunkFeatures, classifier: Linear) throws -> Analysis {
        let results = try zip(modules, taps).map { module, tap in
            guard let input = features.taps[tap.name] else {
                throw HeedError.invalidArgument(op: "attention", "the trunk did not compute tap '\(tap.name)'")
            }
            return try module(input)
        }
        let pooled = try features.final.globalAveragePool()
        let logits = try classifier(pooled)
        let sources = try Tensor.stack(results.map(\.output) + [logits])
        let gates = try outputGate(pooled)
        return Analysis(
            output: try Tensor.aggregate(sources: sources, gates: gates, gate: configuration.gate),
            sources: sources, globalGates: gates, modules: results, finalFeatures: features.final)
    }

    /// The mean of the log-softmax outputs of att1 and att0 (those present) on their
    /// inputs, u of group_2.block_0 and of group_1.block_0: early exit's prediction.
    func earlyExitLogProbabilities(group1Input: Tensor, group2Input: Tensor) throws -> Tensor {
        guard modules.count >= 2 else {
            throw HeedError.invalidArgument(
                op: "early exit", "needs modules before the last group: attention depth 2 or 3, not \(modules.count)")
        }
        let early = try zip(modules.dropFirst(), [group2Input, group1Input]).map { module, input in try module(input).output.logSoftmax() }
        var sum = early[0]
        for other in early.dropFirst() { sum = try sum.adding(other) }
        return try sum.scaled(by: 1 / Float(early.count))
    }

    /// The mean over modules of reg_w·R, the head-separation regulariser (a scalar; 0 when reg_w is 0).
    public func regularizer(_ analysis: Analysis) throws -> Tensor {
        guard configuration.regularizerWeight > 0 else { return try Tensor.filled(0, shape: [1], on: analysis.output.backend) }
        for (tap, result) in zip(taps, analysis.modules) where result.masks.shape[2] < 2 || result.masks.shape[3] < 2 {
            throw HeedError.invalidArgument(
                op: "attention",
                "att\(tap.index) reads \(tap.name) at \(result.masks.shape[2])x\(result.masks.shape[3]); the regulariser pools its masks 2x2: use larger images or a shallower tap"
            )
        }
        var separation = try analysis.modules[0].masks.headSeparation()
        for result in analysis.modules.dropFirst() { separation = try separation.adding(result.masks.headSeparation()) }
        return try separation.scaled(by: configuration.regularizerWeight / Float(modules.count))
    }

    /// The head convolutions' flops of each module, in source order (att2, att1, att0),
    /// each at its input's size (the image's side over the tap's scale), for images of
    /// `height × width`.
    func moduleFlops(height: Int, width: Int) -> [Int] {
        let sizes = taps.map { (height / $0.scale, width / $0.scale) }
        return zip(modules, sizes).map { module, size in
            [module.attentionHead, module.outputHead, module.score].reduce(0) {
                $0 + $1.conv.flops(outputHeight: size.0, outputWidth: size.1)
            }
        }
    }
}
