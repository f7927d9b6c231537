import HeedOps

/// Grouped convolution with the direct kernels of `Kernels/grouped_conv.cl`, one work
/// item per element written (the weight gradient as `DeviceShapes.groupedWeightGradient`
/// says); the forward's bias is conv.cl's `bias_forward`.
extension OpenCLBackend {
    /// Work items per weight element of `grouped_conv2d_backward_weight_grouped` (its `GROUPED_CONV_WG`).
    static let groupedConvolutionWorkGroup = 64

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
            let arguments: [KernelArgument] = [
                .buffer(b.input), .buffer(b.outputGradient), .buffer(b.weightGradient), try .int(d.batch, "grouped_conv2d"),
            ]
            switch backend.shapes.groupedWeightGradient {
            case .rowsPerItem:
                try backend.launchGroupedConvolution("grouped_conv2d_backward_weight", d, elements: b.weightGradient.count, arguments)
            case .elementsPerItem:
                try backend.launchGroupedConvolution(
                    "grouped_conv2d_backward_weight_grouped", d, elements: b.weightGradient.count, itemsPerElement: groupedConvolutionWorkGroup,
                    arguments)
            }
        },
    ]

    /// One work item per element of the buffer the kernel writes, or a work-group of
    /// `itemsPerElement`; the kernels take the convolution's sizes after their buffers (and
    /// the batch, for the weight gradient).
    private func launchGroupedConvolution(
        _ kernel: String, _ d: GroupedConv2dDescriptor, elements: Int, itemsPerElement: Int = 1,
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
        try launch(
            family: "grouped_conv", kernel: kernel, defines: ["GROUPED_CONV_WG": "\(Self.groupedConvolutionWorkGroup)"],
            global: [elements * itemsPerElement], local: itemsPerElement == 1 ? nil : [itemsPerElement],
            arguments: leading + sizes)
    }
}
