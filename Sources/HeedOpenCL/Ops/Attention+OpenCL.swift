import HeedOps
/// The attention ops with `Kernels/attention.cl`. The gates and the aggregation run
/// fused, one work-group per item; see the kernel file's banner for the mapping.
extension OpenCLBackend {
    /// Work items per group (`ATTENTION_WG`); the launch's local size.
    static let attentionWorkGroup = 64
    /// Positions per item of `attended_sum_backward_mask` (its `MASK_BLOCK`: 4 vectors of 8).
    static let attentionMaskBlock = 32

    public func attendedSumForward(_ d: AttentionDescriptor, values: any DeviceBuffer,
                                   mask: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "attended_sum"
        let (v, m, o) = (try floats(values, op, "values"), try floats(mask, op, "mask"), try floats(output, op, "output"))
        try d.validate(op, [("values", .values, v.count), ("mask", .perPosition, m.count), ("output", .perClass, o.count)])
        let rows = d.count(.perClass)
        _ = try KernelArgument.int(d.count(.values), op)
        try launch(family: "attention", kernel: "attended_sum_forward", defines: attentionDefines, global: [rows], arguments: [
            .buffer(v), .buffer(m), .buffer(o), try .int(rows, op), try .int(d.classes, op), try .int(d.positions, op),
        ])
    }

    public func attendedSumBackward(_ d: AttentionDescriptor, values: any DeviceBuffer, mask: any DeviceBuffer,
                                    outputGradient: any DeviceBuffer,
                                    valuesGradient: any DeviceBuffer, maskGradient: any DeviceBuffer) throws {
        let op = "attended_sum"
        let (v, m) = (try floats(values, op, "values"), try floats(mask, op, "mask"))
        let dout = try floats(outputGradient, op, "output gradient")
        let (dv, dm) = (try floats(valuesGradient, op, "values gradient"), try floats(maskGradient, op, "mask gradient"))
        try d.validate(op, [("values", .values, v.count), ("mask", .perPosition, m.count),
                            ("output gradient", .perClass, dout.count),
                            ("values gradient", .values, dv.count), ("mask gradient", .perPosition, dm.count)])
        _ = try KernelArgument.int(d.count(.values), op)
        let sizes: [KernelArgument] = [try .int(d.classes, op), try .int(d.positions, op)]
        let rows = d.count(.perClass)
        try launch(family: "attention", kernel: "attended_sum_backward_values", defines: attentionDefines,
                   global: [rows], arguments: [.buffer(m), .buffer(dout), .buffer(dv), try .int(rows, op)] + sizes)
        // One item per MASK_BLOCK consecutive positions of each (b, k) (see attention.cl).
        let blocks = (d.positions + Self.attentionMaskBlock - 1) / Self.attentionMaskBlock
        let items = d.batch * d.heads
        try launch(family: "attention", kernel: "attended_sum_backward_mask", defines: attentionDefines,
                   global: [blocks, items], arguments: [.buffer(v), .buffer(dout), .buffer(dm), try .int(items, op)] + sizes)
    }

    public func attentionGatesForward(_ d: AttentionDescriptor, scores: any DeviceBuffer, mask: any DeviceBuffer,
                                      headOutputs: any DeviceBuffer, gates: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "attention_gates"
        let (s, m) = (try floats(scores, op, "scores"), try floats(mask, op, "mask"))
        let o = try floats(headOutputs, op, "head outputs")
        let (g, out) = (try floats(gates, op, "gates"), try floats(output, op, "output"))
        try d.validate(op, needsHeads: true, [("scores", .perPosition, s.count), ("mask", .perPosition, m.count),
                            ("head outputs", .perClass, o.count), ("gates", .perHead, g.count), ("output", .combined, out.count)])
        let perHead = KernelArgument.local(bytes: max(d.heads, 1) * 4)
        try launchGroups(op, "attention_gates_forward", groups: d.batch, sizeCheck: d.count(.perPosition) + d.count(.perClass), [
            .buffer(s), .buffer(m), .buffer(o), .buffer(g), .buffer(out), perHead, perHead,
            try .int(d.heads, op), try .int(d.classes, op), try .int(d.positions, op),
        ])
    }

    public func attentionGatesBackward(_ d: AttentionDescriptor, scores: any DeviceBuffer, mask: any DeviceBuffer,
                                       headOutputs: any DeviceBuffer, outputGradient: any DeviceBuffer,
                                       scoresGradient: any DeviceBuffer, maskGradient: any DeviceBuffer,
                                       headOutputsGradient: any DeviceBuffer) throws {
        let op = "attention_gates"
        let (s, m) = (try floats(scores, op, "scores"), try floats(mask, op, "mask"))
        let o = try floats(headOutputs, op, "head outputs")
        let dout = try floats(outputGradient, op, "output gradient")
        let (ds, dm) = (try floats(scoresGradient, op, "scores gradient"), try floats(maskGradient, op, "mask gradient"))
        let dO = try floats(headOutputsGradient, op, "head outputs gradient")
        try d.validate(op, needsHeads: true, [("scores", .perPosition, s.count), ("mask", .perPosition, m.count),
                            ("head outputs", .perClass, o.count), ("output gradient", .combined, dout.count),
                            ("scores gradient", .perPosition, ds.count), ("mask gradient", .perPosition, dm.count),
                            ("head outputs gradient", .perClass, dO.count)])
        let perHead = KernelArgument.local(bytes: max(d.heads, 1) * 4)
        try launchGroups(op, "attention_gates_backward", groups: d.batch, sizeCheck: d.count(.perPosition) + d.count(.perClass), [
            .buffer(s), .buffer(m), .buffer(o), .buffer(dout), .buffer(ds), .buffer(dm), .buffer(dO),
            perHead, perHead, perHead,
            try .int(d.heads, op), try .int(d.classes, op), try .int(d.positions, op),
        ])
    }

    public func aggregationForward(_ d: AggregationDescriptor, sources: any DeviceBuffer,
                                   gates: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "aggregation"
        let (x, g, out) = (try floats(sources, op, "sources"), try floats(gates, op, "gates"), try floats(output, op, "output"))
        try d.validate(op, sources: [x.count], gates: [g.count], outputs: [out.count])
        let (perSource, sigmoids) = aggregationLocals(d)
        try launchGroups(op, "aggregation_forward", groups: d.batch, sizeCheck: x.count, [
            .buffer(x), .buffer(g), .buffer(out), perSource, perSource, sigmoids,
            try .int(d.sources, op), try .int(d.classes, op), .int(d.gate == .sigmoid ? 1 : 0),
        ])
    }

    public func aggregationBackward(_ d: AggregationDescriptor, sources: any DeviceBuffer, gates: any DeviceBuffer,
                                    outputGradient: any DeviceBuffer,
                                    sourcesGradient: any DeviceBuffer, gatesGradient: any DeviceBuffer) throws {
        let op = "aggregation"
        let (x, g) = (try floats(sources, op, "sources"), try floats(gates, op, "gates"))
        let dout = try floats(outputGradient, op, "output gradient")
        let (dx, dg) = (try floats(sourcesGradient, op, "sources gradient"), try floats(gatesGradient, op, "gates gradient"))
        try d.validate(op, sources: [x.count, dx.count], gates: [g.count, dg.count], outputs: [dout.count])
        let (perSource, sigmoids) = aggregationLocals(d)
        try launchGroups(op, "aggregation_backward", groups: d.batch, sizeCheck: x.count, [
            .buffer(x), .buffer(g), .buffer(dout), .buffer(dx), .buffer(dg), perSource, perSource, sigmoids, perSource,
            try .int(d.sources, op), try .int(d.classes, op), .int(d.gate == .sigmoid ? 1 : 0),
        ])
    }

    public func headSeparationForward(_ d: HeadSeparationDescriptor, masks: any DeviceBuffer,
                                      gram: any DeviceBuffer, loss: any DeviceBuffer) throws {
        let op = "head_separation"
        let (m, gr, r) = (try floats(masks, op, "masks"), try floats(gram, op, "gram"), try floats(loss, op, "loss"))
        try d.validate(op, masks: [m.count], gram: gr.count, scalars: ["loss": r.count])
        try launchGroups(op, "head_separation_gram", groups: d.gramCount, sizeCheck: d.maskCount, [
            .buffer(m), .buffer(gr), try .int(d.heads, op), try .int(d.height, op), try .int(d.width, op),
        ])
        try launchGroups(op, "head_separation_forward", groups: 1, sizeCheck: d.gramCount,
                         [.buffer(gr), .buffer(r), try .int(d.batch, op), try .int(d.heads, op)])
    }

    public func headSeparationBackward(_ d: HeadSeparationDescriptor, masks: any DeviceBuffer, gram: any DeviceBuffer,
                                       lossGradient: any DeviceBuffer, masksGradient: any DeviceBuffer) throws {
        let op = "head_separation"
        let (m, gr) = (try floats(masks, op, "masks"), try floats(gram, op, "gram"))
        let (g, dm) = (try floats(lossGradient, op, "loss gradient"), try floats(masksGradient, op, "masks gradient"))
        try d.validate(op, masks: [m.count, dm.count], gram: gr.count, scalars: ["loss gradient": g.count])
        _ = try KernelArgument.int(d.maskCount, op)
        try launch(family: "attention", kernel: "head_separation_backward", defines: attentionDefines,
                   global: [dm.count], arguments: [
                       .buffer(m), .buffer(gr), .buffer(g), .buffer(dm),
                       try .int(d.batch, op), try .int(d.heads, op), try .int(d.height, op), try .int(d.width, op),
                   ])
    }

    // MARK: Helpers

    private var attentionDefines: [String: String] { ["ATTENTION_WG": "\(Self.attentionWorkGroup)"] }

    /// Launches `groups` work-groups of `attentionWorkGroup` items. `sizeCheck` is the
    /// largest element index the kernel forms, which must fit its 32-bit ints.
    private func launchGroups(_ op: String, _ kernel: String, groups: Int, sizeCheck: Int, _ arguments: [KernelArgument]) throws {
        _ = try KernelArgument.int(sizeCheck, op)
        let group = Self.attentionWorkGroup
        try launch(family: "attention", kernel: kernel, defines: attentionDefines,
                   global: [groups * group], local: [group], arguments: arguments)
    }

    /// Local arrays of the aggregation kernels: N floats per source, and N + 1 for the
    /// sigmoids and their denominator.
    private func aggregationLocals(_ d: AggregationDescriptor) -> (KernelArgument, KernelArgument) {
        (.local(bytes: max(d.sources, 1) * 4), .local(bytes: (d.sources + 1) * 4))
    }
}
