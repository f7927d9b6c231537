import HeedOps

/// Elementwise ops and reductions: kernels of `Kernels/elementwise.cl`.
extension OpenCLBackend {
    /// Work items per output element of `reduce_forward` (`REDUCE_WG`).
    static let reduceGroupSize = 64

    public static let elementwise: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(ElementwiseOps.reluForward) { backend, d, b in
            try backend.elementwise(ElementwiseOps.reluForward, count: d.count, [b.input, b.output])
        },
        OpImplementation(ElementwiseOps.reluBackward) { backend, d, b in
            try backend.elementwise(ElementwiseOps.reluBackward, count: d.count, [b.input, b.outputGradient, b.inputGradient])
        },
        OpImplementation(ElementwiseOps.tanhForward) { backend, d, b in
            try backend.elementwise(ElementwiseOps.tanhForward, count: d.count, [b.input, b.output])
        },
        OpImplementation(ElementwiseOps.tanhBackward) { backend, d, b in
            try backend.elementwise(ElementwiseOps.tanhBackward, count: d.count, [b.output, b.outputGradient, b.inputGradient])
        },
        OpImplementation(ElementwiseOps.sigmoidForward) { backend, d, b in
            try backend.elementwise(ElementwiseOps.sigmoidForward, count: d.count, [b.input, b.output])
        },
        OpImplementation(ElementwiseOps.sigmoidBackward) { backend, d, b in
            try backend.elementwise(ElementwiseOps.sigmoidBackward, count: d.count, [b.output, b.outputGradient, b.inputGradient])
        },
        OpImplementation(ElementwiseOps.add) { backend, d, b in
            try backend.elementwise(ElementwiseOps.add, count: d.count, [b.a, b.b, b.output])
        },
        OpImplementation(ElementwiseOps.multiply) { backend, d, b in
            try backend.elementwise(ElementwiseOps.multiply, count: d.count, [b.a, b.b, b.output])
        },
        OpImplementation(ElementwiseOps.multiplyBackward) { backend, d, b in
            try backend.elementwise(
                ElementwiseOps.multiplyBackward, count: d.count,
                [b.a, b.b, b.outputGradient, b.aGradient, b.bGradient])
        },
        OpImplementation(ElementwiseOps.scale) { backend, d, b in
            try backend.elementwise(ElementwiseOps.scale, count: d.count, [b.input, b.output], extra: [.float(d.alpha)])
        },
        OpImplementation(ElementwiseOps.axpy) { backend, d, b in
            try backend.elementwise(ElementwiseOps.axpy, count: d.count, [b.x, b.y], extra: [.float(d.alpha)])
        },
        OpImplementation(ElementwiseOps.sumForward) { backend, d, b in try backend.reduce(d, input: b.input, output: b.output) },
        OpImplementation(ElementwiseOps.meanForward) { backend, d, b in try backend.reduce(d, input: b.input, output: b.output) },
        OpImplementation(ElementwiseOps.sumBackward) { backend, d, b in
            try backend.reduceBackward(d, outputGradient: b.outputGradient, inputGradient: b.inputGradient)
        },
        OpImplementation(ElementwiseOps.meanBackward) { backend, d, b in
            try backend.reduceBackward(d, outputGradient: b.outputGradient, inputGradient: b.inputGradient)
        },
    ]

    /// Sum or mean of `input` over `d.axes`, one work group of `reduceGroupSize` per output element.
    private func reduce(_ d: ReductionDescriptor, input: OpenCLBuffer, output: OpenCLBuffer) throws {
        let op = d.operation.rawValue
        let strides = Self.rowMajorStrides(d.shape)
        let kept = d.shape.indices.filter { !d.axes.contains($0) }
        let reduced = d.shape.indices.filter { d.axes.contains($0) }
        // Sizes and input strides of each group of axes, padded in front to 4 axes.
        func padded(_ axes: [Int]) -> (sizes: [Int], strides: [Int]) {
            let pad = 4 - axes.count
            return (
                [Int](repeating: 1, count: pad) + axes.map { d.shape[$0] },
                [Int](repeating: 0, count: pad) + axes.map { strides[$0] }
            )
        }
        let (keptSizes, keptStrides) = padded(kept)
        let (reducedSizes, reducedStrides) = padded(reduced)
        let groupSize = Self.reduceGroupSize
        var arguments: [KernelArgument] = [.buffer(input), .buffer(output), try .int(d.outputCount, op)]
        for value in keptSizes + keptStrides + reducedSizes + reducedStrides { arguments.append(try .int(value, op)) }
        arguments.append(.int(d.operation == .mean ? 1 : 0))
        try launch(
            family: "elementwise", kernel: "reduce_forward", defines: ["REDUCE_WG": "\(groupSize)"],
            global: [d.outputCount * groupSize], local: [groupSize], arguments: arguments)
    }

    /// The gradient of `reduce`, one work item per input element.
    private func reduceBackward(
        _ d: ReductionDescriptor, outputGradient gradient: OpenCLBuffer,
        inputGradient result: OpenCLBuffer
    ) throws {
        let op = d.operation.rawValue
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

    /// Launches the one kernel of `op` on `count` work items: arguments are the buffers
    /// (inputs, then outputs), `count`, then `extra`.
    private func elementwise<Descriptor>(
        _ op: OpDefinition<Descriptor>, count: Int, _ buffers: [OpenCLBuffer],
        extra: [KernelArgument] = []
    ) throws {
        try launch(
            family: "elementwise", kernel: op.kernels[0], global: [count],
            arguments: buffers.map { .buffer($0) } + [try .int(count, op.errorName)] + extra)
    }

    /// Row-major strides of `shape` (last axis 1).
    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropLast().reversed() { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }
}
