import Foundation
import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// NLL and cross-entropy backwards against central differences, in Double; known
/// values; out-of-range labels.
final class LossGradientTests: XCTestCase {
    let d = LossDescriptor(batch: 4, classes: 5)
    let labels: [Int32] = [0, 4, 2, 2]

    func testBackwardsMatchFiniteDifferences() throws {
        let x = randomDoubles(d.batch * d.classes, in: -3...3, seed: 5)
        try assertGradientMatches(
            at: x, forward: { [try Reference.nllLoss(self.d, logProbabilities: $0, labels: self.labels)] },
            backward: { try Reference.nllLossBackward(self.d, labels: self.labels, lossGradient: $0[0]) },
            "nll_loss")
        let logp = try Reference.crossEntropy(d, logits: x, labels: labels).logProbabilities
        try assertGradientMatches(
            at: x, forward: { [try Reference.crossEntropy(self.d, logits: $0, labels: self.labels).loss] },
            backward: {
                try Reference.crossEntropyBackward(
                    self.d, logProbabilities: logp, labels: self.labels,
                    lossGradient: $0[0])
            }, "cross_entropy")
    }

    func testKnownValues() throws {
        // Two items, uniform over 4 classes: cross-entropy ln 4; NLL of (−1, −3) is 2.
        let small = LossDescriptor(batch: 2, classes: 4)
        let uniform = try Reference.crossEntropy(small, logits: [Double](repeating: 7, count: 8), labels: [1, 3])
        XCTAssertEqual(uniform.loss, log(4.0), accuracy: 1e-15)
        let logp: [Double] = [0, -1, 0, 0, 0, 0, -3, 0]
        XCTAssertEqual(try Reference.nllLoss(small, logProbabilities: logp, labels: [1, 2]), 2)
        XCTAssertEqual(try Reference.nllLossBackward(small, labels: [1, 2], lossGradient: 3.0), [0, -1.5, 0, 0, 0, 0, -1.5, 0])
    }

    func testLabelsOutOfRangeAreErrors() {
        let small = LossDescriptor(batch: 2, classes: 4)
        assertThrows(
            try Reference.nllLoss(small, logProbabilities: [Double](repeating: 0, count: 8), labels: [1, 4]),
            as: HeedError.self
        ) {
            XCTAssertEqual($0, .invalidArgument(op: "nll_loss", "label 4 of item 1 is outside 0..<4"))
        }
        assertThrows(
            try Reference.crossEntropyBackward(
                small, logProbabilities: [Double](repeating: 0, count: 8), labels: [-1, 0],
                lossGradient: 1), as: HeedError.self
        ) {
            XCTAssertEqual($0, .invalidArgument(op: "nll_loss", "label -1 of item 0 is outside 0..<4"))
        }
    }
}
