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

    /// `step_tally` counts an item correct when its first largest score is at its label,
    /// as the training loop's host code did with `max(by:)`: ties go to the first, a NaN
    /// after the first element never wins, a NaN first element keeps index 0. Hand-made rows.
    func testStepTallyCountsTheFirstLargestScore() {
        let nan = Float.nan
        let rows: [([Float], Int32, Bool)] = [
            ([1, 3, 3], 1, true),  // a tie: the first of the two
            ([1, 3, 3], 2, false),
            ([nan, 5, 9], 0, true),  // NaN first: nothing compares greater than it
            ([2, nan, 1], 0, true),
            ([0, nan, 4], 2, true),
            ([7, 7, 7], 0, true),
            ([1, 2, 3], 3, false),  // a label outside 0..<3
            ([1, 2, 3], -1, false),
        ]
        for (scores, label, correct) in rows {
            XCTAssertEqual(
                Reference.correctCount(batch: 1, classes: 3, logProbabilities: scores, labels: [label]), correct ? 1 : 0,
                "\(scores) label \(label)")
            let hostArgmax = scores.indices.max(by: { scores[$0] < scores[$1] })!
            XCTAssertEqual(hostArgmax == Int(label), correct, "\(scores) label \(label)")
        }
        XCTAssertEqual(
            Reference.correctCount(batch: rows.count, classes: 3, logProbabilities: rows.flatMap(\.0), labels: rows.map(\.1)), 5)
    }
}
