import HeedOps

/// Linear layers as GEMMs, with the bias kernels of `Kernels/conv.cl` (a linear layer's
/// output is a convolution output with H'·W' = 1).
extension OpenCLBackend {
    public static let linear: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(LinearOps.forward) { backend, d, b in
            // y (N × out) = x (N × in) · Wᵀ, W stored (out × in).
            try backend.gemm(
                GemmDescriptor(transposeB: true, m: d.batch, n: d.outFeatures, k: d.inFeatures),
                a: b.input, b: b.weight, c: b.output)
            if let bias = b.optional("bias") {
                try backend.addOrSumBias(
                    backward: false, "linear", values: b.output, bias: bias, batch: d.batch,
                    channels: d.outFeatures, plane: 1)
            }
        },
        OpImplementation(LinearOps.backwardInput) { backend, d, b in
            // dx (N × in) = dy (N × out) · W (out × in).
            try backend.gemm(
                GemmDescriptor(m: d.batch, n: d.inFeatures, k: d.outFeatures),
                a: b.outputGradient, b: b.weight, c: b.inputGradient)
        },
        OpImplementation(LinearOps.backwardWeight) { backend, d, b in
            // dW (out × in) = dyᵀ · x, dy stored (N × out).
            try backend.gemm(
                GemmDescriptor(transposeA: true, m: d.outFeatures, n: d.inFeatures, k: d.batch),
                a: b.outputGradient, b: b.input, c: b.weightGradient)
        },
        OpImplementation(LinearOps.backwardBias) { backend, d, b in
            try backend.addOrSumBias(
                backward: true, "linear", values: b.outputGradient, bias: b.biasGradient,
                batch: d.batch, channels: d.outFeatures, plane: 1)
        },
    ]
}
