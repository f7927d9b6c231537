/// The ops of the attention modules of "Pay Attention to the Activations" (DESIGN §4),
/// forward and backward. Index names: b batch, k head, l class, s position (h·w),
/// i source of the aggregation.
public protocol AttentionOps {
    /// Head outputs `o[b,k,l] = Σ_s O[b,k,l,s]·M[b,k,s]`.
    /// values O float32 (B, K, L, S), mask M (B, K, S), output o (B, K, L).
    func attendedSumForward(_ descriptor: AttentionDescriptor, values: any DeviceBuffer,
                            mask: any DeviceBuffer, output: any DeviceBuffer) throws

    /// `∂O[b,k,l,s] = do[b,k,l]·M[b,k,s]` and `∂M[b,k,s] = Σ_l do[b,k,l]·O[b,k,l,s]`.
    func attendedSumBackward(_ descriptor: AttentionDescriptor, values: any DeviceBuffer, mask: any DeviceBuffer,
                             outputGradient: any DeviceBuffer,
                             valuesGradient: any DeviceBuffer, maskGradient: any DeviceBuffer) throws

    /// Attention gates and the gated combination of the head outputs:
    /// `g[b,k] = softmax over k of tanh(Σ_s S[b,k,s]·M[b,k,s])`,
    /// `output[b,l] = Σ_k g[b,k]·o[b,k,l]`.
    /// scores S and mask M float32 (B, K, S), head outputs o (B, K, L); writes gates g
    /// (B, K) and output (B, L).
    func attentionGatesForward(_ descriptor: AttentionDescriptor, scores: any DeviceBuffer, mask: any DeviceBuffer,
                               headOutputs: any DeviceBuffer, gates: any DeviceBuffer, output: any DeviceBuffer) throws

    /// Gradients of `output` (B, L) with respect to S, M (B, K, S) and o (B, K, L). The
    /// gates are recomputed from S and M, so the call needs only the forward's inputs.
    func attentionGatesBackward(_ descriptor: AttentionDescriptor, scores: any DeviceBuffer, mask: any DeviceBuffer,
                                headOutputs: any DeviceBuffer, outputGradient: any DeviceBuffer,
                                scoresGradient: any DeviceBuffer, maskGradient: any DeviceBuffer,
                                headOutputsGradient: any DeviceBuffer) throws

    /// Gated mixture of log-probabilities: `logp_i = log_softmax over l of sources[b,i,:]`,
    /// `out[b,l] = Σ_i w_i·logp_i[l]` with w the softmax of the gates (`.softmax`) or
    /// `σ(gates_i) / (1e-6 + Σ_j σ(gates_j))` (`.sigmoid`).
    /// sources float32 (B, N, L) raw scores, gates (B, N) raw values, output (B, L).
    func aggregationForward(_ descriptor: AggregationDescriptor, sources: any DeviceBuffer,
                            gates: any DeviceBuffer, output: any DeviceBuffer) throws

    /// Gradients of the aggregation with respect to sources (B, N, L) and gates (B, N).
    func aggregationBackward(_ descriptor: AggregationDescriptor, sources: any DeviceBuffer, gates: any DeviceBuffer,
                             outputGradient: any DeviceBuffer,
                             sourcesGradient: any DeviceBuffer, gatesGradient: any DeviceBuffer) throws

    /// Head-separation regulariser: P = 2×2 average pool (floor) of the masks,
    /// `G = P·Pᵀ` per item, `R = mean over all B·K·K entries of (G ⊙ (1 − I))²`.
    /// masks float32 (B, K, h, w); writes gram G (B, K, K), kept for the backward, and
    /// loss R float32[1].
    func headSeparationForward(_ descriptor: HeadSeparationDescriptor, masks: any DeviceBuffer,
                               gram: any DeviceBuffer, loss: any DeviceBuffer) throws

    /// `∂R/∂M` (B, K, h, w) times the upstream gradient (float32[1]), from the masks and
    /// the forward's gram. Mask elements outside the pooled area (last row or column of
    /// an odd size) get 0.
    func headSeparationBackward(_ descriptor: HeadSeparationDescriptor, masks: any DeviceBuffer, gram: any DeviceBuffer,
                                lossGradient: any DeviceBuffer, masksGradient: any DeviceBuffer) throws
}

/// Sizes of one attention module's heads: B items, K heads, L classes, S = h·w positions.
public struct AttentionDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var heads: Int
    public var classes: Int
    public var positions: Int

    public init(batch: Int, heads: Int, classes: Int, positions: Int) {
        self.batch = batch
        self.heads = heads
        self.classes = classes
        self.positions = positions
    }

    public var description: String { "(B \(batch), K \(heads), L \(classes), S \(positions))" }

    /// Named shapes of the buffers these ops take.
    public enum Layout: Sendable {
        /// (B, K, L, S)
        case values
        /// (B, K, S)
        case perPosition
        /// (B, K, L)
        case perClass
        /// (B, K)
        case perHead
        /// (B, L)
        case combined
    }

    public func count(_ layout: Layout) -> Int {
        switch layout {
        case .values: batch * heads * classes * positions
        case .perPosition: batch * heads * positions
        case .perClass: batch * heads * classes
        case .perHead: batch * heads
        case .combined: batch * classes
        }
    }

    public func shape(_ layout: Layout) -> String {
        switch layout {
        case .values: "(\(batch), \(heads), \(classes), \(positions))"
        case .perPosition: "(\(batch), \(heads), \(positions))"
        case .perClass: "(\(batch), \(heads), \(classes))"
        case .perHead: "(\(batch), \(heads))"
        case .combined: "(\(batch), \(classes))"
        }
    }

    /// Throws unless the sizes are non-negative and each named buffer holds its layout's
    /// count. With `needsHeads` (the gates' softmax over K), K = 0 is refused too.
    public func validate(_ op: String, needsHeads: Bool = false, _ buffers: [(name: String, layout: Layout, count: Int)]) throws {
        try ShapeRequirements.requireNonNegative(op, ["batch": batch, "heads": heads, "classes": classes, "positions": positions])
        if needsHeads && heads == 0 && batch > 0 {
            throw HeedError.invalidArgument(op: op, "softmax over zero heads in \(self)")
        }
        for buffer in buffers {
            try ShapeRequirements.requireCount(op, buffer.name, shape: shape(buffer.layout), expected: count(buffer.layout),
                                      count: buffer.count, in: self)
        }
    }
}

/// How the aggregation weighs its sources.
public enum AggregationGate: String, Sendable, CaseIterable {
    /// `w = softmax(gates)`.
    case softmax
    /// `w_i = σ(gates_i) / (1e-6 + Σ_j σ(gates_j))`.
    case sigmoid
}

/// B items, N log-probability sources of L classes each, weighed by `gate`.
public struct AggregationDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var sources: Int
    public var classes: Int
    public var gate: AggregationGate

    /// The constant in the sigmoid gate's denominator, as in the authors' code.
    public static let sigmoidEpsilon = 1e-6

    public init(batch: Int, sources: Int, classes: Int, gate: AggregationGate) {
        self.batch = batch
        self.sources = sources
        self.classes = classes
        self.gate = gate
    }

    public var description: String { "(B \(batch), N \(sources), L \(classes), \(gate) gate)" }

    /// Throws unless N, L ≥ 1 (weights and log_softmax over nothing are undefined) and the buffers
    /// hold sources (B, N, L), gates (B, N), output (B, L).
    public func validate(_ op: String, sources sourceCounts: [Int], gates gateCounts: [Int], outputs: [Int]) throws {
        try ShapeRequirements.requireNonNegative(op, ["batch": batch, "sources": sources, "classes": classes])
        if classes == 0 && batch * sources > 0 {
            throw HeedError.invalidArgument(op: op, "log_softmax over zero classes in \(self)")
        }
        if sources == 0 && batch > 0 {
            throw HeedError.invalidArgument(op: op, "weighing zero sources in \(self)")
        }
        for count in sourceCounts {
            try ShapeRequirements.requireCount(op, "sources", shape: "(\(batch), \(sources), \(classes))",
                                      expected: batch * sources * classes, count: count, in: self)
        }
        for count in gateCounts {
            try ShapeRequirements.requireCount(op, "gates", shape: "(\(batch), \(sources))", expected: batch * sources, count: count, in: self)
        }
        for count in outputs {
            try ShapeRequirements.requireCount(op, "output", shape: "(\(batch), \(classes))", expected: batch * classes, count: count, in: self)
        }
    }
}

/// Masks of B items, K heads, h×w positions, for the head-separation regulariser.
public struct HeadSeparationDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var heads: Int
    public var height: Int
    public var width: Int

    public init(batch: Int, heads: Int, height: Int, width: Int) {
        self.batch = batch
        self.heads = heads
        self.height = height
        self.width = width
    }

    /// Positions after the 2×2 average pool with floor: ⌊h/2⌋·⌊w/2⌋.
    public var pooledPositions: Int { (height / 2) * (width / 2) }
    public var maskCount: Int { batch * heads * height * width }
    public var gramCount: Int { batch * heads * heads }

    public var description: String { "(B \(batch), K \(heads), h \(height), w \(width))" }

    /// Throws unless B, K ≥ 1 (R is a mean over B·K·K entries) and the buffers hold
    /// masks (B, K, h, w), gram (B, K, K) and the scalars.
    public func validate(_ op: String, masks: [Int], gram: Int, scalars: KeyValuePairs<String, Int>) throws {
        try ShapeRequirements.requireNonNegative(op, ["height": height, "width": width])
        guard batch >= 1, heads >= 1 else {
            throw HeedError.invalidArgument(op: op, "needs at least one item and one head, got \(self)")
        }
        let maskShape = "(\(batch), \(heads), \(height), \(width))"
        for count in masks {
            try ShapeRequirements.requireCount(op, "masks", shape: maskShape, expected: maskCount, count: count, in: self)
        }
        try ShapeRequirements.requireCount(op, "gram", shape: "(\(batch), \(heads), \(heads))", expected: gramCount, count: gram, in: self)
        for (name, count) in scalars {
            try ShapeRequirements.requireCount(op, name, shape: "(1)", expected: 1, count: count, in: self)
        }
    }
}
