import Foundation
import HeedOps
import HeedReference

/// The attention ops (docs/design.md §4): attended sum and gates here, aggregation and the
/// head-separation regulariser in `AggregationVerification.swift`. Masks are real
/// spatial softmaxes (positive, summing to 1 over s), as in the model.
///
/// Tolerances with exp/tanh chains are first-order bounds built from `Float32Rounding`'s
/// per-step errors; each case says how.
enum AttentionVerification {
    static let cases: [VerificationCase] =
        headShapes.flatMap { [attendedSumForward($0), attendedSumBackward($0), gatesForward($0), gatesBackward($0)] }
        + AggregationVerification.cases

    /// (B, K, L, S): single elements, odd sizes, 10 and 100 classes, 8×8 and 32×32+1 positions.
    static let headShapes = [
        AttentionDescriptor(batch: 1, heads: 1, classes: 1, positions: 1),
        AttentionDescriptor(batch: 3, heads: 2, classes: 10, positions: 7),
        AttentionDescriptor(batch: 2, heads: 3, classes: 7, positions: 33),
        AttentionDescriptor(batch: 5, heads: 4, classes: 10, positions: 64),
        AttentionDescriptor(batch: 2, heads: 4, classes: 100, positions: 1025),
    ]

    struct Inputs {
        let values, mask, scores, heads, perClassGradient, combinedGradient: [Float]
    }

    static func inputs(_ d: AttentionDescriptor) -> Inputs {
        var random = SeededGenerator(seed: UInt64(d.batch * 1_000_003 + d.heads * 10007 + d.classes * 101 + d.positions))
        let logits = random.uniform(d.count(.perPosition), in: -3...3)
        return Inputs(
            values: random.uniform(d.count(.values)),
            mask: Reference.softmax(SoftmaxDescriptor(outer: d.batch * d.heads, axis: d.positions), logits),
            scores: random.uniform(d.count(.perPosition), in: -3...3),
            heads: random.uniform(d.count(.perClass), in: -3...3),
            perClassGradient: random.uniform(d.count(.perClass)),
            combinedGradient: random.uniform(d.count(.combined)))
    }

    static func magnitudes(_ x: [Float]) -> [Float] { x.map(abs) }

    // MARK: Attended sum

    /// The table's sum bound, γ_terms·Σ|O·M|.
    static func attendedSumForward(_ d: AttentionDescriptor) -> VerificationCase {
        VerificationCase(op: AttentionOps.attendedSumForward.name, shape: "\(d)") { device, reference in
            let x = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.values), .floats(x.mask)],
                outputs: [.floats(d.count(.perClass))]
            ) { backend, inputs, outputs in
                try backend.attendedSumForward(d, values: inputs[0], mask: inputs[1], output: outputs[0])
            }
            let scale = Reference.attendedSum(d, values: magnitudes(x.values), mask: x.mask).map(Double.init)
            return .ofSums(AttentionOps.attendedSumForward, d, actual: actual[0], expected: expected[0], integers: false, scale: scale)
        }
    }

    /// ∂O = do·M: a float×float product is exact in Double and correctly rounded in
    /// float32, so both backends round the same exact value: exact. ∂M: the table's sum
    /// bound, γ_terms·Σ_l|do·O|.
    static func attendedSumBackward(_ d: AttentionDescriptor) -> VerificationCase {
        VerificationCase(op: AttentionOps.attendedSumBackward.name, shape: "\(d)") { device, reference in
            let x = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.values), .floats(x.mask), .floats(x.perClassGradient)],
                outputs: [.floats(d.count(.values)), .floats(d.count(.perPosition))]
            ) { backend, inputs, outputs in
                try backend.attendedSumBackward(
                    d, values: inputs[0], mask: inputs[1], outputGradient: inputs[2],
                    valuesGradient: outputs[0], maskGradient: outputs[1])
            }
            let scale = Reference.attendedSumBackward(
                d, values: magnitudes(x.values), mask: x.mask,
                outputGradient: magnitudes(x.perClassGradient)
            ).mask.map(Double.init)
            return Comparison(combining: [
                ("∂values", Comparison(actual: actual[0], expected: expected[0], tolerance: .exact)),
                (
                    "∂mask",
                    .ofSums(
                        AttentionOps.attendedSumBackward, d, actual: actual[1], expected: expected[1],
                        integers: false, scale: scale)
                ),
            ])
        }
    }

    // MARK: Gates

    /// Error bounds of the gates, to first order. t = tanh(Σ_s S·M): the dot product's
    /// γ_S·Σ|S·M| plus tanh's 5u (tanh' ≤ 1): εt, absolute. g = softmax over K of t: an
    /// error εt in each t moves g by 2εt relatively; t − max rounds by ≤ 2u (|t| ≤ 1),
    /// exp 6u, the sum γ_K, the division 5u: εg = 2εt + (13 + K)u, relative.
    static func gateErrors(_ d: AttentionDescriptor, _ x: Inputs) -> (t: Double, g: Double) {
        let dots = Reference.attendedSum(
            AttentionDescriptor(batch: d.batch, heads: d.heads, classes: 1, positions: d.positions),
            values: magnitudes(x.scores), mask: x.mask)
        let t =
            Float32Rounding.gamma(Double(d.positions)) * Double(dots.maxPropagatingNaN() ?? 0) + Float32Rounding.tanhAbsolute
            * Float32Rounding.u
        return (t, 2 * t + (13 + Double(d.heads)) * Float32Rounding.u)
    }

    /// gates within εg + u (the reference's rounding) of |g|; output Σ_k g·o within
    /// (εg + γ_{K+1})·Σ_k g·|o|.
    static func gatesForward(_ d: AttentionDescriptor) -> VerificationCase {
        VerificationCase(op: AttentionOps.gatesForward.name, shape: "\(d)") { device, reference in
            let x = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.scores), .floats(x.mask), .floats(x.heads)],
                outputs: [.floats(d.count(.perHead)), .floats(d.count(.combined))]
            ) { backend, inputs, outputs in
                try backend.attentionGatesForward(
                    d, scores: inputs[0], mask: inputs[1], headOutputs: inputs[2],
                    gates: outputs[0], output: outputs[1])
            }
            let errors = gateErrors(d, x)
            let scale = Reference.gatedSum(
                batch: d.batch, heads: d.heads, classes: d.classes, gates: expected[0],
                headOutputs: magnitudes(x.heads)
            ).map(Double.init)
            return Comparison(combining: [
                (
                    "gates",
                    Comparison(
                        actual: actual[0], expected: expected[0],
                        tolerance: Tolerance(atol: 0, rtol: errors.g + Float32Rounding.u))
                ),
                (
                    "output",
                    Comparison(
                        actual: actual[1], expected: expected[1],
                        tolerance: Tolerance(
                            atol: 0, rtol: errors.g + Float32Rounding.gamma(Double(d.heads + 1)),
                            relativeToTerms: true),
                        scale: scale)
                ),
            ])
        }
    }

    /// Backward, to first order, with A_k = Σ_l|dout·o_k| and B_k = g_k·(A_k + Σ_j g_j·A_j):
    /// dg_k = Σ_l dout·o_k errs by γ_L·A_k; c = Σ_j g_j·dg_j by (γ_L + εg + γ_K)·Σ_j g_j·A_j;
    /// dd_k = g_k·(dg_k − c)·(1 − t²) adds εg (g_k), 2εt + 2u (1 − t², abs.) and 3u
    /// (subtraction, products): dd_k errs by ρ·B_k, ρ = γ_L + γ_K + 2εg + 2εt + 5u.
    /// ∂S = dd·M and ∂M = dd·S add a product and the reference's rounding: (ρ + 2u) of
    /// B_k·|M| (resp. |S|). ∂o = g·dout: εg + 2u of |∂o|.
    static func gatesBackward(_ d: AttentionDescriptor) -> VerificationCase {
        VerificationCase(op: AttentionOps.gatesBackward.name, shape: "\(d)") { device, reference in
            let x = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference,
                inputs: [.floats(x.scores), .floats(x.mask), .floats(x.heads), .floats(x.combinedGradient)],
                outputs: [.floats(d.count(.perPosition)), .floats(d.count(.perPosition)), .floats(d.count(.perClass))]
            ) { backend, inputs, outputs in
                try backend.attentionGatesBackward(
                    d, scores: inputs[0], mask: inputs[1], headOutputs: inputs[2],
                    outputGradient: inputs[3], scoresGradient: outputs[0],
                    maskGradient: outputs[1], headOutputsGradient: outputs[2])
            }
            let errors = gateErrors(d, x)
            let g = Reference.attentionGates(d, scores: x.scores, mask: x.mask, headOutputs: x.heads).gates
            let a = Reference.gatedSumBackward(
                batch: d.batch, heads: d.heads, classes: d.classes, gates: g,
                headOutputs: magnitudes(x.heads),
                outputGradient: magnitudes(x.combinedGradient)
            ).gates
            var b = [Double](repeating: 0, count: d.count(.perHead))
            for item in 0..<d.batch {
                let row = (0..<d.heads).map { item * d.heads + $0 }
                let mean = row.reduce(0.0) { $0 + Double(g[$1]) * Double(a[$1]) }
                for e in row { b[e] = Double(g[e]) * (Double(a[e]) + mean) }
            }
            func scale(_ factor: [Float]) -> [Double] { factor.indices.map { b[$0 / d.positions] * Double(abs(factor[$0])) } }
            let rho =
                Float32Rounding.gamma(Double(d.classes)) + Float32Rounding.gamma(Double(d.heads)) + 2 * errors.g + 2 * errors.t
                + 7 * Float32Rounding.u
            let chain = Tolerance(atol: 0, rtol: rho, relativeToTerms: true)
            return Comparison(combining: [
                ("∂scores", Comparison(actual: actual[0], expected: expected[0], tolerance: chain, scale: scale(x.mask))),
                ("∂mask", Comparison(actual: actual[1], expected: expected[1], tolerance: chain, scale: scale(x.scores))),
                (
                    "∂head outputs",
                    Comparison(
                        actual: actual[2], expected: expected[2],
                        tolerance: Tolerance(atol: 0, rtol: errors.g + 2 * Float32Rounding.u))
                ),
            ])
        }
    }
}
