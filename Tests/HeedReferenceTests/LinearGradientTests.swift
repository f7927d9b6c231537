import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The linear backward passes of the reference against central differences, in Double.
final class LinearGradientTests: XCTestCase {
    let d = LinearDescriptor(batch: 3, inFeatures: 5, outFeatures: 4)

    func testInputGradient() throws {
        let w = randomDoubles(d.outFeatures * d.inFeatures, seed: 2)
        let b = randomDoubles(d.outFeatures, seed: 3)
        try assertGradientMatches(
            at: randomDoubles(d.batch * d.inFeatures, seed: 1),
            forward: { Reference.linearForward(self.d, input: $0, weight: w, bias: b) },
            backward: { Reference.linearBackwardInput(self.d, outputGradient: $0, weight: w) },
            "∂L/∂input")
    }

    func testWeightGradient() throws {
        let x = randomDoubles(d.batch * d.inFeatures, seed: 4)
        try assertGradientMatches(
            at: randomDoubles(d.outFeatures * d.inFeatures, seed: 5),
            forward: { Reference.linearForward(self.d, input: x, weight: $0, bias: nil) },
            backward: { Reference.linearBackwardWeight(self.d, input: x, outputGradient: $0) },
            "∂L/∂weight")
    }

    func testBiasGradient() throws {
        let x = randomDoubles(d.batch * d.inFeatures, seed: 6)
        let w = randomDoubles(d.outFeatures * d.inFeatures, seed: 7)
        try assertGradientMatches(
            at: randomDoubles(d.outFeatures, seed: 8),
            forward: { Reference.linearForward(self.d, input: x, weight: w, bias: $0) },
            backward: { Reference.linearBackwardBias(self.d, outputGradient: $0) },
            "∂L/∂bias")
    }
}
