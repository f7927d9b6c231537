/// Fused optimizer steps, in place on the parameters and their optimizer state.
///
/// Tolerance: the kernel rounds at most 8 times on the way to p (two per line of the
/// update: a product and a sum) and the reference once, each error at most u times the
/// magnitude of the terms on that path, so 9 terms over that magnitude (|p| + lr·|g|
/// with |g| built from |grad|, wd·|p|, momentum·|buf|). With dyadic settings and
/// small-integer values every intermediate is exact.
public enum OptimizerOps {
    /// One step of `torch.optim.SGD` (dampening 0) on one parameter tensor, in place:
    ///
    ///     g = gradient + weightDecay·p                 (skipped when weightDecay = 0)
    ///     buf = firstStep ? g : momentum·buf + g       (only when momentum ≠ 0)
    ///     g = nesterov ? g + momentum·buf : buf        (only when momentum ≠ 0)
    ///     p = p − learningRate·g
    ///
    /// Reads gradient; reads and writes parameter and, when momentum ≠ 0, momentumBuffer
    /// (all `count` floats). On the first step PyTorch sets buf = g; `firstStep` does
    /// that without reading the buffer (so it may hold anything). A buffer filled with
    /// zeros and `firstStep` false gives the same result (momentum·0 + g = g exactly).
    public static let sgd = OpDefinition<SGDDescriptor>(
        "sgd", .optimizer, kernels: ["sgd_update", "sgd_momentum_update"], tolerance: .sums { _ in 9 },
        flops: { 6 * $0.count },
        check: { d, counts in
            // counts[2]: the momentum buffer's, nil when the call left it out.
            if d.momentum != 0 && counts[2] == nil {
                throw HeedError.invalidArgument(op: "sgd", "momentum \(d.momentum) needs a momentum buffer, in \(d)")
            }
        }
    ) { d in
        [.update("parameter", [d.count]), .input("gradient", [d.count]), .update("momentumBuffer", [d.count], optional: true)]
    }

    static let table = [sgd.erased]
}

extension Backend {
    /// One SGD step (see `OptimizerOps.sgd`). With momentum 0 the buffer is not used and
    /// may be nil; it is then neither checked nor written.
    public func sgdUpdate(
        _ descriptor: SGDDescriptor, parameter: any DeviceBuffer, gradient: any DeviceBuffer,
        momentumBuffer: (any DeviceBuffer)?
    ) throws {
        try run(OptimizerOps.sgd, descriptor, [parameter, gradient, descriptor.momentum == 0 ? nil : momentumBuffer])
    }
}

/// The settings of one SGD step (see `OptimizerOps.sgd`).
public struct SGDDescriptor: OpDescriptor, Equatable {
    public var count: Int
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float
    public var nesterov: Bool
    /// Whether this is the first step with this momentum buffer (buf = g).
    public var firstStep: Bool

    public init(
        count: Int, learningRate: Float, momentum: Float = 0, weightDecay: Float = 0,
        nesterov: Bool = false, firstStep: Bool = false
    ) {
        self.count = count
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.firstStep = firstStep
    }

    public var description: String {
        "sgd(count=\(count), lr=\(learningRate), momentum=\(momentum), weight_decay=\(weightDecay)"
            + "\(nesterov ? ", nesterov" : "")\(firstStep ? ", first step" : ""))"
    }

    /// Throws unless the settings are valid as PyTorch checks them: lr, momentum and
    /// weight decay ≥ 0, Nesterov only with momentum.
    public func validate() throws {
        guard count >= 0, learningRate >= 0, momentum >= 0, weightDecay >= 0 else {
            throw HeedError.invalidArgument(op: "sgd", "count, lr, momentum and weight decay must not be negative, in \(self)")
        }
        if nesterov && momentum == 0 {
            throw HeedError.invalidArgument(op: "sgd", "Nesterov momentum requires a momentum, in \(self)")
        }
    }
}
