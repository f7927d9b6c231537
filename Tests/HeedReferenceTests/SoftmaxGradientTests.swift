import Foundation
import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// Softmax and log-softmax backwards against central differences, in Double, for the
/// class axis (inner 1) and a middle axis with inner > 1; and hand-worked values.
final class SoftmaxGradientTests: XCTestCase {
    func testBackwardsMatchFiniteDifferences() throws {
        for kind in SoftmaxKind.allCases {
            for d in [SoftmaxDescriptor(kind, outer: 3, axis: 7), SoftmaxDescriptor(kind, outer: 2, axis: 5, inner: 3)] {
                let x = randomDoubles(d.count, in: -3...3, seed: 11)
                try assertGradientMatches(
                    at: x, forward: { Reference.softmax(d, $0) },
                    backward: { dy in
                        Reference.softmaxBackward(d, output: Reference.softmax(d, x), outputGradient: dy)
                    }, "\(d)")
            }
        }
    }

    func testKnownValues() {
        // softmax(0, ln 3) = (1/4, 3/4); log-softmax = (−ln 4, ln 3 − ln 4).
        let x = [0, log(3.0)]
        let y = Reference.softmax(SoftmaxDescriptor(outer: 1, axis: 2), x)
        XCTAssertEqual(y[0], 0.25, accuracy: 1e-15)
        XCTAssertEqual(y[1], 0.75, accuracy: 1e-15)
        let logY = Reference.softmax(SoftmaxDescriptor(.logSoftmax, outer: 1, axis: 2), x)
        XCTAssertEqual(logY[0], -log(4.0), accuracy: 1e-15)
        XCTAssertEqual(logY[1], log(3.0) - log(4.0), accuracy: 1e-15)
        // Along the middle axis of (1, 2, 2): columns normalise separately.
        let z = Reference.softmax(SoftmaxDescriptor(outer: 1, axis: 2, inner: 2), [0, 5, 0, 5])
        XCTAssertEqual(z, [0.5, 0.5, 0.5, 0.5])
        // Huge inputs: the maximum is subtracted first, so nothing overflows.
        let big = Reference.softmax(SoftmaxDescriptor(outer: 1, axis: 3), [1e4, 1e4, -1e4] as [Float])
        XCTAssertEqual(big, [0.5, 0.5, 0])
    }
}
