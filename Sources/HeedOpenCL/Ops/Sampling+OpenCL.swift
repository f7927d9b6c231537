import HeedOps

/// Affine grids and grid sampling with the kernels of `Kernels/sampling.cl`.
extension OpenCLBackend {
    /// Work items per θ row in `affine_grid_backward`, the kernel's `AFFINE_GRID_GROUP`.
    static let affineGridGroup = 64
    /// The defines of every sampling launch, the same for all so the family is one program.
    static let samplingDefines = ["AFFINE_GRID_GROUP": "\(affineGridGroup)"]

    public static let sampling: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(SamplingOps.affineGridForward) { backend, d, b in
            let op = SamplingOps.affineGridForward.errorName
            try requireIndexable(d)
            try backend.launch(
                family: "sampling", kernel: "affine_grid_forward", defines: samplingDefines,
                global: [d.width, d.height, d.batch],
                arguments: [
                    .buffer(b.theta), .buffer(b.grid), try .int(d.batch, op), try .int(d.height, op),
                    try .int(d.width, op),
                ])
        },
        OpImplementation(SamplingOps.affineGridBackward) { backend, d, b in
            let op = SamplingOps.affineGridBackward.errorName
            try requireIndexable(d)
            let group = affineGridGroup
            try backend.launch(
                family: "sampling", kernel: "affine_grid_backward", defines: samplingDefines,
                global: [group, 2 * d.batch], local: [group, 1],
                arguments: [
                    .buffer(b.gridGradient), .buffer(b.thetaGradient),
                    try .int(d.batch, op), try .int(d.height, op), try .int(d.width, op),
                ])
        },
        OpImplementation(SamplingOps.gridSampleForward) { backend, d, b in
            try backend.launchGridSample("grid_sample_forward", d, buffers: [b.input, b.grid, b.output])
        },
        OpImplementation(SamplingOps.gridSampleBackwardInput) { backend, d, b in
            // The kernel adds into dinput (several points can share a pixel), so it starts from 0.
            try backend.fill(b.inputGradient, with: Float(0))
            try backend.launchGridSample("grid_sample_backward_input", d, buffers: [b.grid, b.outputGradient, b.inputGradient])
        },
        OpImplementation(SamplingOps.gridSampleBackwardGrid) { backend, d, b in
            try backend.launchGridSample(
                "grid_sample_backward_grid", d,
                buffers: [b.input, b.grid, b.outputGradient, b.gridGradient])
        },
    ]

    private static func requireIndexable(_ d: AffineGridDescriptor) throws {
        guard d.gridCount <= Int(Int32.max) else {
            throw HeedError.invalidArgument(op: "affine_grid", "\(d) has more elements than 32-bit kernel indices reach")
        }
    }

    /// One work item per grid point (w, h, n); the buffers, then the six sizes.
    private func launchGridSample(_ kernel: String, _ d: GridSampleDescriptor, buffers: [OpenCLBuffer]) throws {
        let op = "grid_sample"
        guard max(d.inputCount, d.gridCount, d.outputCount) <= Int(Int32.max) else {
            throw HeedError.invalidArgument(op: op, "\(d) has more elements than 32-bit kernel indices reach")
        }
        let sizes = [d.batch, d.channels, d.inputHeight, d.inputWidth, d.outputHeight, d.outputWidth]
        try launch(
            family: "sampling", kernel: kernel, defines: Self.samplingDefines,
            global: [d.outputWidth, d.outputHeight, d.batch],
            arguments: buffers.map { .buffer($0) } + sizes.map { try .int($0, op) })
    }
}
