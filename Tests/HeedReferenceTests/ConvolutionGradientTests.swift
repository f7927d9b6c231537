import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The three conv2d backward passes of the reference against central differences of its
/// forward pass, in Double, at the shapes the network uses and at awkward ones.
final class ConvolutionGradientTests: XCTestCase {
    static let descriptors = [
        // 3×3, padding 1, stride 2 on an odd, non-square input.
        Conv2dDescriptor(
            batch: 2, inChannels: 3, outChannels: 2, height: 5, width: 4,
            kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1),
        // 1×1 stride 2: a shortcut, half the input never read.
        Conv2dDescriptor(
            batch: 2, inChannels: 2, outChannels: 3, height: 5, width: 5,
            kernelHeight: 1, kernelWidth: 1, stride: 2),
        // 3×2 kernel, stride 3, padding 2: windows that skip rows and reach into the padding.
        Conv2dDescriptor(
            batch: 1, inChannels: 2, outChannels: 2, height: 7, width: 5,
            kernelHeight: 3, kernelWidth: 2, stride: 3, padding: 2),
    ]

    func testInputGradient() throws {
        for d in Self.descriptors {
            let x = randomDoubles(d.inputShape.reduce(1, *), seed: 1)
            let w = randomDoubles(d.weightShape.reduce(1, *), seed: 2)
            try assertGradientMatches(
                at: x, forward: { Reference.conv2dForward(d, input: $0, weight: w, bias: nil) },
                backward: { Reference.conv2dBackwardInput(d, outputGradient: $0, weight: w) },
                "∂L/∂input \(d)")
        }
    }

    func testWeightGradient() throws {
        for d in Self.descriptors {
            let x = randomDoubles(d.inputShape.reduce(1, *), seed: 3)
            let w = randomDoubles(d.weightShape.reduce(1, *), seed: 4)
            try assertGradientMatches(
                at: w, forward: { Reference.conv2dForward(d, input: x, weight: $0, bias: nil) },
                backward: { Reference.conv2dBackwardWeight(d, input: x, outputGradient: $0) },
                "∂L/∂weight \(d)")
        }
    }

    func testBiasGradient() throws {
        for d in Self.descriptors {
            let x = randomDoubles(d.inputShape.reduce(1, *), seed: 5)
            let w = randomDoubles(d.weightShape.reduce(1, *), seed: 6)
            let b = randomDoubles(d.outChannels, seed: 7)
            try assertGradientMatches(
                at: b, forward: { Reference.conv2dForward(d, input: x, weight: w, bias: $0) },
                backward: { Reference.conv2dBackwardBias(d, outputGradient: $0) },
                "∂L/∂bias \(d)")
        }
    }
}
