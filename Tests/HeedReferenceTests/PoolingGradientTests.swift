import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The pooling backward passes of the reference against central differences, in Double.
final class PoolingGradientTests: XCTestCase {
    /// Stride k with a remainder the floor drops, overlapping windows (stride < k), and
    /// padded windows (torchvision's 3×3/2 pad 1 stem pool at odd sizes; k = 2 pad 1).
    static let windows = [
        Pool2dDescriptor(batch: 2, channels: 2, height: 5, width: 7, kernelSize: 2),
        Pool2dDescriptor(batch: 1, channels: 2, height: 7, width: 6, kernelSize: 3, stride: 2),
        Pool2dDescriptor(batch: 1, channels: 2, height: 7, width: 5, kernelSize: 3, stride: 2, padding: 1),
        Pool2dDescriptor(batch: 2, channels: 1, height: 3, width: 4, kernelSize: 2, stride: 1, padding: 1),
    ]

    func testGlobalAveragePoolGradient() throws {
        let d = GlobalPoolDescriptor(batch: 2, channels: 3, height: 3, width: 5)
        try assertGradientMatches(
            at: randomDoubles(d.inputShape.reduce(1, *), seed: 1),
            forward: { Reference.globalAveragePoolForward(d, input: $0) },
            backward: { Reference.globalAveragePoolBackward(d, outputGradient: $0) },
            "global average pool")
    }

    func testAveragePoolGradient() throws {
        for d in Self.windows {
            try assertGradientMatches(
                at: randomDoubles(d.inputShape.reduce(1, *), seed: 2),
                forward: { Reference.averagePool2dForward(d, input: $0) },
                backward: { Reference.averagePool2dBackward(d, outputGradient: $0) },
                "average pool \(d)")
        }
    }

    /// Inputs are a shuffle of distinct values 0.01 apart, so no window has a near tie
    /// that a step of h = 1e-6 could flip; the indices are those of the unperturbed input.
    func testMaxPoolGradient() throws {
        for d in Self.windows {
            let count = d.inputShape.reduce(1, *)
            var random = SeededGenerator(seed: 3)
            let x = (0..<count).map { Double($0) * 0.01 }.shuffled(using: &random)
            let indices = Reference.maxPool2dForward(d, input: x).indices
            try assertGradientMatches(
                at: x, forward: { Reference.maxPool2dForward(d, input: $0).values },
                backward: { try XCTUnwrap(Reference.maxPool2dBackward(d, outputGradient: $0, indices: indices)) },
                "max pool \(d)")
        }
    }

    /// An index that names an element outside its own window (2 is in the second 2×2
    /// window of a 2×4 plane, not the first) cannot have come from the forward: the
    /// reference returns nil and the backend's op says so.
    func testMaxPoolBackwardRefusesAnIndexOutsideItsWindow() throws {
        let d = Pool2dDescriptor(batch: 1, channels: 1, height: 2, width: 4, kernelSize: 2)
        XCTAssertNil(Reference.maxPool2dBackward(d, outputGradient: [1.0, 1.0], indices: [2, 2]))
        XCTAssertNotNil(Reference.maxPool2dBackward(d, outputGradient: [1.0, 1.0], indices: [1, 2]))
        let backend = TestDevices.reference
        let gradient = try backend.makeBuffer(count: 8, of: Float.self)
        assertThrows(
            try backend.maxPool2dBackward(
                d, outputGradient: backend.makeBuffer([1, 1] as [Float]), indices: backend.makeBuffer([2, 2] as [Int32]),
                inputGradient: gradient),
            as: HeedError.self
        ) {
            XCTAssertEqual("\($0)", "max_pool2d: invalid argument: an index lies outside its window, in \(d)")
        }
    }
}
