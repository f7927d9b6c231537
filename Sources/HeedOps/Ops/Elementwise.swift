/// Elementwise activations and arithmetic on flat float32 buffers, and sums and means
/// over axes.
///
/// Every buffer of an elementwise op holds exactly `count` elements. An output may be
/// the same buffer as one of the inputs (element i is read before element i is
/// written, and no other element is touched), so `scale(count:alpha:input: x, output: x)`
/// works in place. Two outputs of one op must be different buffers.
public protocol ElementwiseOps {
    /// `output[i] = input[i] < 0 ? 0 : input[i]` (NaN passes through, as in PyTorch).
    func reluForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws

    /// `inputGradient[i] = input[i] > 0 ? outputGradient[i] : 0`.
    ///
    /// `input` may be the forward's input x or its output y: x > 0 exactly when y > 0
    /// (PyTorch uses y).
    func reluBackward(count: Int, input: any DeviceBuffer, outputGradient: any DeviceBuffer,
                      inputGradient: any DeviceBuffer) throws

    /// `output[i] = tanh(input[i])`.
    func tanhForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws

    /// `inputGradient[i] = outputGradient[i]·(1 − y[i]²)`, from the forward's OUTPUT y.
    func tanhBackward(count: Int, output: any DeviceBuffer, outputGradient: any DeviceBuffer,
                      inputGradient: any DeviceBuffer) throws

    /// `output[i] = 1 / (1 + exp(−input[i]))`.
    func sigmoidForward(count: Int, input: any DeviceBuffer, output: any DeviceBuffer) throws

    /// `inputGradient[i] = outputGradient[i]·y[i]·(1 − y[i])`, from the forward's OUTPUT y.
    func sigmoidBackward(count: Int, output: any DeviceBuffer, outputGradient: any DeviceBuffer,
                         inputGradient: any DeviceBuffer) throws

    /// `output[i] = a[i] + b[i]`. Its backward is the identity to both inputs.
    func add(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, output: any DeviceBuffer) throws

    /// `output[i] = a[i]·b[i]`.
    func multiply(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, output: any DeviceBuffer) throws

    /// The gradients of `a ⊙ b`: `aGradient[i] = outputGradient[i]·b[i]`, `bGradient[i] = outputGradient[i]·a[i]`.
    func multiplyBackward(count: Int, a: any DeviceBuffer, b: any DeviceBuffer, outputGradient: any DeviceBuffer,
                          aGradient: any DeviceBuffer, bGradient: any DeviceBuffer) throws

    /// `output[i] = alpha·input[i]`. Its backward is `scale` by the same alpha.
    func scale(count: Int, alpha: Float, input: any DeviceBuffer, output: any DeviceBuffer) throws

    /// `y[i] ← y[i] + alpha·x[i]`, in place on y (gradient accumulation). x may be y.
    func axpy(count: Int, alpha: Float, x: any DeviceBuffer, y: any DeviceBuffer) throws

    /// Sum or mean of `input` (`descriptor.shape`) over `descriptor.axes`; the output
    /// (`descriptor.outputShape`) keeps the other axes in order. A mean over no
    /// elements is NaN and a sum over none is 0, as in PyTorch.
    func reduceForward(_ descriptor: ReductionDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws

    /// The gradient of `reduceForward`: `outputGradient` (`outputShape`) broadcast back
    /// to `shape`, divided by the number of reduced elements for a mean.
    func reduceBackward(_ descriptor: ReductionDescriptor, outputGradient: any DeviceBuffer,
                        inputGradient: any DeviceBuffer) throws
}

/// Shared checks of the count-based elementwise ops.
public enum Elementwise {
    /// Throws unless `count` is not negative and every buffer holds exactly `count`
    /// elements; `op` is the op and direction (`relu.forward`), buffers are (name, count).
    public static func validate(_ op: String, count: Int, _ buffers: [(String, Int)]) throws {
        guard count >= 0 else { throw HeedError.invalidArgument(op: op, "count = \(count) is negative") }
        for (name, actual) in buffers where actual != count {
            throw HeedError.shapeMismatch(op: op, "\(name) has \(actual) elements, expected count = \(count)")
        }
    }
}

/// A sum or mean over some axes of a tensor of at most 4 dimensions.
///
/// The input is `shape` in row-major order (last axis fastest); the output has the
/// axes not in `axes`, in their original order (`outputShape`, empty for a full
/// reduction, whose output is one element).
public struct ReductionDescriptor: Sendable, Equatable, CustomStringConvertible {
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

    /// Throws unless the shape has at most 4 non-negative sizes, the axes are distinct
    /// axes of it, and the buffers have `inputCount` and `outputCount` elements.
    /// `direction` is `forward` or `backward_input`.
    public func validate(_ direction: String, inputCount: Int, outputCount: Int) throws {
        let op = "\(operation.rawValue).\(direction)"
        guard shape.count <= 4, shape.allSatisfy({ $0 >= 0 }) else {
            throw HeedError.invalidArgument(op: op, "shape \(shape) must have at most 4 non-negative sizes")
        }
        guard axes.allSatisfy(shape.indices.contains), Set(axes).count == axes.count else {
            throw HeedError.invalidArgument(op: op, "axes \(axes) are not distinct axes of shape \(shape)")
        }
        guard inputCount == self.inputCount, outputCount == self.outputCount else {
            throw HeedError.shapeMismatch(
                op: op, "buffers of \(inputCount) and \(outputCount) elements for \(self), which needs \(self.inputCount) and \(self.outputCount)")
        }
    }
}
