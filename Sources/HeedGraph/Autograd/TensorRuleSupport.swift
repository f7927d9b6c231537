import HeedOps

// What the gradient rules share. Rules/ holds every differentiable op of the graph layer,
// one file per op family (as Ops/ in HeedOps), each forward with its gradient rule beside it.

extension Tensor {
    /// A new tensor of `shape` on this tensor's backend, about to be written by an op.
    func fresh(_ shape: [Int]) throws -> Tensor {
        try Tensor.uninitialized(shape: shape, on: backend)
    }

    func requireSameShape(_ other: Tensor, _ op: String) throws {
        guard shape == other.shape else {
            throw HeedError.shapeMismatch(op: op, "\(shape) and \(other.shape)")
        }
    }
}
