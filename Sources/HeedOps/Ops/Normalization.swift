/// Batch normalisation with PyTorch's semantics (`nn.BatchNorm2d` / `nn.BatchNorm1d`).
///
/// The input is (N, C, S): `batch` × `channels` × `spatial` float32, S = H·W for
/// BatchNorm2d and 1 for BatchNorm1d on (N, C). Statistics are per channel over the
/// M = N·S elements of that channel. Per-channel buffers (weight γ, bias β, running and
/// saved statistics) hold C elements.
///
/// Tolerance: every statistic is a sum of M float32 terms, and every output is such a
/// sum (or a mean or inverse square root of one) carried through at most 16 further
/// roundings (each ½ ulp = u; the division ≤ 2.5 ulp = 5u and rsqrt ≤ 2 ulp = 4u by
/// OpenCL 1.2 §7.4; the reference's own rounding), so M + 16 terms over the magnitude
/// each output is built from. Inference has no sum: 16 terms.
///
/// With `BatchNormDescriptor.relu` the ReLU that follows is fused in: the forwards write
/// relu(output) and the backward reads that output too and takes the gradient through the
/// ReLU (output > 0 ? outputGradient : 0) before its sums, so one pass over the tensor does
/// what a batch norm and a separate ReLU did in two, with the same float operations (see
/// Kernels/normalization.cl). A flag rather than three ops of their own: everything but
/// the one clamp is shared (buffers, statistics, checks, tolerance, launch knobs). The
/// tolerance stands, since relu moves no two values further apart (|relu(a) − relu(b)|
/// ≤ |a − b|) and the backward's clamp reads the same output on both sides.
public enum NormalizationOps {
    /// Training forward: normalises with the batch statistics.
    ///
    ///     μ = Σx / M,  σ² = Σ(x − μ)² / M (biased),  r = 1 / √(σ² + ε)
    ///     output = (x − μ)·r·γ + β
    ///     runningMean ← (1 − momentum)·runningMean + momentum·μ
    ///     runningVariance ← (1 − momentum)·runningVariance + momentum·σ²·M/(M − 1) (unbiased)
    ///
    /// Reads input, weight, bias; reads and updates runningMean, runningVariance in
    /// place; writes output (N·C·S), savedMean = μ and savedInverseStd = r (C each), which
    /// `batchNormBackward` takes. Needs M > 1 (PyTorch refuses M = 1 as well).
    public static let forwardTraining = OpDefinition<BatchNormDescriptor>(
        "batch_norm.forward_training", .normalization, kernels: ["batch_norm_forward_training", "batch_norm_relu_forward_training"],
        tolerance: .sums { $0.reduced + 16 }, check: { d, _ in try d.validateTraining() }
    ) { d in
        [
            .input("input", d.shape), .input("weight", [d.channels]), .input("bias", [d.channels]),
            .update("runningMean", [d.channels]), .update("runningVariance", [d.channels]),
            .output("output", d.shape), .output("savedMean", [d.channels]), .output("savedInverseStd", [d.channels]),
        ]
    }

    /// Evaluation forward: `output = (x − runningMean)/√(runningVariance + ε)·γ + β`.
    /// Reads everything but output; writes output only.
    public static let forwardInference = OpDefinition<BatchNormDescriptor>(
        "batch_norm.forward_inference", .normalization,
        kernels: ["batch_norm_forward_inference", "batch_norm_relu_forward_inference"],
        tolerance: .sums { _ in 16 }
    ) { d in
        [
            .input("input", d.shape), .input("weight", [d.channels]), .input("bias", [d.channels]),
            .input("runningMean", [d.channels]), .input("runningVariance", [d.channels]), .output("output", d.shape),
        ]
    }

    /// Backward of the training forward, from its input and saved statistics:
    ///
    ///     x̂ = (x − μ)·r,  biasGradient = Σ dy,  weightGradient = Σ dy·x̂
    ///     inputGradient = γ·r·(dy − biasGradient/M − x̂·weightGradient/M)
    ///
    /// Reads input, outputGradient (N·C·S), weight, savedMean, savedInverseStd (C);
    /// writes (overwrites) inputGradient (N·C·S), weightGradient and biasGradient (C).
    /// With `relu`, dy above is `output > 0 ? outputGradient : 0`, from the fused forward's
    /// output (N·C·S), which such a call passes and any other leaves out.
    public static let backward = OpDefinition<BatchNormDescriptor>(
        "batch_norm.backward", .normalization, kernels: ["batch_norm_backward", "batch_norm_relu_backward"],
        tolerance: .sums { $0.reduced + 16 },
        check: { d, counts in
            try d.validateTraining()
            try d.validateReLUOutput(given: counts[2] != nil)
        }
    ) { d in
        [
            .input("input", d.shape), .input("outputGradient", d.shape), .input("output", d.shape, optional: true),
            .input("weight", [d.channels]),
            .input("savedMean", [d.channels]), .input("savedInverseStd", [d.channels]),
            .output("inputGradient", d.shape), .output("weightGradient", [d.channels]), .output("biasGradient", [d.channels]),
        ]
    }

    static let table = [forwardTraining.erased, forwardInference.erased, backward.erased]
}

extension Backend {
    public func batchNormForwardTraining(
        _ descriptor: BatchNormDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer, bias: any DeviceBuffer,
        runningMean: any DeviceBuffer, runningVariance: any DeviceBuffer,
        output: any DeviceBuffer, savedMean: any DeviceBuffer, savedInverseStd: any DeviceBuffer
    ) throws {
        try run(
            NormalizationOps.forwardTraining, descriptor,
            [input, weight, bias, runningMean, runningVariance, output, savedMean, savedInverseStd])
    }

    public func batchNormForwardInference(
        _ descriptor: BatchNormDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer, bias: any DeviceBuffer,
        runningMean: any DeviceBuffer, runningVariance: any DeviceBuffer, output: any DeviceBuffer
    ) throws {
        try run(NormalizationOps.forwardInference, descriptor, [input, weight, bias, runningMean, runningVariance, output])
    }

    /// `output`: the fused forward's output, which a descriptor with `relu` needs and any
    /// other must leave out.
    public func batchNormBackward(
        _ descriptor: BatchNormDescriptor, input: any DeviceBuffer, outputGradient: any DeviceBuffer,
        output: (any DeviceBuffer)? = nil,
        weight: any DeviceBuffer, savedMean: any DeviceBuffer, savedInverseStd: any DeviceBuffer,
        inputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer, biasGradient: any DeviceBuffer
    ) throws {
        try run(
            NormalizationOps.backward, descriptor,
            [input, outputGradient, output, weight, savedMean, savedInverseStd, inputGradient, weightGradient, biasGradient])
    }
}

/// Sizes and settings of one batch normalisation (see `NormalizationOps`).
public struct BatchNormDescriptor: OpDescriptor, Equatable {
    public var batch: Int
    public var channels: Int
    /// H·W for 2-d inputs, 1 for (N, C) inputs.
    public var spatial: Int
    public var epsilon: Float
    public var momentum: Float
    /// The ReLU that follows, fused in: the forwards write relu(output), the backward
    /// takes the gradient through it (see `NormalizationOps`).
    public var relu: Bool

    public init(
        batch: Int, channels: Int, spatial: Int = 1, epsilon: Float = 1e-5, momentum: Float = 0.1, relu: Bool = false
    ) {
        self.batch = batch
        self.channels = channels
        self.spatial = spatial
        self.epsilon = epsilon
        self.momentum = momentum
        self.relu = relu
    }

    /// Elements of the input and output.
    public var count: Int { batch * channels * spatial }
    /// Elements each channel's statistics are taken over, M = N·S.
    public var reduced: Int { batch * spatial }
    /// The input's and output's shape (N, C, S).
    public var shape: [Int] { [batch, channels, spatial] }

    public var description: String {
        "batch_norm(N=\(batch), C=\(channels), S=\(spatial), eps=\(epsilon), momentum=\(momentum)\(relu ? ", relu" : ""))"
    }

    /// Throws unless no size is negative, epsilon ≥ 0 and momentum is in [0, 1].
    public func validate() throws {
        for (name, value) in [("batch", batch), ("channels", channels), ("spatial", spatial)] where value < 0 {
            throw HeedError.invalidArgument(op: "batch_norm", "\(name) = \(value) is negative in \(self)")
        }
        guard epsilon >= 0, (0...1).contains(momentum) else {
            throw HeedError.invalidArgument(op: "batch_norm", "needs epsilon >= 0 and momentum in [0, 1], in \(self)")
        }
    }

    /// Throws unless the backward's call passes the fused forward's output exactly when
    /// `relu` is set: without it the ReLU's mask is unknown, and a plain batch norm has none.
    func validateReLUOutput(given: Bool) throws {
        if relu && !given {
            throw HeedError.invalidArgument(op: "batch_norm", "the backward of a fused relu needs the forward's output, in \(self)")
        }
        if !relu && given {
            throw HeedError.invalidArgument(op: "batch_norm", "an output was passed to a backward without relu, in \(self)")
        }
    }

    /// Throws unless each channel has more than 1 value (M > 1), as batch statistics need.
    func validateTraining() throws {
        if channels > 0 && reduced <= 1 {
            throw HeedError.invalidArgument(op: "batch_norm", "training needs more than 1 value per channel, \(self) has \(reduced)")
        }
    }
}
