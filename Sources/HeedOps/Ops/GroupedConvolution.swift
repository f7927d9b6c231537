/// Grouped 2-D convolution, PyTorch's `conv2d(…, groups: G)`: the C input and O output
/// channels split into G equal groups, and output channel o sees only the C/G input
/// channels of its group g = o / (O/G). G = 1 is `conv2d`; G = C is depthwise.
///
/// All buffers are float32 in NCHW order: input (N, C, H, W), weight (O, C/G, kh, kw),
/// bias (O), output (N, O, H', W'). Outputs are overwritten; the weight gradient is
/// summed over the batch. The bias gradient is `conv2d.backward_bias`'s.
public enum GroupedConvolutionOps {
    /// `output[n,o,y,x] = bias[o] + Σ_{c<C/G, i, j} weight[o,c,i,j] · input[n, g·C/G + c, y·s − p + i, x·s − p + j]`.
    /// Terms: C/G·kh·kw products, the bias, and the reference's rounding.
    public static let forward = OpDefinition<GroupedConv2dDescriptor>(
        "grouped_conv2d.forward", .groupedConvolution, kernels: ["grouped_conv2d_forward"],
        tolerance: .sums { $0.reductionSize + 2 }, flops: \.flops
    ) { d in
        [
            .input("input", d.inputShape), .input("weight", d.weightShape), .input("bias", [d.outChannels], optional: true),
            .output("output", d.outputShape),
        ]
    }

    /// ∂L/∂input: each input element gathers, over the O/G output channels of its group,
    /// the output gradients of the windows that covered it times the weight that met it.
    /// Terms: at most O/G·kh·kw products, and the reference's rounding.
    public static let backwardInput = OpDefinition<GroupedConv2dDescriptor>(
        "grouped_conv2d.backward_input", .groupedConvolution, kernels: ["grouped_conv2d_backward_input"],
        tolerance: .sums { $0.outChannels / $0.groups * $0.kernelHeight * $0.kernelWidth + 1 }, flops: \.flops
    ) { d in
        [.input("outputGradient", d.outputShape), .input("weight", d.weightShape), .output("inputGradient", d.inputShape)]
    }

    /// ∂L/∂weight: each weight's output gradients times the inputs it met, over the batch
    /// and the output positions. Terms: N·H'·W' products, and the reference's rounding.
    public static let backwardWeight = OpDefinition<GroupedConv2dDescriptor>(
        "grouped_conv2d.backward_weight", .groupedConvolution, kernels: ["grouped_conv2d_backward_weight", "grouped_conv2d_backward_weight_grouped"],
        tolerance: .sums { $0.batch * $0.outputHeight * $0.outputWidth + 1 }, flops: \.flops
    ) { d in
        [.input("input", d.inputShape), .input("outputGradient", d.outputShape), .output("weightGradient", d.weightShape)]
    }

    static let table = [forward.erased, backwardInput.erased, backwardWeight.erased]
}

extension Backend {
    public func groupedConv2dForward(
        _ descriptor: GroupedConv2dDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer,
        bias: (any DeviceBuffer)?, output: any DeviceBuffer
    ) throws {
        try run(GroupedConvolutionOps.forward, descriptor, [input, weight, bias, output])
    }

    public func groupedConv2dBackwardInput(
        _ descriptor: GroupedConv2dDescriptor, outputGradient: any DeviceBuffer,
        weight: any DeviceBuffer, inputGradient: any DeviceBuffer
    ) throws {
        try run(GroupedConvolutionOps.backwardInput, descriptor, [outputGradient, weight, inputGradient])
    }

    public func groupedConv2dBackwardWeight(
        _ descriptor: GroupedConv2dDescriptor, input: any DeviceBuffer,
        outputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer
    ) throws {
        try run(GroupedConvolutionOps.backwardWeight, descriptor, [input, outputGradient, weightGradient])
    }
}

/// The sizes of one grouped convolution: a `Conv2dDescriptor`'s (C and O are the whole
/// channel counts) and the group count G, which divides both.
public struct GroupedConv2dDescriptor: OpDescriptor, Equatable {
    public var batch: Int
    public var inChannels: Int
    public var outChannels: Int
    public var height: Int
    public var width: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var stride: Int
    public var padding: Int
    public var groups: Int

    public init(
        batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
        kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0, groups: Int
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
        self.groups = groups
    }

    /// The grouped convolution of an input (N, C, H, W) with a weight (O, C/G, kh, kw).
    ///
    /// - Throws: `HeedError.shapeMismatch(op: "grouped_conv2d", …)` naming both shapes
    ///   when either is not 4-D or C is not G times the weight's channels.
    public init(input: [Int], weight: [Int], stride: Int = 1, padding: Int = 0, groups: Int) throws {
        guard input.count == 4, weight.count == 4, groups >= 1, input[1] == weight[1] * groups else {
            throw HeedError.shapeMismatch(
                op: "grouped_conv2d",
                "input \(ShapeText.format(input)) and weight \(ShapeText.format(weight)) do not fit \(groups) groups: expected input (N, C, H, W) and weight (O, C/G, kh, kw)"
            )
        }
        self.init(
            batch: input[0], inChannels: input[1], outChannels: weight[0], height: input[2], width: input[3],
            kernelHeight: weight[2], kernelWidth: weight[3], stride: stride, padding: padding, groups: groups)
        try validate()
    }

    /// The same sizes as one ungrouped convolution over one group's channels: its
    /// output size, and the check that the kernel fits the padded input.
    var group: Conv2dDescriptor {
        Conv2dDescriptor(
            batch: batch, inChannels: inChannels / max(groups, 1), outChannels: outChannels / max(groups, 1),
            height: height, width: width, kernelHeight: kernelHeight, kernelWidth: kernelWidth,
            stride: stride, padding: padding)
    }

    /// A convolution with this one's output (N, O, H', W'): its `conv2d.backward_bias`
    /// is this one's bias gradient.
    public var sameOutput: Conv2dDescriptor {
        var same = group
        same.outChannels = outChannels
        return same
    }

    public var outputHeight: Int { group.outputHeight }
    public var outputWidth: Int { group.outputWidth }
    /// Input channels per group, C/G.
    public var groupInChannels: Int { inChannels / groups }

    public var inputShape: [Int] { [batch, inChannels, height, width] }
    public var weightShape: [Int] { [outChannels, groupInChannels, kernelHeight, kernelWidth] }
    public var outputShape: [Int] { [batch, outChannels, outputHeight, outputWidth] }

    /// Terms of each output's sum before the bias: C/G·kh·kw.
    public var reductionSize: Int { groupInChannels * kernelHeight * kernelWidth }

    /// Floating-point operations of the forward pass without bias (2 per multiply-add).
    public var flops: Int { 2 * batch * outChannels * outputHeight * outputWidth * reductionSize }

    public var description: String {
        "grouped_conv2d(input \(ShapeText.format(inputShape)), weight \(ShapeText.format(weightShape)), stride \(stride), padding \(padding), groups \(groups))"
    }

    /// Throws `HeedError.invalidArgument` unless G ≥ 1 divides C and O, and the sizes are
    /// those of a valid convolution (`Conv2dDescriptor.validate()`).
    public func validate() throws {
        guard groups >= 1, inChannels % groups == 0, outChannels % groups == 0 else {
            throw HeedError.invalidArgument(
                op: "grouped_conv2d", "groups = \(groups) must be at least 1 and divide inChannels and outChannels, in \(self)")
        }
        try group.validate()
    }
}
