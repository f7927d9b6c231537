import HeedOps

extension Tensor {
    /// Replaces the accumulated gradient with `values`: the gradient averaged over
    /// data-parallel replicas takes the place of this process's own.
    public func replaceGradient(with values: [Float]) throws {
        guard values.count == count else {
            throw HeedError.shapeMismatch(op: "replaceGradient", "\(values.count) values for a tensor of shape \(shape)")
        }
        gradient = try Tensor(values, shape: shape, on: backend)
    }
}
