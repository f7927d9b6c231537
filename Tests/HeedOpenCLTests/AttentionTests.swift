import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class AttentionTests: XCTestCase {
    /// The cases `heed verify` runs for the attention ops: attended sum and gates at
    /// (B, K, L, S) from single elements to (2, 4, 100, 1025); the aggregation with both
    /// gates; the regulariser with odd mask sizes; forward and backward each.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        for (op, count) in [("attended_sum", 10), ("attention_gates", 10), ("aggregation", 16), ("head_separation", 10)] {
            let cases = VerificationSuite.cases(matching: op)
            XCTAssertEqual(cases.count, count, op)
            for check in cases {
                assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
            }
        }
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            func buffer(_ count: Int) throws -> any DeviceBuffer { try backend.makeBuffer(count: count, of: Float.self) }
            let d = AttentionDescriptor(batch: 2, heads: 3, classes: 4, positions: 5)
            let context = "in (B 2, K 3, L 4, S 5)"
            assertThrows(
                try backend.attendedSumForward(d, values: buffer(120), mask: buffer(29), output: buffer(24)),
                as: HeedError.self
            ) {
                XCTAssertEqual($0, .shapeMismatch(op: "attended_sum", "mask (2, 3, 5) needs 30 elements, buffer has 29, \(context)"))
            }
            assertThrows(
                try backend.attendedSumBackward(
                    d, values: buffer(120), mask: buffer(30), outputGradient: buffer(24),
                    valuesGradient: buffer(119), maskGradient: buffer(30)), as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "attended_sum",
                        "values gradient (2, 3, 4, 5) needs 120 elements, buffer has 119, \(context)"))
            }
            assertThrows(
                try backend.attentionGatesForward(
                    d, scores: buffer(30), mask: buffer(30), headOutputs: buffer(24),
                    gates: buffer(6), output: buffer(9)), as: HeedError.self
            ) {
                XCTAssertEqual($0, .shapeMismatch(op: "attention_gates", "output (2, 4) needs 8 elements, buffer has 9, \(context)"))
            }
            assertThrows(
                try backend.attentionGatesBackward(
                    d, scores: buffer(30), mask: buffer(30), headOutputs: buffer(25),
                    outputGradient: buffer(8), scoresGradient: buffer(30),
                    maskGradient: buffer(30), headOutputsGradient: buffer(24)),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "attention_gates",
                        "head outputs (2, 3, 4) needs 24 elements, buffer has 25, \(context)"))
            }
            let noHeads = AttentionDescriptor(batch: 2, heads: 0, classes: 4, positions: 5)
            assertThrows(
                try backend.attentionGatesForward(
                    noHeads, scores: buffer(0), mask: buffer(0), headOutputs: buffer(0),
                    gates: buffer(0), output: buffer(8)), as: HeedError.self
            ) {
                XCTAssertEqual($0, .invalidArgument(op: "attention_gates", "softmax over zero heads in (B 2, K 0, L 4, S 5)"))
            }

            let a = AggregationDescriptor(batch: 2, sources: 3, classes: 4, gate: .sigmoid)
            assertThrows(
                try backend.aggregationForward(a, sources: buffer(24), gates: buffer(5), output: buffer(8)),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "aggregation",
                        "gates (2, 3) needs 6 elements, buffer has 5, in (B 2, N 3, L 4, sigmoid gate)"))
            }
            assertThrows(
                try backend.aggregationBackward(
                    a, sources: buffer(24), gates: buffer(6), outputGradient: buffer(8),
                    sourcesGradient: buffer(23), gatesGradient: buffer(6)), as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "aggregation",
                        "sources gradient (2, 3, 4) needs 24 elements, buffer has 23, in (B 2, N 3, L 4, sigmoid gate)"))
            }

            let h = HeadSeparationDescriptor(batch: 2, heads: 3, height: 5, width: 7)
            assertThrows(
                try backend.headSeparationForward(h, masks: buffer(210), gram: buffer(17), loss: buffer(1)),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "head_separation",
                        "gram (2, 3, 3) needs 18 elements, buffer has 17, in (B 2, K 3, h 5, w 7)"))
            }
            assertThrows(
                try backend.headSeparationBackward(
                    h, masks: buffer(210), gram: buffer(18), lossGradient: buffer(1),
                    masksGradient: buffer(211)), as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "head_separation",
                        "masks gradient (2, 3, 5, 7) needs 210 elements, buffer has 211, in (B 2, K 3, h 5, w 7)"))
            }
        }
    }
}
