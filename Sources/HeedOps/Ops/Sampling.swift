/// Differentiable resampling of images on a grid: PyTorch's `affine_grid` and
/// `grid_sample` with `align_corners = False`, bilinear interpolation and zero padding
/// (docs/design.md §5 item 4: the zoom of Coarse2Fine).
///
/// Grid coordinates are normalised: x = −1 is the left edge of the leftmost pixel and
/// x = +1 the right edge of the rightmost one, so pixel j of a row of W has its centre
/// at x = (2j + 1)/W − 1 (likewise y with the height). A grid holds (x, y) pairs.
public enum SamplingOps {
    /// The sampling grid of the affine maps θ at the output size:
    /// `grid[n, i, j] = θ_n · (x_j, y_i, 1)` with x_j = (2j + 1)/W − 1 and
    /// y_i = (2i + 1)/H − 1, the pixel centres of an H × W image.
    /// θ: float32 (N, 2, 3) row-major; grid: float32 (N, H, W, 2), (x, y) last.
    public static let affineGridForward = OpDefinition<AffineGridDescriptor>(
        "affine_grid.forward", .sampling, kernels: ["affine_grid_forward"], tolerance: .stated("8u·Σ|θ_r| (SamplingBounds)")
    ) { d in
        [.input("theta", d.thetaShape), .output("grid", d.gridShape)]
    }

    /// ∂L/∂θ from ∂L/∂grid: `dθ[n, r] = Σ_{i,j} dgrid[n, i, j, r] · (x_j, y_i, 1)`.
    /// gridGradient: float32 (N, H, W, 2); thetaGradient: float32 (N, 2, 3), overwritten.
    /// Terms: sums of H·W terms g·x with |x| ≤ 1, in any order (γ_{HW}), plus 3u from x,
    /// u from each product and u from the final rounding: H·W + 5.
    public static let affineGridBackward = OpDefinition<AffineGridDescriptor>(
        "affine_grid.backward", .sampling, kernels: ["affine_grid_backward"], tolerance: .sums { $0.height * $0.width + 5 }
    ) { d in
        [.input("gridGradient", d.gridShape), .output("thetaGradient", d.thetaShape)]
    }

    /// Bilinear samples of `input` at the grid's points, zero outside the image:
    /// the point (x, y) is at pixel coordinates ix = ((x + 1)·Win − 1)/2,
    /// iy = ((y + 1)·Hin − 1)/2, and its value is the bilinear blend of the four
    /// surrounding pixels, each pixel outside the image counting as 0. A point with a
    /// NaN or infinite coordinate samples NaN (as in PyTorch).
    /// input: float32 (N, C, Hin, Win); grid: float32 (N, H, W, 2); output: float32 (N, C, H, W).
    public static let gridSampleForward = OpDefinition<GridSampleDescriptor>(
        "grid_sample.forward", .sampling, kernels: ["grid_sample_forward"],
        tolerance: .stated("(8(Win + Hin) + 24)u·max|v| of the sampled plane (SamplingBounds)"),
        flops: { 20 * $0.outputCount }
    ) { d in
        [.input("input", d.inputShape), .input("grid", d.gridShape), .output("output", d.outputShape)]
    }

    /// ∂L/∂input: each output gradient is scattered to the four pixels its sample
    /// blended, with the same weights (nothing from a point with a non-finite
    /// coordinate). inputGradient (N, C, Hin, Win) is overwritten.
    /// On OpenCL several output points add into one pixel atomically, in no fixed
    /// order, so the result varies in its last bits from run to run.
    public static let gridSampleBackwardInput = OpDefinition<GridSampleDescriptor>(
        "grid_sample.backward_input", .sampling, kernels: ["grid_sample_backward_input"],
        tolerance: .stated("(8(Win + Hin) + 16 + H·W)u of Σ|g| over the points within 2 pixels (SamplingBounds)")
    ) { d in
        [.input("grid", d.gridShape), .input("outputGradient", d.outputShape), .output("inputGradient", d.inputShape)]
    }

    /// ∂L/∂grid: the derivative of each sample with respect to its (x, y), summed over
    /// the channels (the bilinear weights have kinks where ix or iy is an integer;
    /// there the derivative of the cell the point falls in is taken, as PyTorch does;
    /// NaN at a point with a non-finite coordinate). gridGradient (N, H, W, 2) is overwritten.
    public static let gridSampleBackwardGrid = OpDefinition<GridSampleDescriptor>(
        "grid_sample.backward_grid", .sampling, kernels: ["grid_sample_backward_grid"],
        tolerance: .stated("(16(Win + Hin) + 16 + 2C)u of (Win/2 or Hin/2)·Σ_c |g_c|·max|v_c| (SamplingBounds)")
    ) { d in
        [
            .input("input", d.inputShape), .input("grid", d.gridShape), .input("outputGradient", d.outputShape),
            .output("gridGradient", d.gridShape),
        ]
    }

    static let table = [
        affineGridForward.erased, affineGridBackward.erased, gridSampleForward.erased,
        gridSampleBackwardInput.erased, gridSampleBackwardGrid.erased,
    ]
}

extension Backend {
    public func affineGridForward(_ descriptor: AffineGridDescriptor, theta: any DeviceBuffer, grid: any DeviceBuffer) throws {
        try run(SamplingOps.affineGridForward, descriptor, [theta, grid])
    }

    public func affineGridBackward(
        _ descriptor: AffineGridDescriptor, gridGradient: any DeviceBuffer,
        thetaGradient: any DeviceBuffer
    ) throws {
        try run(SamplingOps.affineGridBackward, descriptor, [gridGradient, thetaGradient])
    }

    public func gridSampleForward(
        _ descriptor: GridSampleDescriptor, input: any DeviceBuffer, grid: any DeviceBuffer,
        output: any DeviceBuffer
    ) throws {
        try run(SamplingOps.gridSampleForward, descriptor, [input, grid, output])
    }

    public func gridSampleBackwardInput(
        _ descriptor: GridSampleDescriptor, grid: any DeviceBuffer,
        outputGradient: any DeviceBuffer, inputGradient: any DeviceBuffer
    ) throws {
        try run(SamplingOps.gridSampleBackwardInput, descriptor, [grid, outputGradient, inputGradient])
    }

    public func gridSampleBackwardGrid(
        _ descriptor: GridSampleDescriptor, input: any DeviceBuffer, grid: any DeviceBuffer,
        outputGradient: any DeviceBuffer, gridGradient: any DeviceBuffer
    ) throws {
        try run(SamplingOps.gridSampleBackwardGrid, descriptor, [input, grid, outputGradient, gridGradient])
    }
}

/// An `affine_grid` call: a batch of 2×3 affine maps and the output size.
public struct AffineGridDescriptor: OpDescriptor, Equatable {
    public var batch: Int
    public var height: Int
    public var width: Int

    public init(batch: Int, height: Int, width: Int) {
        self.batch = batch
        self.height = height
        self.width = width
    }

    /// θ: (N, 2, 3).
    public var thetaShape: [Int] { [batch, 2, 3] }
    /// The grid: (N, H, W, 2).
    public var gridShape: [Int] { [batch, height, width, 2] }
    /// Elements of θ: N·2·3.
    public var thetaCount: Int { batch * 6 }
    /// Elements of the grid: N·H·W·2.
    public var gridCount: Int { batch * height * width * 2 }

    public var description: String { "affine_grid(N=\(batch), H=\(height), W=\(width))" }

    /// Throws unless the sizes are non-negative.
    public func validate() throws {
        try ShapeRequirements.requireNonNegative("affine_grid", ["batch": batch, "height": height, "width": width])
    }
}

/// A `grid_sample` call: an input batch of images and a grid of output points per image.
public struct GridSampleDescriptor: OpDescriptor, Equatable {
    public var batch: Int
    public var channels: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var outputHeight: Int
    public var outputWidth: Int

    public init(batch: Int, channels: Int, inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int) {
        self.batch = batch
        self.channels = channels
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
    }

    /// The input and its gradient: (N, C, Hin, Win).
    public var inputShape: [Int] { [batch, channels, inputHeight, inputWidth] }
    /// The grid and its gradient: (N, H, W, 2).
    public var gridShape: [Int] { [batch, outputHeight, outputWidth, 2] }
    /// The output and its gradient: (N, C, H, W).
    public var outputShape: [Int] { [batch, channels, outputHeight, outputWidth] }
    /// Elements of the input: N·C·Hin·Win.
    public var inputCount: Int { batch * channels * inputHeight * inputWidth }
    /// Elements of the grid: N·H·W·2.
    public var gridCount: Int { batch * outputHeight * outputWidth * 2 }
    /// Elements of the output: N·C·H·W.
    public var outputCount: Int { batch * channels * outputHeight * outputWidth }

    public var description: String {
        "grid_sample(input \(ShapeText.format(inputShape)), grid \(ShapeText.format(gridShape)))"
    }

    /// Throws unless the sizes are non-negative and the input image is not empty (as in PyTorch).
    public func validate() throws {
        let op = "grid_sample"
        try ShapeRequirements.requireNonNegative(
            op,
            [
                "batch": batch, "channels": channels,
                "outputHeight": outputHeight, "outputWidth": outputWidth,
            ])
        guard inputHeight > 0 && inputWidth > 0 else {
            throw HeedError.invalidArgument(op: op, "the input image is empty (\(inputHeight)x\(inputWidth)) in \(self)")
        }
    }
}
