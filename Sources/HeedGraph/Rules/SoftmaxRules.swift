import HeedOps

// Softmax and log-softmax (`SoftmaxOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// log-softmax over the last axis.
    public func logSoftmax() throws -> Tensor {
        try softmax(.logSoftmax)
    }

    /// softmax (or log-softmax) over the last axis.
    public func softmax(_ kind: SoftmaxKind = .softmax) throws -> Tensor {
        let axis = shape.last ?? 1
        let descriptor = SoftmaxDescriptor(kind, outer: count / max(axis, 1), axis: axis)
        let output = try fresh(shape)
        try backend.softmaxForward(descriptor, input: storage, output: output.storage)
        return Tensor.result(op: kind.rawValue, shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.softmaxBackward(descriptor, output: output.storage, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }
}
