import HeedOps

// Batch normalisation (`NormalizationOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// Batch normalisation over the channels of (N, C, H, W) or (N, C); in training it
    /// updates the running statistics in place (see `NormalizationOps`). Evaluation mode
    /// is for inference: its result is a constant (no gradient flows through it).
    /// Training saves the input, the weight and the batch's mean and inverse standard
    /// deviation (C each), not its output: a ReLU after it may overwrite that in place.
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
        let (backend, inputShape, weightShape, biasShape) = (backend, shape, weight.shape, bias.shape)
        let op = NormalizationOps.forwardTraining.errorName
        return Tensor.result(
            op: op, output: output, inputs: [self, weight, bias], saving: [self, weight, savedMean, savedInverseStd]
        ) { g, saved in
            let buffers = try saved.buffers(for: op)
            let (dx, dw, db) = (
                try Tensor.uninitialized(shape: inputShape, on: backend), try Tensor.uninitialized(shape: weightShape, on: backend),
                try Tensor.uninitialized(shape: biasShape, on: backend)
            )
            try backend.batchNormBackward(
                descriptor, input: buffers[0], outputGradient: g.storage, weight: buffers[1],
                savedMean: buffers[2], savedInverseStd: buffers[3],
                inputGradient: dx.storage, weightGradient: dw.storage, biasGradient: db.storage)
            return [dx, dw, db]
        }
    }
}
