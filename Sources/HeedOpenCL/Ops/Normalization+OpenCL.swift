import HeedOps

/// Batch normalisation: kernels of `Kernels/normalization.cl`, launched as
/// `NormalizationLaunch` says (one work-group per channel).
extension OpenCLBackend {
    /// The launch the normalization kernels use on this backend: the tuning's (a tuning
    /// file's winner, or a candidate of `heed tune` or a test), else the device's defaults.
    public var normalizationLaunch: NormalizationLaunch {
        get throws {
            guard let chosen = tuning.normalization else { return shapes.normalization }
            try chosen.validate(for: device)
            return chosen
        }
    }

    public static let normalization: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(NormalizationOps.forwardTraining) { backend, d, b in
            try backend.launchBatchNorm(
                "forward_training", d, NormalizationOps.forwardTraining.errorName,
                buffers: [b.input, b.weight, b.bias, b.runningMean, b.runningVariance, b.output, b.savedMean, b.savedInverseStd],
                settings: [.float(d.epsilon), .float(d.momentum)])
        },
        OpImplementation(NormalizationOps.forwardInference) { backend, d, b in
            try backend.launchBatchNorm(
                "forward_inference", d, NormalizationOps.forwardInference.errorName,
                buffers: [b.input, b.weight, b.bias, b.runningMean, b.runningVariance, b.output],
                settings: [.float(d.epsilon)])
        },
        OpImplementation(NormalizationOps.backward) { backend, d, b in
            // The fused kernel reads the forward's output after dy (the op's check makes sure it is there).
            try backend.launchBatchNorm(
                "backward", d, NormalizationOps.backward.errorName,
                buffers: [b.input, b.outputGradient] + (d.relu ? [b.output] : [])
                    + [b.weight, b.savedMean, b.savedInverseStd, b.inputGradient, b.weightGradient, b.biasGradient],
                settings: [])
        },
    ]

    /// Launches `batch_norm_<direction>` (`batch_norm_relu_<direction>` for a fused ReLU),
    /// one group per channel: the buffers, then channels, spatial and batch, then `settings`.
    private func launchBatchNorm(
        _ direction: String, _ d: BatchNormDescriptor, _ op: String, buffers: [OpenCLBuffer], settings: [KernelArgument]
    ) throws {
        let kernel = (d.relu ? "batch_norm_relu_" : "batch_norm_") + direction
        // The kernels index elements with 32-bit ints.
        _ = try KernelArgument.int(d.count, op)
        let shape = try normalizationLaunch
        try launch(
            family: "normalization", kernel: kernel, defines: shape.defines,
            global: [d.channels * shape.itemsPerChannel], local: [shape.itemsPerChannel],
            arguments: buffers.map { .buffer($0) } + [try .int(d.channels, op), try .int(d.spatial, op), try .int(d.batch, op)]
                + settings)
    }
}
