import HeedOps

/// The attention ops on the reference backend: the `Reference` functions.
extension ReferenceBackend {
    public static let attention: [OpImplementation<ReferenceBackend>] = [
        OpImplementation(AttentionOps.attendedSumForward) { _, d, b in
            b.output.floats = Reference.attendedSum(d, values: b.values.floats, mask: b.mask.floats)
        },
        OpImplementation(AttentionOps.attendedSumBackward) { _, d, b in
            (b.valuesGradient.floats, b.maskGradient.floats) = Reference.attendedSumBackward(
                d, values: b.values.floats, mask: b.mask.floats, outputGradient: b.outputGradient.floats)
        },
        OpImplementation(AttentionOps.gatesForward) { _, d, b in
            (b.gates.floats, b.output.floats) = Reference.attentionGates(
                d, scores: b.scores.floats, mask: b.mask.floats, headOutputs: b.headOutputs.floats)
        },
        OpImplementation(AttentionOps.gatesBackward) { _, d, b in
            (b.scoresGradient.floats, b.maskGradient.floats, b.headOutputsGradient.floats) = Reference.attentionGatesBackward(
                d, scores: b.scores.floats, mask: b.mask.floats, headOutputs: b.headOutputs.floats,
                outputGradient: b.outputGradient.floats)
        },
        OpImplementation(AttentionOps.aggregationForward) { _, d, b in
            b.output.floats = Reference.aggregation(d, sources: b.sources.floats, gates: b.gates.floats)
        },
        OpImplementation(AttentionOps.aggregationBackward) { _, d, b in
            (b.sourcesGradient.floats, b.gatesGradient.floats) = Reference.aggregationBackward(
                d, sources: b.sources.floats, gates: b.gates.floats, outputGradient: b.outputGradient.floats)
        },
        OpImplementation(AttentionOps.headSeparationForward) { _, d, b in
            let result = Reference.headSeparation(d, masks: b.masks.floats)
            b.gram.floats = result.gram
            b.loss.floats = [result.loss]
        },
        OpImplementation(AttentionOps.headSeparationBackward) { _, d, b in
            b.masksGradient.floats = Reference.headSeparationBackward(
                d, masks: b.masks.floats, gram: b.gram.floats,
                lossGradient: b.lossGradient.floats[0])
        },
    ]
}
