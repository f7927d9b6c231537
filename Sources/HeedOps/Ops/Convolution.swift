/// Two-dimensional convolution, PyTorch's `conv2d` (cross-correlation, zero padding).
///
/// All buffers are float32 in NCHW order, shapes as in `Conv2dDescriptor`:
/// input (N, C, H, W), weight (O, C, kh, kw), bias (O), output (N, O, H', W').
/// Outputs are overwritten, never accumulated into; the weight and bias gradients
/// are summed over the whole batch.
public enum ConvolutionOps {
    /// `output[n,o,y,x] = bias[o] + Σ_{c,i,j} weight[o,c,i,j] · input[n, c, y·s − p + i, x·s − p + j]`,
    /// input elements outside the image counting as 0; without `bias`, no bias term.
    /// Terms of each output: C·kh·kw products, the bias, and the reference's own rounding.
    public static let forward = OpDefinition<Conv2dDescriptor>(
        "conv2d.forward", .convolution, kernels: ["gemm_pack_columns", "conv2d_im2col", "conv2d_im2col_elements", "conv2d_unpack_rows", "bias_forward"],
        tolerance: .sums { $0.reductionSize + 2 }, flops: \.flops
    ) { d in
        [
            .input("input", d.inputShape), .input("weight", d.weightShape), .input("bias", [d.outChannels], optional: true),
            .output("output", d.outputShape),
        ]
    }

    /// ∂L/∂input (N, C, H, W) from ∂L/∂output (N, O, H', W'): the transposed convolution
    /// of the output gradient with `weight`. Input elements no window covers get 0.
    /// Terms: each column entry is a GEMM sum over O channels, col2im adds up to kh·kw of
    /// them, and the reference rounds once: γ_O and γ_{kh·kw} compose to within γ_{O+kh·kw+1}.
    public static let backwardInput = OpDefinition<Conv2dDescriptor>(
        "conv2d.backward_input", .convolution, kernels: ["gemm_pack_planes", "conv2d_pack_rows", "conv2d_col2im", "conv2d_col2im_elements"],
        tolerance: .sums { $0.outChannels + $0.kernelHeight * $0.kernelWidth + 1 }, flops: \.flops
    ) { d in
        [.input("outputGradient", d.outputShape), .input("weight", d.weightShape), .output("inputGradient", d.inputShape)]
    }

    /// ∂L/∂weight (O, C, kh, kw) from the forward input and ∂L/∂output, summed over the batch.
    /// Terms: N·H'·W' products, summed by one GEMM per chunk of images and the chunks
    /// (at most N) added with β = 1, plus the reference's rounding.
    public static let backwardWeight = OpDefinition<Conv2dDescriptor>(
        "conv2d.backward_weight", .convolution, kernels: [
            "gemm_pack_columns", "gemm_pack_planes", "conv2d_im2col", "conv2d_im2col_elements", "conv2d_pack_rows",
        ],
        tolerance: .sums { $0.batch * $0.outputHeight * $0.outputWidth + $0.batch + 1 }, flops: \.flops
    ) { d in
        [.input("input", d.inputShape), .input("outputGradient", d.outputShape), .output("weightGradient", d.weightShape)]
    }

    /// ∂L/∂bias (O): ∂L/∂output summed over N, H' and W'.
    /// Terms: N·H'·W' output gradients (any summation order) plus the reference's rounding.
    public static let backwardBias = OpDefinition<Conv2dDescriptor>(
        "conv2d.backward_bias", .convolution, kernels: ["bias_backward"],
        tolerance: .sums { $0.batch * $0.outputHeight * $0.outputWidth + 1 }
    ) { d in
        [.input("outputGradient", d.outputShape), .output("biasGradient", [d.outChannels])]
    }

    static let table = [forward.erased, backwardInput.erased, backwardWeight.erased, backwardBias.erased]
}

extension Backend {
    public func conv2dForward(
        _ descriptor: Conv2dDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer,
        bias: (any DeviceBuffer)?, output: any DeviceBuffer
    ) throws {
        try run(ConvolutionOps.forward, descriptor, [input, weight, bias, output])
    }

    public func conv2dBackwardInput(
        _ descriptor: Conv2dDescriptor, outputGradient: any DeviceBuffer,
        weight: any DeviceBuffer, inputGradient: any DeviceBuffer
    ) throws {
        try run(ConvolutionOps.backwardInput, descriptor, [outputGradient, weight, inputGradient])
    }

    public func conv2dBackwardWeight(
        _ descriptor: Conv2dDescriptor, input: any DeviceBuffer,
        outputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer
    ) throws {
        try run(ConvolutionOps.backwardWeight, descriptor, [input, outputGradient, weightGradient])
    }

    public func conv2dBackwardBias(
        _ descriptor: Conv2dDescriptor, outputGradient: any DeviceBuffer,
        biasGradient: any DeviceBuffer
    ) throws {
        try run(ConvolutionOps.backwardBias, descriptor, [outputGradient, biasGradient])
    }
}

/// The sizes of one 2-D convolution: square stride, symmetric zero padding, output
/// size as PyTorch computes it, `H' = ⌊(H + 2p − kh) / s⌋ + 1` (likewise W').
public struct Conv2dDescriptor: OpDescriptor, Equatable {
    public var batch: Int
    public var inChannels: Int
    public var outChannels: Int
    public var height: Int
    public var width: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var stride: Int
    public var padding: Int

    public init(
        batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
        kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0
    ) {
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
                "input \(ShapeText.format(input)) and weight \(ShapeText.format(weight)) do not fit: expected input (N, C, H, W) and weight (O, C, kh, kw) with the same C"
            )
        }
        self.init(
            batch: input[0], inChannels: input[1], outChannels: weight[0], height: input[2], width: input[3],
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
        "conv2d(input \(ShapeText.format(inputShape)), weight \(ShapeText.format(weightShape)), stride \(stride), padding \(padding))"
    }

    /// Throws `HeedError.invalidArgument` unless every size is positive, the stride is
    /// positive, the padding is not negative and the kernel fits the padded input.
    public func validate() throws {
        for (name, value) in [
            ("batch", batch), ("inChannels", inChannels), ("outChannels", outChannels),
            ("height", height), ("width", width), ("kernelHeight", kernelHeight),
            ("kernelWidth", kernelWidth), ("stride", stride),
        ]
        where value < 1 {
            throw HeedError.invalidArgument(op: "conv2d", "\(name) = \(value) must be at least 1, in \(self)")
        }
        guard padding >= 0 else {
            throw HeedError.invalidArgument(op: "conv2d", "padding = \(padding) is negative, in \(self)")
        }
        guard height + 2 * padding >= kernelHeight, width + 2 * padding >= kernelWidth else {
            throw HeedError.shapeMismatch(
                op: "conv2d", "kernel \(kernelHeight)x\(kernelWidth) is larger than the padded input, in \(self)")
        }
    }

    static func outputSize(_ size: Int, _ kernel: Int, _ stride: Int, _ padding: Int) -> Int {
        (size + 2 * padding - kernel) / stride + 1
    }
}
