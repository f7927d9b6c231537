/// The ops of the attention modules of "Pay Attention to the Activations" (docs/design.md §4),
/// forward and backward. Index names: b batch, k head, l class, s position (h·w),
/// i source of the aggregation. All buffers are float32, row-major; outputs are
/// overwritten, never accumulated into.
public enum AttentionOps {
    /// Head outputs `o[b,k,l] = Σ_s O[b,k,l,s]·M[b,k,s]`.
    /// values O (B, K, L, S), mask M (B, K, S), output o (B, K, L).
    /// Terms: a dot product of S terms, rounded once more by the reference.
    public static let attendedSumForward = OpDefinition<AttentionDescriptor>(
        "attended_sum.forward", .attention, kernels: ["attended_sum_forward", "attended_sum_forward_grouped"], tolerance: .sums { $0.positions + 1 }
    ) { d in
        [.input("values", d.shape(.values)), .input("mask", d.shape(.perPosition)), .output("output", d.shape(.perClass))]
    }

    /// `∂O[b,k,l,s] = do[b,k,l]·M[b,k,s]` and `∂M[b,k,s] = Σ_l do[b,k,l]·O[b,k,l,s]`.
    /// Terms of ∂M: L products plus the reference's rounding. ∂O is one float×float
    /// product, exact in Double and correctly rounded in float32, so it is held to exact.
    public static let attendedSumBackward = OpDefinition<AttentionDescriptor>(
        "attended_sum.backward", .attention, kernels: [
            "attended_sum_backward_values", "attended_sum_backward_mask",
            "attended_sum_backward_values_elements", "attended_sum_backward_mask_elements",
        ],
        tolerance: .sums { $0.classes + 1 }
    ) { d in
        [
            .input("values", d.shape(.values)), .input("mask", d.shape(.perPosition)),
            .input("outputGradient", d.shape(.perClass)),
            .output("valuesGradient", d.shape(.values)), .output("maskGradient", d.shape(.perPosition)),
        ]
    }

    /// Attention gates and the gated combination of the head outputs:
    /// `g[b,k] = softmax over k of tanh(Σ_s S[b,k,s]·M[b,k,s])`,
    /// `output[b,l] = Σ_k g[b,k]·o[b,k,l]`.
    /// scores S and mask M (B, K, S), head outputs o (B, K, L); writes gates g (B, K)
    /// and output (B, L).
    public static let gatesForward = OpDefinition<AttentionDescriptor>(
        "attention_gates.forward", .attention, kernels: ["attention_gates_forward"],
        tolerance: .stated("first-order bounds through the dot product, tanh and the softmax over K"),
        check: requireHeads
    ) { d in
        [
            .input("scores", d.shape(.perPosition)), .input("mask", d.shape(.perPosition)),
            .input("headOutputs", d.shape(.perClass)),
            .output("gates", d.shape(.perHead)), .output("output", d.shape(.combined)),
        ]
    }

    /// Gradients of `output` (B, L) with respect to S, M (B, K, S) and o (B, K, L). The
    /// gates are recomputed from S and M, so the call needs only the forward's inputs.
    public static let gatesBackward = OpDefinition<AttentionDescriptor>(
        "attention_gates.backward", .attention, kernels: ["attention_gates_backward"],
        tolerance: .stated("first-order bounds through the gates' recomputation and the chain rule"),
        check: requireHeads
    ) { d in
        [
            .input("scores", d.shape(.perPosition)), .input("mask", d.shape(.perPosition)),
            .input("headOutputs", d.shape(.perClass)), .input("outputGradient", d.shape(.combined)),
            .output("scoresGradient", d.shape(.perPosition)), .output("maskGradient", d.shape(.perPosition)),
            .output("headOutputsGradient", d.shape(.perClass)),
        ]
    }

    /// Gated mixture of log-probabilities: `logp_i = log_softmax over l of sources[b,i,:]`,
    /// `out[b,l] = Σ_i w_i·logp_i[l]` with w the softmax of the gates (`.softmax`) or
    /// `σ(gates_i) / (1e-6 + Σ_j σ(gates_j))` (`.sigmoid`).
    /// sources (B, N, L) raw scores, gates (B, N) raw values, output (B, L).
    public static let aggregationForward = OpDefinition<AggregationDescriptor>(
        "aggregation.forward", .attention, kernels: ["aggregation_forward"],
        tolerance: .stated("the log-probabilities' error absolute, the weights' and the sum over N relative to the terms"),
        flops: { 6 * $0.batch * $0.sources * $0.classes }
    ) { d in
        [.input("sources", d.sourcesShape), .input("gates", d.gatesShape), .output("output", d.outputShape)]
    }

    /// Gradients of the aggregation with respect to sources (B, N, L) and gates (B, N).
    public static let aggregationBackward = OpDefinition<AggregationDescriptor>(
        "aggregation.backward", .attention, kernels: ["aggregation_backward"],
        tolerance: .stated("first-order bounds through the weights and the log-probabilities, relative to the terms"),
        flops: { 6 * $0.batch * $0.sources * $0.classes }
    ) { d in
        [
            .input("sources", d.sourcesShape), .input("gates", d.gatesShape), .input("outputGradient", d.outputShape),
            .output("sourcesGradient", d.sourcesShape), .output("gatesGradient", d.gatesShape),
        ]
    }

    /// Head-separation regulariser: P = 2×2 average pool (floor) of the masks,
    /// `G = P·Pᵀ` per item, `R = mean over all B·K·K entries of (G ⊙ (1 − I))²`.
    /// masks (B, K, h, w); writes gram G (B, K, K), kept for the backward, and loss R (1).
    public static let headSeparationForward = OpDefinition<HeadSeparationDescriptor>(
        "head_separation.forward", .attention, kernels: ["head_separation_gram", "head_separation_forward"],
        tolerance: .stated("sums of positive terms, relative to the result")
    ) { d in
        [.input("masks", d.maskShape), .output("gram", d.gramShape), .output("loss", [1])]
    }

    /// `∂R/∂M` (B, K, h, w) times the upstream gradient (1), from the masks and the
    /// forward's gram. Mask elements outside the pooled area (last row or column of an
    /// odd size) get 0.
    public static let headSeparationBackward = OpDefinition<HeadSeparationDescriptor>(
        "head_separation.backward", .attention, kernels: ["head_separation_backward"],
        tolerance: .stated("sums of positive terms, relative to the result")
    ) { d in
        [
            .input("masks", d.maskShape), .input("gram", d.gramShape), .input("lossGradient", [1]),
            .output("masksGradient", d.maskShape),
        ]
    }

    static let table = [
        attendedSumForward.erased, attendedSumBackward.erased, gatesForward.erased, gatesBackward.erased,
        aggregationForward.erased, aggregationBackward.erased, headSeparationForward.erased, headSeparationBackward.erased,
    ]

    /// The gates' softmax over K is undefined for K = 0 (unless there are no items).
    @Sendable static func requireHeads(_ d: AttentionDescriptor, _: [Int?]) throws {
        if d.heads == 0 && d.batch > 0 {
            throw HeedError.invalidArgument(op: gatesForward.errorName, "softmax over zero heads in \(d)")
        }
    }
}

extension Backend {
    public func attendedSumForward(
        _ descriptor: AttentionDescriptor, values: any DeviceBuffer,
        mask: any DeviceBuffer, output: any DeviceBuffer
    ) throws {
        try run(AttentionOps.attendedSumForward, descriptor, [values, mask, output])
    }

    public func attendedSumBackward(
        _ descriptor: AttentionDescriptor, values: any DeviceBuffer, mask: any DeviceBuffer,
        outputGradient: any DeviceBuffer,
        valuesGradient: any DeviceBuffer, maskGradient: any DeviceBuffer
    ) throws {
        try run(AttentionOps.attendedSumBackward, descriptor, [values, mask, outputGradient, valuesGradient, maskGradient])
    }

    public func attentionGatesForward(
        _ descriptor: AttentionDescriptor, scores: any DeviceBuffer, mask: any DeviceBuffer,
        headOutputs: any DeviceBuffer, gates: any DeviceBuffer, output: any DeviceBuffer
    ) throws {
        try run(AttentionOps.gatesForward, descriptor, [scores, mask, headOutputs, gates, output])
    }

    public func attentionGatesBackward(
        _ descriptor: AttentionDescriptor, scores: any DeviceBuffer, mask: any DeviceBuffer,
        headOutputs: any DeviceBuffer, outputGradient: any DeviceBuffer,
        scoresGradient: any DeviceBuffer, maskGradient: any DeviceBuffer,
        headOutputsGradient: any DeviceBuffer
    ) throws {
        try run(
            AttentionOps.gatesBackward, descriptor,
            [scores, mask, headOutputs, outputGradient, scoresGradient, maskGradient, headOutputsGradient])
    }

    public func aggregationForward(
        _ descriptor: AggregationDescriptor, sources: any DeviceBuffer,
        gates: any DeviceBuffer, output: any DeviceBuffer
    ) throws {
        try run(AttentionOps.aggregationForward, descriptor, [sources, gates, output])
    }

    public func aggregationBackward(
        _ descriptor: AggregationDescriptor, sources: any DeviceBuffer, gates: any DeviceBuffer,
        outputGradient: any DeviceBuffer,
        sourcesGradient: any DeviceBuffer, gatesGradient: any DeviceBuffer
    ) throws {
        try run(AttentionOps.aggregationBackward, descriptor, [sources, gates, outputGradient, sourcesGradient, gatesGradient])
    }

    public func headSeparationForward(
        _ descriptor: HeadSeparationDescriptor, masks: any DeviceBuffer,
        gram: any DeviceBuffer, loss: any DeviceBuffer
    ) throws {
        try run(AttentionOps.headSeparationForward, descriptor, [masks, gram, loss])
    }

    public func headSeparationBackward(
        _ descriptor: HeadSeparationDescriptor, masks: any DeviceBuffer, gram: any DeviceBuffer,
        lossGradient: any DeviceBuffer, masksGradient: any DeviceBuffer
    ) throws {
        try run(AttentionOps.headSeparationBackward, descriptor, [masks, gram, lossGradient, masksGradient])
    }
}

/// Sizes of one attention module's heads: B items, K heads, L classes, S = h·w positions.
public struct AttentionDescriptor: OpDescriptor, Equatable {
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

    public func shape(_ layout: Layout) -> [Int] {
        switch layout {
        case .values: [batch, heads, classes, positions]
        case .perPosition: [batch, heads, positions]
        case .perClass: [batch, heads, classes]
        case .perHead: [batch, heads]
        case .combined: [batch, classes]
        }
    }

    /// Throws unless the sizes are non-negative. The descriptor serves both the attended
    /// sum and the gates, so its errors name the family; the gates' K ≥ 1 is their own
    /// check (`AttentionOps.requireHeads`).
    public func validate() throws {
        try ShapeRequirements.requireNonNegative(
            OpFamily.attention.rawValue,
            ["batch": batch, "heads": heads, "classes": classes, "positions": positions])
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
public struct AggregationDescriptor: OpDescriptor, Equatable {
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

    public var sourcesShape: [Int] { [batch, sources, classes] }
    public var gatesShape: [Int] { [batch, sources] }
    public var outputShape: [Int] { [batch, classes] }

    public var description: String { "(B \(batch), N \(sources), L \(classes), \(gate) gate)" }

    /// Throws unless the sizes are non-negative and N, L ≥ 1 where there is anything to
    /// weigh (weights and log_softmax over nothing are undefined).
    public func validate() throws {
        let op = AttentionOps.aggregationForward.errorName
        try ShapeRequirements.requireNonNegative(op, ["batch": batch, "sources": sources, "classes": classes])
        if classes == 0 && batch * sources > 0 {
            throw HeedError.invalidArgument(op: op, "log_softmax over zero classes in \(self)")
        }
        if sources == 0 && batch > 0 {
            throw HeedError.invalidArgument(op: op, "weighing zero sources in \(self)")
        }
    }
}

/// Masks of B items, K heads, h×w positions, for the head-separation regulariser.
public struct HeadSeparationDescriptor: OpDescriptor, Equatable {
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
    public var maskShape: [Int] { [batch, heads, height, width] }
    public var gramShape: [Int] { [batch, heads, heads] }
    public var maskCount: Int { batch * heads * height * width }
    public var gramCount: Int { batch * heads * heads }

    public var description: String { "(B \(batch), K \(heads), h \(height), w \(width))" }

    /// Throws unless h, w ≥ 0 and B, K ≥ 1 (R is a mean over B·K·K entries).
    public func validate() throws {
        let op = AttentionOps.headSeparationForward.errorName
        try ShapeRequirements.requireNonNegative(op, ["height": height, "width": width])
        guard batch >= 1, heads >= 1 else {
            throw HeedError.invalidArgument(op: op, "needs at least one item and one head, got \(self)")
        }
    }
}
