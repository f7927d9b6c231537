import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// Each elementwise backward and the reduction backward against central differences
/// of its forward, in Double.
final class ElementwiseGradientTests: XCTestCase {
    func testActivations() throws {
        // relu: inputs kept at least 0.1 from the kink at 0.
        let x = randomDoubles(17, in: -2...2, seed: 1).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        try assertGradientMatches(
            at: x, forward: { Reference.relu($0) },
            backward: { Reference.reluBackward(input: x, outputGradient: $0) }, "relu")
        try assertGradientMatches(
            at: x, forward: { Reference.tanh($0) },
            backward: { Reference.tanhBackward(output: Reference.tanh(x), outputGradient: $0) }, "tanh")
        try assertGradientMatches(
            at: x, forward: { Reference.sigmoid($0) },
            backward: { Reference.sigmoidBackward(output: Reference.sigmoid(x), outputGradient: $0) },
            "sigmoid")
    }

    func testArithmetic() throws {
        let a = randomDoubles(13, seed: 2)
        let b = randomDoubles(13, seed: 3)
        try assertGradientMatches(
            at: a, forward: { Reference.multiply($0, b) },
            backward: { Reference.multiply($0, b) }, "multiply ∂/∂a")
        try assertGradientMatches(
            at: b, forward: { Reference.multiply(a, $0) },
            backward: { Reference.multiply($0, a) }, "multiply ∂/∂b")
        try assertGradientMatches(at: a, forward: { Reference.add($0, b) }, backward: { $0 }, "add ∂/∂a")
        try assertGradientMatches(
            at: a, forward: { Reference.scale(-0.3, $0) },
            backward: { Reference.scale(-0.3, $0) }, "scale")
        try assertGradientMatches(
            at: a, forward: { Reference.axpy(0.7, $0, b) },
            backward: { Reference.scale(0.7, $0) }, "axpy ∂/∂x")
    }

    func testReductions() throws {
        for (shape, axes) in [([3, 4, 2, 5], [0, 2, 3]), ([3, 4, 2, 5], [1]), ([7], [0]), ([2, 3], []), ([2, 3, 4], [2, 0])] {
            for operation in [ReductionDescriptor.Operation.sum, .mean] {
                let d = ReductionDescriptor(operation, shape: shape, axes: axes)
                let x = randomDoubles(d.inputCount, seed: UInt64(d.inputCount))
                try assertGradientMatches(
                    at: x, forward: { Reference.reduce(d, $0) },
                    backward: { Reference.reduceBackward(d, $0) }, "\(d)")
            }
        }
    }
}
