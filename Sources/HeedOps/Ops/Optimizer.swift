/// Fused optimizer steps, in place on the parameters and their optimizer state.
public protocol OptimizerOps {
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
    /// With momentum 0 the buffer is not used and may be nil.
    func sgdUpdate(_ descriptor: SGDDescriptor, parameter: any DeviceBuffer, gradient: any DeviceBuffer,
                   momentumBuffer: (any DeviceBuffer)?) throws
}

/// The settings of one SGD step (see `OptimizerOps.sgdUpdate`).
public struct SGDDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float
    public var nesterov: Bool
    /// Whether this is the first step with this momentum buffer (buf = g).
    public var firstStep: Bool

    public init(count: Int, learningRate: Float, momentum: Float = 0, weightDecay: Float = 0,
                nesterov: Bool = false, firstStep: Bool = false) {
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

    /// Throws unless the settings are valid as PyTorch checks them (lr, momentum and
    /// weight decay ≥ 0, Nesterov only with momentum) and every buffer has `count`
    /// elements; the momentum buffer must be given when momentum ≠ 0.
    public func validate(parameterCount: Int, gradientCount: Int, bufferCount: Int?) throws {
        let op = "sgd"
        guard count >= 0, learningRate >= 0, momentum >= 0, weightDecay >= 0 else {
            throw HeedError.invalidArgument(op: op, "count, lr, momentum and weight decay must not be negative, in \(self)")
        }
        if nesterov && momentum == 0 {
            throw HeedError.invalidArgument(op: op, "Nesterov momentum requires a momentum, in \(self)")
        }
        if momentum != 0 && bufferCount == nil {
            throw HeedError.invalidArgument(op: op, "momentum \(momentum) needs a momentum buffer, in \(self)")
        }
        var buffers = [("parameter", parameterCount), ("gradient", gradientCount)]
        if momentum != 0, let bufferCount { buffers.append(("momentumBuffer", bufferCount)) }
        for (name, actual) in buffers where actual != count {
            throw HeedError.shapeMismatch(op: op, "\(name) has \(actual) elements, expected count = \(count), in \(self)")
        }
    }
}
