import HeedOps

// Grouped 2-D convolution (`GroupedConvolutionOps`); the bias gradient is conv2d's.

extension Tensor {
    /// Grouped 2-D convolution of (N, C, H, W) with weight (O, C/G, kh, kw) and optional
    /// bias (O): PyTorch's `conv2d(…, groups: G)`. One group is `conv2d`.
    public func groupedConv2d(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, groups: Int) throws -> Tensor {
        let descriptor = try GroupedConv2dDescriptor(
            input: shape, weight: weight.shape, stride: stride, padding: padding,
            groups: groups)
        let output = try fresh(descriptor.outputShape)
        try backend.groupedConv2dForward(
            descriptor, input: storage, weight: weight.storage, bias: bias?.storage,
            output: output.storage)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return Tensor.result(
            op: GroupedConvolutionOps.forward.errorName, shape: output.shape, storage: output.storage,
            inputs: inputs
        ) { g in
            var gradients: [Tensor?] = [nil, nil]
            if self.requiresGradient {
                let dx = try self.fresh(self.shape)
                try self.backend.groupedConv2dBackwardInput(
                    descriptor, outputGradient: g.storage, weight: weight.storage,
                    inputGradient: dx.storage)
                gradients[0] = dx
            }
            if weight.requiresGradient {
                let dw = try self.fresh(weight.shape)
                try self.backend.groupedConv2dBackwardWeight(
                    descriptor, input: self.storage, outputGradient: g.storage,
                    weightGradient: dw.storage)
                gradients[1] = dw
            }
            if let bias {
                let db = try self.fresh(bias.shape)
                try self.backend.conv2dBackwardBias(descriptor.sameOutput, outputGradient: g.storage, biasGradient: db.storage)
                gradients.append(db)
            }
            return gradients
        }
    }
}
