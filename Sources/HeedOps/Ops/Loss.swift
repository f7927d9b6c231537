/// Classification losses: negative log-likelihood and cross-entropy, averaged over
/// the batch, forward and backward.
///
/// Labels are int32 class indices in `0..<classes`. A label out of range is an error:
/// the reference backend throws `HeedError.invalidArgument`; the OpenCL backend, whose
/// labels live on the device and are not read back (that would stall the queue), writes
/// NaN into the loss and into that item's gradient row, so the mistake cannot pass unseen.
public protocol LossOps {
    /// `loss = −(1/N)·Σₙ logp[n, label[n]]`. Log-probabilities float32 (N, L), labels
    /// int32 (N), loss float32[1].
    func nllLossForward(_ descriptor: LossDescriptor, logProbabilities: any DeviceBuffer,
                        labels: any DeviceBuffer, loss: any DeviceBuffer) throws

    /// `∂loss/∂logp[n, l] = −g/N` where `l = label[n]`, else 0, for the upstream gradient
    /// `g` (float32[1], on the device so the graph need not read it back). Labels int32
    /// (N), input gradient float32 (N, L).
    func nllLossBackward(_ descriptor: LossDescriptor, labels: any DeviceBuffer,
                         lossGradient: any DeviceBuffer, inputGradient: any DeviceBuffer) throws

    /// Cross-entropy of raw scores: `logp = log_softmax(logits)` over L (written out,
    /// since the backward needs it), then `loss = nll(logp, labels)`. Logits and
    /// log-probabilities float32 (N, L), labels int32 (N), loss float32[1].
    func crossEntropyForward(_ descriptor: LossDescriptor, logits: any DeviceBuffer, labels: any DeviceBuffer,
                             logProbabilities: any DeviceBuffer, loss: any DeviceBuffer) throws

    /// `∂loss/∂logits[n, l] = (g/N)·(exp(logp[n, l]) − [l = label[n]])` from the forward's
    /// log-probabilities (N, L), labels (N) and the upstream gradient g (float32[1]).
    func crossEntropyBackward(_ descriptor: LossDescriptor, logProbabilities: any DeviceBuffer, labels: any DeviceBuffer,
                              lossGradient: any DeviceBuffer, logitsGradient: any DeviceBuffer) throws
}

/// A batch of N items with L classes each.
public struct LossDescriptor: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var classes: Int

    public init(batch: Int, classes: Int) {
        self.batch = batch
        self.classes = classes
    }

    public var description: String { "(N \(batch), L \(classes))" }

    /// Throws unless N ≥ 1 (the mean over no items is undefined), L ≥ 1, and the scores
    /// (N, L), labels (N) and scalars hold the right counts. `op` names the caller.
    public func validate(_ op: String, scores: KeyValuePairs<String, Int>, labels: Int, scalars: KeyValuePairs<String, Int>) throws {
        guard batch >= 1, classes >= 1 else {
            throw HeedError.invalidArgument(op: op, "needs at least one item and one class, got \(self)")
        }
        for (name, count) in scores {
            try ShapeRequirements.requireCount(op, name, shape: "(\(batch), \(classes))", expected: batch * classes, count: count, in: self)
        }
        try ShapeRequirements.requireCount(op, "labels", shape: "(\(batch))", expected: batch, count: labels, in: self)
        for (name, count) in scalars {
            try ShapeRequirements.requireCount(op, name, shape: "(1)", expected: 1, count: count, in: self)
        }
    }

    /// Throws `invalidArgument` naming the first label outside `0..<classes`. Only the
    /// reference backend can call this: OpenCL labels stay on the device.
    public func checkLabels(_ op: String, _ labels: [Int32]) throws {
        if let n = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw HeedError.invalidArgument(op: op, "label \(labels[n]) of item \(n) is outside 0..<\(classes)")
        }
    }
}
