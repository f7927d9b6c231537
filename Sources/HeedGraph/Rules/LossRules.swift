import HeedOps

// Losses (`LossOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// Mean negative log-likelihood of `labels` under log-probabilities (N, L): a scalar.
    /// Saves the labels (N int32).
    public func nllLoss(labels: any DeviceBuffer) throws -> Tensor {
        guard rank == 2 else {
            throw HeedError.shapeMismatch(op: LossOps.nllForward.errorName, "log-probabilities \(shape) are not (N, L)")
        }
        let descriptor = LossDescriptor(batch: shape[0], classes: shape[1])
        let loss = try fresh([1])
        try backend.nllLossForward(descriptor, logProbabilities: storage, labels: labels, loss: loss.storage)
        let (backend, inputShape) = (backend, shape)
        let op = LossOps.nllForward.errorName
        return Tensor.result(op: op, output: loss, inputs: [self], savingBuffers: [labels]) { g, saved in
            let labels = try saved.buffers(for: op)[0]
            let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
            try backend.nllLossBackward(descriptor, labels: labels, lossGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }
}
