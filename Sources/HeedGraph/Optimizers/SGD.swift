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
/// One fused in-place kernel per parameter (`OptimizerOps`).
public final class SGD {
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

    public let parameters: [(name: String, tensor: Tensor)]
    public var configuration: Configuration
    /// Momentum buffers by parameter name, created on each parameter's first step.
    public private(set) var momentumBuffers: [String: Tensor] = [:]

    public init(parameters: [(name: String, tensor: Tensor)], configuration: Configuration) {
        self.parameters = parameters
        self.configuration = configuration
    }

    /// Updates every parameter that has a gradient, then clears the gradients.
    public func step() throws {
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
