import HeedOps

/// The attention ops with `Kernels/attention.cl`. The gates and the aggregation run
/// fused, one work-group per item; the attended sums in the mapping `DeviceShapes.attendedSums`
/// says. See the kernel file's banner for each kernel's mapping.
extension OpenCLBackend {
    /// Work items per group (`ATTENTION_WG`); the launch's local size.
    static let attentionWorkGroup = 64
    /// Positions per item of `attended_sum_backward_mask` (its `MASK_BLOCK`: 4 vectors of 8).
    static let attentionMaskBlock = 32

    public static let attention: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(AttentionOps.attendedSumForward) { backend, d, b in
            let op = AttentionOps.attendedSumForward.errorName
            let rows = d.count(.perClass)
            _ = try KernelArgument.int(d.count(.values), op)
            let sizes: [KernelArgument] = [try .int(d.classes, op), try .int(d.positions, op)]
            let buffers: [KernelArgument] = [.buffer(b.values), .buffer(b.mask), .buffer(b.output)]
            switch backend.shapes.attendedSums {
            case .rowsPerItem:
                try backend.launch(
                    family: "attention", kernel: "attended_sum_forward", defines: attentionDefines,
                    global: [rows], arguments: buffers + [try .int(rows, op)] + sizes)
            case .elementsPerItem:
                try backend.launchGroups(op, "attended_sum_forward_grouped", groups: rows, sizeCheck: rows, buffers + sizes)
            }
        },
        OpImplementation(AttentionOps.attendedSumBackward) { backend, d, b in
            let op = AttentionOps.attendedSumBackward.errorName
            _ = try KernelArgument.int(d.count(.values), op)
            let sizes: [KernelArgument] = [try .int(d.classes, op), try .int(d.positions, op)]
            let rows = d.count(.perClass)
            let items = d.batch * d.heads
            let values: [KernelArgument] = [.buffer(b.mask), .buffer(b.outputGradient), .buffer(b.valuesGradient), try .int(rows, op)]
            let mask: [KernelArgument] = [.buffer(b.values), .buffer(b.outputGradient), .buffer(b.maskGradient), try .int(items, op)]
            switch backend.shapes.attendedSums {
            case .rowsPerItem:
                try backend.launch(
                    family: "attention", kernel: "attended_sum_backward_values", defines: attentionDefines,
                    global: [rows], arguments: values + sizes)
                // One item per MASK_BLOCK consecutive positions of each (b, k) (see attention.cl).
                let blocks = (d.positions + attentionMaskBlock - 1) / attentionMaskBlock
                try backend.launch(
                    family: "attention", kernel: "attended_sum_backward_mask", defines: attentionDefines,
                    global: [blocks, items], arguments: mask + sizes)
            case .elementsPerItem:
                try backend.launch(
                    family: "attention", kernel: "attended_sum_backward_values_elements", defines: attentionDefines,
                    global: [d.positions, rows], arguments: values + sizes)
                try backend.launch(
                    family: "attention", kernel: "attended_sum_backward_mask_elements", defines: attentionDefines,
                    global: [d.positions, items], arguments: mask + sizes)
            }
        },
        OpImplementation(AttentionOps.gatesForward) { backend, d, b in
            let op = AttentionOps.gatesForward.errorName
            let perHead = KernelArgument.local(bytes: max(d.heads, 1) * 4)
            try backend.launchGroups(
                op, "attention_gates_forward", groups: d.batch,
                sizeCheck: d.count(.perPosition) + d.count(.perClass),
                [
                    .buffer(b.scores), .buffer(b.mask), .buffer(b.headOutputs), .buffer(b.gates), .buffer(b.output), perHead, perHead,
                    try .int(d.heads, op), try .int(d.classes, op), try .int(d.positions, op),
                ])
        },
        OpImplementation(AttentionOps.gatesBackward) { backend, d, b in
            let op = AttentionOps.gatesBackward.errorName
            let perHead = KernelArgument.local(bytes: max(d.heads, 1) * 4)
            try backend.launchGroups(
                op, "attention_gates_backward", groups: d.batch,
                sizeCheck: d.count(.perPosition) + d.count(.perClass),
                [
                    .buffer(b.scores), .buffer(b.mask), .buffer(b.headOutputs), .buffer(b.outputGradient),
                    .buffer(b.scoresGradient), .buffer(b.maskGradient), .buffer(b.headOutputsGradient),
                    perHead, perHead, perHead,
                    try .int(d.heads, op), try .int(d.classes, op), try .int(d.positions, op),
                ])
        },
        OpImplementation(AttentionOps.aggregationForward) { backend, d, b in
            let op = AttentionOps.aggregationForward.errorName
            let (perSource, sigmoids) = aggregationLocals(d)
            try backend.launchGroups(
                op, "aggregation_forward", groups: d.batch, sizeCheck: b.sources.count,
                [
                    .buffer(b.sources), .buffer(b.gates), .buffer(b.output), perSource, perSource, sigmoids,
                    try .int(d.sources, op), try .int(d.classes, op), .int(d.gate == .sigmoid ? 1 : 0),
                ])
        },
        OpImplementation(AttentionOps.aggregationBackward) { backend, d, b in
            let op = AttentionOps.aggregationBackward.errorName
            let (perSource, sigmoids) = aggregationLocals(d)
            try backend.launchGroups(
                op, "aggregation_backward", groups: d.batch, sizeCheck: b.sources.count,
                [
                    .buffer(b.sources), .buffer(b.gates), .buffer(b.outputGradient), .buffer(b.sourcesGradient),
                    .buffer(b.gatesGradient), perSource, perSource, sigmoids, perSource,
                    try .int(d.sources, op), try .int(d.classes, op), .int(d.gate == .sigmoid ? 1 : 0),
                ])
        },
        OpImplementation(AttentionOps.headSeparationForward) { backend, d, b in
            let op = AttentionOps.headSeparationForward.errorName
            try backend.launchGroups(
                op, "head_separation_gram", groups: d.gramCount, sizeCheck: d.maskCount,
                [
                    .buffer(b.masks), .buffer(b.gram), try .int(d.heads, op), try .int(d.height, op), try .int(d.width, op),
                ])
            try backend.launchGroups(
                op, "head_separation_forward", groups: 1, sizeCheck: d.gramCount,
                [.buffer(b.gram), .buffer(b.loss), try .int(d.batch, op), try .int(d.heads, op)])
        },
        OpImplementation(AttentionOps.headSeparationBackward) { backend, d, b in
            let op = AttentionOps.headSeparationBackward.errorName
            _ = try KernelArgument.int(d.maskCount, op)
            try backend.launch(
                family: "attention", kernel: "head_separation_backward", defines: attentionDefines,
                global: [d.maskCount],
                arguments: [
                    .buffer(b.masks), .buffer(b.gram), .buffer(b.lossGradient), .buffer(b.masksGradient),
                    try .int(d.batch, op), try .int(d.heads, op), try .int(d.height, op), try .int(d.width, op),
                ])
        },
    ]

    // MARK: Helpers

    private static let attentionDefines = ["ATTENTION_WG": "\(attentionWorkGroup)"]

    /// Launches `groups` work-groups of `attentionWorkGroup` items. `sizeCheck` is the
    /// largest element index the kernel forms, which must fit its 32-bit ints.
    private func launchGroups(_ op: String, _ kernel: String, groups: Int, sizeCheck: Int, _ arguments: [KernelArgument]) throws {
        _ = try KernelArgument.int(sizeCheck, op)
        let group = Self.attentionWorkGroup
        try launch(
            family: "attention", kernel: kernel, defines: Self.attentionDefines,
            global: [groups * group], local: [group], arguments: arguments)
    }

    /// Local arrays of the aggregation kernels: N floats per source, and N + 1 for the
    /// sigmoids and their denominator.
    private static func aggregationLocals(_ d: AggregationDescriptor) -> (KernelArgument, KernelArgument) {
        (.local(bytes: max(d.sources, 1) * 4), .local(bytes: (d.sources + 1) * 4))
    }
}
