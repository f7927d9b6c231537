import HeedOps

// Affine grids and bilinear sampling (`SamplingOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// The sampling grid of affine matrices θ (B, 2, 3) for an output of `height × width`:
    /// (B, H, W, 2), PyTorch's `affine_grid` with align_corners false.
    public func affineGrid(height: Int, width: Int) throws -> Tensor {
        guard rank == 3, shape[1] == 2, shape[2] == 3 else {
            throw HeedError.shapeMismatch(op: SamplingOps.affineGridForward.errorName, "theta \(shape) must be (B, 2, 3)")
        }
        let d = AffineGridDescriptor(batch: shape[0], height: height, width: width)
        let grid = try Tensor.uninitialized(shape: [shape[0], height, width, 2], on: backend)
        try backend.affineGridForward(d, theta: storage, grid: grid.storage)
        return Tensor.result(op: SamplingOps.affineGridForward.errorName, shape: grid.shape, storage: grid.storage, inputs: [self]) { g in
            let dTheta = try Tensor.uninitialized(shape: self.shape, on: self.backend)
            try self.backend.affineGridBackward(d, gridGradient: g.storage, thetaGradient: dTheta.storage)
            return [dTheta]
        }
    }

    /// Bilinear samples of this image (B, C, Hin, Win) at `grid` (B, H, W, 2): (B, C, H, W),
    /// PyTorch's `grid_sample` (bilinear, zeros padding, align_corners false). Gradients
    /// flow to the grid, and to the image when it requires one.
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
        return Tensor.result(
            op: SamplingOps.gridSampleForward.errorName, shape: output.shape, storage: output.storage, inputs: [self, grid]
        ) { g in
            var dImage: Tensor?
            if self.requiresGradient {
                dImage = try Tensor.uninitialized(shape: self.shape, on: self.backend)
                try self.backend.gridSampleBackwardInput(d, grid: grid.storage, outputGradient: g.storage, inputGradient: dImage!.storage)
            }
            let dGrid = try Tensor.uninitialized(shape: grid.shape, on: self.backend)
            try self.backend.gridSampleBackwardGrid(
                d, input: self.storage, grid: grid.storage, outputGradient: g.storage,
                gridGradient: dGrid.storage)
            return [dImage, dGrid]
        }
    }
}
