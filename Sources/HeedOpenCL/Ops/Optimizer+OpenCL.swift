import HeedOps

/// Optimizer steps: kernels of `Kernels/optimizer.cl`.
extension OpenCLBackend {
    public static let optimizer: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(OptimizerOps.sgd) { backend, d, b in
            let op = OptimizerOps.sgd.errorName
            if let buffer = b.optional("momentumBuffer") {
                try backend.launch(
                    family: "optimizer", kernel: "sgd_momentum_update", global: [d.count],
                    arguments: [
                        .buffer(b.parameter), .buffer(b.gradient), .buffer(buffer), try .int(d.count, op), .float(d.learningRate),
                        .float(d.momentum), .float(d.weightDecay), .int(d.nesterov ? 1 : 0), .int(d.firstStep ? 1 : 0),
                    ])
            } else {
                try backend.launch(
                    family: "optimizer", kernel: "sgd_update", global: [d.count],
                    arguments: [
                        .buffer(b.parameter), .buffer(b.gradient), try .int(d.count, op), .float(d.learningRate),
                        .float(d.weightDecay),
                    ])
            }
        }
    ]
}
