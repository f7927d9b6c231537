import HeedOps

extension Reference {
    /// One `torch.optim.SGD` step (see `OptimizerOps.sgdUpdate`) on arrays, in Double,
    /// rounding once per stored value. `buffer` is ignored when momentum is 0.
    public static func sgdUpdate<T: BinaryFloatingPoint>(_ d: SGDDescriptor, parameter p: inout [T], gradient: [T],
                                                         momentumBuffer buffer: inout [T]) {
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
    public func sgdUpdate(_ d: SGDDescriptor, parameter: any DeviceBuffer, gradient: any DeviceBuffer,
                          momentumBuffer: (any DeviceBuffer)?) throws {
        let op = "sgd"
        let p = try floats(parameter, op, "parameter")
        let g = try floats(gradient, op, "gradient")
        let buffer = try d.momentum == 0 ? nil : momentumBuffer.map { try floats($0, op, "momentumBuffer") }
        try d.validate(parameterCount: p.count, gradientCount: g.count, bufferCount: buffer?.count)
        var state = buffer?.floats ?? []
        Reference.sgdUpdate(d, parameter: &p.floats, gradient: g.floats, momentumBuffer: &state)
        buffer?.floats = state
    }
}
