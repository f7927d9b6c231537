import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class LossTests: XCTestCase {
    /// The cases `heed verify --op nll_loss`, `--op cross_entropy` and `--op step_tally`
    /// run: batches of 1 to 300 (past the reducing group), 1 to 100 classes, forward and
    /// backward; the tally with ties, NaN scores and labels out of range.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        for (op, count) in [("nll_loss", 10), ("cross_entropy", 10), ("step_tally", 5)] {
            let cases = VerificationSuite.cases(matching: op)
            XCTAssertEqual(cases.count, count)
            for check in cases {
                assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
            }
        }
    }

    /// OpenCL labels stay on the device: an out-of-range label makes the loss and that
    /// item's gradient row NaN; the other rows are untouched. The reference throws.
    func testOutOfRangeLabels() throws {
        let device = try TestDevices.requireOpenCL()
        let d = LossDescriptor(batch: 3, classes: 4)
        let logp = try device.makeBuffer([Float](repeating: -1, count: 12))
        let labels = try device.makeBuffer([1, 4, 0] as [Int32])
        let one = try device.makeBuffer([1] as [Float])
        let loss = try device.makeBuffer(count: 1, of: Float.self)
        try device.nllLossForward(d, logProbabilities: logp, labels: labels, loss: loss)
        XCTAssert(try device.read(loss, as: Float.self)[0].isNaN)
        let gradient = try device.makeBuffer(count: 12, of: Float.self)
        for backward in [
            { try device.nllLossBackward(d, labels: labels, lossGradient: one, inputGradient: gradient) },
            { try device.crossEntropyBackward(d, logProbabilities: logp, labels: labels, lossGradient: one, logitsGradient: gradient) },
        ] {
            try backward()
            let g = try device.read(gradient, as: Float.self)
            XCTAssert(g[4..<8].allSatisfy(\.isNaN), "\(g)")
            XCTAssert(g[0..<4].allSatisfy(\.isFinite) && g[8..<12].allSatisfy(\.isFinite), "\(g)")
        }

        let reference = TestDevices.reference
        assertThrows(
            try reference.nllLossForward(
                d, logProbabilities: reference.makeBuffer([Float](repeating: -1, count: 12)),
                labels: reference.makeBuffer([1, 4, 0] as [Int32]),
                loss: reference.makeBuffer(count: 1, of: Float.self)), as: HeedError.self
        ) {
            XCTAssertEqual($0, .invalidArgument(op: "nll_loss", "label 4 of item 1 is outside 0..<4"))
        }
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let d = LossDescriptor(batch: 2, classes: 3)
            let scores = try backend.makeBuffer(count: 6, of: Float.self)
            let labels = try backend.makeBuffer([0, 1] as [Int32])
            let threeLabels = try backend.makeBuffer([0, 1, 2] as [Int32])
            let scalar = try backend.makeBuffer(count: 1, of: Float.self)
            let two = try backend.makeBuffer(count: 2, of: Float.self)
            assertThrows(
                try backend.nllLossForward(d, logProbabilities: scores, labels: threeLabels, loss: scalar),
                as: HeedError.self
            ) {
                XCTAssertEqual($0, .shapeMismatch(op: "nll_loss", "labels (2) needs 2 elements, buffer has 3, in (N 2, L 3)"))
            }
            assertThrows(
                try backend.nllLossBackward(d, labels: labels, lossGradient: two, inputGradient: scores),
                as: HeedError.self
            ) {
                XCTAssertEqual($0, .shapeMismatch(op: "nll_loss", "loss gradient (1) needs 1 elements, buffer has 2, in (N 2, L 3)"))
            }
            assertThrows(
                try backend.crossEntropyForward(d, logits: scores, labels: labels, logProbabilities: two, loss: scalar),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "cross_entropy",
                        "log-probabilities (2, 3) needs 6 elements, buffer has 2, in (N 2, L 3)"))
            }
            assertThrows(
                try backend.crossEntropyBackward(
                    d, logProbabilities: scores, labels: scores, lossGradient: scalar,
                    logitsGradient: scores), as: HeedError.self
            ) {
                XCTAssertEqual($0, .invalidArgument(op: "cross_entropy", "labels holds float32, expected int32"))
            }
            assertThrows(
                try backend.nllLossForward(
                    LossDescriptor(batch: 0, classes: 3), logProbabilities: scores,
                    labels: labels, loss: scalar), as: HeedError.self
            ) {
                XCTAssertEqual($0, .invalidArgument(op: "nll_loss", "needs at least one item and one class, got (N 0, L 3)"))
            }
        }
    }
}
