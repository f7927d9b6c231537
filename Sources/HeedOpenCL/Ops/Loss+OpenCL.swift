import HeedOps

/// NLL and cross-entropy with `Kernels/loss.cl`; the cross-entropy forward is the
/// log-softmax op followed by the NLL kernel, its backward one fused kernel.
/// Out-of-range labels give NaN (see `LossOps`): they are not read back to check.
extension OpenCLBackend {
    /// Work items of the reducing group (`LOSS_WG`).
    static let lossWorkGroup = 256

    public static let loss: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(LossOps.nllForward) { backend, d, b in
            try backend.launchNLL(d, logp: b.logProbabilities, labels: b.labels, loss: b.loss)
        },
        OpImplementation(LossOps.nllBackward) { backend, d, b in
            let op = LossOps.nllBackward.errorName
            _ = try KernelArgument.int(b.inputGradient.count, op)  // element indices are 32-bit in the kernel
            try backend.launch(
                family: "loss", kernel: "nll_loss_backward", global: [b.inputGradient.count],
                arguments: [
                    .buffer(b.labels), .buffer(b.lossGradient), .buffer(b.inputGradient), try .int(d.batch, op), try .int(d.classes, op),
                ])
        },
        OpImplementation(LossOps.crossEntropyForward) { backend, d, b in
            try backend.softmaxForward(
                SoftmaxDescriptor(.logSoftmax, outer: d.batch, axis: d.classes),
                input: b.logits, output: b.logProbabilities)
            try backend.launchNLL(d, logp: b.logProbabilities, labels: b.labels, loss: b.loss)
        },
        OpImplementation(LossOps.crossEntropyBackward) { backend, d, b in
            let op = LossOps.crossEntropyBackward.errorName
            _ = try KernelArgument.int(b.logitsGradient.count, op)  // element indices are 32-bit in the kernel
            try backend.launch(
                family: "loss", kernel: "cross_entropy_backward", global: [b.logitsGradient.count],
                arguments: [
                    .buffer(b.logProbabilities), .buffer(b.labels), .buffer(b.lossGradient), .buffer(b.logitsGradient),
                    try .int(d.batch, op), try .int(d.classes, op),
                ])
        },
        OpImplementation(LossOps.stepTally) { backend, d, b in
            let op = LossOps.stepTally.errorName
            _ = try KernelArgument.int(d.batch * d.classes, op)
            let group = OpenCLBackend.lossWorkGroup
            try backend.launch(
                family: "loss", kernel: "step_tally", defines: ["LOSS_WG": "\(group)"], global: [group], local: [group],
                arguments: [
                    .buffer(b.logProbabilities), .buffer(b.labels), .buffer(b.loss), .buffer(b.tally),
                    try .int(d.batch, op), try .int(d.classes, op), try .int(d.slot, op),
                ])
        },
    ]

    private func launchNLL(_ d: LossDescriptor, logp: OpenCLBuffer, labels: OpenCLBuffer, loss: OpenCLBuffer) throws {
        let op = LossOps.nllForward.errorName
        _ = try KernelArgument.int(d.batch * d.classes, op)
        let group = Self.lossWorkGroup
        try launch(
            family: "loss", kernel: "nll_loss_forward", defines: ["LOSS_WG": "\(group)"],
            global: [group], local: [group],
            arguments: [
                .buffer(logp), .buffer(labels), .buffer(loss),
                try .int(d.batch, op), try .int(d.classes, op),
            ])
    }
}
