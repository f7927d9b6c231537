import HeedOps

// Losses (`LossOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// Mean negative log-likelihood of `labels` under log-probabilities (N, L): a scalar.
    public func nllLoss(labels: any DeviceBuffer) throws -> Tensor {
        guard rank == 2 else {
            throw HeedError.shapeMismatch(op: LossOps.nllForward.errorName, "log-probabilities \(shape) are not (N, L)")
        }
        let descriptor = LossDescriptor(batch: shape[0], classes: shape[1])
        let loss = try fresh([1])
        try backend.nllLossForward(descriptor, logProbabilities: storage, labels: labels, loss: loss.storage)
        return Tensor.result(op: LossOps.nllForward.errorName, shape: [1], storage: loss.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.nllLossBackward(descriptor, labels: labels, lossGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }
}
