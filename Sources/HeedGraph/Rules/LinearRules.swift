import HeedOps

// Fully connected layers (`LinearOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
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
                try self.backend.linearBackwardInput(
                    descriptor, outputGradient: g.storage, weight: weight.storage, inputGradient: dx.storage)
                gradients[0] = dx
            }
            if weight.requiresGradient {
                let dw = try self.fresh(weight.shape)
                try self.backend.linearBackwardWeight(
                    descriptor, input: self.storage, outputGradient: g.storage, weightGradient: dw.storage)
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
}
