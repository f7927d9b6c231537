/// Fully connected layers, PyTorch's `linear`: `y = x·Wᵀ + b`.
///
/// All buffers are float32, row-major, shapes as in `LinearDescriptor`: input x
/// (N, in), weight W (out, in) as PyTorch stores it, bias b (out), output y (N, out).
/// Outputs are overwritten, never accumulated into; the weight and bias gradients are
/// summed over the batch.
public enum LinearOps {
    /// `output[n,o] = bias[o] + Σ_i input[n,i] · weight[o,i]`; without `bias`, no bias term.
    /// Terms: `in` products, the bias (added by a second kernel) and the reference's rounding.
    public static let forward = OpDefinition<LinearDescriptor>(
        "linear.forward", .linear, kernels: ["bias_forward"], tolerance: .sums { $0.inFeatures + 2 }, flops: \.flops
    ) { d in
        [
            .input("input", d.inputShape), .input("weight", d.weightShape), .input("bias", [d.outFeatures], optional: true),
            .output("output", d.outputShape),
        ]
    }

    /// ∂L/∂input (N, in) = ∂L/∂output (N, out) · W. Terms: `out` products plus the reference's rounding.
    public static let backwardInput = OpDefinition<LinearDescriptor>(
        "linear.backward_input", .linear, tolerance: .sums { $0.outFeatures + 1 }, flops: \.flops
    ) { d in
        [.input("outputGradient", d.outputShape), .input("weight", d.weightShape), .output("inputGradient", d.inputShape)]
    }

    /// ∂L/∂weight (out, in) = ∂L/∂outputᵀ · input. Terms: N products plus the reference's rounding.
    public static let backwardWeight = OpDefinition<LinearDescriptor>(
        "linear.backward_weight", .linear, tolerance: .sums { $0.batch + 1 }, flops: \.flops
    ) { d in
        [.input("input", d.inputShape), .input("outputGradient", d.outputShape), .output("weightGradient", d.weightShape)]
    }

    /// ∂L/∂bias (out) = Σ_n ∂L/∂output[n, ·]. Terms: N output gradients plus the reference's rounding.
    public static let backwardBias = OpDefinition<LinearDescriptor>(
        "linear.backward_bias", .linear, kernels: ["bias_backward"], tolerance: .sums { $0.batch + 1 }
    ) { d in
        [.input("outputGradient", d.outputShape), .output("biasGradient", [d.outFeatures])]
    }

    static let table = [forward.erased, backwardInput.erased, backwardWeight.erased, backwardBias.erased]
}

extension Backend {
    public func linearForward(
        _ descriptor: LinearDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer,
        bias: (any DeviceBuffer)?, output: any DeviceBuffer
    ) throws {
        try run(LinearOps.forward, descriptor, [input, weight, bias, output])
    }

    public func linearBackwardInput(
        _ descriptor: LinearDescriptor, outputGradient: any DeviceBuffer,
        weight: any DeviceBuffer, inputGradient: any DeviceBuffer
    ) throws {
        try run(LinearOps.backwardInput, descriptor, [outputGradient, weight, inputGradient])
    }

    public func linearBackwardWeight(
        _ descriptor: LinearDescriptor, input: any DeviceBuffer,
        outputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer
    ) throws {
        try run(LinearOps.backwardWeight, descriptor, [input, outputGradient, weightGradient])
    }

    public func linearBackwardBias(
        _ descriptor: LinearDescriptor, outputGradient: any DeviceBuffer,
        biasGradient: any DeviceBuffer
    ) throws {
        try run(LinearOps.backwardBias, descriptor, [outputGradient, biasGradient])
    }
}

/// The sizes of one linear layer applied to a batch.
public struct LinearDescriptor: OpDescriptor, Equatable {
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
                "input \(ShapeText.format(input)) and weight \(ShapeText.format(weight)) do not fit: expected input (N, in) and weight (out, in) with the same in"
            )
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
        "linear(input \(ShapeText.format(inputShape)), weight \(ShapeText.format(weightShape)))"
    }

    /// Throws `HeedError.invalidArgument` unless every size is at least 1.
    public func validate() throws {
        for (name, value) in [("batch", batch), ("inFeatures", inFeatures), ("outFeatures", outFeatures)] where value < 1 {
            throw HeedError.invalidArgument(op: "linear", "\(name) = \(value) must be at least 1, in \(self)")
        }
    }
}
