import Foundation
import HeedOps

extension Reference {
    /// `−(1/N)·Σₙ logp[n, labels[n]]`; throws on a label outside `0..<L`.
    public static func nllLoss<T: BinaryFloatingPoint>(_ d: LossDescriptor, logProbabilities logp: [T], labels: [Int32]) throws -> T {
        try d.checkLabels("nll_loss", labels)
        let sum = (0..<d.batch).reduce(0.0) { $0 + Double(logp[$1 * d.classes + Int(labels[$1])]) }
        return T(-sum / Double(d.batch))
    }

    /// `∂loss/∂logp`: `−g/N` at each item's label, 0 elsewhere.
    public static func nllLossBackward<T: BinaryFloatingPoint>(_ d: LossDescriptor, labels: [Int32], lossGradient g: T) throws -> [T] {
        try d.checkLabels("nll_loss", labels)
        var dx = [T](repeating: 0, count: d.batch * d.classes)
        for n in 0..<d.batch { dx[n * d.classes + Int(labels[n])] = T(-Double(g) / Double(d.batch)) }
        return dx
    }

    /// Log-softmax over the classes, then NLL: returns the log-probabilities and the loss.
    public static func crossEntropy<T: BinaryFloatingPoint>(
        _ d: LossDescriptor, logits: [T], labels: [Int32]
    ) throws
        -> (logProbabilities: [T], loss: T)
    {
        let logp = softmax(SoftmaxDescriptor(.logSoftmax, outer: d.batch, axis: d.classes), logits)
        return (logp, try nllLoss(d, logProbabilities: logp, labels: labels))
    }

    /// The NLL backward followed by the log-softmax backward.
    public static func crossEntropyBackward<T: BinaryFloatingPoint>(
        _ d: LossDescriptor, logProbabilities logp: [T],
        labels: [Int32], lossGradient g: T
    ) throws -> [T] {
        let dlogp = try nllLossBackward(d, labels: labels, lossGradient: g)
        return softmaxBackward(SoftmaxDescriptor(.logSoftmax, outer: d.batch, axis: d.classes), output: logp, outputGradient: dlogp)
    }

    /// The items whose first largest log-probability is at their label (a label outside
    /// `0..<L` never is).
    public static func correctCount<T: BinaryFloatingPoint>(batch: Int, classes: Int, logProbabilities logp: [T], labels: [Int32]) -> Int {
        (0..<batch).filter { n in
            var best = 0
            for l in 1..<classes where logp[n * classes + best] < logp[n * classes + l] { best = l }
            return best == Int(labels[n])
        }.count
    }
}

extension ReferenceBackend {
    public static let loss = bodies(lossBodies(Float.self), lossBodies(Double.self))

    static func lossBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(LossOps.nllForward) { d, b in
                b.loss[T.self] = [try Reference.nllLoss(d, logProbabilities: b.logProbabilities[T.self], labels: b.labels.ints)]
            },
            ReferenceBody(LossOps.nllBackward) { d, b in
                b.inputGradient[T.self] = try Reference.nllLossBackward(d, labels: b.labels.ints, lossGradient: b.lossGradient[T.self][0])
            },
            ReferenceBody(LossOps.crossEntropyForward) { d, b in
                let result = try Reference.crossEntropy(d, logits: b.logits[T.self], labels: b.labels.ints)
                b.logProbabilities[T.self] = result.logProbabilities
                b.loss[T.self] = [result.loss]
            },
            ReferenceBody(LossOps.crossEntropyBackward) { d, b in
                b.logitsGradient[T.self] = try Reference.crossEntropyBackward(
                    d, logProbabilities: b.logProbabilities[T.self],
                    labels: b.labels.ints, lossGradient: b.lossGradient[T.self][0])
            },
            ReferenceBody(LossOps.stepTally) { d, b in
                let correct = Reference.correctCount(
                    batch: d.batch, classes: d.classes, logProbabilities: b.logProbabilities[T.self], labels: b.labels.ints)
                var tally = b.tally[T.self]
                tally[2 * d.slot] = b.loss[T.self][0]
                tally[2 * d.slot + 1] = T(correct)
                b.tally[T.self] = tally
            },
        ]
    }
}
