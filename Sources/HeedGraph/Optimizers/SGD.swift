import HeedOps

/// Stochastic gradient descent with momentum, Nesterov momentum and weight decay,
/// exactly as `torch.optim.SGD` (dampening 0):
///
///     g = ∇p + weight_decay·p
///     buf = g                       on a parameter's first step
///     buf = momentum·buf + g        afterwards
///     g = g + momentum·buf  (Nesterov)   or   g = buf
///     p = p − lr·g
///
/// One fused in-place kernel per parameter (`OptimizerOps`). Parameters come in groups,
/// as `torch.optim.SGD`'s parameter groups: a group's learning rate is the
/// configuration's times its scale (a fine-tuned backbone's smaller rate).
public final class SGD {
    /// Parameters that share a learning rate: `learningRateScale` x the configuration's.
    public struct ParameterGroup {
        public var parameters: [(name: String, tensor: Tensor)]
        public var learningRateScale: Float

        public init(parameters: [(name: String, tensor: Tensor)], learningRateScale: Float = 1) {
            self.parameters = parameters
            self.learningRateScale = learningRateScale
        }
    }

    public struct Configuration: Sendable, Equatable {
        public var learningRate: Float
        public var momentum: Float
        public var weightDecay: Float
        public var nesterov: Bool

        public init(learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 5e-4, nesterov: Bool = true) {
            self.learningRate = learningRate
            self.momentum = momentum
            self.weightDecay = weightDecay
            self.nesterov = nesterov
        }
    }

    public let groups: [ParameterGroup]
    /// Every group's parameters, in group order.
    public var parameters: [(name: String, tensor: Tensor)] { groups.flatMap(\.parameters) }
    public var configuration: Configuration
    /// Momentum buffers by parameter name, created on each parameter's first step.
    public private(set) var momentumBuffers: [String: Tensor] = [:]

    /// One group at the configuration's learning rate.
    public convenience init(parameters: [(name: String, tensor: Tensor)], configuration: Configuration) {
        self.init(groups: [ParameterGroup(parameters: parameters)], configuration: configuration)
    }

    public init(groups: [ParameterGroup], configuration: Configuration) {
        self.groups = groups
        self.configuration = configuration
    }

    /// Updates every parameter that has a gradient, then clears the gradients.
    public func step() throws {
        for group in groups {
            // x 1 is exact in float32, so a scale of 1 steps bit for bit as one group does.
            var groupConfiguration = configuration
            groupConfiguration.learningRate = configuration.learningRate * group.learningRateScale
            try step(group.parameters, configuration: groupConfiguration)
        }
    }

    private func step(_ parameters: [(name: String, tensor: Tensor)], configuration: Configuration) throws {
        for (name, parameter) in parameters {
            guard let gradient = parameter.gradient else { continue }
            let existing = momentumBuffers[name]
            let buffer: Tensor?
            if configuration.momentum != 0 {
                buffer = try existing ?? Tensor.uninitialized(shape: parameter.shape, on: parameter.backend)
                momentumBuffers[name] = buffer
            } else {
                buffer = nil
            }
            try parameter.applySGD(
                gradient: gradient, momentumBuffer: buffer, configuration: configuration,
                firstStep: existing == nil)
            parameter.zeroGradient()
        }
    }

    /// Restores momentum buffers saved in a checkpoint (values by parameter name).
    public func loadMomentumBuffers(_ values: [String: [Float]]) throws {
        let byName = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.tensor) })
        for (name, contents) in values {
            guard let parameter = byName[name] else {
                throw HeedError.invalidArgument(op: "SGD", "momentum buffer for unknown parameter '\(name)'")
            }
            guard contents.count == parameter.count else {
                throw HeedError.shapeMismatch(
                    op: "SGD", "momentum buffer '\(name)' has \(contents.count) values, parameter \(parameter.shape)")
            }
            momentumBuffers[name] = try Tensor(contents, shape: parameter.shape, on: parameter.backend)
        }
    }
}
