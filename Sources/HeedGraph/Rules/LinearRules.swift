import HeedOps

// Fully connected layers (`LinearOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// x·Wᵀ + b for x (N, in), W (out, in), b (out). Saves the input and the weight.
    public func linear(weight: Tensor, bias: Tensor?) throws -> Tensor {
        let descriptor = try LinearDescriptor(input: shape, weight: weight.shape)
        let output = try fresh(descriptor.outputShape)
        try backend.linearForward(descriptor, input: storage, weight: weight.storage, bias: bias?.storage, output: output.storage)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        let (backend, inputShape, weightShape, biasShape) = (backend, shape, weight.shape, bias?.shape)
        let (needsInput, needsWeight) = (requiresGradient, weight.requiresGradient)
        return Tensor.result(op: "linear", output: output, inputs: inputs, saving: [self, weight]) { g, saved in
            let buffers = try saved.buffers(for: "linear")
            let (input, weight) = (buffers[0], buffers[1])
            var gradients: [Tensor?] = [nil, nil]
            if needsInput {
                let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
                try backend.linearBackwardInput(descriptor, outputGradient: g.storage, weight: weight, inputGradient: dx.storage)
                gradients[0] = dx
            }
            if needsWeight {
                let dw = try Tensor.uninitialized(shape: weightShape, on: backend)
                try backend.linearBackwardWeight(descriptor, input: input, outputGradient: g.storage, weightGradient: dw.storage)
                gradients[1] = dw
            }
            if let biasShape {
                let db = try Tensor.uninitialized(shape: biasShape, on: backend)
                try backend.linearBackwardBias(descriptor, outputGradient: g.storage, biasGradient: db.storage)
                gradients.append(db)
            }
            return gradients
        }
    }
}
