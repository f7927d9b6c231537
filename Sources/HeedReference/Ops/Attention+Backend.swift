import HeedOps

/// The attention ops on the reference backend: validate, then the `Reference` functions.
extension ReferenceBackend {
    public func attendedSumForward(_ d: AttentionDescriptor, values: any DeviceBuffer,
                                   mask: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "attended_sum"
        let (v, m, o) = (try floats(values, op, "values"), try floats(mask, op, "mask"), try floats(output, op, "output"))
        try d.validate(op, [("values", .values, v.count), ("mask", .perPosition, m.count), ("output", .perClass, o.count)])
        o.floats = Reference.attendedSum(d, values: v.floats, mask: m.floats)
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
        (dv.floats, dm.floats) = Reference.attendedSumBackward(d, values: v.floats, mask: m.floats, outputGradient: dout.floats)
    }

    public func attentionGatesForward(_ d: AttentionDescriptor, scores: any DeviceBuffer, mask: any DeviceBuffer,
                                      headOutputs: any DeviceBuffer, gates: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "attention_gates"
        let (s, m) = (try floats(scores, op, "scores"), try floats(mask, op, "mask"))
        let o = try floats(headOutputs, op, "head outputs")
        let (g, out) = (try floats(gates, op, "gates"), try floats(output, op, "output"))
        try d.validate(op, needsHeads: true, [("scores", .perPosition, s.count), ("mask", .perPosition, m.count),
                            ("head outputs", .perClass, o.count), ("gates", .perHead, g.count), ("output", .combined, out.count)])
        (g.floats, out.floats) = Reference.attentionGates(d, scores: s.floats, mask: m.floats, headOutputs: o.floats)
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
        (ds.floats, dm.floats, dO.floats) = Reference.attentionGatesBackward(
            d, scores: s.floats, mask: m.floats, headOutputs: o.floats, outputGradient: dout.floats)
    }

    public func aggregationForward(_ d: AggregationDescriptor, sources: any DeviceBuffer,
                                   gates: any DeviceBuffer, output: any DeviceBuffer) throws {
        let op = "aggregation"
        let (x, g, out) = (try floats(sources, op, "sources"), try floats(gates, op, "gates"), try floats(output, op, "output"))
        try d.validate(op, sources: [x.count], gates: [g.count], outputs: [out.count])
        out.floats = Reference.aggregation(d, sources: x.floats, gates: g.floats)
    }

    public func aggregationBackward(_ d: AggregationDescriptor, sources: any DeviceBuffer, gates: any DeviceBuffer,
                                    outputGradient: any DeviceBuffer,
                                    sourcesGradient: any DeviceBuffer, gatesGradient: any DeviceBuffer) throws {
        let op = "aggregation"
        let (x, g) = (try floats(sources, op, "sources"), try floats(gates, op, "gates"))
        let dout = try floats(outputGradient, op, "output gradient")
        let (dx, dg) = (try floats(sourcesGradient, op, "sources gradient"), try floats(gatesGradient, op, "gates gradient"))
        try d.validate(op, sources: [x.count, dx.count], gates: [g.count, dg.count], outputs: [dout.count])
        (dx.floats, dg.floats) = Reference.aggregationBackward(d, sources: x.floats, gates: g.floats, outputGradient: dout.floats)
    }

    public func headSeparationForward(_ d: HeadSeparationDescriptor, masks: any DeviceBuffer,
                                      gram: any DeviceBuffer, loss: any DeviceBuffer) throws {
        let op = "head_separation"
        let (m, gr, r) = (try floats(masks, op, "masks"), try floats(gram, op, "gram"), try floats(loss, op, "loss"))
        try d.validate(op, masks: [m.count], gram: gr.count, scalars: ["loss": r.count])
        let result = Reference.headSeparation(d, masks: m.floats)
        gr.floats = result.gram
        r.floats = [result.loss]
    }

    public func headSeparationBackward(_ d: HeadSeparationDescriptor, masks: any DeviceBuffer, gram: any DeviceBuffer,
                                       lossGradient: any DeviceBuffer, masksGradient: any DeviceBuffer) throws {
        let op = "head_separation"
        let (m, gr) = (try floats(masks, op, "masks"), try floats(gram, op, "gram"))
        let (g, dm) = (try floats(lossGradient, op, "loss gradient"), try floats(masksGradient, op, "masks gradient"))
        try d.validate(op, masks: [m.count, dm.count], gram: gr.count, scalars: ["loss gradient": g.count])
        dm.floats = Reference.headSeparationBackward(d, masks: m.floats, gram: gr.floats, lossGradient: g.floats[0])
    }
}
