/// Pooling over the spatial plane of NCHW float32 tensors, with PyTorch's semantics
/// (zero or symmetric padding, output sizes rounded down). Outputs are overwritten.
public enum PoolingOps {
    /// OpenCL allows float32 division 2.5 ulp of error, ≤ 5u·|q| with u = 2⁻²⁴, and the
    /// reference rounds its quotient once more (u·|q|); these terms cover both.
    static let divisionTerms = 6

    /// `output[n,c] = mean over (h, w) of input[n,c,h,w]`: (N, C, H, W) → (N, C).
    /// Terms: H·W inputs plus the division.
    public static let globalAverageForward = OpDefinition<GlobalPoolDescriptor>(
        "global_average_pool.forward", .pooling, kernels: ["global_average_pool_forward", "global_average_pool_forward_grouped"],
        tolerance: .sums { $0.height * $0.width + divisionTerms }
    ) { d in
        [.input("input", d.inputShape), .output("output", d.outputShape)]
    }

    /// ∂L/∂input (N, C, H, W) = ∂L/∂output[n,c] / (H·W) at every position.
    /// Terms: one division per element, nothing summed.
    public static let globalAverageBackward = OpDefinition<GlobalPoolDescriptor>(
        "global_average_pool.backward", .pooling, kernels: ["global_average_pool_backward"],
        tolerance: .sums { _ in divisionTerms }
    ) { d in
        [.input("outputGradient", d.outputShape), .output("inputGradient", d.inputShape)]
    }

    /// `avg_pool2d(k, s, p)`: each output (N, C, H', W') is the mean of its k×k window,
    /// whose top-left corner is (y·s − p, x·s − p); padded positions count as zeros
    /// (PyTorch's default `count_include_pad=True`: the sum is divided by k²).
    /// Terms: k² inputs plus the division.
    public static let averageForward = OpDefinition<Pool2dDescriptor>(
        "average_pool2d.forward", .pooling, kernels: ["average_pool2d_forward"],
        tolerance: .sums { $0.kernelSize * $0.kernelSize + divisionTerms }
    ) { d in
        [.input("input", d.inputShape), .output("output", d.outputShape)]
    }

    /// ∂L/∂input (N, C, H, W): each input element receives ∂L/∂output / k² from every
    /// window that contains it, 0 when none does (rows and columns the floor drops).
    /// Terms: one quotient per window that contains the element, plus the division.
    public static let averageBackward = OpDefinition<Pool2dDescriptor>(
        "average_pool2d.backward", .pooling, kernels: ["average_pool2d_backward"],
        tolerance: .sums { $0.windowsPerElement + divisionTerms }
    ) { d in
        [.input("outputGradient", d.outputShape), .output("inputGradient", d.inputShape)]
    }

    /// `max_pool2d(k, s, p, return_indices=True)`: each output (N, C, H', W') is the largest
    /// element of its window and `indices` (int32, same shape) its flat position h·W + w
    /// in the input plane. Padded positions are −∞, as in PyTorch: they never win, and every
    /// window holds an input element because p ≤ k/2. Ties go to the first in row-major
    /// order; a NaN wins (as PyTorch on the CPU: the last NaN of the window). Values and
    /// indices both exact: it only selects.
    public static let maxForward = OpDefinition<Pool2dDescriptor>(
        "max_pool2d.forward", .pooling, kernels: ["max_pool2d_forward"]
    ) { d in
        [.input("input", d.inputShape), .output("output", d.outputShape), .output("indices", d.outputShape, .int32)]
    }

    /// ∂L/∂input (N, C, H, W): every ∂L/∂output element is added to the input element
    /// its index names; all other elements get 0. `indices` must be those
    /// `maxPool2dForward` wrote for the same descriptor. Terms: the gradients of the
    /// windows that chose the element plus the reference's rounding.
    public static let maxBackward = OpDefinition<Pool2dDescriptor>(
        "max_pool2d.backward", .pooling, kernels: ["max_pool2d_backward"], tolerance: .sums { $0.windowsPerElement + 1 }
    ) { d in
        [
            .input("outputGradient", d.outputShape), .input("indices", d.outputShape, .int32),
            .output("inputGradient", d.inputShape),
        ]
    }

    static let table = [
        globalAverageForward.erased, globalAverageBackward.erased, averageForward.erased,
        averageBackward.erased, maxForward.erased, maxBackward.erased,
    ]
}

extension Backend {
    public func globalAveragePoolForward(
        _ descriptor: GlobalPoolDescriptor, input: any DeviceBuffer,
        output: any DeviceBuffer
    ) throws {
        try run(PoolingOps.globalAverageForward, descriptor, [input, output])
    }

    public func globalAveragePoolBackward(
        _ descriptor: GlobalPoolDescriptor, outputGradient: any DeviceBuffer,
        inputGradient: any DeviceBuffer
    ) throws {
        try run(PoolingOps.globalAverageBackward, descriptor, [outputGradient, inputGradient])
    }

    public func averagePool2dForward(
        _ descriptor: Pool2dDescriptor, input: any DeviceBuffer,
        output: any DeviceBuffer
    ) throws {
        try run(PoolingOps.averageForward, descriptor, [input, output])
    }

    public func averagePool2dBackward(
        _ descriptor: Pool2dDescriptor, outputGradient: any DeviceBuffer,
        inputGradient: any DeviceBuffer
    ) throws {
        try run(PoolingOps.averageBackward, descriptor, [outputGradient, inputGradient])
    }

    public func maxPool2dForward(
        _ descriptor: Pool2dDescriptor, input: any DeviceBuffer,
        output: any DeviceBuffer, indices: any DeviceBuffer
    ) throws {
        try run(PoolingOps.maxForward, descriptor, [input, output, indices])
    }

    public func maxPool2dBackward(
        _ descriptor: Pool2dDescriptor, outputGradient: any DeviceBuffer,
        indices: any DeviceBuffer, inputGradient: any DeviceBuffer
    ) throws {
        try run(PoolingOps.maxBackward, descriptor, [outputGradient, indices, inputGradient])
    }
}

/// The sizes of a global pooling: input (N, C, H, W), output (N, C).
public struct GlobalPoolDescriptor: OpDescriptor, Equatable {
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
            throw HeedError.shapeMismatch(op: "global_average_pool", "input \(ShapeText.format(input)) is not (N, C, H, W)")
        }
        self.init(batch: input[0], channels: input[1], height: input[2], width: input[3])
        try validate()
    }

    public var inputShape: [Int] { [batch, channels, height, width] }
    public var outputShape: [Int] { [batch, channels] }

    public var description: String { "global_average_pool(input \(ShapeText.format(inputShape)))" }

    /// Throws `HeedError.invalidArgument` unless every size is at least 1.
    public func validate() throws {
        for (name, value) in [("batch", batch), ("channels", channels), ("height", height), ("width", width)]
        where value < 1 {
            throw HeedError.invalidArgument(op: "global_average_pool", "\(name) = \(value) must be at least 1, in \(self)")
        }
    }
}

/// The sizes of a k×k pooling with stride s and padding p on every side: input
/// (N, C, H, W), output (N, C, H', W') with `H' = ⌊(H + 2p − k) / s⌋ + 1` (likewise W').
/// `avg_pool2d(k)` and `max_pool2d(k)` have s = k and p = 0; torchvision's ResNet stem
/// pools with k = 3, s = 2, p = 1.
public struct Pool2dDescriptor: OpDescriptor, Equatable {
    public var batch: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    public var kernelSize: Int
    public var stride: Int
    public var padding: Int

    /// - Parameter stride: nil for `kernelSize`, PyTorch's default.
    public init(batch: Int, channels: Int, height: Int, width: Int, kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.batch = batch
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
    }

    /// The pooling of an input of shape (N, C, H, W).
    public init(input: [Int], kernelSize: Int, stride: Int? = nil, padding: Int = 0) throws {
        guard input.count == 4 else {
            throw HeedError.shapeMismatch(op: "pool2d", "input \(ShapeText.format(input)) is not (N, C, H, W)")
        }
        self.init(
            batch: input[0], channels: input[1], height: input[2], width: input[3],
            kernelSize: kernelSize, stride: stride, padding: padding)
        try validate()
    }

    public var outputHeight: Int { (height + 2 * padding - kernelSize) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernelSize) / stride + 1 }

    public var inputShape: [Int] { [batch, channels, height, width] }
    public var outputShape: [Int] { [batch, channels, outputHeight, outputWidth] }

    /// Most windows that contain one input element: ⌈k/s⌉ per dimension.
    public var windowsPerElement: Int {
        let perDimension = (kernelSize + stride - 1) / stride
        return perDimension * perDimension
    }

    public var description: String {
        "pool2d(input \(ShapeText.format(inputShape)), kernel \(kernelSize), stride \(stride)"
            + (padding > 0 ? ", padding \(padding))" : ")")
    }

    /// Throws `HeedError.invalidArgument` unless every size is at least 1 and the padding
    /// lies in 0…k/2 (PyTorch's limit: beyond it a window could hold only padding), and
    /// `shapeMismatch` when the window is larger than the padded input.
    public func validate() throws {
        for (name, value) in [
            ("batch", batch), ("channels", channels), ("height", height), ("width", width),
            ("kernelSize", kernelSize), ("stride", stride),
        ]
        where value < 1 {
            throw HeedError.invalidArgument(op: "pool2d", "\(name) = \(value) must be at least 1, in \(self)")
        }
        guard padding >= 0, 2 * padding <= kernelSize else {
            throw HeedError.invalidArgument(
                op: "pool2d", "padding = \(padding) must lie in 0...\(kernelSize / 2) (half the window), in \(self)")
        }
        guard kernelSize <= height + 2 * padding, kernelSize <= width + 2 * padding else {
            throw HeedError.shapeMismatch(op: "pool2d", "a \(kernelSize)x\(kernelSize) window does not fit, in \(self)")
        }
    }
}
