import HeedOps

/// Batch normalisation: kernels of `Kernels/normalization.cl`.
extension OpenCLBackend {
    /// Work items per channel in the training kernels (`BN_WG`, a power of two): 256 on
    /// GPUs; 1 on CPUs, where a group's barriers and tree sums cost more than they save
    /// (benchmarks/RESULTS.md, "Measurements behind fixed choices").
    var batchNormGroupSize: Int {
        device.kind == .cpu ? 1 : 256
    }

    public static let normalization: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(NormalizationOps.forwardTraining) { backend, d, b in
            let op = NormalizationOps.forwardTraining.errorName
            let group = backend.batchNormGroupSize
            try backend.launch(
                family: "normalization", kernel: "batch_norm_forward_training", defines: ["BN_WG": "\(group)"],
                global: [d.channels * group], local: [group],
                arguments: [
                    b.input, b.weight, b.bias, b.runningMean, b.runningVariance, b.output, b.savedMean,
                    b.savedInverseStd,
                ].map { .buffer($0) } + [
                    try .int(d.channels, op), try .int(d.spatial, op), try .int(d.reduced, op),
                    .float(d.epsilon), .float(d.momentum),
                ])
        },
        OpImplementation(NormalizationOps.forwardInference) { backend, d, b in
            let op = NormalizationOps.forwardInference.errorName
            try backend.launch(
                family: "normalization", kernel: "batch_norm_forward_inference", global: [d.count],
                arguments: [b.input, b.weight, b.bias, b.runningMean, b.runningVariance, b.output].map { .buffer($0) } + [
                    try .int(d.count, op), try .int(d.channels, op), try .int(d.spatial, op), .float(d.epsilon),
                ])
        },
        OpImplementation(NormalizationOps.backward) { backend, d, b in
            let op = NormalizationOps.backward.errorName
            let group = backend.batchNormGroupSize
            try backend.launch(
                family: "normalization", kernel: "batch_norm_backward", defines: ["BN_WG": "\(group)"],
                global: [d.channels * group], local: [group],
                arguments: [
                    b.input, b.outputGradient, b.weight, b.savedMean, b.savedInverseStd, b.inputGradient,
                    b.weightGradient, b.biasGradient,
                ].map { .buffer($0) } + [
                    try .int(d.channels, op), try .int(d.spatial, op), try .int(d.reduced, op),
                ])
        },
    ]
}
