import HeedOps

// The attention modules' ops (`AttentionOps`; docs/design.md §4).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// o[b,k,l] = Σ_s O[b,k,l,s]·M[b,k,s]: each head's class scores under its mask.
    /// - Parameters: values O (B, K, L, S); mask M (B, K, S). Returns (B, K, L).
    public static func attendedSum(values: Tensor, mask: Tensor) throws -> Tensor {
        guard values.rank == 4, mask.rank == 3 else {
            throw HeedError.shapeMismatch(
                op: AttentionOps.attendedSumForward.errorName,
                "values \(values.shape) must be (B, K, L, S) and mask \(mask.shape) (B, K, S)")
        }
        let d = AttentionDescriptor(batch: values.shape[0], heads: values.shape[1], classes: values.shape[2], positions: values.shape[3])
        let output = try uninitialized(shape: [d.batch, d.heads, d.classes], on: values.backend)
        try values.backend.attendedSumForward(d, values: values.storage, mask: mask.storage, output: output.storage)
        let op = AttentionOps.attendedSumForward.errorName
        return result(op: op, shape: output.shape, storage: output.storage, inputs: [values, mask]) { g in
            let dValues = try uninitialized(shape: values.shape, on: values.backend)
            let dMask = try uninitialized(shape: mask.shape, on: values.backend)
            try values.backend.attendedSumBackward(
                d, values: values.storage, mask: mask.storage, outputGradient: g.storage,
                valuesGradient: dValues.storage, maskGradient: dMask.storage)
            return [dValues, dMask]
        }
    }

    /// The attention gates and the gated combination of heads:
    /// g[b,k] = softmax_k tanh(Σ_s S·M) and output[b,l] = Σ_k g[b,k]·o[b,k,l].
    /// - Parameters: scores S (B, K, S); mask M (B, K, S); head outputs o (B, K, L).
    /// - Returns: the module output (B, L) and the gates (B, K) as a constant (for analysis).
    public static func attentionGates(scores: Tensor, mask: Tensor, headOutputs: Tensor) throws -> (output: Tensor, gates: Tensor) {
        guard scores.rank == 3, headOutputs.rank == 3 else {
            throw HeedError.shapeMismatch(
                op: AttentionOps.gatesForward.errorName,
                "scores \(scores.shape) must be (B, K, S) and head outputs \(headOutputs.shape) (B, K, L)")
        }
        let d = AttentionDescriptor(
            batch: scores.shape[0], heads: scores.shape[1], classes: headOutputs.shape[2], positions: scores.shape[2])
        let backend = scores.backend
        let gates = try uninitialized(shape: [d.batch, d.heads], on: backend)
        let output = try uninitialized(shape: [d.batch, d.classes], on: backend)
        try backend.attentionGatesForward(
            d, scores: scores.storage, mask: mask.storage, headOutputs: headOutputs.storage,
            gates: gates.storage, output: output.storage)
        let op = AttentionOps.gatesForward.errorName
        let result = result(op: op, shape: output.shape, storage: output.storage, inputs: [scores, mask, headOutputs]) { g in
            let (dScores, dMask, dHeads) = (
                try uninitialized(shape: scores.shape, on: backend),
                try uninitialized(shape: mask.shape, on: backend),
                try uninitialized(shape: headOutputs.shape, on: backend)
            )
            try backend.attentionGatesBackward(
                d, scores: scores.storage, mask: mask.storage, headOutputs: headOutputs.storage,
                outputGradient: g.storage, scoresGradient: dScores.storage,
                maskGradient: dMask.storage, headOutputsGradient: dHeads.storage)
            return [dScores, dMask, dHeads]
        }
        return (result, gates)
    }

    /// The network's output from its sources: log_softmax over classes of each source,
    /// mixed by softmax(gates) or by σ(gates) normalised.
    /// - Parameters: sources (B, N, L) raw scores; gates (B, N) raw values.
    /// - Returns: (B, L), a mixture of log-probabilities.
    public static func aggregate(sources: Tensor, gates: Tensor, gate: AggregationGate) throws -> Tensor {
        guard sources.rank == 3, gates.shape == Array(sources.shape.prefix(2)) else {
            throw HeedError.shapeMismatch(
                op: AttentionOps.aggregationForward.errorName,
                "sources \(sources.shape) must be (B, N, L) and gates \(gates.shape) (B, N)")
        }
        let d = AggregationDescriptor(batch: sources.shape[0], sources: sources.shape[1], classes: sources.shape[2], gate: gate)
        let backend = sources.backend
        let output = try uninitialized(shape: [d.batch, d.classes], on: backend)
        try backend.aggregationForward(d, sources: sources.storage, gates: gates.storage, output: output.storage)
        let op = AttentionOps.aggregationForward.errorName
        return result(op: op, shape: output.shape, storage: output.storage, inputs: [sources, gates]) { g in
            let (dSources, dGates) = (
                try uninitialized(shape: sources.shape, on: backend), try uninitialized(shape: gates.shape, on: backend)
            )
            try backend.aggregationBackward(
                d, sources: sources.storage, gates: gates.storage, outputGradient: g.storage,
                sourcesGradient: dSources.storage, gatesGradient: dGates.storage)
            return [dSources, dGates]
        }
    }

    /// The head-separation regulariser of masks (B, K, h, w): with P their 2×2 average
    /// pool and G = P·Pᵀ, the mean over B·K·K of (G ⊙ (1 − I))². A scalar of shape [1].
    public func headSeparation() throws -> Tensor {
        guard rank == 4 else {
            throw HeedError.shapeMismatch(op: AttentionOps.headSeparationForward.errorName, "masks \(shape) must be (B, K, h, w)")
        }
        let d = HeadSeparationDescriptor(batch: shape[0], heads: shape[1], height: shape[2], width: shape[3])
        let gram = try Tensor.uninitialized(shape: [d.batch, d.heads, d.heads], on: backend)
        let loss = try Tensor.uninitialized(shape: [1], on: backend)
        try backend.headSeparationForward(d, masks: storage, gram: gram.storage, loss: loss.storage)
        let op = AttentionOps.headSeparationForward.errorName
        return Tensor.result(op: op, shape: [1], storage: loss.storage, inputs: [self]) { g in
            let dMasks = try Tensor.uninitialized(shape: self.shape, on: self.backend)
            try self.backend.headSeparationBackward(
                d, masks: self.storage, gram: gram.storage, lossGradient: g.storage,
                masksGradient: dMasks.storage)
            return [dMasks]
        }
    }
}
