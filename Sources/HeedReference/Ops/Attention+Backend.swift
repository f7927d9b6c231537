import HeedOps

/// The attention ops on the reference backend: the `Reference` functions.
extension ReferenceBackend {
    public static let attention = bodies(attentionBodies(Float.self), attentionBodies(Double.self))

    static func attentionBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(AttentionOps.attendedSumForward) { d, b in
                b.output[T.self] = Reference.attendedSum(d, values: b.values[T.self], mask: b.mask[T.self])
            },
            ReferenceBody(AttentionOps.attendedSumBackward) { d, b in
                (b.valuesGradient[T.self], b.maskGradient[T.self]) = Reference.attendedSumBackward(
                    d, values: b.values[T.self], mask: b.mask[T.self], outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(AttentionOps.gatesForward) { d, b in
                (b.gates[T.self], b.output[T.self]) = Reference.attentionGates(
                    d, scores: b.scores[T.self], mask: b.mask[T.self], headOutputs: b.headOutputs[T.self])
            },
            ReferenceBody(AttentionOps.gatesBackward) { d, b in
                (b.scoresGradient[T.self], b.maskGradient[T.self], b.headOutputsGradient[T.self]) = Reference.attentionGatesBackward(
                    d, scores: b.scores[T.self], mask: b.mask[T.self], headOutputs: b.headOutputs[T.self],
                    outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(AttentionOps.aggregationForward) { d, b in
                b.output[T.self] = Reference.aggregation(d, sources: b.sources[T.self], gates: b.gates[T.self])
            },
            ReferenceBody(AttentionOps.aggregationBackward) { d, b in
                (b.sourcesGradient[T.self], b.gatesGradient[T.self]) = Reference.aggregationBackward(
                    d, sources: b.sources[T.self], gates: b.gates[T.self], outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(AttentionOps.headSeparationForward) { d, b in
                let result = Reference.headSeparation(d, masks: b.masks[T.self])
                b.gram[T.self] = result.gram
                b.loss[T.self] = [result.loss]
            },
            ReferenceBody(AttentionOps.headSeparationBackward) { d, b in
                b.masksGradient[T.self] = Reference.headSeparationBackward(
                    d, masks: b.masks[T.self], gram: b.gram[T.self],
                    lossGradient: b.lossGradient[T.self][0])
            },
        ]
    }
}
