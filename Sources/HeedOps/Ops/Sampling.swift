/// Differentiable resampling of images on a grid: PyTorch's `affine_grid` and
/// `grid_sample` with `align_corners = False`, bilinear interpolation and zero padding
/// (DESIGN §5 item 4: the zoom of Coarse2Fine).
///
/// Grid coordinates are normalised: x = −1 is the left edge of the leftmost pixel and
/// x = +1 the right edge of the rightmost one, so pixel j of a row of W has its centre
/// at x = (2j + 1)/W − 1 (likewise y with the height). A grid holds (x, y) pairs.
public protocol SamplingOps {
    /// The sampling grid of the affine maps θ at the output size:
    /// `grid[n, i, j] = θ_n · (x_j, y_i, 1)` with x_j = (2j + 1)/W − 1 and
    /// y_i = (2i + 1)/H − 1, the pixel centres of an H × W image.
    /// θ: float32 (N, 2, 3) row-major; grid: float32 (N, H, W, 2), (x, y) last.
    func affineGridForward(_ descriptor: AffineGridDescriptor, theta: any DeviceBuffer, grid: any DeviceBuffer) throws

    /// ∂L/∂θ from ∂L/∂grid: `dθ[n, r] = Σ_{i,j} dgrid[n, i, j, r] · (x_j, y_i, 1)`.
    /// gridGradient: float32 (N, H, W, 2); thetaGradient: float32 (N, 2, 3), overwritten.
    func affineGridBackward(_ descriptor: AffineGridDescriptor, gridGradient: any DeviceBuffer,
                            thetaGradient: any DeviceBuffer) throws

    /// Bilinear samples of `input` at the grid's points, zero outside the image:
    /// the point (x, y) is at pixel coordinates ix = ((x + 1)·Win − 1)/2,
    /// iy = ((y + 1)·Hin − 1)/2, and its value is the bilinear blend of the four
    /// surrounding pixels, each pixel outside the image counting as 0. A point with a
    /// NaN or infinite coordinate samples NaN (as in PyTorch).
    /// input: float32 (N, C, Hin, Win); grid: float32 (N, H, W, 2); output: float32 (N, C, H, W).
    func gridSampleForward(_ descriptor: GridSampleDescriptor, input: any DeviceBuffer, grid: any DeviceBuffer,
                           output: any DeviceBuffer) throws

    /// ∂L/∂input: each output gradient is scattered to the four pixels its sample
    /// blended, with the same weights (nothing from a point with a non-finite
    /// coordinate). inputGradient (N, C, Hin, Win) is overwritten.
    /// On OpenCL several output points add into one pixel atomically, in no fixed
    /// order, so the result varies in its last bits from run to run.
    func gridSampleBackwardInput(_ descriptor: GridSampleDescriptor, grid: any DeviceBuffer,
                                 outputGradient: any DeviceBuffer, inputGradient: any DeviceBuffer) throws

    /// ∂L/∂grid: the derivative of each sample with respect to its (x, y), summed over
    /// the channels (the bilinear weights have kinks where ix or iy is an integer;
    /// there the derivative of the cell the point falls in is taken, as PyTorch does;
    /// NaN at a point with a non-finite coordinate). gridGradient (N, H, W, 2) is overwritten.
    func gridSampleBackwardGrid(_ descriptor: GridSampleDescriptor, input: any DeviceBuffer, grid: any DeviceBuffer,
                                outputGradient: any DeviceBuffer, gridGradient: any DeviceBuffer) throws
}

/// An `affine_grid` call: a batch of 2×3 affine maps and the output size.
public struct AffineGridDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var height: Int
    public var width: Int

    public init(batch: Int, height: Int, width: Int) {
        self.batch = batch
        self.height = height
        self.width = width
    }

    /// Elements of θ: N·2·3.
    public var thetaCount: Int { batch * 6 }
    /// Elements of the grid: N·H·W·2.
    public var gridCount: Int { batch * height * width * 2 }

    public var description: String { "affine_grid(N=\(batch), H=\(height), W=\(width))" }

    /// Throws unless the sizes are non-negative and the buffers hold θ and the grid.
    public func validate(thetaCount: Int, gridCount: Int) throws {
        let op = "affine_grid"
        try SamplingShapes.requireNonNegative(op, [("batch", batch), ("height", height), ("width", width)])
        try SamplingShapes.requireCount(op, "theta (\(batch), 2, 3)", expected: self.thetaCount, count: thetaCount, in: self)
        try SamplingShapes.requireCount(op, "grid (\(batch), \(height), \(width), 2)", expected: self.gridCount,
                                        count: gridCount, in: self)
    }
}

/// A `grid_sample` call: an input batch of images and a grid of output points per image.
public struct GridSampleDescriptor: Sendable, Equatable, CustomStringConvertible {
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

    /// Elements of the input: N·C·Hin·Win.
    public var inputCount: Int { batch * channels * inputHeight * inputWidth }
    /// Elements of the grid: N·H·W·2.
    public var gridCount: Int { batch * outputHeight * outputWidth * 2 }
    /// Elements of the output: N·C·H·W.
    public var outputCount: Int { batch * channels * outputHeight * outputWidth }

    var inputShape: String { "(\(batch), \(channels), \(inputHeight), \(inputWidth))" }
    var gridShape: String { "(\(batch), \(outputHeight), \(outputWidth), 2)" }
    var outputShape: String { "(\(batch), \(channels), \(outputHeight), \(outputWidth))" }

    public var description: String { "grid_sample(input \(inputShape), grid \(gridShape))" }

    /// Throws unless the sizes are valid (the input image is not empty, as in PyTorch)
    /// and each buffer given holds its tensor; pass nil for a buffer the op does not take.
    public func validate(input: Int? = nil, grid: Int? = nil, output: Int? = nil,
                         inputGradient: Int? = nil, outputGradient: Int? = nil, gridGradient: Int? = nil) throws {
        let op = "grid_sample"
        try SamplingShapes.requireNonNegative(op, [("batch", batch), ("channels", channels),
                                                   ("outputHeight", outputHeight), ("outputWidth", outputWidth)])
        guard inputHeight > 0 && inputWidth > 0 else {
            throw HeedError.invalidArgument(op: op, "the input image is empty (\(inputHeight)×\(inputWidth)) in \(self)")
        }
        let checks: [(String, Int?, Int)] = [
            ("input \(inputShape)", input, inputCount),
            ("grid \(gridShape)", grid, gridCount),
            ("output \(outputShape)", output, outputCount),
            ("inputGradient \(inputShape)", inputGradient, inputCount),
            ("outputGradient \(outputShape)", outputGradient, outputCount),
            ("gridGradient \(gridShape)", gridGradient, gridCount),
        ]
        for (name, count, expected) in checks {
            if let count { try SamplingShapes.requireCount(op, name, expected: expected, count: count, in: self) }
        }
    }
}

/// The shape checks of the sampling descriptors.
enum SamplingShapes {
    static func requireNonNegative(_ op: String, _ sizes: [(String, Int)]) throws {
        for (name, value) in sizes where value < 0 {
            throw HeedError.invalidArgument(op: op, "\(name) = \(value) is negative")
        }
    }

    static func requireCount(_ op: String, _ name: String, expected: Int, count: Int,
                             in context: CustomStringConvertible) throws {
        guard count == expected else {
            throw HeedError.shapeMismatch(op: op, "\(name) needs \(expected) elements, buffer has \(count), in \(context)")
        }
    }
}
