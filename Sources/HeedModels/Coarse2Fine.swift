import HeedGraph
import HeedOps

/// The options of Coarse2Fine training (docs/design.md §5), each part switchable for ablation.
public struct Coarse2FineConfiguration: Codable, Sendable, Equatable {
    /// Epochs of the coarse stage alone (E₁); the fine stage joins from this epoch on.
    public var fineStartEpoch: Int
    /// λ, the weight of the fine view's NLL.
    public var fineWeight: Float
    /// s_min: the smallest zoom scale (the zoomed view covers at least this fraction of each side).
    public var minimumScale: Float
    /// Whether the fine loss's gradient flows back through the zoom (θ) into the inverse
    /// mapping and the attention; off, the zoom is a constant for the fine loss.
    public var fineGradient: Bool

    public init(fineStartEpoch: Int = 1, fineWeight: Float = 1, minimumScale: Float = 0.4, fineGradient: Bool = true) {
        self.fineStartEpoch = fineStartEpoch
        self.fineWeight = fineWeight
        self.minimumScale = minimumScale
        self.fineGradient = fineGradient
    }

    public func validate() throws {
        guard fineStartEpoch >= 0 else {
            throw HeedError.invalidArgument(op: "coarse2fine", "the fine stage's start epoch must be 0 or more")
        }
        guard fineWeight >= 0 else { throw HeedError.invalidArgument(op: "coarse2fine", "the fine weight must be 0 or more") }
        guard minimumScale > 0 && minimumScale < 1 else {
            throw HeedError.invalidArgument(op: "coarse2fine", "the minimum scale \(minimumScale) must lie in (0, 1)")
        }
    }
}

/// The part Coarse2Fine (Eshratifar et al., 2019) adds to the attention network, as
/// Heed reads it (docs/design.md §5, docs/coarse2fine.md): an inverse-mapping head turns the
/// attended features of the deepest module of the coarse view into a zoom (s, tx, ty);
/// the image is resampled through θ = [[s, 0, tx], [0, s, ty]] (differentiable: affine
/// grid and bilinear sampling) and the same network classifies the zoomed image (fine
/// view). `Network` runs both views:
///
///     loss = NLL(coarse) + λ·NLL(fine) + regulariser        prediction = (coarse + fine) / 2
public final class Coarse2FineZoom: Module {
    public let configuration: Coarse2FineConfiguration
    /// The inverse mapping: pooled attended features (64k) → (a_s, a_x, a_y).
    public let inverseMapping: Linear
    /// Whether the fine view is part of the loss (false during the first E₁ epochs).
    public private(set) var fineStageActive: Bool

    /// What the two views computed for a batch.
    public struct Views {
        public let coarse: AttentionHeads.Analysis
        /// The zoom (B, 2, 3) and the zoomed images (B, C, H, W).
        public let theta: Tensor
        public let zoomed: Tensor
        public let fine: AttentionHeads.Analysis
        /// (coarse + fine) / 2, the prediction (B, L).
        public let output: Tensor
    }

    /// - Parameters:
    ///   - finalChannels: the channels of the trunk's final features (64k), which the inverse mapping reads.
    ///   - seed: the network's seed; the mapping draws from a generator of its own.
    init(_ configuration: Coarse2FineConfiguration, finalChannels: Int, on backend: any Backend, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        fineStageActive = configuration.fineStartEpoch == 0
        var random = SeededGenerator(seed: seed ^ 0xC0A2_5E2F)
        let fanIn = finalChannels
        inverseMapping = try Linear(fanIn, 3, on: backend, random: &random)
        // Start near a mild, centred zoom: a bias giving s = s_min + (1 − s_min)·σ(2) ≈ 0.93
        // (s_min 0.4) and t = 0, and weights a tenth of Kaiming's. Not zero: the gradient
        // reaching the attention through θ is Wᵀ·∂L/∂a, and would be zero until W moved.
        try inverseMapping.weight.assign(
            Initialization.normal(count: 3 * fanIn, std: 0.1 * (2 / Double(fanIn)).squareRoot(), random: &random))
        try inverseMapping.bias!.assign([2, 0, 0])
        super.init()
        register(child: inverseMapping, as: "inverse_mapping")
    }

    func startEpoch(_ epoch: Int) {
        fineStageActive = epoch >= configuration.fineStartEpoch
    }

    /// The zoom for a coarse analysis: θ (B, 2, 3) from the deepest module's attended
    /// features Σ_k g[b,k]·Σ_s M[b,k,s]·Z[b,·,s] (the gates g as fixed weights).
    public func zoom(_ coarse: AttentionHeads.Analysis) throws -> Tensor {
        let deepest = coarse.modules[0]
        let z = coarse.finalFeatures
        let (b, c, h, w) = (z.shape[0], z.shape[1], z.shape[2], z.shape[3])
        let heads = deepest.masks.shape[1]
        let masks = try deepest.masks.reshaped([b, heads, h * w])
        let attended = try masks.batchedMatmul(z.reshaped([b, c, h * w]), transposeOther: true)  // (B, K, C)
        let pooled = try deepest.gates.reshaped([b, 1, heads]).batchedMatmul(attended)  // (B, 1, C)
        let raw = try inverseMapping(pooled.reshaped([b, c]))  // (B, 3)
        let sMin = configuration.minimumScale
        let scale = try raw.column(0).sigmoid().scaled(by: 1 - sMin).adding(Tensor.filled(sMin, shape: [b, 1], on: z.backend))
        let room = try scale.scaled(by: -1).adding(Tensor.filled(1, shape: [b, 1], on: z.backend))  // 1 − s
        let tx = try raw.column(1).tanh().multiplying(room)
        let ty = try raw.column(2).tanh().multiplying(room)
        return try Tensor.placeColumns([(scale, 0), (tx, 2), (scale, 4), (ty, 5)], width: 6).reshaped([b, 2, 3])
    }
}
