import HeedOps

// Affine grids and bilinear sampling (`SamplingOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// The sampling grid of affine matrices θ (B, 2, 3) for an output of `height × width`:
    /// (B, H, W, 2), PyTorch's `affine_grid` with align_corners false. Saves nothing.
    public func affineGrid(height: Int, width: Int) throws -> Tensor {
        guard rank == 3, shape[1] == 2, shape[2] == 3 else {
            throw HeedError.shapeMismatch(op: SamplingOps.affineGridForward.errorName, "theta \(shape) must be (B, 2, 3)")
        }
        let d = AffineGridDescriptor(batch: shape[0], height: height, width: width)
        let grid = try Tensor.uninitialized(shape: [shape[0], height, width, 2], on: backend)
        try backend.affineGridForward(d, theta: storage, grid: grid.storage)
        let (backend, thetaShape) = (backend, shape)
        return Tensor.result(op: SamplingOps.affineGridForward.errorName, output: grid, inputs: [self]) { g, _ in
            let dTheta = try Tensor.uninitialized(shape: thetaShape, on: backend)
            try backend.affineGridBackward(d, gridGradient: g.storage, thetaGradient: dTheta.storage)
            return [dTheta]
        }
    }

    /// Bilinear samples of this image (B, C, Hin, Win) at `grid` (B, H, W, 2): (B, C, H, W),
    /// PyTorch's `grid_sample` (bilinear, zeros padding, align_corners false). Gradients
    /// flow to the grid, and to the image when it requires one. Saves the image and the grid.
    public func gridSample(_ grid: Tensor) throws -> Tensor {
        guard rank == 4, grid.rank == 4, grid.shape[0] == shape[0], grid.shape[3] == 2 else {
            throw HeedError.shapeMismatch(
                op: SamplingOps.gridSampleForward.errorName, "image \(shape) must be (B, C, H, W) and grid \(grid.shape) (B, H, W, 2)")
        }
        let d = GridSampleDescriptor(
            batch: shape[0], channels: shape[1], inputHeight: shape[2], inputWidth: shape[3],
            outputHeight: grid.shape[1], outputWidth: grid.shape[2])
        let output = try Tensor.uninitialized(shape: [shape[0], shape[1], grid.shape[1], grid.shape[2]], on: backend)
        try backend.gridSampleForward(d, input: storage, grid: grid.storage, output: output.storage)
        let (backend, imageShape, gridShape, needsImage) = (backend, shape, grid.shape, requiresGradient)
        let op = SamplingOps.gridSampleForward.errorName
        return Tensor.result(op: op, output: output, inputs: [self, grid], saving: [self, grid]) { g, saved in
            let buffers = try saved.buffers(for: op)
            let (image, grid) = (buffers[0], buffers[1])
            var dImage: Tensor?
            if needsImage {
                let gradient = try Tensor.uninitialized(shape: imageShape, on: backend)
                try backend.gridSampleBackwardInput(d, grid: grid, outputGradient: g.storage, inputGradient: gradient.storage)
                dImage = gradient
            }
            let dGrid = try Tensor.uninitialized(shape: gridShape, on: backend)
            try backend.gridSampleBackwardGrid(d, input: image, grid: grid, outputGradient: g.storage, gridGradient: dGrid.storage)
            return [dImage, dGrid]
        }
    }
}
