import HeedOps

// The attention modules' ops (`AttentionOps`; docs/design.md §4).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// o[b,k,l] = Σ_s O[b,k,l,s]·M[b,k,s]: each head's class scores under its mask.
    /// - Parameters: values O (B, K, L, S); mask M (B, K, S). Returns (B, K, L).
    /// Saves both inputs.
    public static func attendedSum(values: Tensor, mask: Tensor) throws -> Tensor {
        guard values.rank == 4, mask.rank == 3 else {
            throw HeedError.shapeMismatch(
                op: AttentionOps.attendedSumForward.errorName,
                "values \(values.shape) must be (B, K, L, S) and mask \(mask.shape) (B, K, S)")
        }
        let d = AttentionDescriptor(batch: values.shape[0], heads: values.shape[1], classes: values.shape[2], positions: values.shape[3])
        let backend = values.backend
        let output = try uninitialized(shape: [d.batch, d.heads, d.classes], on: backend)
        try backend.attendedSumForward(d, values: values.storage, mask: mask.storage, output: output.storage)
        let op = AttentionOps.attendedSumForward.errorName
        let (valuesShape, maskShape) = (values.shape, mask.shape)
        return result(op: op, output: output, inputs: [values, mask], saving: [values, mask]) { g, saved in
            let buffers = try saved.buffers(for: op)
            let dValues = try uninitialized(shape: valuesShape, on: backend)
            let dMask = try uninitialized(shape: maskShape, on: backend)
            try backend.attendedSumBackward(
                d, values: buffers[0], mask: buffers[1], outputGradient: g.storage,
                valuesGradient: dValues.storage, maskGradient: dMask.storage)
            return [dValues, dMask]
        }
    }

    /// The attention gates and the gated combination of heads:
    /// g[b,k] = softmax_k tanh(Σ_s S·M) and output[b,l] = Σ_k g[b,k]·o[b,k,l].
    /// - Parameters: scores S (B, K, S); mask M (B, K, S); head outputs o (B, K, L).
    /// - Returns: the module output (B, L) and the gates (B, K) as a constant (for analysis).
    /// Saves the three inputs (backward computes the gates again from them).
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
        let (scoresShape, maskShape, headsShape) = (scores.shape, mask.shape, headOutputs.shape)
        let inputs = [scores, mask, headOutputs]
        let result = result(op: op, output: output, inputs: inputs, saving: inputs) { g, saved in
            let buffers = try saved.buffers(for: op)
            let (dScores, dMask, dHeads) = (
                try uninitialized(shape: scoresShape, on: backend),
                try uninitialized(shape: maskShape, on: backend),
                try uninitialized(shape: headsShape, on: backend)
            )
            try backend.attentionGatesBackward(
                d, scores: buffers[0], mask: buffers[1], headOutputs: buffers[2],
                outputGradient: g.storage, scoresGradient: dScores.storage,
                maskGradient: dMask.storage, headOutputsGradient: dHeads.storage)
            return [dScores, dMask, dHeads]
        }
        return (result, gates)
    }

    /// The network's output from its sources: log_softmax over classes of each source,
    /// mixed by softmax(gates) or by σ(gates) normalised.
    /// - Parameters: sources (B, N, L) raw scores; gates (B, N) raw values.
    /// - Returns: (B, L), a mixture of log-probabilities. Saves both inputs.
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
        let (sourcesShape, gatesShape) = (sources.shape, gates.shape)
        return result(op: op, output: output, inputs: [sources, gates], saving: [sources, gates]) { g, saved in
            let buffers = try saved.buffers(for: op)
            let (dSources, dGates) = (
                try uninitialized(shape: sourcesShape, on: backend), try uninitialized(shape: gatesShape, on: backend)
            )
            try backend.aggregationBackward(
                d, sources: buffers[0], gates: buffers[1], outputGradient: g.storage,
                sourcesGradient: dSources.storage, gatesGradient: dGates.storage)
            return [dSources, dGates]
        }
    }

    /// The head-separation regulariser of masks (B, K, h, w): with P their 2×2 average
    /// pool and G = P·Pᵀ, the mean over B·K·K of (G ⊙ (1 − I))². A scalar of shape [1].
    /// Saves the masks and G (B, K, K).
    public func headSeparation() throws -> Tensor {
        guard rank == 4 else {
            throw HeedError.shapeMismatch(op: AttentionOps.headSeparationForward.errorName, "masks \(shape) must be (B, K, h, w)")
        }
        let d = HeadSeparationDescriptor(batch: shape[0], heads: shape[1], height: shape[2], width: shape[3])
        let gram = try Tensor.uninitialized(shape: [d.batch, d.heads, d.heads], on: backend)
        let loss = try Tensor.uninitialized(shape: [1], on: backend)
        try backend.headSeparationForward(d, masks: storage, gram: gram.storage, loss: loss.storage)
        let op = AttentionOps.headSeparationForward.errorName
        let (backend, masksShape) = (backend, shape)
        return Tensor.result(op: op, output: loss, inputs: [self], saving: [self, gram]) { g, saved in
            let buffers = try saved.buffers(for: op)
            let dMasks = try Tensor.uninitialized(shape: masksShape, on: backend)
            try backend.headSeparationBackward(
                d, masks: buffers[0], gram: buffers[1], lossGradient: g.storage,
                masksGradient: dMasks.storage)
            return [dMasks]
        }
    }
}
