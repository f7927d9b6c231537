/// Elementwise activations and arithmetic on flat float32 buffers, and sums and means
/// over axes.
///
/// Every buffer of an elementwise op holds exactly `count` elements. An output may be
/// the same buffer as one of the inputs (element i is read before element i is
/// written, and no other element is touched), so `scale(count:alpha:input: x, output: x)`
/// works in place. Two outputs of one op must be different buffers.
///
/// The count-based ops share one descriptor, which cannot name the op in an error, so
/// each op's `check` runs the descriptor's `validate(op)`.
public enum ElementwiseOps {
    /// `output[i] = input[i] < 0 ? 0 : input[i]` (NaN passes through, as in PyTorch).
    public static let reluForward = OpDefinition<ElementwiseDescriptor>(
        "relu.forward", .elementwise, kernels: ["relu_forward"], check: { d, _ in try d.validate("relu") }
    ) { d in [.input("input", d.shape), .output("output", d.shape)] }

    /// `inputGradient[i] = input[i] > 0 ? outputGradient[i] : 0`.
    ///
    /// `input` may be the forward's input x or its output y: x > 0 exactly when y > 0
    /// (PyTorch uses y).
    public static let reluBackward = OpDefinition<ElementwiseDescriptor>(
        "relu.backward_input", .elementwise, kernels: ["relu_backward"], check: { d, _ in try d.validate("relu") }
    ) { d in [.input("input", d.shape), .input("outputGradient", d.shape), .output("inputGradient", d.shape)] }

    /// `output[i] = tanh(input[i])`.
    public static let tanhForward = OpDefinition<ElementwiseDescriptor>(
        "tanh.forward", .elementwise, kernels: ["tanh_forward"], tolerance: .stated("6 ulp"),
        check: { d, _ in try d.validate("tanh") }
    ) { d in [.input("input", d.shape), .output("output", d.shape)] }

    /// `inputGradient[i] = outputGradient[i]·(1 − y[i]²)`, from the forward's OUTPUT y.
    public static let tanhBackward = OpDefinition<ElementwiseDescriptor>(
        "tanh.backward_input", .elementwise, kernels: ["tanh_backward"], tolerance: .stated("6u·|ref|"),
        check: { d, _ in try d.validate("tanh") }
    ) { d in [.input("output", d.shape), .input("outputGradient", d.shape), .output("inputGradient", d.shape)] }

    /// `output[i] = 1 / (1 + exp(−input[i]))`.
    public static let sigmoidForward = OpDefinition<ElementwiseDescriptor>(
        "sigmoid.forward", .elementwise, kernels: ["sigmoid_forward"], tolerance: .stated("7 ulp"),
        check: { d, _ in try d.validate("sigmoid") }
    ) { d in [.input("input", d.shape), .output("output", d.shape)] }

    /// `inputGradient[i] = outputGradient[i]·y[i]·(1 − y[i])`, from the forward's OUTPUT y.
    public static let sigmoidBackward = OpDefinition<ElementwiseDescriptor>(
        "sigmoid.backward_input", .elementwise, kernels: ["sigmoid_backward"], tolerance: .stated("6u·|ref|"),
        check: { d, _ in try d.validate("sigmoid") }
    ) { d in [.input("output", d.shape), .input("outputGradient", d.shape), .output("inputGradient", d.shape)] }

    /// `output[i] = a[i] + b[i]`. Its backward is the identity to both inputs.
    public static let add = OpDefinition<ElementwiseDescriptor>(
        "add.forward", .elementwise, kernels: ["add_forward"], check: { d, _ in try d.validate("add") }
    ) { d in [.input("a", d.shape), .input("b", d.shape), .output("output", d.shape)] }

    /// `output[i] = a[i]·b[i]`.
    public static let multiply = OpDefinition<ElementwiseDescriptor>(
        "multiply.forward", .elementwise, kernels: ["multiply_forward"], check: { d, _ in try d.validate("multiply") }
    ) { d in [.input("a", d.shape), .input("b", d.shape), .output("output", d.shape)] }

    /// The gradients of `a ⊙ b`: `aGradient[i] = outputGradient[i]·b[i]`, `bGradient[i] = outputGradient[i]·a[i]`.
    public static let multiplyBackward = OpDefinition<ElementwiseDescriptor>(
        "multiply.backward", .elementwise, kernels: ["multiply_backward"], check: { d, _ in try d.validate("multiply") }
    ) { d in
        [
            .input("a", d.shape), .input("b", d.shape), .input("outputGradient", d.shape),
            .output("aGradient", d.shape), .output("bGradient", d.shape),
        ]
    }

    /// `output[i] = alpha·input[i]`. Its backward is `scale` by the same alpha.
    public static let scale = OpDefinition<ScaledElementwiseDescriptor>(
        "scale.forward", .elementwise, kernels: ["scale_forward"], check: { d, _ in try d.validate("scale") }
    ) { d in [.input("input", d.shape), .output("output", d.shape)] }

    /// `y[i] ← y[i] + alpha·x[i]`, in place on y (gradient accumulation). x may be y.
    /// Terms: two roundings in the kernel and one in the reference, on terms of size |y| + |αx|.
    public static let axpy = OpDefinition<ScaledElementwiseDescriptor>(
        "axpy", .elementwise, kernels: ["axpy"], tolerance: .sums { _ in 3 }, check: { d, _ in try d.validate("axpy") }
    ) { d in [.input("x", d.shape), .update("y", d.shape)] }

    /// Sum of `input` (`descriptor.shape`) over `descriptor.axes`; the output
    /// (`descriptor.outputShape`) keeps the other axes in order. A sum over no elements
    /// is 0, as in PyTorch. Terms: the n reduced elements plus the reference's final rounding.
    public static let sumForward = forwardReduction("sum.forward", tolerance: .sums { $0.reducedCount + 1 })

    /// The mean, as `sumForward`; a mean over no elements is NaN, as in PyTorch.
    /// Terms: the sum's n + 1 and the division (2.5 ulp = 5u), over Σ|x|/n.
    public static let meanForward = forwardReduction("mean.forward", tolerance: .sums { $0.reducedCount + 6 })

    /// The gradient of `sumForward`: `outputGradient` (`outputShape`) broadcast back to `shape`.
    public static let sumBackward = backwardReduction("sum.backward_input", tolerance: .exact)

    /// The gradient of `meanForward`: as `sumBackward`, divided by the number of reduced elements.
    public static let meanBackward = backwardReduction("mean.backward_input", tolerance: .stated("3 ulp"))

    /// The forward of a sum or a mean, by the descriptor's operation.
    public static func reduceForward(_ operation: ReductionDescriptor.Operation) -> OpDefinition<ReductionDescriptor> {
        operation == .sum ? sumForward : meanForward
    }

    /// The backward of a sum or a mean, by the descriptor's operation.
    public static func reduceBackward(_ operation: ReductionDescriptor.Operation) -> OpDefinition<ReductionDescriptor> {
        operation == .sum ? sumBackward : meanBackward
    }

    private static func forwardReduction(
        _ name: String, tolerance: ToleranceRule<ReductionDescriptor>
    )
        -> OpDefinition<ReductionDescriptor>
    {
        OpDefinition(name, .elementwise, kernels: ["reduce_forward"], tolerance: tolerance) { d in
            [.input("input", d.shape), .output("output", d.outputShape)]
        }
    }

    private static func backwardReduction(
        _ name: String, tolerance: ToleranceRule<ReductionDescriptor>
    )
        -> OpDefinition<ReductionDescriptor>
    {
        OpDefinition(name, .elementwise, kernels: ["reduce_backward"], tolerance: tolerance) { d in
            [.input("outputGradient", d.outputShape), .output("inputGradient", d.shape)]
        }
    }

    static let table = [
        reluForward.erased, reluBackward.erased, tanhForward.erased, tanhBackward.erased, sigmoidForward.erased,
        sigmoidBackward.erased, add.erased, multiply.erased, multiplyBackward.erased, scale.erased, axpy.erased,
        sumForward.erased, sumBackward.erased, meanForward.erased, meanBackward.erased,
    ]
}

extension Backend {
    public func reluForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(ElementwiseOps.reluForward, ElementwiseDescriptor(count: count), [input, output])
    }

    public func reluBackward(
        count: Int, input: any DeviceBuffer, outputGradient: any DeviceBuffer,
        inputGradient: any DeviceBuffer
    ) throws {
        try run(ElementwiseOps.reluBackward, ElementwiseDescriptor(count: count), [input, outputGradient, inputGradient])
    }

    public func tanhForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(ElementwiseOps.tanhForward, ElementwiseDescriptor(count: count), [input, output])
    }

    public func tanhBackward(
        count: Int, output: any DeviceBuffer, outputGradient: any DeviceBuffer,
        inputGradient: any DeviceBuffer
    ) throws {
        try run(ElementwiseOps.tanhBackward, ElementwiseDescriptor(count: count), [output, outputGradient, inputGradient])
    }

    public func sigmoidForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(ElementwiseOps.sigmoidForward, ElementwiseDescriptor(count: count), [input, output])
    }

    public func sigmoidBackward(
        count: Int, output: any DeviceBuffer, outputGradient: any DeviceBuffer,
        inputGradient: any DeviceBuffer
    ) throws {
        try run(ElementwiseOps.sigmoidBackward, ElementwiseDescriptor(count: count), [output, outputGradient, inputGradient])
    }

    public func add(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(ElementwiseOps.add, ElementwiseDescriptor(count: count), [a, b, output])
    }

    public func multiply(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(ElementwiseOps.multiply, ElementwiseDescriptor(count: count), [a, b, output])
    }

    public func multiplyBackward(
        count: Int, a: any DeviceBuffer, b: any DeviceBuffer, outputGradient: any DeviceBuffer,
        aGradient: any DeviceBuffer, bGradient: any DeviceBuffer
    ) throws {
        try run(ElementwiseOps.multiplyBackward, ElementwiseDescriptor(count: count), [a, b, outputGradient, aGradient, bGradient])
    }

    public func scale(count: Int, alpha: Float, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(ElementwiseOps.scale, ScaledElementwiseDescriptor(count: count, alpha: alpha), [input, output])
    }

    public func axpy(count: Int, alpha: Float, x: any DeviceBuffer, y: any DeviceBuffer) throws {
        try run(ElementwiseOps.axpy, ScaledElementwiseDescriptor(count: count, alpha: alpha), [x, y])
    }

    public func reduceForward(_ descriptor: ReductionDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        try run(ElementwiseOps.reduceForward(descriptor.operation), descriptor, [input, output])
    }

    public func reduceBackward(
        _ descriptor: ReductionDescriptor, outputGradient: any DeviceBuffer,
        inputGradient: any DeviceBuffer
    ) throws {
        try run(ElementwiseOps.reduceBackward(descriptor.operation), descriptor, [outputGradient, inputGradient])
    }
}

/// The length of the flat buffers of one elementwise op.
public struct ElementwiseDescriptor: OpDescriptor, Equatable {
    public var count: Int

    public init(count: Int) {
        self.count = count
    }

    /// Every buffer's shape: (count).
    public var shape: [Int] { [count] }

    public var description: String { "elementwise(count=\(count))" }

    /// Nothing to check without the op's name: each op's `check` runs `validate(op)`.
    public func validate() {}

    /// Throws unless `count` is not negative; `op` names the op in the error (`relu`).
    public func validate(_ op: String) throws {
        guard count >= 0 else { throw HeedError.invalidArgument(op: op, "count = \(count) is negative") }
    }
}

/// The length of the flat buffers and the factor α of `scale` and `axpy`.
public struct ScaledElementwiseDescriptor: OpDescriptor, Equatable {
    public var count: Int
    public var alpha: Float

    public init(count: Int, alpha: Float) {
        self.count = count
        self.alpha = alpha
    }

    /// Every buffer's shape: (count).
    public var shape: [Int] { [count] }

    public var description: String { "elementwise(count=\(count), alpha=\(alpha))" }

    /// Nothing to check without the op's name: each op's `check` runs `validate(op)`.
    public func validate() {}

    /// Throws unless `count` is not negative; `op` names the op in the error (`axpy`).
    public func validate(_ op: String) throws {
        guard count >= 0 else { throw HeedError.invalidArgument(op: op, "count = \(count) is negative") }
    }
}

/// A sum or mean over some axes of a tensor of at most 4 dimensions.
///
/// The input is `shape` in row-major order (last axis fastest); the output has the
/// axes not in `axes`, in their original order (`outputShape`, empty for a full
/// reduction, whose output is one element).
public struct ReductionDescriptor: OpDescriptor, Equatable {
    public enum Operation: String, Sendable {
        case sum
        case mean
    }

    public var operation: Operation
    public var shape: [Int]
    /// The reduced axes, each in `0..<shape.count`, any order, no repeats.
    public var axes: [Int]

    public init(_ operation: Operation, shape: [Int], axes: [Int]) {
        self.operation = operation
        self.shape = shape
        self.axes = axes
    }

    public var inputCount: Int { shape.reduce(1, *) }
    public var outputShape: [Int] { shape.indices.filter { !axes.contains($0) }.map { shape[$0] } }
    public var outputCount: Int { outputShape.reduce(1, *) }
    /// How many input elements each output element sums.
    public var reducedCount: Int { axes.reduce(1) { $0 * shape[$1] } }

    public var description: String { "\(operation.rawValue)(shape \(shape), axes \(axes))" }

    /// Throws unless the shape has at most 4 non-negative sizes and the axes are
    /// distinct axes of it.
    public func validate() throws {
        let op = operation.rawValue
        guard shape.count <= 4, shape.allSatisfy({ $0 >= 0 }) else {
            throw HeedError.invalidArgument(op: op, "shape \(shape) must have at most 4 non-negative sizes")
        }
        guard axes.allSatisfy(shape.indices.contains), Set(axes).count == axes.count else {
            throw HeedError.invalidArgument(op: op, "axes \(axes) are not distinct axes of shape \(shape)")
        }
    }
}
