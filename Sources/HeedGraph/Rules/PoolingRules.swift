import HeedOps

// Pooling (`PoolingOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// Mean over the spatial axes: (N, C, H, W) → (N, C). Saves nothing.
    public func globalAveragePool() throws -> Tensor {
        let descriptor = try GlobalPoolDescriptor(input: shape)
        let output = try fresh([shape[0], shape[1]])
        try backend.globalAveragePoolForward(descriptor, input: storage, output: output.storage)
        let (backend, inputShape) = (backend, shape)
        return Tensor.result(op: PoolingOps.globalAverageForward.errorName, output: output, inputs: [self]) { g, _ in
            let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
            try backend.globalAveragePoolBackward(descriptor, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    /// The largest element of each `kernelSize × kernelSize` window, `stride` apart
    /// (default: the kernel size), PyTorch's `max_pool2d` with `padding` positions of −∞ on
    /// every side (at most half the window): (N, C, H, W) → (N, C, H', W'). Saves the
    /// indices of the chosen elements (int32, the output's size), not the input.
    public func maxPool2d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
        let descriptor = try Pool2dDescriptor(input: shape, kernelSize: kernelSize, stride: stride, padding: padding)
        let output = try fresh(descriptor.outputShape)
        let indices = try backend.makeBuffer(count: output.count, of: Int32.self)
        try backend.maxPool2dForward(descriptor, input: storage, output: output.storage, indices: indices)
        let (backend, inputShape) = (backend, shape)
        let op = PoolingOps.maxForward.errorName
        return Tensor.result(op: op, output: output, inputs: [self], savingBuffers: [indices]) { g, saved in
            let indices = try saved.buffers(for: op)[0]
            let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
            try backend.maxPool2dBackward(descriptor, outputGradient: g.storage, indices: indices, inputGradient: dx.storage)
            return [dx]
        }
    }
}
