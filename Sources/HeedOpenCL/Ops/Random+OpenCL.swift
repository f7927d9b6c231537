import HeedOps
/// Dropout: kernels of `Kernels/random.cl`.
extension OpenCLBackend {
    public func dropoutForward(_ d: DropoutDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try dropout(d, "forward", "dropout_forward", ("input", input), ("output", output))
    }

    public func dropoutBackward(_ d: DropoutDescriptor, outputGradient: any DeviceBuffer,
                                inputGradient: any DeviceBuffer) throws {
        try dropout(d, "backward_input", "dropout_backward", ("outputGradient", outputGradient), ("inputGradient", inputGradient))
    }

    private func dropout(_ d: DropoutDescriptor, _ direction: String, _ kernel: String,
                         _ input: (String, any DeviceBuffer), _ output: (String, any DeviceBuffer)) throws {
        let op = "\(d.name).\(direction)"
        let (source, result) = (try floats(input.1, op, input.0), try floats(output.1, op, output.0))
        try d.validate(direction, inputCount: source.count, outputCount: result.count)
        try launch(family: "random", kernel: kernel, global: [d.count], arguments: [
            .buffer(source), .buffer(result), try .int(d.count, op), try .int(d.elementsPerDraw, op),
            .int(Int32(bitPattern: d.seed)), .int(Int32(bitPattern: d.step)), try .int(Int(d.threshold), op),
            .float(d.scale),
        ])
    }
}
