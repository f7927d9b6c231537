import HeedOps
/// Pooling kernels of `Kernels/pooling.cl`: one work item per output element, forward
/// and backward (the backward kernels gather, so every element is written once).
extension OpenCLBackend {
    public func globalAveragePoolForward(_ d: GlobalPoolDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "global_average_pool"
        let (input, output) = (try floats(input, op, "input"), try floats(output, op, "output"))
        try d.validate(input: input.count, output: output.count)
        try Self.checkIndexRange(op, input.count)
        try launch(family: "pooling", kernel: "global_average_pool_forward", global: [output.count],
                   arguments: [.buffer(input), .buffer(output), try .int(output.count, op), try .int(d.height * d.width, op)])
    }

    public func globalAveragePoolBackward(_ d: GlobalPoolDescriptor, outputGradient: any DeviceBuffer,
                                          inputGradient: any DeviceBuffer) throws {
        let op = "global_average_pool"
        let (gradient, result) = (try floats(outputGradient, op, "output gradient"), try floats(inputGradient, op, "input gradient"))
        try d.validate(input: result.count, output: gradient.count)
        try Self.checkIndexRange(op, result.count)
        try launch(family: "pooling", kernel: "global_average_pool_backward", global: [result.count],
                   arguments: [.buffer(gradient), .buffer(result), try .int(gradient.count, op), try .int(d.height * d.width, op)])
    }

    public func averagePool2dForward(_ d: Pool2dDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "average_pool2d"
        let (input, output) = (try floats(input, op, "input"), try floats(output, op, "output"))
        try d.validate(op, input: input.count, output: output.count)
        try launch(family: "pooling", kernel: "average_pool2d_forward", global: try outputRange(d, op),
                   arguments: [.buffer(input), .buffer(output)] + poolGeometry(d, op))
    }

    public func averagePool2dBackward(_ d: Pool2dDescriptor, outputGradient: any DeviceBuffer,
                                      inputGradient: any DeviceBuffer) throws {
        let op = "average_pool2d"
        let (gradient, result) = (try floats(outputGradient, op, "output gradient"), try floats(inputGradient, op, "input gradient"))
        try d.validate(op, input: result.count, output: gradient.count)
        try launch(family: "pooling", kernel: "average_pool2d_backward", global: try inputRange(d, op),
                   arguments: [.buffer(gradient), .buffer(result)] + poolGeometry(d, op))
    }

    public func maxPool2dForward(_ d: Pool2dDescriptor, input: any DeviceBuffer, output: any DeviceBuffer,
                                 indices: any DeviceBuffer) throws {
        let op = "max_pool2d"
        let (input, output) = (try floats(input, op, "input"), try floats(output, op, "output"))
        let indices = try own(indices, op, "indices")
        try indices.expect(.int32, for: op, argument: "indices")
        try d.validate(op, input: input.count, output: output.count, indices: indices.count)
        try launch(family: "pooling", kernel: "max_pool2d_forward", global: try outputRange(d, op),
                   arguments: [.buffer(input), .buffer(output), .buffer(indices)] + poolGeometry(d, op))
    }

    public func maxPool2dBackward(_ d: Pool2dDescriptor, outputGradient: any DeviceBuffer, indices: any DeviceBuffer,
                                  inputGradient: any DeviceBuffer) throws {
        let op = "max_pool2d"
        let gradient = try floats(outputGradient, op, "output gradient")
        let indices = try own(indices, op, "indices")
        try indices.expect(.int32, for: op, argument: "indices")
        let result = try floats(inputGradient, op, "input gradient")
        try d.validate(op, input: result.count, output: gradient.count, indices: indices.count)
        try launch(family: "pooling", kernel: "max_pool2d_backward", global: try inputRange(d, op),
                   arguments: [.buffer(gradient), .buffer(indices), .buffer(result)] + poolGeometry(d, op))
    }

    /// Global size (W', H', N·C): one work item per output element.
    private func outputRange(_ d: Pool2dDescriptor, _ op: String) throws -> [Int] {
        try Self.checkIndexRange(op, d.inputShape.reduce(1, *))
        return [d.outputWidth, d.outputHeight, d.batch * d.channels]
    }

    /// Global size (W, H, N·C): one work item per input element.
    private func inputRange(_ d: Pool2dDescriptor, _ op: String) throws -> [Int] {
        try Self.checkIndexRange(op, d.inputShape.reduce(1, *))
        return [d.width, d.height, d.batch * d.channels]
    }

    /// The size arguments every windowed pooling kernel takes after its buffers.
    private func poolGeometry(_ d: Pool2dDescriptor, _ op: String) throws -> [KernelArgument] {
        try [d.batch * d.channels, d.height, d.width, d.kernelSize, d.stride, d.outputHeight, d.outputWidth]
            .map { try .int($0, op) }
    }
}
