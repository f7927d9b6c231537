import HeedOps
/// Softmax and log-softmax with `Kernels/softmax.cl`: one work-group per row.
extension OpenCLBackend {
    /// Work items per row (`SOFTMAX_WG`); the launch's local size.
    static let softmaxWorkGroup = 64

    public func softmaxForward(_ d: SoftmaxDescriptor, input: any DeviceBuffer, output: any DeviceBuffer) throws {
        let (x, y) = (try floats(input, d.op, "input"), try floats(output, d.op, "output"))
        try d.validate(counts: ["input": x.count, "output": y.count])
        try launchSoftmax(d, kernel: "\(d.op)_forward", [.buffer(x), .buffer(y)])
    }

    public func softmaxBackward(_ d: SoftmaxDescriptor, output: any DeviceBuffer,
                                outputGradient: any DeviceBuffer, inputGradient: any DeviceBuffer) throws {
        let y = try floats(output, d.op, "output")
        let dy = try floats(outputGradient, d.op, "output gradient")
        let dx = try floats(inputGradient, d.op, "input gradient")
        try d.validate(counts: ["output": y.count, "output gradient": dy.count, "input gradient": dx.count])
        try launchSoftmax(d, kernel: "\(d.op)_backward", [.buffer(y), .buffer(dy), .buffer(dx)])
    }

    /// Launches one group per row, with the sizes appended to `buffers`.
    private func launchSoftmax(_ d: SoftmaxDescriptor, kernel: String, _ buffers: [KernelArgument]) throws {
        // The kernels index elements with 32-bit ints.
        _ = try KernelArgument.int(d.count, d.op)
        let group = Self.softmaxWorkGroup
        try launch(family: "softmax", kernel: kernel, defines: ["SOFTMAX_WG": "\(group)"],
                   global: [d.rows * group], local: [group],
                   arguments: buffers + [try .int(d.axis, d.op), try .int(d.inner, d.op)])
    }
}
