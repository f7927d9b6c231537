import Foundation
import HeedOps
import HeedReference

/// NLL and cross-entropy, forward and backward, and the step tally: batches of 1 to 300
/// (more than the reducing group's 256 items), 1 to 100 classes.
enum LossVerification {
    static let shapes = [(1, 1), (3, 7), (33, 10), (300, 33), (7, 100)]

    static let cases: [VerificationCase] =
        shapes.flatMap { shape in
            let d = LossDescriptor(batch: shape.0, classes: shape.1)
            return [nllForward(d), nllBackward(d), crossEntropyForward(d), crossEntropyBackward(d)]
        }
        + zip(shapes, [1, 4, 2, 5, 3]).map { shape, slots in
            stepTally(StepTallyDescriptor(batch: shape.0, classes: shape.1, slots: slots, slot: slots / 2))
        }

    static func inputs(_ d: LossDescriptor) -> (logits: [Float], labels: [Int32], logp: [Float], g: Float) {
        var random = SeededGenerator(seed: UInt64(d.batch * 1009 + d.classes))
        let logits = random.uniform(d.batch * d.classes, in: -4...4)
        let labels = (0..<d.batch).map { _ in Int32.random(in: 0..<Int32(d.classes), using: &random) }
        let logp = Reference.softmax(SoftmaxDescriptor(.logSoftmax, outer: d.batch, axis: d.classes), logits)
        return (logits, labels, logp, Float.random(in: 0.5...2, using: &random))
    }

    /// The mean of N picked log-probabilities: `nll_loss.forward`'s sum bound of
    /// Σ|logp[n, label]|/N.
    static func meanTolerance(_ d: LossDescriptor, _ logp: [Float], _ labels: [Int32]) -> (Tolerance, [Double]) {
        let sum = (0..<d.batch).reduce(0.0) { $0 + abs(Double(logp[$1 * d.classes + Int(labels[$1])])) }
        return (.ofSums(LossOps.nllForward, d), [sum / Double(d.batch)])
    }

    static func nllForward(_ d: LossDescriptor) -> VerificationCase {
        VerificationCase(op: LossOps.nllForward.name, shape: "\(d)") { device, reference in
            let (_, labels, logp, _) = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(logp), .ints(labels)],
                outputs: [.floats(1)]
            ) { backend, inputs, outputs in
                try backend.nllLossForward(d, logProbabilities: inputs[0], labels: inputs[1], loss: outputs[0])
            }
            let (tolerance, scale) = meanTolerance(d, logp, labels)
            return Comparison(actual: actual[0], expected: expected[0], tolerance: tolerance, scale: scale)
        }
    }

    /// −g/N: one division (5u) and the reference's rounding (u).
    static func nllBackward(_ d: LossDescriptor) -> VerificationCase {
        VerificationCase(op: LossOps.nllBackward.name, shape: "\(d)") { device, reference in
            let (_, labels, _, g) = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.ints(labels), .floats([g])],
                outputs: [.floats(d.batch * d.classes)]
            ) { backend, inputs, outputs in
                try backend.nllLossBackward(d, labels: inputs[0], lossGradient: inputs[1], inputGradient: outputs[0])
            }
            return Comparison(
                actual: actual[0], expected: expected[0],
                tolerance: Tolerance(atol: 0, rtol: (Float32Rounding.divide + 1) * Float32Rounding.u))
        }
    }

    /// The log-probabilities within the log-softmax forward tolerance; the loss within
    /// the mean's, plus the log-probabilities' own absolute error carried into it.
    static func crossEntropyForward(_ d: LossDescriptor) -> VerificationCase {
        VerificationCase(op: LossOps.crossEntropyForward.name, shape: "\(d)") { device, reference in
            let (logits, labels, _, _) = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(logits), .ints(labels)],
                outputs: [.floats(d.batch * d.classes), .floats(1)]
            ) { backend, inputs, outputs in
                try backend.crossEntropyForward(
                    d, logits: inputs[0], labels: inputs[1],
                    logProbabilities: outputs[0], loss: outputs[1])
            }
            let softmax = SoftmaxDescriptor(.logSoftmax, outer: d.batch, axis: d.classes)
            let logpTolerance = SoftmaxVerification.forwardTolerance(softmax, logits)
            let (meanBound, scale) = meanTolerance(d, expected[0], labels)
            var lossTolerance = meanBound
            // γ_{N+6}·Σ|logp|/N covers the mean's rounding; each log-probability also
            // carries up to atol + rtol·|logp| from the log-softmax, and so does their mean.
            lossTolerance.atol = logpTolerance.atol
            lossTolerance.rtol += logpTolerance.rtol
            return Comparison(combining: [
                ("log-probabilities", Comparison(actual: actual[0], expected: expected[0], tolerance: logpTolerance)),
                ("loss", Comparison(actual: actual[1], expected: expected[1], tolerance: lossTolerance, scale: scale)),
            ])
        }
    }

    /// (g/N)·(exp(logp) − [l = label]): g/N 5u, exp 6u, the subtraction, the product
    /// and the reference's rounding u each: 14u of (g/N)·(exp(logp) + [l = label]).
    static func crossEntropyBackward(_ d: LossDescriptor) -> VerificationCase {
        VerificationCase(op: LossOps.crossEntropyBackward.name, shape: "\(d)") { device, reference in
            let (_, labels, logp, g) = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference,
                inputs: [.floats(logp), .ints(labels), .floats([g])],
                outputs: [.floats(d.batch * d.classes)]
            ) { backend, inputs, outputs in
                try backend.crossEntropyBackward(
                    d, logProbabilities: inputs[0], labels: inputs[1],
                    lossGradient: inputs[2], logitsGradient: outputs[0])
            }
            let scale = logp.indices.map { e in
                Double(g) / Double(d.batch) * (exp(Double(logp[e])) + (e % d.classes == Int(labels[e / d.classes]) ? 1 : 0))
            }
            let tolerance = Tolerance(
                atol: 0, rtol: (Float32Rounding.divide + Float32Rounding.exp + 3) * Float32Rounding.u, relativeToTerms: true)
            return Comparison(actual: actual[0], expected: expected[0], tolerance: tolerance, scale: scale)
        }
    }

    /// Exact: a copied loss and a count. Scores are whole numbers in -2...2, so rows hold
    /// ties (the first largest counts), some are NaN, and every seventh label is outside
    /// 0..<L; the other rows of the tally hold values the op must leave as they are.
    static func stepTally(_ d: StepTallyDescriptor) -> VerificationCase {
        VerificationCase(op: LossOps.stepTally.name, shape: "\(d)") { device, reference in
            var random = SeededGenerator(seed: UInt64(d.batch * 131 + d.classes))
            let scores = (0..<d.batch * d.classes).map { e -> Float in
                e % 11 == 5 ? .nan : Float(Int.random(in: -2...2, using: &random))
            }
            let labels = (0..<d.batch).map { n -> Int32 in
                n % 7 == 6 ? (n % 2 == 0 ? -1 : Int32(d.classes)) : Int32.random(in: 0..<Int32(d.classes), using: &random)
            }
            var tally = (0..<2 * d.slots).map { Float($0) + 0.5 }
            tally[2 * d.slot] = .nan
            tally[2 * d.slot + 1] = .nan
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(scores), .ints(labels), .floats([1.25])],
                outputs: [.initialized(tally)]
            ) { backend, inputs, outputs in
                try backend.stepTally(d, logProbabilities: inputs[0], labels: inputs[1], loss: inputs[2], tally: outputs[0])
            }
            return Comparison(actual: actual[0], expected: expected[0], tolerance: .exact)
        }
    }
}
