/// Batch normalisation with PyTorch's semantics (`nn.BatchNorm2d` / `nn.BatchNorm1d`).
///
/// The input is (N, C, S): `batch` × `channels` × `spatial` float32, S = H·W for
/// BatchNorm2d and 1 for BatchNorm1d on (N, C). Statistics are per channel over the
/// M = N·S elements of that channel. Per-channel buffers (weight γ, bias β, running and
/// saved statistics) hold C elements.
public protocol NormalizationOps {
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
    func batchNormForwardTraining(
        _ descriptor: BatchNormDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer, bias: any DeviceBuffer,
        runningMean: any DeviceBuffer, runningVariance: any DeviceBuffer,
        output: any DeviceBuffer, savedMean: any DeviceBuffer, savedInverseStd: any DeviceBuffer) throws

    /// Evaluation forward: `output = (x − runningMean)/√(runningVariance + ε)·γ + β`.
    /// Reads everything but output; writes output only.
    func batchNormForwardInference(
        _ descriptor: BatchNormDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer, bias: any DeviceBuffer,
        runningMean: any DeviceBuffer, runningVariance: any DeviceBuffer, output: any DeviceBuffer) throws

    /// Backward of the training forward, from its input and saved statistics:
    ///
    ///     x̂ = (x − μ)·r,  biasGradient = Σ dy,  weightGradient = Σ dy·x̂
    ///     inputGradient = γ·r·(dy − biasGradient/M − x̂·weightGradient/M)
    ///
    /// Reads input, outputGradient (N·C·S), weight, savedMean, savedInverseStd (C);
    /// writes (overwrites) inputGradient (N·C·S), weightGradient and biasGradient (C).
    func batchNormBackward(
        _ descriptor: BatchNormDescriptor, input: any DeviceBuffer, outputGradient: any DeviceBuffer,
        weight: any DeviceBuffer, savedMean: any DeviceBuffer, savedInverseStd: any DeviceBuffer,
        inputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer, biasGradient: any DeviceBuffer) throws
}

/// Sizes and settings of one batch normalisation (see `NormalizationOps`).
public struct BatchNormDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var channels: Int
    /// H·W for 2-d inputs, 1 for (N, C) inputs.
    public var spatial: Int
    public var epsilon: Float
    public var momentum: Float

    public init(batch: Int, channels: Int, spatial: Int = 1, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.batch = batch
        self.channels = channels
        self.spatial = spatial
        self.epsilon = epsilon
        self.momentum = momentum
    }

    /// Elements of the input and output.
    public var count: Int { batch * channels * spatial }
    /// Elements each channel's statistics are taken over, M = N·S.
    public var reduced: Int { batch * spatial }

    public var description: String {
        "batch_norm(N=\(batch), C=\(channels), S=\(spatial), eps=\(epsilon), momentum=\(momentum))"
    }

    /// Throws unless the sizes are valid (M > 1 when `training`) and each buffer, given
    /// as (name, element count, whether it is per-channel), has C or N·C·S elements.
    /// `op` is the op and direction, e.g. `batch_norm.forward_training`.
    public func validate(_ op: String, training: Bool, _ buffers: [(String, Int, perChannel: Bool)]) throws {
        for (name, value) in [("batch", batch), ("channels", channels), ("spatial", spatial)] where value < 0 {
            throw HeedError.invalidArgument(op: op, "\(name) = \(value) is negative in \(self)")
        }
        guard epsilon >= 0, (0...1).contains(momentum) else {
            throw HeedError.invalidArgument(op: op, "needs epsilon ≥ 0 and momentum in [0, 1], in \(self)")
        }
        if training && channels > 0 && reduced <= 1 {
            throw HeedError.invalidArgument(op: op, "training needs more than 1 value per channel, \(self) has \(reduced)")
        }
        for (name, actual, perChannel) in buffers {
            let expected = perChannel ? channels : count
            guard actual == expected else {
                throw HeedError.shapeMismatch(
                    op: op, "\(name) has \(actual) elements, expected \(perChannel ? "C" : "N·C·S") = \(expected) for \(self)")
            }
        }
    }
}
