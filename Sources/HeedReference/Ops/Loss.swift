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
    public static func crossEntropy<T: BinaryFloatingPoint>(_ d: LossDescriptor, logits: [T], labels: [Int32]) throws
        -> (logProbabilities: [T], loss: T)
    {
        let logp = softmax(SoftmaxDescriptor(.logSoftmax, outer: d.batch, axis: d.classes), logits)
        return (logp, try nllLoss(d, logProbabilities: logp, labels: labels))
    }

    /// The NLL backward followed by the log-softmax backward.
    public static func crossEntropyBackward<T: BinaryFloatingPoint>(_ d: LossDescriptor, logProbabilities logp: [T],
                                                                   labels: [Int32], lossGradient g: T) throws -> [T] {
        let dlogp = try nllLossBackward(d, labels: labels, lossGradient: g)
        return softmaxBackward(SoftmaxDescriptor(.logSoftmax, outer: d.batch, axis: d.classes), output: logp, outputGradient: dlogp)
    }
}

extension ReferenceBackend {
    public func nllLossForward(_ d: LossDescriptor, logProbabilities: any DeviceBuffer,
                               labels: any DeviceBuffer, loss: any DeviceBuffer) throws {
        let op = "nll_loss"
        let logp = try floats(logProbabilities, op, "log-probabilities")
        let labels = try ints(labels, op)
        let loss = try floats(loss, op, "loss")
        try d.validate(op, scores: ["log-probabilities": logp.count], labels: labels.count, scalars: ["loss": loss.count])
        loss.floats = [try Reference.nllLoss(d, logProbabilities: logp.floats, labels: labels.ints)]
    }

    public func nllLossBackward(_ d: LossDescriptor, labels: any DeviceBuffer,
                                lossGradient: any DeviceBuffer, inputGradient: any DeviceBuffer) throws {
        let op = "nll_loss"
        let labels = try ints(labels, op)
        let g = try floats(lossGradient, op, "loss gradient")
        let dx = try floats(inputGradient, op, "input gradient")
        try d.validate(op, scores: ["input gradient": dx.count], labels: labels.count, scalars: ["loss gradient": g.count])
        dx.floats = try Reference.nllLossBackward(d, labels: labels.ints, lossGradient: g.floats[0])
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
        let result = try Reference.crossEntropy(d, logits: x.floats, labels: labels.ints)
        logp.floats = result.logProbabilities
        loss.floats = [result.loss]
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
        dx.floats = try Reference.crossEntropyBackward(d, logProbabilities: logp.floats, labels: labels.ints, lossGradient: g.floats[0])
    }

    /// `buffer` as an int32 buffer of labels of this backend, or a clear error.
    private func ints(_ buffer: any DeviceBuffer, _ op: String) throws -> ReferenceBuffer {
        let buffer = try own(buffer, op, "labels")
        try buffer.expect(.int32, for: op, argument: "labels")
        return buffer
    }
}
