import HeedOps
/// Linear layers as CLBlast GEMMs, with the bias kernels of `Kernels/conv.cl`
/// (a linear layer's output is a convolution output with H'·W' = 1).
extension OpenCLBackend {
    public func linearForward(_ d: LinearDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer,
                              bias: (any DeviceBuffer)?, output: any DeviceBuffer) throws {
        let (input, weight) = (try floats(input, "linear", "input"), try floats(weight, "linear", "weight"))
        let bias = try bias.map { try floats($0, "linear", "bias") }
        let output = try floats(output, "linear", "output")
        try d.validate(input: input.count, weight: weight.count, bias: bias?.count, output: output.count)
        // y (N × out) = x (N × in) · Wᵀ, W stored (out × in).
        try gemm(GemmDescriptor(transposeB: true, m: d.batch, n: d.outFeatures, k: d.inFeatures),
                 a: input, b: weight, c: output)
        if let bias {
            try addOrSumBias(backward: false, "linear", values: output, bias: bias, batch: d.batch,
                             channels: d.outFeatures, plane: 1)
        }
    }

    public func linearBackwardInput(_ d: LinearDescriptor, outputGradient: any DeviceBuffer,
                                    weight: any DeviceBuffer, inputGradient: any DeviceBuffer) throws {
        let gradient = try floats(outputGradient, "linear", "output gradient")
        let weight = try floats(weight, "linear", "weight")
        let result = try floats(inputGradient, "linear", "input gradient")
        try d.validate(input: result.count, weight: weight.count, output: gradient.count)
        // dx (N × in) = dy (N × out) · W (out × in).
        try gemm(GemmDescriptor(m: d.batch, n: d.inFeatures, k: d.outFeatures), a: gradient, b: weight, c: result)
    }

    public func linearBackwardWeight(_ d: LinearDescriptor, input: any DeviceBuffer,
                                     outputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer) throws {
        let input = try floats(input, "linear", "input")
        let gradient = try floats(outputGradient, "linear", "output gradient")
        let result = try floats(weightGradient, "linear", "weight gradient")
        try d.validate(input: input.count, weight: result.count, output: gradient.count)
        // dW (out × in) = dyᵀ · x, dy stored (N × out).
        try gemm(GemmDescriptor(transposeA: true, m: d.outFeatures, n: d.inFeatures, k: d.batch),
                 a: gradient, b: input, c: result)
    }

    public func linearBackwardBias(_ d: LinearDescriptor, outputGradient: any DeviceBuffer,
                                   biasGradient: any DeviceBuffer) throws {
        let gradient = try floats(outputGradient, "linear", "output gradient")
        let result = try floats(biasGradient, "linear", "bias gradient")
        try d.validate(bias: result.count, output: gradient.count)
        try addOrSumBias(backward: true, "linear", values: gradient, bias: result, batch: d.batch,
                         channels: d.outFeatures, plane: 1)
    }
}
