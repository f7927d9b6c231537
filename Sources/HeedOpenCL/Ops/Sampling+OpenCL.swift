import HeedOps
/// Affine grids and grid sampling with the kernels of `Kernels/sampling.cl`.
extension OpenCLBackend {
    /// Work items per θ row in `affine_grid_backward`, the kernel's `AFFINE_GRID_GROUP`.
    static let affineGridGroup = 64
    /// The defines of every sampling launch, the same for all so the family is one program.
    static let samplingDefines = ["AFFINE_GRID_GROUP": "\(affineGridGroup)"]

    public func affineGridForward(_ d: AffineGridDescriptor, theta: any DeviceBuffer, grid: any DeviceBuffer) throws {
        let op = "affine_grid"
        let (theta, grid) = (try floats(theta, op, "theta"), try floats(grid, op, "grid"))
        try d.validate(thetaCount: theta.count, gridCount: grid.count)
        try Self.requireIndexable(d)
        try launch(family: "sampling", kernel: "affine_grid_forward", defines: Self.samplingDefines,
                   global: [d.width, d.height, d.batch], arguments: [
                       .buffer(theta), .buffer(grid), try .int(d.batch, op), try .int(d.height, op), try .int(d.width, op),
                   ])
    }

    public func affineGridBackward(_ d: AffineGridDescriptor, gridGradient: any DeviceBuffer,
                                   thetaGradient: any DeviceBuffer) throws {
        let op = "affine_grid"
        let gridGradient = try floats(gridGradient, op, "gridGradient")
        let thetaGradient = try floats(thetaGradient, op, "thetaGradient")
        try d.validate(thetaCount: thetaGradient.count, gridCount: gridGradient.count)
        try Self.requireIndexable(d)
        let group = Self.affineGridGroup
        try launch(family: "sampling", kernel: "affine_grid_backward",
                   defines: Self.samplingDefines,
                   global: [group, 2 * d.batch], local: [group, 1], arguments: [
                       .buffer(gridGradient), .buffer(thetaGradient),
                       try .int(d.batch, op), try .int(d.height, op), try .int(d.width, op),
                   ])
    }

    public func gridSampleForward(_ d: GridSampleDescriptor, input: any DeviceBuffer, grid: any DeviceBuffer,
                                  output: any DeviceBuffer) throws {
        let op = "grid_sample"
        let (input, grid, output) = (try floats(input, op, "input"), try floats(grid, op, "grid"), try floats(output, op, "output"))
        try d.validate(input: input.count, grid: grid.count, output: output.count)
        try launchGridSample("grid_sample_forward", d, buffers: [input, grid, output])
    }

    public func gridSampleBackwardInput(_ d: GridSampleDescriptor, grid: any DeviceBuffer,
                                        outputGradient: any DeviceBuffer, inputGradient: any DeviceBuffer) throws {
        let op = "grid_sample"
        let grid = try floats(grid, op, "grid")
        let outputGradient = try floats(outputGradient, op, "outputGradient")
        let inputGradient = try floats(inputGradient, op, "inputGradient")
        try d.validate(grid: grid.count, inputGradient: inputGradient.count, outputGradient: outputGradient.count)
        // The kernel adds into dinput (several points can share a pixel), so it starts from 0.
        try fill(inputGradient, with: Float(0))
        try launchGridSample("grid_sample_backward_input", d, buffers: [grid, outputGradient, inputGradient])
    }

    public func gridSampleBackwardGrid(_ d: GridSampleDescriptor, input: any DeviceBuffer, grid: any DeviceBuffer,
                                       outputGradient: any DeviceBuffer, gridGradient: any DeviceBuffer) throws {
        let op = "grid_sample"
        let (input, grid) = (try floats(input, op, "input"), try floats(grid, op, "grid"))
        let outputGradient = try floats(outputGradient, op, "outputGradient")
        let gridGradient = try floats(gridGradient, op, "gridGradient")
        try d.validate(input: input.count, grid: grid.count, outputGradient: outputGradient.count,
                       gridGradient: gridGradient.count)
        try launchGridSample("grid_sample_backward_grid", d, buffers: [input, grid, outputGradient, gridGradient])
    }

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
        try launch(family: "sampling", kernel: kernel, defines: Self.samplingDefines,
                   global: [d.outputWidth, d.outputHeight, d.batch],
                   arguments: buffers.map { .buffer($0) } + sizes.map { try .int($0, op) })
    }
}
