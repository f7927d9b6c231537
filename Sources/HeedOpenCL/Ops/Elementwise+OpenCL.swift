import HeedOps
/// Elementwise ops and reductions: kernels of `Kernels/elementwise.cl`.
extension OpenCLBackend {
    /// Work items per output element of `reduce_forward` (`REDUCE_WG`).
    static let reduceGroupSize = 64

    public func reluForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try elementwise("relu.forward", "relu_forward", count: count, [("input", input)], [("output", output)])
    }

    public func reluBackward(count: Int, input: any DeviceBuffer, outputGradient: any DeviceBuffer,
                             inputGradient: any DeviceBuffer) throws {
        try elementwise("relu.backward_input", "relu_backward", count: count,
                        [("input", input), ("outputGradient", outputGradient)], [("inputGradient", inputGradient)])
    }

    public func tanhForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try elementwise("tanh.forward", "tanh_forward", count: count, [("input", input)], [("output", output)])
    }

    public func tanhBackward(count: Int, output: any DeviceBuffer, outputGradient: any DeviceBuffer,
                             inputGradient: any DeviceBuffer) throws {
        try elementwise("tanh.backward_input", "tanh_backward", count: count,
                        [("output", output), ("outputGradient", outputGradient)], [("inputGradient", inputGradient)])
    }

    public func sigmoidForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try elementwise("sigmoid.forward", "sigmoid_forward", count: count, [("input", input)], [("output", output)])
    }

    public func sigmoidBackward(count: Int, output: any DeviceBuffer, outputGradient: any DeviceBuffer,
                                inputGradient: any DeviceBuffer) throws {
        try elementwise("sigmoid.backward_input", "sigmoid_backward", count: count,
                        [("output", output), ("outputGradient", outputGradient)], [("inputGradient", inputGradient)])
    }

    public func add(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, output: any DeviceBuffer) throws {
        try elementwise("add.forward", "add_forward", count: count, [("a", a), ("b", b)], [("output", output)])
    }

    public func multiply(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, output: any DeviceBuffer) throws {
        try elementwise("multiply.forward", "multiply_forward", count: count, [("a", a), ("b", b)], [("output", output)])
    }

    public func multiplyBackward(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, outputGradient: any DeviceBuffer,
                                 aGradient: any DeviceBuffer, bGradient: any DeviceBuffer) throws {
        try elementwise("multiply.backward", "multiply_backward", count: count,
                        [("a", a), ("b", b), ("outputGradient", outputGradient)],
                        [("aGradient", aGradient), ("bGradient", bGradient)])
    }

    public func scale(count: Int, alpha: Float, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try elementwise("scale.forward", "scale_forward", count: count, [("input", input)], [("output", output)],
                        extra: [.float(alpha)])
    }

    public func axpy(count: Int, alpha: Float, x: any DeviceBuffer, y: any DeviceBuffer) throws {
        try elementwise("axpy", "axpy", count: count, [("x", x)], [("y", y)], extra: [.float(alpha)])
    }

    public func reduceForward(_ d: ReductionDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "\(d.operation.rawValue).forward"
        let (input, output) = (try floats(input, op, "input"), try floats(output, op, "output"))
        try d.validate("forward", inputCount: input.count, outputCount: output.count)
        let strides = Self.rowMajorStrides(d.shape)
        let kept = d.shape.indices.filter { !d.axes.contains($0) }
        let reduced = d.shape.indices.filter { d.axes.contains($0) }
        // Sizes and input strides of each group of axes, padded in front to 4 axes.
        func padded(_ axes: [Int]) -> (sizes: [Int], strides: [Int]) {
            let pad = 4 - axes.count
            return ([Int](repeating: 1, count: pad) + axes.map { d.shape[$0] },
                    [Int](repeating: 0, count: pad) + axes.map { strides[$0] })
        }
        let (keptSizes, keptStrides) = padded(kept)
        let (reducedSizes, reducedStrides) = padded(reduced)
        let groupSize = Self.reduceGroupSize
        var arguments: [KernelArgument] = [.buffer(input), .buffer(output), try .int(d.outputCount, op)]
        for value in keptSizes + keptStrides + reducedSizes + reducedStrides { arguments.append(try .int(value, op)) }
        arguments.append(.int(d.operation == .mean ? 1 : 0))
        try launch(family: "elementwise", kernel: "reduce_forward", defines: ["REDUCE_WG": "\(groupSize)"],
                   global: [d.outputCount * groupSize], local: [groupSize], arguments: arguments)
    }

    public func reduceBackward(_ d: ReductionDescriptor, outputGradient: any DeviceBuffer,
                               inputGradient: any DeviceBuffer) throws {
        let op = "\(d.operation.rawValue).backward_input"
        let (gradient, result) = (try floats(outputGradient, op, "outputGradient"), try floats(inputGradient, op, "inputGradient"))
        try d.validate("backward_input", inputCount: result.count, outputCount: gradient.count)
        let shape = [Int](repeating: 1, count: 4 - d.shape.count) + d.shape
        // The output stride of each input axis: 0 for a reduced axis.
        var outputStrides = [Int](repeating: 0, count: d.shape.count)
        var stride = 1
        for axis in d.shape.indices.reversed() where !d.axes.contains(axis) {
            outputStrides[axis] = stride
            stride *= d.shape[axis]
        }
        outputStrides = [Int](repeating: 0, count: 4 - d.shape.count) + outputStrides
        var arguments: [KernelArgument] = [.buffer(gradient), .buffer(result), try .int(d.inputCount, op)]
        for value in shape[1...] + outputStrides { arguments.append(try .int(value, op)) }
        arguments.append(try .int(d.operation == .mean ? d.reducedCount : 1, op))
        try launch(family: "elementwise", kernel: "reduce_backward", global: [d.inputCount], arguments: arguments)
    }

    /// Validates and launches one elementwise kernel: arguments are the inputs, the
    /// outputs, `count`, then `extra`.
    private func elementwise(_ op: String, _ kernel: String, count: Int,
                             _ inputs: [(String, any DeviceBuffer)], _ outputs: [(String, any DeviceBuffer)],
                             extra: [KernelArgument] = []) throws {
        let buffers = try (inputs + outputs).map { (name: $0.0, buffer: try floats($0.1, op, $0.0)) }
        try Elementwise.validate(op, count: count, buffers.map { ($0.name, $0.buffer.count) })
        try launch(family: "elementwise", kernel: kernel, global: [count],
                   arguments: buffers.map { .buffer($0.buffer) } + [try .int(count, op)] + extra)
    }

    /// Row-major strides of `shape` (last axis 1).
    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropLast().reversed() { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }
}
