import HeedOps

/// Softmax and log-softmax with `Kernels/softmax.cl`: one work-group per row. Both kinds
/// share these bodies; the descriptor's kind picks the kernel.
extension OpenCLBackend {
    /// Work items per row (`SOFTMAX_WG`); the launch's local size.
    static let softmaxWorkGroup = 64

    public static let softmax: [OpImplementation<OpenCLBackend>] = SoftmaxKind.allCases.flatMap { kind in
        [
            OpImplementation(SoftmaxOps.forward(kind)) { backend, d, b in
                try backend.launchSoftmax(d, kernel: "\(d.op)_forward", [.buffer(b.input), .buffer(b.output)])
            },
            OpImplementation(SoftmaxOps.backward(kind)) { backend, d, b in
                try backend.launchSoftmax(
                    d, kernel: "\(d.op)_backward",
                    [.buffer(b.output), .buffer(b.outputGradient), .buffer(b.inputGradient)])
            },
        ]
    }

    /// Launches one group per row, with the sizes appended to `buffers`.
    private func launchSoftmax(_ d: SoftmaxDescriptor, kernel: String, _ buffers: [KernelArgument]) throws {
        // The kernels index elements with 32-bit ints.
        _ = try KernelArgument.int(d.count, d.op)
        let group = Self.softmaxWorkGroup
        try launch(
            family: "softmax", kernel: kernel, defines: ["SOFTMAX_WG": "\(group)"],
            global: [d.rows * group], local: [group],
            arguments: buffers + [try .int(d.axis, d.op), try .int(d.inner, d.op)])
    }
}
