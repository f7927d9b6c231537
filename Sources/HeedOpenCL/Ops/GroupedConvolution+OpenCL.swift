import HeedOps

/// Grouped convolution with the direct kernels of `Kernels/grouped_conv.cl`, one work
/// item per element written; the forward's bias is conv.cl's `bias_forward`.
extension OpenCLBackend {
    public static let groupedConvolution: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(GroupedConvolutionOps.forward) { backend, d, b in
            try backend.launchGroupedConvolution(
                "grouped_conv2d_forward", d, elements: b.output.count,
                [.buffer(b.input), .buffer(b.weight), .buffer(b.output)])
            if let bias = b.optional("bias") {
                try backend.addOrSumBias(
                    backward: false, "grouped_conv2d", values: b.output, bias: bias, batch: d.batch,
                    channels: d.outChannels, plane: d.outputHeight * d.outputWidth)
            }
        },
        OpImplementation(GroupedConvolutionOps.backwardInput) { backend, d, b in
            try backend.launchGroupedConvolution(
                "grouped_conv2d_backward_input", d, elements: b.inputGradient.count,
                [.buffer(b.outputGradient), .buffer(b.weight), .buffer(b.inputGradient)])
        },
        OpImplementation(GroupedConvolutionOps.backwardWeight) { backend, d, b in
            try backend.launchGroupedConvolution(
                "grouped_conv2d_backward_weight", d, elements: b.weightGradient.count,
                [
                    .buffer(b.input), .buffer(b.outputGradient), .buffer(b.weightGradient),
                    try .int(d.batch, "grouped_conv2d"),
                ])
        },
    ]

    /// One work item per element of the buffer the kernel writes; the kernels take the
    /// convolution's sizes after their buffers (and the batch, for the weight gradient).
    private func launchGroupedConvolution(
        _ kernel: String, _ d: GroupedConv2dDescriptor, elements: Int,
        _ leading: [KernelArgument]
    ) throws {
        let op = "grouped_conv2d"
        for count in [d.inputShape, d.outputShape, d.weightShape].map({ $0.reduce(1, *) }) {
            _ = try KernelArgument.int(count, op)
        }
        let sizes = try [
            d.inChannels, d.height, d.width, d.outChannels, d.groups, d.kernelHeight, d.kernelWidth,
            d.stride, d.padding, d.outputHeight, d.outputWidth,
        ].map { try KernelArgument.int($0, op) }
        try launch(family: "grouped_conv", kernel: kernel, global: [elements], arguments: leading + sizes)
    }
}
