import Foundation
import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// Every attention backward against central differences in Double, including the
/// whole gate chain (dot products, tanh, softmax over heads, weighted sum) and the
/// regulariser through the pool; and hand-worked values.
final class AttentionGradientTests: XCTestCase {
    let d = AttentionDescriptor(batch: 2, heads: 3, classes: 4, positions: 5)

    func testAttendedSumGradients() throws {
        let values = randomDoubles(d.count(.values), seed: 1)
        let mask = randomDoubles(d.count(.perPosition), seed: 2)
        func backward(_ g: [Double]) -> (values: [Double], mask: [Double]) {
            Reference.attendedSumBackward(d, values: values, mask: mask, outputGradient: g)
        }
        try assertGradientMatches(
            at: values, forward: { Reference.attendedSum(self.d, values: $0, mask: mask) },
            backward: { backward($0).values }, "∂o/∂O")
        try assertGradientMatches(
            at: mask, forward: { Reference.attendedSum(self.d, values: values, mask: $0) },
            backward: { backward($0).mask }, "∂o/∂M")
    }

    func testAttentionGateChainGradients() throws {
        // |Σ_s S·M| ≤ 5·0.8², so tanh stays in its smooth, unsaturated range.
        let scores = randomDoubles(d.count(.perPosition), in: -0.8...0.8, seed: 3)
        let mask = randomDoubles(d.count(.perPosition), in: -0.8...0.8, seed: 4)
        let heads = randomDoubles(d.count(.perClass), seed: 5)
        func backward(_ g: [Double]) -> (scores: [Double], mask: [Double], headOutputs: [Double]) {
            Reference.attentionGatesBackward(d, scores: scores, mask: mask, headOutputs: heads, outputGradient: g)
        }
        try assertGradientMatches(
            at: scores,
            forward: {
                Reference.attentionGates(self.d, scores: $0, mask: mask, headOutputs: heads).output
            }, backward: { backward($0).scores }, "∂out/∂S")
        try assertGradientMatches(
            at: mask,
            forward: {
                Reference.attentionGates(self.d, scores: scores, mask: $0, headOutputs: heads).output
            }, backward: { backward($0).mask }, "∂out/∂M")
        try assertGradientMatches(
            at: heads,
            forward: {
                Reference.attentionGates(self.d, scores: scores, mask: mask, headOutputs: $0).output
            }, backward: { backward($0).headOutputs }, "∂out/∂o")
    }

    func testAggregationGradients() throws {
        for gate in AggregationGate.allCases {
            let a = AggregationDescriptor(batch: 3, sources: 4, classes: 5, gate: gate)
            let sources = randomDoubles(a.batch * a.sources * a.classes, in: -3...3, seed: 6)
            let gates = randomDoubles(a.batch * a.sources, in: -2...2, seed: 7)
            func backward(_ g: [Double]) -> (sources: [Double], gates: [Double]) {
                Reference.aggregationBackward(a, sources: sources, gates: gates, outputGradient: g)
            }
            try assertGradientMatches(
                at: sources, forward: { Reference.aggregation(a, sources: $0, gates: gates) },
                backward: { backward($0).sources }, "∂out/∂sources, \(gate)")
            try assertGradientMatches(
                at: gates, forward: { Reference.aggregation(a, sources: sources, gates: $0) },
                backward: { backward($0).gates }, "∂out/∂gates, \(gate)")
        }
    }

    func testHeadSeparationGradient() throws {
        // Odd sizes: the last row and column lie outside the pool and get no gradient.
        for h in [
            HeadSeparationDescriptor(batch: 2, heads: 3, height: 5, width: 7),
            HeadSeparationDescriptor(batch: 1, heads: 2, height: 4, width: 4),
        ] {
            let masks = randomDoubles(h.maskCount, in: 0...1, seed: 8)
            try assertGradientMatches(
                at: masks, forward: { [Reference.headSeparation(h, masks: $0).loss] },
                backward: {
                    let gram = Reference.headSeparation(h, masks: masks).gram
                    return Reference.headSeparationBackward(h, masks: masks, gram: gram, lossGradient: $0[0])
                }, "∂R/∂M \(h)")
        }
    }

    func testKnownValues() {
        // Gates: Σ S·M = 0 for every head, so t = 0 and g = 1/K: the output is the mean head.
        let one = AttentionDescriptor(batch: 1, heads: 2, classes: 2, positions: 2)
        let gates = Reference.attentionGates(one, scores: [1, 1, 1, -1], mask: [0, 0, 1, 1], headOutputs: [2, 4, 6, 8])
        XCTAssertEqual(gates.gates, [0.5, 0.5])
        XCTAssertEqual(gates.output, [4, 6])
        XCTAssertEqual(Reference.attendedSum(one, values: [1, 2, 3, 4, 5, 6, 7, 8], mask: [1, 0, 2, 3]), [1, 3, 28, 38])

        // Aggregation of two uniform sources over 2 classes: every log-probability is −ln 2.
        for gate in AggregationGate.allCases {
            let a = AggregationDescriptor(batch: 1, sources: 2, classes: 2, gate: gate)
            let out = Reference.aggregation(a, sources: [3, 3, -1, -1], gates: [0, 0])
            // softmax weights sum to 1; sigmoid weights to Σσ/(1e-6 + Σσ) with Σσ = 1.
            let total = gate == .softmax ? 1 : 1 / (1 + 1e-6)
            XCTAssertEqual(out[0], -log(2.0) * total, accuracy: 1e-15)
            XCTAssertEqual(out[1], -log(2.0) * total, accuracy: 1e-15)
        }

        // Regulariser: head 0 all 1, head 1 all 0.5 (2×2 → one pooled value each):
        // G = [[1, 0.5], [0.5, 0.25]], R = (0.5² + 0.5²)/4 = 0.125.
        let h = HeadSeparationDescriptor(batch: 1, heads: 2, height: 2, width: 3)
        let result = Reference.headSeparation(h, masks: [1, 1, 9, 1, 1, 9, 0.5, 0.5, 9, 0.5, 0.5, 9])
        XCTAssertEqual(result.gram, [1, 0.5, 0.5, 0.25])
        XCTAssertEqual(result.loss, 0.125)
    }
}
