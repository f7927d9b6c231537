import HeedOps

// Grouped 2-D convolution (`GroupedConvolutionOps`); the bias gradient is conv2d's.

extension Tensor {
    /// Grouped 2-D convolution of (N, C, H, W) with weight (O, C/G, kh, kw) and optional
    /// bias (O): PyTorch's `conv2d(…, groups: G)`. One group is `conv2d`. Saves the input
    /// and the weight.
    public func groupedConv2d(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, groups: Int) throws -> Tensor {
        let descriptor = try GroupedConv2dDescriptor(
            input: shape, weight: weight.shape, stride: stride, padding: padding,
            groups: groups)
        let output = try fresh(descriptor.outputShape)
        try backend.groupedConv2dForward(
            descriptor, input: storage, weight: weight.storage, bias: bias?.storage,
            output: output.storage)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        let (backend, inputShape, weightShape, biasShape) = (backend, shape, weight.shape, bias?.shape)
        let (needsInput, needsWeight) = (requiresGradient, weight.requiresGradient)
        let op = GroupedConvolutionOps.forward.errorName
        return Tensor.result(op: op, output: output, inputs: inputs, saving: [self, weight]) { g, saved in
            let buffers = try saved.buffers(for: op)
            let (input, weight) = (buffers[0], buffers[1])
            var gradients: [Tensor?] = [nil, nil]
            if needsInput {
                let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
                try backend.groupedConv2dBackwardInput(
                    descriptor, outputGradient: g.storage, weight: weight,
                    inputGradient: dx.storage)
                gradients[0] = dx
            }
            if needsWeight {
                let dw = try Tensor.uninitialized(shape: weightShape, on: backend)
                try backend.groupedConv2dBackwardWeight(
                    descriptor, input: input, outputGradient: g.storage,
                    weightGradient: dw.storage)
                gradients[1] = dw
            }
            if let biasShape {
                let db = try Tensor.uninitialized(shape: biasShape, on: backend)
                try backend.conv2dBackwardBias(descriptor.sameOutput, outputGradient: g.storage, biasGradient: db.storage)
                gradients.append(db)
            }
            return gradients
        }
    }
}
