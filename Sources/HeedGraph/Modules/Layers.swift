import HeedOps

/// 2-D convolution, PyTorch's `nn.Conv2d` with square kernels and symmetric padding.
/// Parameters: `weight` (out, in, k, k) and, if `bias`, `bias` (out).
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int

    public init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias: Bool = false, on backend: any Backend, random: inout SeededGenerator
    ) throws {
        let fanIn = inChannels * kernelSize * kernelSize
        weight = try Tensor(
            parameter: Initialization.kaimingNormal(count: outChannels * fanIn, fanIn: fanIn, random: &random),
            shape: [outChannels, inChannels, kernelSize, kernelSize], on: backend)
        self.bias = bias ? try Tensor(parameter: [Float](repeating: 0, count: outChannels), shape: [outChannels], on: backend) : nil
        self.stride = stride
        self.padding = padding
        super.init()
        register(parameter: weight, as: "weight")
        if let bias = self.bias { register(parameter: bias, as: "bias") }
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    }

    /// Floating-point operations (2 per multiply-add) per image for an output of that size.
    public func flops(outputHeight: Int, outputWidth: Int) -> Int {
        2 * weight.count * outputHeight * outputWidth
    }
}

/// Batch normalisation over the channel axis of (N, C, H, W) or (N, C), PyTorch's
/// `nn.BatchNorm2d`/`nn.BatchNorm1d`: eps 1e-5, momentum 0.1; running variance updated
/// with the unbiased batch variance, normalisation with the biased one.
/// State: `weight`, `bias` (learnable), `running_mean`, `running_var`, `num_batches_tracked`.
public final class BatchNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let runningMean: Tensor
    public let runningVariance: Tensor
    public let batchesTracked = Counter()
    public let momentum: Float
    public let epsilon: Float
    /// Set for `--sync-bn`: training statistics over the batches of every replica this sums
    /// over (`syncBatchNorm`). Nil: each replica normalises with its own batch.
    public var replicaReduction: (any ReplicaReduction)?
    /// Set for `--freeze-bn`: in training too, normalise with the running statistics and
    /// leave them (and `num_batches_tracked`) as they are, PyTorch's BN in eval mode inside
    /// a training step; `weight` and `bias` still learn (`frozenBatchNorm`).
    public var isFrozen = false

    public init(_ channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, on backend: any Backend) throws {
        weight = try Tensor(parameter: [Float](repeating: 1, count: channels), shape: [channels], on: backend)
        bias = try Tensor(parameter: [Float](repeating: 0, count: channels), shape: [channels], on: backend)
        runningMean = try Tensor([Float](repeating: 0, count: channels), shape: [channels], on: backend)
        runningVariance = try Tensor([Float](repeating: 1, count: channels), shape: [channels], on: backend)
        self.momentum = momentum
        self.epsilon = epsilon
        super.init()
        register(parameter: weight, as: "weight")
        register(parameter: bias, as: "bias")
        register(buffer: runningMean, as: "running_mean")
        register(buffer: runningVariance, as: "running_var")
        register(counter: batchesTracked, as: "num_batches_tracked")
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try self(x, relu: false)
    }

    /// relu(self(x)) when `relu`, bit for bit `self(x).relu(inPlace: true)`. Plain batch
    /// norm, in training and evaluation, runs the ReLU fused into its kernels (`batchNorm`'s
    /// `relu`). The frozen and synchronised ones are composed of other ops and stay
    /// unfused: a separate ReLU runs in place on their output (which neither saves).
    public func callAsFunction(_ x: Tensor, relu: Bool) throws -> Tensor {
        func unfused(_ y: Tensor) throws -> Tensor { relu ? try y.relu(inPlace: true) : y }
        if isTraining && isFrozen {
            return try unfused(
                x.frozenBatchNorm(
                    weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance, epsilon: epsilon))
        }
        if isTraining { batchesTracked.value += 1 }
        if isTraining, let replicaReduction {
            return try unfused(
                x.syncBatchNorm(
                    weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                    momentum: momentum, epsilon: epsilon, reduction: replicaReduction))
        }
        return try x.batchNorm(
            weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
            training: isTraining, momentum: momentum, epsilon: epsilon, relu: relu)
    }
}

/// A fully connected layer, PyTorch's `nn.Linear`: y = x·Wᵀ + b with `weight` (out, in)
/// and `bias` (out). Weight Kaiming-normal as the reference initialises its classifier;
/// bias uniform ±1/√in.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(
        _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, on backend: any Backend,
        random: inout SeededGenerator
    ) throws {
        weight = try Tensor(
            parameter: Initialization.kaimingNormal(count: outFeatures * inFeatures, fanIn: inFeatures, random: &random),
            shape: [outFeatures, inFeatures], on: backend)
        self.bias =
            bias
            ? try Tensor(
                parameter: Initialization.uniformBias(count: outFeatures, fanIn: inFeatures, random: &random),
                shape: [outFeatures], on: backend)
            : nil
        super.init()
        register(parameter: weight, as: "weight")
        if let bias = self.bias { register(parameter: bias, as: "bias") }
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.linear(weight: weight, bias: bias)
    }
}

/// Channel dropout (PyTorch's `nn.Dropout2d`): in training, each (n, c) feature map is
/// zeroed with probability p and the rest scaled by 1/(1−p); identity in evaluation.
/// Masks come from a counter-based generator keyed by (seed, call number), so a run
/// resumed from a checkpoint draws the masks an uninterrupted run would.
public final class Dropout2d: Module {
    public let probability: Float
    public let seed: UInt32
    /// Forward calls in training so far: the step the next mask is keyed by.
    public let calls = Counter()

    public init(probability: Float, seed: UInt32) {
        self.probability = probability
        self.seed = seed
        super.init()
        // Training state, not a weight: PyTorch's state_dict has no such entry.
        register(counter: calls, as: "calls", persistent: false)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard isTraining, probability > 0 else { return x }
        defer { calls.value += 1 }
        return try x.dropout2d(probability: probability, seed: seed, step: UInt32(truncatingIfNeeded: calls.value))
    }
}
