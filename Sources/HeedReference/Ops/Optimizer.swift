import HeedOps

extension Reference {
    /// One `torch.optim.SGD` step (see `OptimizerOps.sgd`) on arrays, in Double,
    /// rounding once per stored value. `buffer` is ignored when momentum is 0.
    public static func sgdUpdate<T: BinaryFloatingPoint>(
        _ d: SGDDescriptor, parameter p: inout [T], gradient: [T],
        momentumBuffer buffer: inout [T]
    ) {
        let (lr, momentum, decay) = (Double(d.learningRate), Double(d.momentum), Double(d.weightDecay))
        for i in 0..<d.count {
            var g = Double(gradient[i])
            if decay != 0 { g += decay * Double(p[i]) }
            if momentum != 0 {
                let b = d.firstStep ? g : momentum * Double(buffer[i]) + g
                buffer[i] = T(b)
                g = d.nesterov ? g + momentum * b : b
            }
            p[i] = T(Double(p[i]) - lr * g)
        }
    }
}

extension ReferenceBackend {
    public static let optimizer = bodies(optimizerBodies(Float.self), optimizerBodies(Double.self))

    static func optimizerBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(OptimizerOps.sgd) { d, b in
                let buffer = b.optional("momentumBuffer")
                var state = buffer?[T.self] ?? []
                Reference.sgdUpdate(d, parameter: &b.parameter[T.self], gradient: b.gradient[T.self], momentumBuffer: &state)
                buffer?[T.self] = state
            }
        ]
    }
}
