/// Classification losses: negative log-likelihood and cross-entropy, averaged over
/// the batch, forward and backward.
///
/// Labels are int32 class indices in `0..<classes`. A label out of range is an error:
/// the reference backend throws `HeedError.invalidArgument`; the OpenCL backend, whose
/// labels live on the device and are not read back (that would stall the queue), writes
/// NaN into the loss and into that item's gradient row, so the mistake cannot pass unseen.
public enum LossOps {
    /// `loss = −(1/N)·Σₙ logp[n, label[n]]`. Log-probabilities float32 (N, L), labels
    /// int32 (N), loss float32[1].
    /// Terms: the sum's γ_N·Σ|terms|, the division by N 5u, the reference's rounding u:
    /// γ_{N+6} of Σ|logp[n, label]|/N.
    public static let nllForward = OpDefinition<LossDescriptor>(
        "nll_loss.forward", .loss, kernels: ["nll_loss_forward"], tolerance: .sums { $0.batch + 6 },
        check: { d, _ in try d.requireItems("nll_loss") }
    ) { d in
        [
            .input("logProbabilities", d.scoresShape, label: "log-probabilities"), .input("labels", [d.batch], .int32),
            .output("loss", [1]),
        ]
    }

    /// `∂loss/∂logp[n, l] = −g/N` where `l = label[n]`, else 0, for the upstream gradient
    /// `g` (float32[1], on the device so the graph need not read it back). Labels int32
    /// (N), input gradient float32 (N, L).
    public static let nllBackward = OpDefinition<LossDescriptor>(
        "nll_loss.backward_input", .loss, kernels: ["nll_loss_backward"],
        tolerance: .stated("relative 6u: one division and the reference's rounding"),
        check: { d, _ in try d.requireItems("nll_loss") }
    ) { d in
        [.input("labels", [d.batch], .int32), .input("lossGradient", [1]), .output("inputGradient", d.scoresShape)]
    }

    /// Cross-entropy of raw scores: `logp = log_softmax(logits)` over L (written out,
    /// since the backward needs it), then `loss = nll(logp, labels)`. Logits and
    /// log-probabilities float32 (N, L), labels int32 (N), loss float32[1].
    public static let crossEntropyForward = OpDefinition<LossDescriptor>(
        "cross_entropy.forward", .loss, kernels: ["nll_loss_forward"],
        tolerance: .stated("the log-probabilities within log_softmax.forward's bound; the loss within nll_loss.forward's plus theirs"),
        check: { d, _ in try d.requireItems("cross_entropy") }
    ) { d in
        [
            .input("logits", d.scoresShape), .input("labels", [d.batch], .int32),
            .output("logProbabilities", d.scoresShape, label: "log-probabilities"), .output("loss", [1]),
        ]
    }

    /// `∂loss/∂logits[n, l] = (g/N)·(exp(logp[n, l]) − [l = label[n]])` from the forward's
    /// log-probabilities (N, L), labels (N) and the upstream gradient g (float32[1]).
    public static let crossEntropyBackward = OpDefinition<LossDescriptor>(
        "cross_entropy.backward_input", .loss, kernels: ["cross_entropy_backward"],
        tolerance: .stated("14u of (g/N)·(exp(logp) + [l = label]): g/N, exp, the subtraction, the product, the rounding"),
        check: { d, _ in try d.requireItems("cross_entropy") }
    ) { d in
        [
            .input("logProbabilities", d.scoresShape, label: "log-probabilities"), .input("labels", [d.batch], .int32),
            .input("lossGradient", [1]), .output("logitsGradient", d.scoresShape),
        ]
    }

    /// One training step's loss and correct count, written into row `slot` of a tally
    /// (slots, 2), so that the training loop reads a whole run of steps back at once
    /// instead of stalling the queue on every step:
    /// `tally[slot] = (loss[0], #{n : argmax_l logp[n, l] = label[n]})`.
    /// The argmax is the first largest element, as the host's `max(by:)` finds it: a
    /// later element wins only when the one held compares less, so a NaN wins nothing
    /// after the first element. An item whose label is outside `0..<L` is not correct.
    /// The other rows are left as they are. Counts are exact in float32 (N ≤ 2²⁴).
    /// Not differentiable: it only reports.
    public static let stepTally = OpDefinition<StepTallyDescriptor>(
        "step_tally", .loss, kernels: ["step_tally"], tolerance: .exact
    ) { d in
        [
            .input("logProbabilities", [d.batch, d.classes], label: "log-probabilities"), .input("labels", [d.batch], .int32),
            .input("loss", [1]), .update("tally", [d.slots, 2]),
        ]
    }

    static let table = [nllForward.erased, nllBackward.erased, crossEntropyForward.erased, crossEntropyBackward.erased, stepTally.erased]
}

extension Backend {
    public func nllLossForward(
        _ descriptor: LossDescriptor, logProbabilities: any DeviceBuffer,
        labels: any DeviceBuffer, loss: any DeviceBuffer
    ) throws {
        try run(LossOps.nllForward, descriptor, [logProbabilities, labels, loss])
    }

    public func nllLossBackward(
        _ descriptor: LossDescriptor, labels: any DeviceBuffer,
        lossGradient: any DeviceBuffer, inputGradient: any DeviceBuffer
    ) throws {
        try run(LossOps.nllBackward, descriptor, [labels, lossGradient, inputGradient])
    }

    public func crossEntropyForward(
        _ descriptor: LossDescriptor, logits: any DeviceBuffer, labels: any DeviceBuffer,
        logProbabilities: any DeviceBuffer, loss: any DeviceBuffer
    ) throws {
        try run(LossOps.crossEntropyForward, descriptor, [logits, labels, logProbabilities, loss])
    }

    public func crossEntropyBackward(
        _ descriptor: LossDescriptor, logProbabilities: any DeviceBuffer, labels: any DeviceBuffer,
        lossGradient: any DeviceBuffer, logitsGradient: any DeviceBuffer
    ) throws {
        try run(LossOps.crossEntropyBackward, descriptor, [logProbabilities, labels, lossGradient, logitsGradient])
    }

    public func stepTally(
        _ descriptor: StepTallyDescriptor, logProbabilities: any DeviceBuffer, labels: any DeviceBuffer,
        loss: any DeviceBuffer, tally: any DeviceBuffer
    ) throws {
        try run(LossOps.stepTally, descriptor, [logProbabilities, labels, loss, tally])
    }
}

/// A step of N items with L classes, tallied into row `slot` of `slots`.
public struct StepTallyDescriptor: OpDescriptor, Equatable {
    public var batch: Int
    public var classes: Int
    public var slots: Int
    public var slot: Int

    public init(batch: Int, classes: Int, slots: Int, slot: Int) {
        self.batch = batch
        self.classes = classes
        self.slots = slots
        self.slot = slot
    }

    public var description: String { "(N \(batch), L \(classes), slot \(slot) of \(slots))" }

    /// The most items a count keeps exact in float32.
    public static let maximumBatch = 1 << 24

    public func validate() throws {
        guard batch >= 1, classes >= 1 else {
            throw HeedError.invalidArgument(op: "step_tally", "needs at least one item and one class, got \(self)")
        }
        guard batch <= Self.maximumBatch else {
            throw HeedError.invalidArgument(op: "step_tally", "\(batch) items: counts are exact in float32 only up to \(Self.maximumBatch)")
        }
        guard slots >= 1, (0..<slots).contains(slot) else {
            throw HeedError.invalidArgument(op: "step_tally", "slot \(slot) is outside 0..<\(slots)")
        }
    }
}

/// A batch of N items with L classes each.
public struct LossDescriptor: OpDescriptor, Equatable {
    public var batch: Int
    public var classes: Int

    public init(batch: Int, classes: Int) {
        self.batch = batch
        self.classes = classes
    }

    /// The scores, their log-probabilities and gradients: (N, L).
    public var scoresShape: [Int] { [batch, classes] }

    public var description: String { "(N \(batch), L \(classes))" }

    /// Nothing to check without the op: each loss op's table entry calls `requireItems`,
    /// whose error names that op (`nll_loss` or `cross_entropy`).
    public func validate() throws {}

    /// Throws unless N ≥ 1 (the mean over no items is undefined) and L ≥ 1; `op` names the caller.
    func requireItems(_ op: String) throws {
        guard batch >= 1, classes >= 1 else {
            throw HeedError.invalidArgument(op: op, "needs at least one item and one class, got \(self)")
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
