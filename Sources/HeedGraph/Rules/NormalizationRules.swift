import HeedOps

// Batch normalisation (`NormalizationOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// Batch normalisation over the channels of (N, C, H, W) or (N, C); in training it
    /// updates the running statistics in place (see `NormalizationOps`). Evaluation mode
    /// is for inference: its result is a constant (no gradient flows through it).
    public func batchNorm(
        weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
        training: Bool, momentum: Float, epsilon: Float
    ) throws -> Tensor {
        guard rank == 2 || rank == 4 else {
            throw HeedError.shapeMismatch(
                op: NormalizationOps.forwardTraining.errorName,
                "input \(shape) is neither (N, C) nor (N, C, H, W)")
        }
        let descriptor = BatchNormDescriptor(
            batch: shape[0], channels: shape[1], spatial: shape.dropFirst(2).reduce(1, *),
            epsilon: epsilon, momentum: momentum)
        let output = try fresh(shape)
        guard training else {
            try backend.batchNormForwardInference(
                descriptor, input: storage, weight: weight.storage, bias: bias.storage,
                runningMean: runningMean.storage, runningVariance: runningVariance.storage,
                output: output.storage)
            return output
        }
        let savedMean = try fresh([descriptor.channels])
        let savedInverseStd = try fresh([descriptor.channels])
        try backend.batchNormForwardTraining(
            descriptor, input: storage, weight: weight.storage, bias: bias.storage,
            runningMean: runningMean.storage, runningVariance: runningVariance.storage,
            output: output.storage, savedMean: savedMean.storage,
            savedInverseStd: savedInverseStd.storage)
        return Tensor.result(
            op: NormalizationOps.forwardTraining.errorName, shape: shape, storage: output.storage,
            inputs: [self, weight, bias]
        ) { g in
            let (dx, dw, db) = (try self.fresh(self.shape), try self.fresh(weight.shape), try self.fresh(bias.shape))
            try self.backend.batchNormBackward(
                descriptor, input: self.storage, outputGradient: g.storage, weight: weight.storage,
                savedMean: savedMean.storage, savedInverseStd: savedInverseStd.storage,
                inputGradient: dx.storage, weightGradient: dw.storage, biasGradient: db.storage)
            return [dx, dw, db]
        }
    }
}
