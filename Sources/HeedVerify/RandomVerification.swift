import HeedOps
import HeedReference

/// Dropout and dropout2d, forward and backward, at sizes 1…1031 and p ∈ {0, 0.1, 0.5, 1}.
///
/// Tolerance `exact`: both backends draw the mask from the same Philox bits with the
/// same integer threshold, and a kept element is one float32 product by the same scale.
enum RandomVerification {
    static let cases: [VerificationCase] = {
        var cases: [VerificationCase] = []
        for p: Float in [0, 0.1, 0.5, 1] {
            for n in [1, 7, 33, 1031] {
                let d = DropoutDescriptor(count: n, probability: p, seed: 1234, step: UInt32(n))
                cases += [dropoutCase(d, backward: false), dropoutCase(d, backward: true)]
            }
            for (batch, channels, spatial) in [(1, 1, 3), (3, 7, 33), (5, 33, 2)] {
                let d = DropoutDescriptor.dropout2d(
                    batch: batch, channels: channels, spatial: spatial, probability: p,
                    seed: 99, step: 7)
                cases += [dropoutCase(d, backward: false), dropoutCase(d, backward: true)]
            }
        }
        return cases
    }()

    static func dropoutCase(_ d: DropoutDescriptor, backward: Bool) -> VerificationCase {
        let shape = "\(d.count)\(d.elementsPerDraw > 1 ? " per draw \(d.elementsPerDraw)" : "") p=\(d.probability)"
        return VerificationCase(op: (backward ? RandomOps.backward(d) : RandomOps.forward(d)).name, shape: shape) { device, reference in
            var random = SeededGenerator(seed: UInt64(d.count) &+ UInt64(d.elementsPerDraw) << 20)
            let x = random.uniform(d.count)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x)],
                outputs: [.floats(d.count)]
            ) { backend, i, o in
                if backward {
                    try backend.dropoutBackward(d, outputGradient: i[0], inputGradient: o[0])
                } else {
                    try backend.dropoutForward(d, input: i[0], output: o[0])
                }
            }
            return Comparison(actual: actual[0], expected: expected[0], tolerance: .exact)
        }
    }
}
