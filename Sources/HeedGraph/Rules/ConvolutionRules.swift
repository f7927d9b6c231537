import HeedOps

// 2-D convolution (`ConvolutionOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// 2-D convolution of (N, C, H, W) with weight (O, C, k, k) and optional bias (O).
    /// Saves the input and the weight (the bias gradient needs neither).
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int, padding: Int) throws -> Tensor {
        let descriptor = try Conv2dDescriptor(input: shape, weight: weight.shape, stride: stride, padding: padding)
        let output = try fresh(descriptor.outputShape)
        try backend.conv2dForward(descriptor, input: storage, weight: weight.storage, bias: bias?.storage, output: output.storage)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        let (backend, inputShape, weightShape, biasShape) = (backend, shape, weight.shape, bias?.shape)
        let (needsInput, needsWeight) = (requiresGradient, weight.requiresGradient)
        return Tensor.result(op: ConvolutionOps.forward.errorName, output: output, inputs: inputs, saving: [self, weight]) { g, saved in
            let buffers = try saved.buffers(for: ConvolutionOps.forward.errorName)
            let (input, weight) = (buffers[0], buffers[1])
            var gradients: [Tensor?] = [nil, nil]
            if needsInput {
                let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
                try backend.conv2dBackwardInput(descriptor, outputGradient: g.storage, weight: weight, inputGradient: dx.storage)
                gradients[0] = dx
            }
            if needsWeight {
                let dw = try Tensor.uninitialized(shape: weightShape, on: backend)
                try backend.conv2dBackwardWeight(descriptor, input: input, outputGradient: g.storage, weightGradient: dw.storage)
                gradients[1] = dw
            }
            if let biasShape {
                let db = try Tensor.uninitialized(shape: biasShape, on: backend)
                try backend.conv2dBackwardBias(descriptor, outputGradient: g.storage, biasGradient: db.storage)
                gradients.append(db)
            }
            return gradients
        }
    }
}
