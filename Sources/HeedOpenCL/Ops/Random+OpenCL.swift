import HeedOps

/// Dropout: kernels of `Kernels/random.cl`; dropout2d runs the same kernels with more
/// elements per draw.
extension OpenCLBackend {
    public static let random: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(RandomOps.dropoutForward) { backend, d, b in
            try backend.dropout(d, "dropout_forward", b.input, b.output)
        },
        OpImplementation(RandomOps.dropoutBackward) { backend, d, b in
            try backend.dropout(d, "dropout_backward", b.outputGradient, b.inputGradient)
        },
        OpImplementation(RandomOps.dropout2dForward) { backend, d, b in
            try backend.dropout(d, "dropout_forward", b.input, b.output)
        },
        OpImplementation(RandomOps.dropout2dBackward) { backend, d, b in
            try backend.dropout(d, "dropout_backward", b.outputGradient, b.inputGradient)
        },
    ]

    private func dropout(_ d: DropoutDescriptor, _ kernel: String, _ source: OpenCLBuffer, _ result: OpenCLBuffer) throws {
        try launch(
            family: "random", kernel: kernel, global: [d.count],
            arguments: [
                .buffer(source), .buffer(result), try .int(d.count, d.name), try .int(d.elementsPerDraw, d.name),
                .int(Int32(bitPattern: d.seed)), .int(Int32(bitPattern: d.step)), try .int(Int(d.threshold), d.name),
                .float(d.scale),
            ])
    }
}
