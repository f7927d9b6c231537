import HeedOps

// Dropout (`RandomOps`): the mask is drawn again in backward from the same seed and step.
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// Channel dropout of (N, C, H, W) in training: each (n, c) map kept with probability
    /// 1 − p and scaled by 1/(1 − p), the mask drawn from (seed, step) (see `RandomOps`).
    /// Saves nothing: backward draws the mask again.
    public func dropout2d(probability: Float, seed: UInt32, step: UInt32) throws -> Tensor {
        guard rank == 4 else {
            throw HeedError.shapeMismatch(op: RandomOps.dropout2dForward.errorName, "input \(shape) is not (N, C, H, W)")
        }
        let descriptor = DropoutDescriptor.dropout2d(
            batch: shape[0], channels: shape[1], spatial: shape[2] * shape[3],
            probability: probability, seed: seed, step: step)
        let output = try fresh(shape)
        try backend.dropoutForward(descriptor, input: storage, output: output.storage)
        let (backend, inputShape) = (backend, shape)
        return Tensor.result(op: RandomOps.dropout2dForward.errorName, output: output, inputs: [self]) { g, _ in
            let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
            try backend.dropoutBackward(descriptor, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }
}
