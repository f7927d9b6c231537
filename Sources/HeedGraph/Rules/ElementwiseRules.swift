import HeedOps

// Elementwise arithmetic, activations and reductions (`ElementwiseOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// self + other (same shape).
    public func adding(_ other: Tensor) throws -> Tensor {
        try requireSameShape(other, ElementwiseOps.add.errorName)
        let output = try fresh(shape)
        try backend.add(count: count, a: storage, b: other.storage, output: output.storage)
        return Tensor.result(op: ElementwiseOps.add.errorName, shape: shape, storage: output.storage, inputs: [self, other]) { g in [g, g] }
    }

    /// self ⊙ other (same shape).
    public func multiplying(_ other: Tensor) throws -> Tensor {
        try requireSameShape(other, ElementwiseOps.multiply.errorName)
        let output = try fresh(shape)
        try backend.multiply(count: count, a: storage, b: other.storage, output: output.storage)
        return Tensor.result(op: ElementwiseOps.multiply.errorName, shape: shape, storage: output.storage, inputs: [self, other]) { g in
            let (da, db) = (try self.fresh(self.shape), try self.fresh(self.shape))
            try self.backend.multiplyBackward(
                count: self.count, a: self.storage, b: other.storage, outputGradient: g.storage,
                aGradient: da.storage, bGradient: db.storage)
            return [da, db]
        }
    }

    /// α·self.
    public func scaled(by alpha: Float) throws -> Tensor {
        let output = try fresh(shape)
        try backend.scale(count: count, alpha: alpha, input: storage, output: output.storage)
        return Tensor.result(op: ElementwiseOps.scale.errorName, shape: shape, storage: output.storage, inputs: [self]) { g in
            [try g.scaled(by: alpha)]
        }
    }

    public func relu() throws -> Tensor {
        let output = try fresh(shape)
        try backend.reluForward(count: count, input: storage, output: output.storage)
        return Tensor.result(op: ElementwiseOps.reluForward.errorName, shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.reluBackward(count: self.count, input: self.storage, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    public func tanh() throws -> Tensor {
        let output = try fresh(shape)
        try backend.tanhForward(count: count, input: storage, output: output.storage)
        return Tensor.result(op: ElementwiseOps.tanhForward.errorName, shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.tanhBackward(count: self.count, output: output.storage, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    public func sigmoid() throws -> Tensor {
        let output = try fresh(shape)
        try backend.sigmoidForward(count: count, input: storage, output: output.storage)
        return Tensor.result(op: ElementwiseOps.sigmoidForward.errorName, shape: shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.sigmoidBackward(
                count: self.count, output: output.storage, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    /// Sum (or mean) over `axes`; the result keeps the other axes in order
    /// (all axes: a one-element tensor of shape [1]).
    public func sum(axes: [Int]? = nil, mean: Bool = false) throws -> Tensor {
        let axes = axes ?? Array(0..<rank)
        let descriptor = ReductionDescriptor(mean ? .mean : .sum, shape: shape, axes: axes)
        let outputShape = shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
        let output = try fresh(outputShape.isEmpty ? [1] : outputShape)
        try backend.reduceForward(descriptor, input: storage, output: output.storage)
        let op = ElementwiseOps.reduceForward(descriptor.operation).errorName
        return Tensor.result(op: op, shape: output.shape, storage: output.storage, inputs: [self]) { g in
            let dx = try self.fresh(self.shape)
            try self.backend.reduceBackward(descriptor, outputGradient: g.storage, inputGradient: dx.storage)
            return [dx]
        }
    }

    public func mean(axes: [Int]? = nil) throws -> Tensor {
        try sum(axes: axes, mean: true)
    }
}
