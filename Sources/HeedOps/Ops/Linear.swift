/// Fully connected layers, PyTorch's `linear`: `y = x·Wᵀ + b`.
///
/// All buffers are float32, row-major, shapes as in `LinearDescriptor`: input x
/// (N, in), weight W (out, in) as PyTorch stores it, bias b (out), output y (N, out).
/// Outputs are overwritten, never accumulated into; the weight and bias gradients are
/// summed over the batch.
public protocol LinearOps {
    /// `output[n,o] = bias[o] + Σ_i input[n,i] · weight[o,i]`; without `bias`, no bias term.
    func linearForward(_ descriptor: LinearDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer,
                       bias: (any DeviceBuffer)?, output: any DeviceBuffer) throws

    /// ∂L/∂input (N, in) = ∂L/∂output (N, out) · W.
    func linearBackwardInput(_ descriptor: LinearDescriptor, outputGradient: any DeviceBuffer,
                             weight: any DeviceBuffer, inputGradient: any DeviceBuffer) throws

    /// ∂L/∂weight (out, in) = ∂L/∂outputᵀ · input.
    func linearBackwardWeight(_ descriptor: LinearDescriptor, input: any DeviceBuffer,
                              outputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer) throws

    /// ∂L/∂bias (out) = Σ_n ∂L/∂output[n, ·].
    func linearBackwardBias(_ descriptor: LinearDescriptor, outputGradient: any DeviceBuffer,
                            biasGradient: any DeviceBuffer) throws
}

/// The sizes of one linear layer applied to a batch.
public struct LinearDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var inFeatures: Int
    public var outFeatures: Int

    public init(batch: Int, inFeatures: Int, outFeatures: Int) {
        self.batch = batch
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// The layer that maps an input of shape (N, in) with a weight of shape (out, in),
    /// as the graph layer knows them.
    ///
    /// - Throws: `HeedError.shapeMismatch(op: "linear", …)` naming both shapes when
    ///   either is not 2-D or their `in` differ; sizes are checked by `validate()`.
    public init(input: [Int], weight: [Int]) throws {
        guard input.count == 2, weight.count == 2, input[1] == weight[1] else {
            throw HeedError.shapeMismatch(
                op: "linear",
                "input \(TensorShapes.format(input)) and weight \(TensorShapes.format(weight)) do not fit: expected input (N, in) and weight (out, in) with the same in")
        }
        self.init(batch: input[0], inFeatures: input[1], outFeatures: weight[0])
        try validate()
    }

    public var inputShape: [Int] { [batch, inFeatures] }
    public var weightShape: [Int] { [outFeatures, inFeatures] }
    public var outputShape: [Int] { [batch, outFeatures] }

    /// Floating-point operations of the forward pass without bias (2 per multiply-add).
    public var flops: Int { 2 * batch * inFeatures * outFeatures }

    public var description: String {
        "linear(input \(TensorShapes.format(inputShape)), weight \(TensorShapes.format(weightShape)))"
    }

    /// Throws `HeedError.invalidArgument` unless every size is at least 1.
    public func validate() throws {
        for (name, value) in [("batch", batch), ("inFeatures", inFeatures), ("outFeatures", outFeatures)] where value < 1 {
            throw HeedError.invalidArgument(op: "linear", "\(name) = \(value) must be at least 1, in \(self)")
        }
    }

    /// Validates the sizes, then that each buffer given holds exactly its tensor:
    /// `input` and `weight` (or their gradients), `bias` (out) and `output` (or its gradient).
    public func validate(input: Int? = nil, weight: Int? = nil, bias: Int? = nil, output: Int? = nil) throws {
        try validate()
        try TensorShapes.checkCounts("linear", [
            ("input", input, inputShape), ("weight", weight, weightShape),
            ("bias", bias, [outFeatures]), ("output", output, outputShape),
        ], in: description)
    }
}
