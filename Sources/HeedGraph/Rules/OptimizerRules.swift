import HeedOps

// Optimiser updates (`OptimizerOps`): not differentiated, applied in place; one backend op each.

extension Tensor {
    /// One SGD step on this parameter in place (see `OptimizerOps.sgd`): a rule that saved
    /// the parameter and has not run yet then refuses to read it.
    func applySGD(gradient: Tensor, momentumBuffer: Tensor?, configuration: SGD.Configuration, firstStep: Bool) throws {
        let descriptor = SGDDescriptor(
            count: count, learningRate: configuration.learningRate, momentum: configuration.momentum,
            weightDecay: configuration.weightDecay, nesterov: configuration.nesterov, firstStep: firstStep)
        try backend.sgdUpdate(descriptor, parameter: storage, gradient: gradient.storage, momentumBuffer: momentumBuffer?.storage)
        version.increment()
    }
}
