import HeedOps

/// Pooling kernels of `Kernels/pooling.cl`: one work item per output element, forward
/// and backward (the backward kernels gather, so every element is written once); global
/// average pooling's forward as `DeviceShapes.planeSums` says.
extension OpenCLBackend {
    /// Work items per plane of `global_average_pool_forward_grouped` (its `POOL_WG`).
    static let poolWorkGroup = 64
    /// The defines every pooling program is built with (one program for all its kernels).
    static let poolingDefines = ["POOL_WG": "\(poolWorkGroup)"]

    public static let pooling: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(PoolingOps.globalAverageForward) { backend, d, b in
            let op = PoolingOps.globalAverageForward.errorName
            try checkIndexRange(op, b.input.count)
            let planes = b.output.count
            let plane = try KernelArgument.int(d.height * d.width, op)
            switch backend.shapes.planeSums {
            case .rowsPerItem:
                try backend.launch(
                    family: "pooling", kernel: "global_average_pool_forward", defines: poolingDefines, global: [planes],
                    arguments: [.buffer(b.input), .buffer(b.output), try .int(planes, op), plane])
            case .elementsPerItem:
                let group = poolWorkGroup
                try backend.launch(
                    family: "pooling", kernel: "global_average_pool_forward_grouped", defines: poolingDefines,
                    global: [planes * group], local: [group], arguments: [.buffer(b.input), .buffer(b.output), plane])
            }
        },
        OpImplementation(PoolingOps.globalAverageBackward) { backend, d, b in
            let op = PoolingOps.globalAverageBackward.errorName
            try checkIndexRange(op, b.inputGradient.count)
            try backend.launch(
                family: "pooling", kernel: "global_average_pool_backward", defines: poolingDefines, global: [b.inputGradient.count],
                arguments: [
                    .buffer(b.outputGradient), .buffer(b.inputGradient),
                    try .int(b.outputGradient.count, op), try .int(d.height * d.width, op),
                ])
        },
        OpImplementation(PoolingOps.averageForward) { backend, d, b in
            let op = PoolingOps.averageForward.errorName
            try backend.launch(
                family: "pooling", kernel: "average_pool2d_forward", defines: poolingDefines, global: try outputRange(d, op),
                arguments: [.buffer(b.input), .buffer(b.output)] + poolGeometry(d, op))
        },
        OpImplementation(PoolingOps.averageBackward) { backend, d, b in
            let op = PoolingOps.averageBackward.errorName
            try backend.launch(
                family: "pooling", kernel: "average_pool2d_backward", defines: poolingDefines, global: try inputRange(d, op),
                arguments: [.buffer(b.outputGradient), .buffer(b.inputGradient)] + poolGeometry(d, op))
        },
        OpImplementation(PoolingOps.maxForward) { backend, d, b in
            let op = PoolingOps.maxForward.errorName
            try backend.launch(
                family: "pooling", kernel: "max_pool2d_forward", defines: poolingDefines, global: try outputRange(d, op),
                arguments: [.buffer(b.input), .buffer(b.output), .buffer(b.indices)] + poolGeometry(d, op))
        },
        OpImplementation(PoolingOps.maxBackward) { backend, d, b in
            let op = PoolingOps.maxBackward.errorName
            try backend.launch(
                family: "pooling", kernel: "max_pool2d_backward", defines: poolingDefines, global: try inputRange(d, op),
                arguments: [.buffer(b.outputGradient), .buffer(b.indices), .buffer(b.inputGradient)]
                    + poolGeometry(d, op))
        },
    ]

    /// Global size (W', H', N·C): one work item per output element.
    private static func outputRange(_ d: Pool2dDescriptor, _ op: String) throws -> [Int] {
        try Self.checkIndexRange(op, d.inputShape.reduce(1, *))
        return [d.outputWidth, d.outputHeight, d.batch * d.channels]
    }

    /// Global size (W, H, N·C): one work item per input element.
    private static func inputRange(_ d: Pool2dDescriptor, _ op: String) throws -> [Int] {
        try Self.checkIndexRange(op, d.inputShape.reduce(1, *))
        return [d.width, d.height, d.batch * d.channels]
    }

    /// The size arguments every windowed pooling kernel takes after its buffers.
    private static func poolGeometry(_ d: Pool2dDescriptor, _ op: String) throws -> [KernelArgument] {
        try [d.batch * d.channels, d.height, d.width, d.kernelSize, d.stride, d.padding, d.outputHeight, d.outputWidth]
            .map { try .int($0, op) }
    }
}
