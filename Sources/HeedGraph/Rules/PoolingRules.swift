import HeedOps

// Pooling (`PoolingOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// Mean over the spatial axes: (N, C, H, W) → (N, C).
    public func globalAveragePool() throws -> Tensor {
        let descriptor = try GlobalPoolDescriptor(input: shape)
        let output = try fresh([shape[0], shape[1]])
        try backend.globalAveragePoolForward(descriptor, input: storage, output: output.storage)
        return Tensor.result(
            op: PoolingOps.globalAverageForward.errorName, shape: output.shape, storage: output.storage,
            inputs: [self]
        ) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.globalAveragePoolBackward(descriptor, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }
}
