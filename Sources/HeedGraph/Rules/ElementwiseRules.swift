import HeedOps

// Elementwise arithmetic, activations and reductions (`ElementwiseOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// self + other (same shape). Saves nothing. `inPlace` writes the sum into self's
    /// storage (elementwise ops may, see `ElementwiseOps`) and returns a tensor on it:
    /// for a self that no rule saved and nothing reads afterwards, such as a residual
    /// branch's last convolution output (a convolution saves its input, not its output).
    public func adding(_ other: Tensor, inPlace: Bool = false) throws -> Tensor {
        try requireSameShape(other, ElementwiseOps.add.errorName)
        let output = inPlace ? try overwritable(ElementwiseOps.add.errorName) : try fresh(shape)
        try backend.add(count: count, a: storage, b: other.storage, output: output.storage)
        if inPlace { version.increment() }
        return Tensor.result(op: ElementwiseOps.add.errorName, output: output, inputs: [self, other]) { g, _ in [g, g] }
    }

    /// self ⊙ other (same shape). Saves both.
    public func multiplying(_ other: Tensor) throws -> Tensor {
        try requireSameShape(other, ElementwiseOps.multiply.errorName)
        let output = try fresh(shape)
        try backend.multiply(count: count, a: storage, b: other.storage, output: output.storage)
        let (backend, shape, count) = (backend, shape, count)
        let op = ElementwiseOps.multiply.errorName
        return Tensor.result(op: op, output: output, inputs: [self, other], saving: [self, other]) { g, saved in
            let buffers = try saved.buffers(for: op)
            let (da, db) = (try Tensor.uninitialized(shape: shape, on: backend), try Tensor.uninitialized(shape: shape, on: backend))
            try backend.multiplyBackward(
                count: count, a: buffers[0], b: buffers[1], outputGradient: g.storage,
                aGradient: da.storage, bGradient: db.storage)
            return [da, db]
        }
    }

    /// α·self. Saves nothing.
    public func scaled(by alpha: Float) throws -> Tensor {
        let output = try fresh(shape)
        try backend.scale(count: count, alpha: alpha, input: storage, output: output.storage)
        return Tensor.result(op: ElementwiseOps.scale.errorName, output: output, inputs: [self]) { g, _ in
            [try g.scaled(by: alpha)]
        }
    }

    /// max(self, 0). Saves its output, not its input: the rule's x > 0 reads the same from
    /// y = (x < 0 ? 0 : x), since y > 0 exactly when x > 0 (NaN and −0 included), so
    /// the gradient is bit for bit the one from the input. `inPlace` overwrites self's
    /// storage: for a self that no rule saved, such as a batch norm's output.
    public func relu(inPlace: Bool = false) throws -> Tensor {
        let output = inPlace ? try overwritable(ElementwiseOps.reluForward.errorName) : try fresh(shape)
        try backend.reluForward(count: count, input: storage, output: output.storage)
        if inPlace { version.increment() }
        return activationResult(ElementwiseOps.reluForward.errorName, output: output) { backend, count, y, g, dx in
            try backend.reluBackward(count: count, input: y, outputGradient: g, inputGradient: dx)
        }
    }

    /// tanh. Saves its output.
    public func tanh() throws -> Tensor {
        let output = try fresh(shape)
        try backend.tanhForward(count: count, input: storage, output: output.storage)
        return activationResult(ElementwiseOps.tanhForward.errorName, output: output) { backend, count, y, g, dx in
            try backend.tanhBackward(count: count, output: y, outputGradient: g, inputGradient: dx)
        }
    }

    /// The logistic function. Saves its output.
    public func sigmoid() throws -> Tensor {
        let output = try fresh(shape)
        try backend.sigmoidForward(count: count, input: storage, output: output.storage)
        return activationResult(ElementwiseOps.sigmoidForward.errorName, output: output) { backend, count, y, g, dx in
            try backend.sigmoidBackward(count: count, output: y, outputGradient: g, inputGradient: dx)
        }
    }

    /// The result of an elementwise activation of self whose gradient reads only its output y
    /// (saved): `inputGradient(backend, count, y, ∂L/∂y, ∂L/∂x)` writes the input's gradient.
    private func activationResult(
        _ op: String, output: Tensor,
        inputGradient: @escaping (any Backend, Int, any DeviceBuffer, any DeviceBuffer, any DeviceBuffer) throws -> Void
    ) -> Tensor {
        let (backend, shape, count) = (backend, shape, count)
        return Tensor.result(op: op, output: output, inputs: [self], saving: [output]) { g, saved in
            let y = try saved.buffers(for: op)[0]
            let dx = try Tensor.uninitialized(shape: shape, on: backend)
            try inputGradient(backend, count, y, g.storage, dx.storage)
            return [dx]
        }
    }

    /// Sum (or mean) over `axes`; the result keeps the other axes in order
    /// (all axes: a one-element tensor of shape [1]). Saves nothing.
    public func sum(axes: [Int]? = nil, mean: Bool = false) throws -> Tensor {
        let axes = axes ?? Array(0..<rank)
        let descriptor = ReductionDescriptor(mean ? .mean : .sum, shape: shape, axes: axes)
        let outputShape = shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
        let output = try fresh(outputShape.isEmpty ? [1] : outputShape)
        try backend.reduceForward(descriptor, input: storage, output: output.storage)
        let op = ElementwiseOps.reduceForward(descriptor.operation).errorName
        let (backend, inputShape) = (backend, shape)
        return Tensor.result(op: op, output: output, inputs: [self]) { g, _ in
            let dx = try Tensor.uninitialized(shape: inputShape, on: backend)
            try backend.reduceBackward(descriptor, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    public func mean(axes: [Int]? = nil) throws -> Tensor {
        try sum(axes: axes, mean: true)
    }

    /// An unrecorded tensor on self's storage and version, for an op to overwrite in place.
    /// A leaf that requires a gradient (a parameter) must keep its value for backward.
    private func overwritable(_ op: String) throws -> Tensor {
        guard node != nil || !requiresGradient else {
            throw HeedError.invalidArgument(op: op, "a parameter (a leaf that requires a gradient) cannot be overwritten in place")
        }
        return Tensor(shape: shape, storage: storage, backend: backend, requiresGradient: false, node: nil, version: version)
    }
}
