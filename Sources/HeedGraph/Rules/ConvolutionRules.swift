import HeedOps

// 2-D convolution (`ConvolutionOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// 2-D convolution of (N, C, H, W) with weight (O, C, k, k) and optional bias (O).
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int, padding: Int) throws -> Tensor {
        let descriptor = try Conv2dDescriptor(input: shape, weight: weight.shape, stride: stride, padding: padding)
        let output = try fresh(descriptor.outputShape)
        try backend.conv2dForward(descriptor, input: storage, weight: weight.storage, bias: bias?.storage, output: output.storage)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return Tensor.result(op: ConvolutionOps.forward.errorName, shape: output.shape, storage: output.storage, inputs: inputs) { g in
            var gradients: [Tensor?] = [nil, nil]
            if self.requiresGradient {
                let dx = try self.fresh(self.shape)
                try self.backend.conv2dBackwardInput(
                    descriptor, outputGradient: g.storage, weight: weight.storage, inputGradient: dx.storage)
                gradients[0] = dx
            }
            if weight.requiresGradient {
                let dw = try self.fresh(weight.shape)
                try self.backend.conv2dBackwardWeight(
                    descriptor, input: self.storage, outputGradient: g.storage, weightGradient: dw.storage)
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
}
