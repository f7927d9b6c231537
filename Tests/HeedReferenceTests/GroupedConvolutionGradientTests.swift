import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The grouped convolution's reference: its backward passes against central differences
/// of its forward in Double, and one group equal to conv2d's reference.
final class GroupedConvolutionGradientTests: XCTestCase {
    static let descriptors = [
        // 2 groups, 3×3 padding 1 stride 2 on an odd, non-square input.
        GroupedConv2dDescriptor(
            batch: 2, inChannels: 4, outChannels: 2, height: 5, width: 4,
            kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1, groups: 2),
        // Depthwise with a channel multiplier of 2, a 3×2 kernel at stride 3 reaching into the padding.
        GroupedConv2dDescriptor(
            batch: 1, inChannels: 3, outChannels: 6, height: 7, width: 5,
            kernelHeight: 3, kernelWidth: 2, stride: 3, padding: 2, groups: 3),
    ]

    func testInputGradient() throws {
        for d in Self.descriptors {
            let w = randomDoubles(d.weightShape.reduce(1, *), seed: 2)
            try assertGradientMatches(
                at: randomDoubles(d.inputShape.reduce(1, *), seed: 1),
                forward: { Reference.groupedConv2dForward(d, input: $0, weight: w, bias: nil) },
                backward: { Reference.groupedConv2dBackwardInput(d, outputGradient: $0, weight: w) }, "∂L/∂input \(d)")
        }
    }

    func testWeightGradient() throws {
        for d in Self.descriptors {
            let x = randomDoubles(d.inputShape.reduce(1, *), seed: 3)
            try assertGradientMatches(
                at: randomDoubles(d.weightShape.reduce(1, *), seed: 4),
                forward: { Reference.groupedConv2dForward(d, input: x, weight: $0, bias: nil) },
                backward: { Reference.groupedConv2dBackwardWeight(d, input: x, outputGradient: $0) }, "∂L/∂weight \(d)")
        }
    }

    func testBiasGradientIsConv2ds() throws {
        for d in Self.descriptors {
            let (x, w) = (randomDoubles(d.inputShape.reduce(1, *), seed: 5), randomDoubles(d.weightShape.reduce(1, *), seed: 6))
            try assertGradientMatches(
                at: randomDoubles(d.outChannels, seed: 7),
                forward: { Reference.groupedConv2dForward(d, input: x, weight: w, bias: $0) },
                backward: { Reference.conv2dBackwardBias(d.sameOutput, outputGradient: $0) }, "∂L/∂bias \(d)")
        }
    }

    /// G = 1 is the ungrouped convolution, bit for bit (both sum the same products in Double).
    func testOneGroupIsConv2d() {
        let d = GroupedConv2dDescriptor(
            batch: 2, inChannels: 3, outChannels: 4, height: 6, width: 5,
            kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1, groups: 1)
        let plain = d.sameOutput
        let (x, w, b) = (
            randomDoubles(d.inputShape.reduce(1, *), seed: 8), randomDoubles(d.weightShape.reduce(1, *), seed: 9),
            randomDoubles(d.outChannels, seed: 10)
        )
        let dy = randomDoubles(d.outputShape.reduce(1, *), seed: 11)
        XCTAssertEqual(
            Reference.groupedConv2dForward(d, input: x, weight: w, bias: b),
            Reference.conv2dForward(plain, input: x, weight: w, bias: b))
        XCTAssertEqual(
            Reference.groupedConv2dBackwardInput(d, outputGradient: dy, weight: w),
            Reference.conv2dBackwardInput(plain, outputGradient: dy, weight: w))
        XCTAssertEqual(
            Reference.groupedConv2dBackwardWeight(d, input: x, outputGradient: dy),
            Reference.conv2dBackwardWeight(plain, input: x, outputGradient: dy))
    }

    func testGroupsThatDoNotDivideTheChannelsAreRefused() {
        assertThrows(try GroupedConv2dDescriptor(input: [1, 6, 4, 4], weight: [4, 2, 3, 3], groups: 3), as: HeedError.self) {
            XCTAssertEqual(
                $0,
                .invalidArgument(
                    op: "grouped_conv2d",
                    "groups = 3 must be at least 1 and divide inChannels and outChannels, in grouped_conv2d(input (1, 6, 4, 4), weight (4, 2, 3, 3), stride 1, padding 0, groups 3)"
                ))
        }
    }
}
