/// Pooling over the spatial plane of NCHW float32 tensors, with PyTorch's semantics
/// (no padding, output sizes rounded down). Outputs are overwritten.
public protocol PoolingOps {
    /// `output[n,c] = mean over (h, w) of input[n,c,h,w]`: (N, C, H, W) → (N, C).
    func globalAveragePoolForward(_ descriptor: GlobalPoolDescriptor, input: any DeviceBuffer,
                                  output: any DeviceBuffer) throws

    /// ∂L/∂input (N, C, H, W) = ∂L/∂output[n,c] / (H·W) at every position.
    func globalAveragePoolBackward(_ descriptor: GlobalPoolDescriptor, outputGradient: any DeviceBuffer,
                                   inputGradient: any DeviceBuffer) throws

    /// `avg_pool2d(k, s)`: each output (N, C, H', W') is the mean of its k×k window,
    /// whose top-left corner is (y·s, x·s).
    func averagePool2dForward(_ descriptor: Pool2dDescriptor, input: any DeviceBuffer,
                              output: any DeviceBuffer) throws

    /// ∂L/∂input (N, C, H, W): each input element receives ∂L/∂output / k² from every
    /// window that contains it, 0 when none does (rows and columns the floor drops).
    func averagePool2dBackward(_ descriptor: Pool2dDescriptor, outputGradient: any DeviceBuffer,
                               inputGradient: any DeviceBuffer) throws

    /// `max_pool2d(k, s, return_indices=True)`: each output (N, C, H', W') is the largest
    /// element of its window and `indices` (int32, same shape) its flat position h·W + w
    /// in the input plane. Ties go to the first in row-major order; a NaN wins (as PyTorch
    /// on the CPU: the last NaN of the window).
    func maxPool2dForward(_ descriptor: Pool2dDescriptor, input: any DeviceBuffer,
                          output: any DeviceBuffer, indices: any DeviceBuffer) throws

    /// ∂L/∂input (N, C, H, W): every ∂L/∂output element is added to the input element
    /// its index names; all other elements get 0. `indices` must be those
    /// `maxPool2dForward` wrote for the same descriptor.
    func maxPool2dBackward(_ descriptor: Pool2dDescriptor, outputGradient: any DeviceBuffer,
                           indices: any DeviceBuffer, inputGradient: any DeviceBuffer) throws
}

/// The sizes of a global pooling: input (N, C, H, W), output (N, C).
public struct GlobalPoolDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(batch: Int, channels: Int, height: Int, width: Int) {
        self.batch = batch
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// The pooling of an input of shape (N, C, H, W).
    public init(input: [Int]) throws {
        guard input.count == 4 else {
            throw HeedError.shapeMismatch(op: "global_average_pool",
                                          "input \(TensorShapes.format(input)) is not (N, C, H, W)")
        }
        self.init(batch: input[0], channels: input[1], height: input[2], width: input[3])
        try validate()
    }

    public var inputShape: [Int] { [batch, channels, height, width] }
    public var outputShape: [Int] { [batch, channels] }

    public var description: String { "global_average_pool(input \(TensorShapes.format(inputShape)))" }

    /// Throws `HeedError.invalidArgument` unless every size is at least 1.
    public func validate() throws {
        for (name, value) in [("batch", batch), ("channels", channels), ("height", height), ("width", width)]
        where value < 1 {
            throw HeedError.invalidArgument(op: "global_average_pool", "\(name) = \(value) must be at least 1, in \(self)")
        }
    }

    /// Validates the sizes, then the element counts of the buffers given.
    public func validate(input: Int? = nil, output: Int? = nil) throws {
        try validate()
        try TensorShapes.checkCounts("global_average_pool",
                                     [("input", input, inputShape), ("output", output, outputShape)], in: description)
    }
}

/// The sizes of a k×k pooling with stride s and no padding: input (N, C, H, W), output
/// (N, C, H', W') with `H' = ⌊(H − k) / s⌋ + 1` (likewise W'). `avg_pool2d(k)` and
/// `max_pool2d(k)` have s = k.
public struct Pool2dDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    public var kernelSize: Int
    public var stride: Int

    /// - Parameter stride: nil for `kernelSize`, PyTorch's default.
    public init(batch: Int, channels: Int, height: Int, width: Int, kernelSize: Int, stride: Int? = nil) {
        self.batch = batch
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    /// The pooling of an input of shape (N, C, H, W).
    public init(input: [Int], kernelSize: Int, stride: Int? = nil) throws {
        guard input.count == 4 else {
            throw HeedError.shapeMismatch(op: "pool2d", "input \(TensorShapes.format(input)) is not (N, C, H, W)")
        }
        self.init(batch: input[0], channels: input[1], height: input[2], width: input[3],
                  kernelSize: kernelSize, stride: stride)
        try validate()
    }

    public var outputHeight: Int { (height - kernelSize) / stride + 1 }
    public var outputWidth: Int { (width - kernelSize) / stride + 1 }

    public var inputShape: [Int] { [batch, channels, height, width] }
    public var outputShape: [Int] { [batch, channels, outputHeight, outputWidth] }

    public var description: String {
        "pool2d(input \(TensorShapes.format(inputShape)), kernel \(kernelSize), stride \(stride))"
    }

    /// Throws `HeedError.invalidArgument` unless every size is at least 1, and
    /// `shapeMismatch` when the window is larger than the input.
    public func validate(op: String = "pool2d") throws {
        for (name, value) in [("batch", batch), ("channels", channels), ("height", height), ("width", width),
                              ("kernelSize", kernelSize), ("stride", stride)]
        where value < 1 {
            throw HeedError.invalidArgument(op: op, "\(name) = \(value) must be at least 1, in \(self)")
        }
        guard kernelSize <= height, kernelSize <= width else {
            throw HeedError.shapeMismatch(op: op, "a \(kernelSize)×\(kernelSize) window does not fit, in \(self)")
        }
    }

    /// Validates the sizes, then the element counts of the buffers given (`output`
    /// covers the indices of max pooling too); errors name `op`.
    public func validate(_ op: String, input: Int? = nil, output: Int? = nil, indices: Int? = nil) throws {
        try validate(op: op)
        try TensorShapes.checkCounts(op, [("input", input, inputShape), ("output", output, outputShape),
                                          ("indices", indices, outputShape)], in: description)
    }
}
