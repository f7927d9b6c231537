import HeedOps
/// Batch normalisation: kernels of `Kernels/normalization.cl`.
extension OpenCLBackend {
    /// Work items per channel in the training kernels (`BN_WG`, a power of two): 256 on
    /// GPUs; 1 on CPUs, where a group's barriers and tree sums cost more than they save (the
    /// group-2 batch norm of WRN-28-10 at batch 8 ran in 1.6 ms instead of 3.9 on PoCL).
    var batchNormGroupSize: Int {
        device.kind == .cpu ? 1 : 256
    }

    public func batchNormForwardTraining(
        _ d: BatchNormDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer, bias: any DeviceBuffer,
        runningMean: any DeviceBuffer, runningVariance: any DeviceBuffer,
        output: any DeviceBuffer, savedMean: any DeviceBuffer, savedInverseStd: any DeviceBuffer
    ) throws {
        let op = "batch_norm.forward_training"
        let buffers = try checked(d, op, training: true, [
            ("input", input, false), ("weight", weight, true), ("bias", bias, true),
            ("runningMean", runningMean, true), ("runningVariance", runningVariance, true),
            ("output", output, false), ("savedMean", savedMean, true), ("savedInverseStd", savedInverseStd, true),
        ])
        let group = batchNormGroupSize
        try launch(family: "normalization", kernel: "batch_norm_forward_training", defines: ["BN_WG": "\(group)"],
                   global: [d.channels * group], local: [group],
                   arguments: buffers.map { .buffer($0) } + [
                       try .int(d.channels, op), try .int(d.spatial, op), try .int(d.reduced, op),
                       .float(d.epsilon), .float(d.momentum),
                   ])
    }

    public func batchNormForwardInference(
        _ d: BatchNormDescriptor, input: any DeviceBuffer, weight: any DeviceBuffer, bias: any DeviceBuffer,
        runningMean: any DeviceBuffer, runningVariance: any DeviceBuffer, output: any DeviceBuffer
    ) throws {
        let op = "batch_norm.forward_inference"
        let buffers = try checked(d, op, training: false, [
            ("input", input, false), ("weight", weight, true), ("bias", bias, true),
            ("runningMean", runningMean, true), ("runningVariance", runningVariance, true), ("output", output, false),
        ])
        try launch(family: "normalization", kernel: "batch_norm_forward_inference", global: [d.count],
                   arguments: buffers.map { .buffer($0) } + [
                       try .int(d.count, op), try .int(d.channels, op), try .int(d.spatial, op), .float(d.epsilon),
                   ])
    }

    public func batchNormBackward(
        _ d: BatchNormDescriptor, input: any DeviceBuffer, outputGradient: any DeviceBuffer,
        weight: any DeviceBuffer, savedMean: any DeviceBuffer, savedInverseStd: any DeviceBuffer,
        inputGradient: any DeviceBuffer, weightGradient: any DeviceBuffer, biasGradient: any DeviceBuffer
    ) throws {
        let op = "batch_norm.backward"
        let buffers = try checked(d, op, training: true, [
            ("input", input, false), ("outputGradient", outputGradient, false), ("weight", weight, true),
            ("savedMean", savedMean, true), ("savedInverseStd", savedInverseStd, true),
            ("inputGradient", inputGradient, false), ("weightGradient", weightGradient, true),
            ("biasGradient", biasGradient, true),
        ])
        let group = batchNormGroupSize
        try launch(family: "normalization", kernel: "batch_norm_backward", defines: ["BN_WG": "\(group)"],
                   global: [d.channels * group], local: [group],
                   arguments: buffers.map { .buffer($0) } + [
                       try .int(d.channels, op), try .int(d.spatial, op), try .int(d.reduced, op),
                   ])
    }

    /// The buffers as float32 buffers of this backend, in order, after `d.validate`.
    private func checked(_ d: BatchNormDescriptor, _ op: String, training: Bool,
                         _ named: [(String, any DeviceBuffer, Bool)]) throws -> [OpenCLBuffer] {
        let buffers = try named.map { try floats($0.1, op, $0.0) }
        try d.validate(op, training: training, zip(named, buffers).map { ($0.0, $1.count, perChannel: $0.2) })
        return buffers
    }
}
