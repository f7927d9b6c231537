import HeedOps

// Every differentiable op of the graph layer, with its gradient rule beside its
// forward: one place to read how gradients flow. Each op runs one backend op (or a
// few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// A new tensor of `shape` on this tensor's backend, about to be written by an op.
    private func fresh(_ shape: [Int]) throws -> Tensor {
        try Tensor.uninitialized(shape: shape, on: backend)
    }

    // MARK: Elementwise

    /// self + other (same shape).
    public func adding(_ other: Tensor) throws -> Tensor {
        try requireSameShape(other, "add")
        let output = try fresh(shape)
        try backend.add(count: count, a: storage, b: other.storage, output: output.storage)
        return Tensor.result(op: "add", shape: shape, storage: output.storage, inputs: [self, other]) { g in [g, g] }
    }

    /// self ⊙ other (same shape).
    public func multiplying(_ other: Tensor) throws -> Tensor {
        try requireSameShape(other, "multiply")
        let output = try fresh(shape)
        try backend.multiply(count: count, a: storage, b: other.storage, output: output.storage)
        return Tensor.result(op: "multiply", shape: shape, storage: output.storage, inputs: [self, other]) { g in
            let (da, db) = (try self.fresh(self.shape), try self.fresh(self.shape))
            try self.backend.multiplyBackward(count: self.count, a: self.storage, b: other.storage, outputGradient: g.storage,
                                              aGradient: da.storage, bGradient: db.storage)
            return [da, db]
        }
    }

    /// α·self.
    public func scaled(by alpha: Float) throws -> Tensor {
        let output = try fresh(shape)
        try backend.scale(count: count, alpha: alpha, input: storage, output: output.storage)
        return Tensor.result(op: "scale", shape: shape, storage: output.storage, inputs: [self]) { g in
            [try g.scaled(by: alpha)]
        }
    }

    public func relu() throws -> Tensor {
        let output = try fresh(shape)
        try backend.reluForward(count: count, input: storage, output: output.storage)
        return Tensor.result(op: "relu", shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.reluBackward(count: self.count, input: self.storage, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    public func tanh() throws -> Tensor {
        let output = try fresh(shape)
        try backend.tanhForward(count: count, input: storage, output: output.storage)
        return Tensor.result(op: "tanh", shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.tanhBackward(count: self.count, output: output.storage, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    public func sigmoid() throws -> Tensor {
        let output = try fresh(shape)
        try backend.sigmoidForward(count: count, input: storage, output: output.storage)
        return Tensor.result(op: "sigmoid", shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.sigmoidBackward(count: self.count, output: output.storage, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    /// Channel dropout of (N, C, H, W) in training: each (n, c) map kept with probability
    /// 1 − p and scaled by 1/(1 − p), the mask drawn from (seed, step) (see `RandomOps`).
    public func dropout2d(probability: Float, seed: UInt32, step: UInt32) throws -> Tensor {
        guard rank == 4 else { throw HeedError.shapeMismatch(op: "dropout2d", "input \(shape) is not (N, C, H, W)") }
        let descriptor = DropoutDescriptor.dropout2d(batch: shape[0], channels: shape[1], spatial: shape[2] * shape[3],
                                                     probability: probability, seed: seed, step: step)
        let output = try fresh(shape)
        try backend.dropoutForward(descriptor, input: storage, output: output.storage)
        return Tensor.result(op: "dropout2d", shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.dropoutBackward(descriptor, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    // MARK: Reductions

    /// Sum (or mean) over `axes`; the result keeps the other axes in order
    /// (all axes: a one-element tensor of shape [1]).
    public func sum(axes: [Int]? = nil, mean: Bool = false) throws -> Tensor {
        let axes = axes ?? Array(0..<rank)
        let descriptor = ReductionDescriptor(mean ? .mean : .sum, shape: shape, axes: axes)
        let outputShape = shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
        let output = try fresh(outputShape.isEmpty ? [1] : outputShape)
        try backend.reduceForward(descriptor, input: storage, output: output.storage)
        return Tensor.result(op: mean ? "mean" : "sum", shape: output.shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.reduceBackward(descriptor, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    public func mean(axes: [Int]? = nil) throws -> Tensor {
        try sum(axes: axes, mean: true)
    }

    // MARK: Layers

    /// 2-D convolution of (N, C, H, W) with weight (O, C, k, k) and optional bias (O).
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int, padding: Int) throws -> Tensor {
        let descriptor = try Conv2dDescriptor(input: shape, weight: weight.shape, stride: stride, padding: padding)
        let output = try fresh(descriptor.outputShape)
        try backend.conv2dForward(descriptor, input: storage, weight: weight.storage, bias: bias?.storage, output: output.storage)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return Tensor.result(op: "conv2d", shape: output.shape, storage: output.storage, inputs: inputs) { g in
            var gradients: [Tensor?] = [nil, nil]
            if self.requiresGradient {
                let dx = try self.fresh(self.shape)
                try self.backend.conv2dBackwardInput(descriptor, outputGradient: g.storage, weight: weight.storage, inputGradient: dx.storage)
                gradients[0] = dx
            }
            if weight.requiresGradient {
                let dw = try self.fresh(weight.shape)
                try self.backend.conv2dBackwardWeight(descriptor, input: self.storage, outputGradient: g.storage, weightGradient: dw.storage)
                gradients[1] = dw
            }
            if let bias {
                let db = try self.fresh(bias.shape)
                try self.backend.conv2dBackwardBias(descriptor, outputGradient: g.storage, biasGradient: db.storage)
                gradients.append(db)
            }
            return gradients
        }
    }

    /// x·Wᵀ + b for x (N, in), W (out, in), b (out).
    public func linear(weight: Tensor, bias: Tensor?) throws -> Tensor {
        let descriptor = try LinearDescriptor(input: shape, weight: weight.shape)
        let output = try fresh(descriptor.outputShape)
        try backend.linearForward(descriptor, input: storage, weight: weight.storage, bias: bias?.storage, output: output.storage)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return Tensor.result(op: "linear", shape: output.shape, storage: output.storage, inputs: inputs) { g in
            var gradients: [Tensor?] = [nil, nil]
            if self.requiresGradient {
                let dx = try self.fresh(self.shape)
                try self.backend.linearBackwardInput(descriptor, outputGradient: g.storage, weight: weight.storage, inputGradient: dx.storage)
                gradients[0] = dx
            }
            if weight.requiresGradient {
                let dw = try self.fresh(weight.shape)
                try self.backend.linearBackwardWeight(descriptor, input: self.storage, outputGradient: g.storage, weightGradient: dw.storage)
                gradients[1] = dw
            }
            if let bias {
                let db = try self.fresh(bias.shape)
                try self.backend.linearBackwardBias(descriptor, outputGradient: g.storage, biasGradient: db.storage)
                gradients.append(db)
            }
            return gradients
        }
    }

    /// Batch normalisation over the channels of (N, C, H, W) or (N, C); in training it
    /// updates the running statistics in place (see `NormalizationOps`). Evaluation mode
    /// is for inference: its result is a constant (no gradient flows through it).
    public func batchNorm(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
                          training: Bool, momentum: Float, epsilon: Float) throws -> Tensor {
        guard rank == 2 || rank == 4 else {
            throw HeedError.shapeMismatch(op: "batch_norm", "input \(shape) is neither (N, C) nor (N, C, H, W)")
        }
        let descriptor = BatchNormDescriptor(batch: shape[0], channels: shape[1], spatial: shape.dropFirst(2).reduce(1, *),
                                             epsilon: epsilon, momentum: momentum)
        let output = try fresh(shape)
        guard training else {
            try backend.batchNormForwardInference(descriptor, input: storage, weight: weight.storage, bias: bias.storage,
                                                  runningMean: runningMean.storage, runningVariance: runningVariance.storage,
                                                  output: output.storage)
            return output
        }
        let savedMean = try fresh([descriptor.channels])
        let savedInverseStd = try fresh([descriptor.channels])
        try backend.batchNormForwardTraining(descriptor, input: storage, weight: weight.storage, bias: bias.storage,
                                             runningMean: runningMean.storage, runningVariance: runningVariance.storage,
                                             output: output.storage, savedMean: savedMean.storage,
                                             savedInverseStd: savedInverseStd.storage)
        return Tensor.result(op: "batch_norm", shape: shape, storage: output.storage, inputs: [self, weight, bias]) { g in
            let (dx, dw, db) = (try self.fresh(self.shape), try self.fresh(weight.shape), try self.fresh(bias.shape))
            try self.backend.batchNormBackward(descriptor, input: self.storage, outputGradient: g.storage, weight: weight.storage,
                                               savedMean: savedMean.storage, savedInverseStd: savedInverseStd.storage,
                                               inputGradient: dx.storage, weightGradient: dw.storage, biasGradient: db.storage)
            return [dx, dw, db]
        }
    }

    /// Mean over the spatial axes: (N, C, H, W) → (N, C).
    public func globalAveragePool() throws -> Tensor {
        let descriptor = try GlobalPoolDescriptor(input: shape)
        let output = try fresh([shape[0], shape[1]])
        try backend.globalAveragePoolForward(descriptor, input: storage, output: output.storage)
        return Tensor.result(op: "global_average_pool", shape: output.shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.globalAveragePoolBackward(descriptor, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    // MARK: Probabilities and losses

    /// log-softmax over the last axis.
    public func logSoftmax() throws -> Tensor {
        try softmax(.logSoftmax)
    }

    /// softmax (or log-softmax) over the last axis.
    public func softmax(_ kind: SoftmaxKind = .softmax) throws -> Tensor {
        let axis = shape.last ?? 1
        let descriptor = SoftmaxDescriptor(kind, outer: count / max(axis, 1), axis: axis)
        let output = try fresh(shape)
        try backend.softmaxForward(descriptor, input: storage, output: output.storage)
        return Tensor.result(op: kind.rawValue, shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.softmaxBackward(descriptor, output: output.storage, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    /// Mean negative log-likelihood of `labels` under log-probabilities (N, L): a scalar.
    public func nllLoss(labels: any DeviceBuffer) throws -> Tensor {
        guard rank == 2 else { throw HeedError.shapeMismatch(op: "nll_loss", "log-probabilities \(shape) are not (N, L)") }
        let descriptor = LossDescriptor(batch: shape[0], classes: shape[1])
        let loss = try fresh([1])
        try backend.nllLossForward(descriptor, logProbabilities: storage, labels: labels, loss: loss.storage)
        return Tensor.result(op: "nll_loss", shape: [1], storage: loss.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.nllLossBackward(descriptor, labels: labels, lossGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    // MARK: Optimisation

    /// One SGD step on this parameter in place (see `OptimizerOps.sgdUpdate`).
    func applySGD(gradient: Tensor, momentumBuffer: Tensor?, configuration: SGD.Configuration, firstStep: Bool) throws {
        let descriptor = SGDDescriptor(count: count, learningRate: configuration.learningRate, momentum: configuration.momentum,
                                       weightDecay: configuration.weightDecay, nesterov: configuration.nesterov, firstStep: firstStep)
        try backend.sgdUpdate(descriptor, parameter: storage, gradient: gradient.storage, momentumBuffer: momentumBuffer?.storage)
    }

    private func requireSameShape(_ other: Tensor, _ op: String) throws {
        guard shape == other.shape else {
            throw HeedError.shapeMismatch(op: op, "\(shape) and \(other.shape)")
        }
    }
}
