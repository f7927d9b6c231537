/// Two-dimensional convolution, PyTorch's `conv2d` (cross-correlation, zero padding).
///
/// All buffers are float32 in NCHW order, shapes as in `Conv2dDescriptor`:
/// input (N, C, H, W), weight (O, C, kh, kw), bias (O), output (N, O, H', W').
/// Outputs are overwritten, never accumulated into; the weight and bias gradients
/// are summed over the whole batch.
public protocol ConvolutionOps {
    /// `output[n,o,y,x] = bias[o] + Σ_{c,i,j} weight[o,c,i,j] · input[n, c, y·s − p + i, x·s − p + j]`,
    /// input elements outside the image counting as 0; without `bias`, no bias term.
    func conv2dForward(_ descriptor: Conv2dDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer,
                       bias: (any DeviceBuffer)?, output: any DeviceBuffer) throws

    /// ∂L/∂input (N, C, H, W) from ∂L/∂output (N, O, H', W'): the transposed convolution
    /// of the output gradient with `weight`. Input elements no window covers get 0.
    func conv2dBackwardInput(_ descriptor: Conv2dDescriptor, outputGradient: any DeviceBuffer,
                             weight: any DeviceBuffer, inputGradient: any DeviceBuffer) throws

    /// ∂L/∂weight (O, C, kh, kw) from the forward input and ∂L/∂output, summed over the batch.
    func conv2dBackwardWeight(_ descriptor: Conv2dDescriptor, input: any DeviceBuffer,
                              outputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer) throws

    /// ∂L/∂bias (O): ∂L/∂output summed over N, H' and W'.
    func conv2dBackwardBias(_ descriptor: Conv2dDescriptor, outputGradient: any DeviceBuffer,
                            biasGradient: any DeviceBuffer) throws
}

/// The sizes of one 2-D convolution: square stride, symmetric zero padding, output
/// size as PyTorch computes it, `H' = ⌊(H + 2p − kh) / s⌋ + 1` (likewise W').
public struct Conv2dDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var inChannels: Int
    public var outChannels: Int
    public var height: Int
    public var width: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var stride: Int
    public var padding: Int

    public init(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
                kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
        self.batch = batch
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.height = height
        self.width = width
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
    }

    /// The convolution of an input of shape (N, C, H, W) with a weight of shape
    /// (O, C, kh, kw), as the graph layer knows them.
    ///
    /// - Throws: `HeedError.shapeMismatch(op: "conv2d", …)` naming both shapes when
    ///   either is not 4-D or their channel counts differ; the sizes themselves are
    ///   checked by `validate()`.
    public init(input: [Int], weight: [Int], stride: Int = 1, padding: Int = 0) throws {
        guard input.count == 4, weight.count == 4, input[1] == weight[1] else {
            throw HeedError.shapeMismatch(
                op: "conv2d",
                "input \(TensorShapes.format(input)) and weight \(TensorShapes.format(weight)) do not fit: expected input (N, C, H, W) and weight (O, C, kh, kw) with the same C")
        }
        self.init(batch: input[0], inChannels: input[1], outChannels: weight[0], height: input[2], width: input[3],
                  kernelHeight: weight[2], kernelWidth: weight[3], stride: stride, padding: padding)
        try validate()
    }

    public var outputHeight: Int { Self.outputSize(height, kernelHeight, stride, padding) }
    public var outputWidth: Int { Self.outputSize(width, kernelWidth, stride, padding) }

    public var inputShape: [Int] { [batch, inChannels, height, width] }
    public var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    public var outputShape: [Int] { [batch, outChannels, outputHeight, outputWidth] }

    /// Terms of each output's sum before the bias: C·kh·kw.
    public var reductionSize: Int { inChannels * kernelHeight * kernelWidth }

    /// Floating-point operations of the forward pass without bias (2 per multiply-add).
    public var flops: Int { 2 * batch * outChannels * outputHeight * outputWidth * reductionSize }

    public var description: String {
        "conv2d(input \(TensorShapes.format(inputShape)), weight \(TensorShapes.format(weightShape)), stride \(stride), padding \(padding))"
    }

    /// Throws `HeedError.invalidArgument` unless every size is positive, the stride is
    /// positive, the padding is not negative and the kernel fits the padded input.
    public func validate() throws {
        for (name, value) in [("batch", batch), ("inChannels", inChannels), ("outChannels", outChannels),
                              ("height", height), ("width", width), ("kernelHeight", kernelHeight),
                              ("kernelWidth", kernelWidth), ("stride", stride)]
        where value < 1 {
            throw HeedError.invalidArgument(op: "conv2d", "\(name) = \(value) must be at least 1, in \(self)")
        }
        guard padding >= 0 else {
            throw HeedError.invalidArgument(op: "conv2d", "padding = \(padding) is negative, in \(self)")
        }
        guard height + 2 * padding >= kernelHeight, width + 2 * padding >= kernelWidth else {
            throw HeedError.shapeMismatch(
                op: "conv2d", "kernel \(kernelHeight)×\(kernelWidth) is larger than the padded input, in \(self)")
        }
    }

    /// Validates the sizes, then that each buffer given holds exactly its tensor:
    /// `input` and `weight` (or their gradients), `bias` (O) and `output` (or its gradient).
    public func validate(input: Int? = nil, weight: Int? = nil, bias: Int? = nil, output: Int? = nil) throws {
        try validate()
        try TensorShapes.checkCounts("conv2d", [
            ("input", input, inputShape), ("weight", weight, weightShape),
            ("bias", bias, [outChannels]), ("output", output, outputShape),
        ], in: description)
    }

    static func outputSize(_ size: Int, _ kernel: Int, _ stride: Int, _ padding: Int) -> Int {
        (size + 2 * padding - kernel) / stride + 1
    }
}
