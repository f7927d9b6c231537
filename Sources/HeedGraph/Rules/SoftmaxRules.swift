import HeedOps

// Softmax and log-softmax (`SoftmaxOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// log-softmax over the last axis.
    public func logSoftmax() throws -> Tensor {
        try softmax(.logSoftmax)
    }

    /// softmax (or log-softmax) over the last axis. Saves its output.
    public func softmax(_ kind: SoftmaxKind = .softmax) throws -> Tensor {
        let axis = shape.last ?? 1
        let descriptor = SoftmaxDescriptor(kind, outer: count / max(axis, 1), axis: axis)
        let output = try fresh(shape)
        try backend.softmaxForward(descriptor, input: storage, output: output.storage)
        let (backend, inputShape) = (backend, shape)
        return Tensor.result(op: kind.rawValue, output: output, inputs: [self], saving: [output]) { g, saved in
            let output = try saved.buffers(for: kind.rawValue)[0]
            let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
            try backend.softmaxBackward(descriptor, output: output, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }
}
