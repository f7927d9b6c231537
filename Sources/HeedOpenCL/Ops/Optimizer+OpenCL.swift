import HeedOps
/// Optimizer steps: kernels of `Kernels/optimizer.cl`.
extension OpenCLBackend {
    public func sgdUpdate(_ d: SGDDescriptor, parameter: any DeviceBuffer, gradient: any DeviceBuffer,
                          momentumBuffer: (any DeviceBuffer)?) throws {
        let op = "sgd"
        let p = try floats(parameter, op, "parameter")
        let g = try floats(gradient, op, "gradient")
        let buffer = try d.momentum == 0 ? nil : momentumBuffer.map { try floats($0, op, "momentumBuffer") }
        try d.validate(parameterCount: p.count, gradientCount: g.count, bufferCount: buffer?.count)
        if let buffer {
            try launch(family: "optimizer", kernel: "sgd_momentum_update", global: [d.count], arguments: [
                .buffer(p), .buffer(g), .buffer(buffer), try .int(d.count, op), .float(d.learningRate),
                .float(d.momentum), .float(d.weightDecay), .int(d.nesterov ? 1 : 0), .int(d.firstStep ? 1 : 0),
            ])
        } else {
            try launch(family: "optimizer", kernel: "sgd_update", global: [d.count], arguments: [
                .buffer(p), .buffer(g), try .int(d.count, op), .float(d.learningRate), .float(d.weightDecay),
            ])
        }
    }
}
