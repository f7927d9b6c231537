import HeedOps
/// NLL and cross-entropy with `Kernels/loss.cl`; the cross-entropy forward is the
/// log-softmax kernel followed by the NLL kernel, its backward one fused kernel.
/// Out-of-range labels give NaN (see `LossOps`): they are not read back to check.
extension OpenCLBackend {
    /// Work items of the reducing group (`LOSS_WG`).
    static let lossWorkGroup = 256

    public func nllLossForward(_ d: LossDescriptor, logProbabilities: any DeviceBuffer,
                               labels: any DeviceBuffer, loss: any DeviceBuffer) throws {
        let op = "nll_loss"
        let logp = try floats(logProbabilities, op, "log-probabilities")
        let labels = try ints(labels, op)
        let loss = try floats(loss, op, "loss")
        try d.validate(op, scores: ["log-probabilities": logp.count], labels: labels.count, scalars: ["loss": loss.count])
        try launchNLL(d, logp: logp, labels: labels, loss: loss)
    }

    public func nllLossBackward(_ d: LossDescriptor, labels: any DeviceBuffer,
                                lossGradient: any DeviceBuffer, inputGradient: any DeviceBuffer) throws {
        let op = "nll_loss"
        let labels = try ints(labels, op)
        let g = try floats(lossGradient, op, "loss gradient")
        let dx = try floats(inputGradient, op, "input gradient")
        try d.validate(op, scores: ["input gradient": dx.count], labels: labels.count, scalars: ["loss gradient": g.count])
        _ = try KernelArgument.int(dx.count, op)   // element indices are 32-bit in the kernel
        try launch(family: "loss", kernel: "nll_loss_backward", global: [dx.count], arguments: [
            .buffer(labels), .buffer(g), .buffer(dx), try .int(d.batch, op), try .int(d.classes, op),
        ])
    }

    public func crossEntropyForward(_ d: LossDescriptor, logits: any DeviceBuffer, labels: any DeviceBuffer,
                                    logProbabilities: any DeviceBuffer, loss: any DeviceBuffer) throws {
        let op = "cross_entropy"
        let x = try floats(logits, op, "logits")
        let labels = try ints(labels, op)
        let logp = try floats(logProbabilities, op, "log-probabilities")
        let loss = try floats(loss, op, "loss")
        try d.validate(op, scores: ["logits": x.count, "log-probabilities": logp.count], labels: labels.count,
                       scalars: ["loss": loss.count])
        try softmaxForward(SoftmaxDescriptor(.logSoftmax, outer: d.batch, axis: d.classes), input: x, output: logp)
        try launchNLL(d, logp: logp, labels: labels, loss: loss)
    }

    public func crossEntropyBackward(_ d: LossDescriptor, logProbabilities: any DeviceBuffer, labels: any DeviceBuffer,
                                     lossGradient: any DeviceBuffer, logitsGradient: any DeviceBuffer) throws {
        let op = "cross_entropy"
        let logp = try floats(logProbabilities, op, "log-probabilities")
        let labels = try ints(labels, op)
        let g = try floats(lossGradient, op, "loss gradient")
        let dx = try floats(logitsGradient, op, "logits gradient")
        try d.validate(op, scores: ["log-probabilities": logp.count, "logits gradient": dx.count], labels: labels.count,
                       scalars: ["loss gradient": g.count])
        _ = try KernelArgument.int(dx.count, op)   // element indices are 32-bit in the kernel
        try launch(family: "loss", kernel: "cross_entropy_backward", global: [dx.count], arguments: [
            .buffer(logp), .buffer(labels), .buffer(g), .buffer(dx), try .int(d.batch, op), try .int(d.classes, op),
        ])
    }

    private func launchNLL(_ d: LossDescriptor, logp: OpenCLBuffer, labels: OpenCLBuffer, loss: OpenCLBuffer) throws {
        _ = try KernelArgument.int(d.batch * d.classes, "nll_loss")
        let group = Self.lossWorkGroup
        try launch(family: "loss", kernel: "nll_loss_forward", defines: ["LOSS_WG": "\(group)"],
                   global: [group], local: [group], arguments: [
                       .buffer(logp), .buffer(labels), .buffer(loss),
                       try .int(d.batch, "nll_loss"), try .int(d.classes, "nll_loss"),
                   ])
    }

    /// `buffer` as an int32 buffer of labels of this backend, or a clear error.
    private func ints(_ buffer: any DeviceBuffer, _ op: String) throws -> OpenCLBuffer {
        let buffer = try own(buffer, op, "labels")
        try buffer.expect(.int32, for: op, argument: "labels")
        return buffer
    }
}
