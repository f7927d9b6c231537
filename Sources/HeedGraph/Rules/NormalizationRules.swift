import HeedOps

// Batch normalisation (`NormalizationOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// Batch normalisation over the channels of (N, C, H, W) or (N, C); in training it
    /// updates the running statistics in place (see `NormalizationOps`). Evaluation mode
    /// is for inference: its result is a constant (no gradient flows through it).
    /// Training saves the input, the weight and the batch's mean and inverse standard
    /// deviation (C each), not its output: a ReLU after it may overwrite that in place.
    ///
    /// `relu`: returns relu(batch norm), the ReLU fused into the batch norm's kernels, bit
    /// for bit what `.relu(inPlace: true)` on the plain result gives, forward and backward,
    /// in one pass each way instead of two. Training then saves that output as well (the
    /// ReLU's mask, output > 0): the tensors the separate batch norm and ReLU saved, and no
    /// copy of either.
    public func batchNorm(
        weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
        training: Bool, momentum: Float, epsilon: Float, relu: Bool = false
    ) throws -> Tensor {
        guard rank == 2 || rank == 4 else {
            throw HeedError.shapeMismatch(
                op: NormalizationOps.forwardTraining.errorName,
                "input \(shape) is neither (N, C) nor (N, C, H, W)")
        }
        let descriptor = BatchNormDescriptor(
            batch: shape[0], channels: shape[1], spatial: shape.dropFirst(2).reduce(1, *),
            epsilon: epsilon, momentum: momentum, relu: relu)
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
            op: op, output: output, inputs: [self, weight, bias],
            saving: [self, weight, savedMean, savedInverseStd] + (relu ? [output] : [])
        ) { g, saved in
            let buffers = try saved.buffers(for: op)
            let (dx, dw, db) = (
                try Tensor.uninitialized(shape: inputShape, on: backend), try Tensor.uninitialized(shape: weightShape, on: backend),
                try Tensor.uninitialized(shape: biasShape, on: backend)
            )
            try backend.batchNormBackward(
                descriptor, input: buffers[0], outputGradient: g.storage, output: relu ? buffers[4] : nil, weight: buffers[1],
                savedMean: buffers[2], savedInverseStd: buffers[3],
                inputGradient: dx.storage, weightGradient: dw.storage, biasGradient: db.storage)
            return [dx, dw, db]
        }
    }
}

extension Tensor {
    /// Batch normalisation with the running statistics, recorded for backward: PyTorch's
    /// BN in eval mode inside a training step (`--freeze-bn`). The running statistics stay
    /// as they are. With s = 1/sqrt(running_var + eps) and x̂ = (x - running_mean)·s,
    ///
    ///     y = x̂·weight + bias,   ∂x = ∂y·weight·s,   ∂weight = Σ ∂y·x̂,   ∂bias = Σ ∂y
    ///
    /// ∂x is the inference op on ∂y (mean 0, bias 0, same variance); ∂weight and ∂bias are
    /// what the training backward computes from a saved mean and inverse deviation, here
    /// the running ones (its ∂x, which differentiates the batch statistics, is discarded).
    public func frozenBatchNorm(
        weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float
    ) throws -> Tensor {
        guard rank == 2 || rank == 4 else {
            throw HeedError.shapeMismatch(
                op: NormalizationOps.forwardInference.errorName, "input \(shape) is neither (N, C) nor (N, C, H, W)")
        }
        let descriptor = BatchNormDescriptor(
            batch: shape[0], channels: shape[1], spatial: shape.dropFirst(2).reduce(1, *), epsilon: epsilon, momentum: 0)
        let output = try fresh(shape)
        try backend.batchNormForwardInference(
            descriptor, input: storage, weight: weight.storage, bias: bias.storage,
            runningMean: runningMean.storage, runningVariance: runningVariance.storage, output: output.storage)
        guard Tensor.isRecording, [self, weight, bias].contains(where: \.requiresGradient) else { return output }
        // s = 1/sqrt(running_var + eps) on the device, as the inference op computes it: that op on
        // ones with weight 1, bias 0, mean 0 (no copy to the host, so no wait for the queue).
        let perChannel = BatchNormDescriptor(batch: 1, channels: descriptor.channels, epsilon: epsilon, momentum: 0)
        let (ones, zeros) = (
            try Tensor.filled(1, shape: [descriptor.channels], on: backend), try Tensor.filled(0, shape: [descriptor.channels], on: backend)
        )
        let inverseStd = try fresh([descriptor.channels])
        try backend.batchNormForwardInference(
            perChannel, input: ones.storage, weight: ones.storage, bias: zeros.storage, runningMean: zeros.storage,
            runningVariance: runningVariance.storage, output: inverseStd.storage)
        let (backend, inputShape, weightShape) = (backend, shape, weight.shape)
        let op = NormalizationOps.forwardInference.errorName
        return Tensor.result(
            op: op, output: output, inputs: [self, weight, bias], saving: [self, weight, runningMean, runningVariance, inverseStd]
        ) { g, saved in
            let buffers = try saved.buffers(for: op)
            let channels = weightShape[0]
            let (zeros, unusedInputGradient) = (
                try Tensor.filled(0, shape: [channels], on: backend), try Tensor.uninitialized(shape: inputShape, on: backend)
            )
            let (dx, dw, db) = (
                try Tensor.uninitialized(shape: inputShape, on: backend), try Tensor.uninitialized(shape: weightShape, on: backend),
                try Tensor.uninitialized(shape: weightShape, on: backend)
            )
            try backend.batchNormForwardInference(
                descriptor, input: g.storage, weight: buffers[1], bias: zeros.storage, runningMean: zeros.storage,
                runningVariance: buffers[3], output: dx.storage)
            try backend.batchNormBackward(
                descriptor, input: buffers[0], outputGradient: g.storage, weight: buffers[1], savedMean: buffers[2],
                savedInverseStd: buffers[4], inputGradient: unusedInputGradient.storage, weightGradient: dw.storage,
                biasGradient: db.storage)
            return [dx, dw, db]
        }
    }
}
