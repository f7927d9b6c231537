import Foundation
import HeedOps
import HeedReference

/// The aggregation of log-probability sources (both gates) and the head-separation
/// regulariser; listed with the other attention ops in `AttentionVerification.cases`.
enum AggregationVerification {
    static let cases: [VerificationCase] =
        AggregationGate.allCases.flatMap { gate in
            [(1, 1, 1), (3, 2, 10), (7, 4, 100), (33, 3, 7)].flatMap { shape in
                let d = AggregationDescriptor(batch: shape.0, sources: shape.1, classes: shape.2, gate: gate)
                return [aggregationForward(d), aggregationBackward(d)]
            }
        }
        + [(1, 1, 1, 1), (2, 3, 5, 7), (3, 4, 8, 8), (2, 2, 33, 33), (1, 5, 3, 2)].flatMap { shape in
            let d = HeadSeparationDescriptor(batch: shape.0, heads: shape.1, height: shape.2, width: shape.3)
            return [headSeparationForward(d), headSeparationBackward(d)]
        }

    // MARK: Aggregation

    struct Bounds {
        /// Relative error of the weights w.
        let weights: Double
        /// Absolute error of each log-probability x − lse.
        let logProbability: Double
    }

    static func inputs(_ d: AggregationDescriptor) -> (sources: [Float], gates: [Float], gradient: [Float]) {
        var random = SeededGenerator(seed: UInt64(d.batch * 10007 + d.sources * 101 + d.classes) ^ (d.gate == .sigmoid ? 1 : 0))
        return (
            random.uniform(d.batch * d.sources * d.classes, in: -4...4), random.uniform(d.batch * d.sources, in: -2...2),
            random.uniform(d.batch * d.classes)
        )
    }

    /// Weights: softmax, (spread + 11 + N)u as for any softmax (see `SoftmaxVerification`);
    /// sigmoid, σ = 1/(1 + exp(−g)) errs by 6u + u + 5u = 12u, D = 1e-6 + Σσ by 12u + γ_N,
    /// σ/D by another 5u: (29 + N)u. Log-probabilities: lse = m + log Σ exp errs by
    /// (L + 6 + 6·ln L)u + u·|lse| (as in log-softmax), x − lse by u·|x − lse| more.
    static func bounds(_ d: AggregationDescriptor, sources: [Float], gates: [Float]) -> Bounds {
        let n = Double(d.sources)
        var spread = 0.0
        for b in 0..<d.batch {
            let row = gates[b * d.sources..<(b + 1) * d.sources].map(Double.init)
            spread = [spread, row.maxPropagatingNaN()! - row.minPropagatingNaN()!].maxPropagatingNaN()!
        }
        let weights = d.gate == .softmax ? (spread + 11 + n) * Float32Rounding.u : (29 + n) * Float32Rounding.u
        let l = Double(d.classes)
        let logp = Reference.softmax(SoftmaxDescriptor(.logSoftmax, outer: d.batch * d.sources, axis: d.classes), sources)
        let largestLogp = logp.map { abs(Double($0)) }.maxPropagatingNaN() ?? 0
        let largestLse = zip(sources, logp).map { abs(Double($0) - Double($1)) }.maxPropagatingNaN() ?? 0
        let logProbability = (l + 6 + 6 * log(l) + largestLse + largestLogp) * Float32Rounding.u
        return Bounds(weights: weights, logProbability: logProbability)
    }

    /// out = Σ_i w_i·logp_i: each log-probability's absolute error, weighted by Σ w ≤ 1,
    /// is `atol`; the weights' error, the sum over N and the reference's rounding give
    /// (εw + γ_{N+1}) of Σ_i w_i·|logp_i|.
    static func aggregationForward(_ d: AggregationDescriptor) -> VerificationCase {
        VerificationCase(op: AttentionOps.aggregationForward.name, shape: "\(d)") { device, reference in
            let x = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.sources), .floats(x.gates)],
                outputs: [.floats(d.batch * d.classes)]
            ) { backend, inputs, outputs in
                try backend.aggregationForward(d, sources: inputs[0], gates: inputs[1], output: outputs[0])
            }
            let bound = bounds(d, sources: x.sources, gates: x.gates)
            let logp = Reference.softmax(SoftmaxDescriptor(.logSoftmax, outer: d.batch * d.sources, axis: d.classes), x.sources)
            let w = Reference.aggregationWeights(d, gates: x.gates)
            let scale = Reference.gatedSum(
                batch: d.batch, heads: d.sources, classes: d.classes, gates: w,
                headOutputs: logp.map(abs)
            ).map(Double.init)
            let tolerance = Tolerance(
                atol: bound.logProbability, rtol: bound.weights + Float32Rounding.gamma(Double(d.sources + 1)),
                relativeToTerms: true)
            return Comparison(actual: actual[0], expected: expected[0], tolerance: tolerance, scale: scale)
        }
    }

    /// ∂sources = w_i·(d_l − p·Σd): εw, p's 6u + the log-probability's error, Σd's γ_L,
    /// three roundings and the reference's: (εw + ε_logp + γ_{L+10}) of w_i·(|d_l| + p·Σ|d|).
    /// ∂gates, with A_i = Σ_l|d_l|·(|logp_i| + 1) ≥ what dw_i = Σ_l d·logp_i and its error
    /// carry: softmax, (γ_{L+N+4} + ε_logp + 2εw) of w_i·(A_i + Σ_j w_j A_j); sigmoid, the
    /// same of σ_i(1 − σ_i)/D·(A_i + Σ_j w_j A_j) plus D (17u + γ_N), σ (12u), 1 − σ
    /// (12u·σ/(1 − σ)) and two products.
    static func aggregationBackward(_ d: AggregationDescriptor) -> VerificationCase {
        VerificationCase(op: AttentionOps.aggregationBackward.name, shape: "\(d)") { device, reference in
            let x = inputs(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(x.sources), .floats(x.gates), .floats(x.gradient)],
                outputs: [.floats(d.batch * d.sources * d.classes), .floats(d.batch * d.sources)]
            ) { backend, inputs, outputs in
                try backend.aggregationBackward(
                    d, sources: inputs[0], gates: inputs[1], outputGradient: inputs[2],
                    sourcesGradient: outputs[0], gatesGradient: outputs[1])
            }
            let bound = bounds(d, sources: x.sources, gates: x.gates)
            let logp = Reference.softmax(SoftmaxDescriptor(.logSoftmax, outer: d.batch * d.sources, axis: d.classes), x.sources)
            let w = Reference.aggregationWeights(d, gates: x.gates)
            let (L, N) = (d.classes, d.sources)
            var sourceScale = [Double](repeating: 0, count: logp.count)
            var gateScale = [Double](repeating: 0, count: w.count)
            var largestOdds = 0.0
            for b in 0..<d.batch {
                let dSum = (0..<L).reduce(0.0) { $0 + abs(Double(x.gradient[b * L + $1])) }
                var a = [Double](repeating: 0, count: N)
                for i in 0..<N {
                    for l in 0..<L {
                        let e = (b * N + i) * L + l
                        let dl = abs(Double(x.gradient[b * L + l]))
                        sourceScale[e] = Double(w[b * N + i]) * (dl + exp(Double(logp[e])) * dSum)
                        a[i] += dl * (abs(Double(logp[e])) + 1)
                    }
                }
                let weighted = (0..<N).reduce(0.0) { $0 + Double(w[b * N + $1]) * a[$1] }
                let sig = (0..<N).map { 1 / (1 + exp(-Double(x.gates[b * N + $0]))) }
                let denominator = AggregationDescriptor.sigmoidEpsilon + sig.reduce(0, +)
                for i in 0..<N {
                    let factor = d.gate == .softmax ? Double(w[b * N + i]) : sig[i] * (1 - sig[i]) / denominator
                    gateScale[b * N + i] = factor * (a[i] + weighted)
                    largestOdds = max(largestOdds, sig[i] / (1 - sig[i]))
                }
            }
            let u = Float32Rounding.u
            let sourceTolerance = bound.weights + bound.logProbability + Float32Rounding.gamma(Double(L + 10))
            var gateTolerance = Float32Rounding.gamma(Double(L + N + 4)) + bound.logProbability + 2 * bound.weights
            if d.gate == .sigmoid { gateTolerance += (17 + Double(N) + 12 + 12 * largestOdds + 2) * u }
            return Comparison(combining: [
                (
                    "∂sources",
                    Comparison(
                        actual: actual[0], expected: expected[0],
                        tolerance: Tolerance(atol: 0, rtol: sourceTolerance, relativeToTerms: true),
                        scale: sourceScale)
                ),
                (
                    "∂gates",
                    Comparison(
                        actual: actual[1], expected: expected[1],
                        tolerance: Tolerance(atol: 0, rtol: gateTolerance, relativeToTerms: true),
                        scale: gateScale)
                ),
            ])
        }
    }

    // MARK: Head separation

    /// Positive masks, as the spatial softmax makes them.
    static func masks(_ d: HeadSeparationDescriptor) -> [Float] {
        var random = SeededGenerator(seed: UInt64(d.batch * 10007 + d.heads * 101 + d.height * 11 + d.width))
        let logits = random.uniform(d.maskCount, in: -3...3)
        return Reference.softmax(SoftmaxDescriptor(outer: d.batch * d.heads, axis: d.height * d.width), logits)
    }

    /// All terms are positive, so errors are relative to the result. P = ¼((a + b) + (c + d))
    /// errs by γ₂; a product of two P by 2γ₂ + u; G sums Q of them: γ_{Q+5}, plus the
    /// reference's u. R = Σ G²/(B·K·K): 2γ_{Q+5} + u per square, γ_{BKK} for the sum, 5u
    /// for the division and u for the reference.
    static func headSeparationForward(_ d: HeadSeparationDescriptor) -> VerificationCase {
        VerificationCase(op: AttentionOps.headSeparationForward.name, shape: "\(d)") { device, reference in
            let m = masks(d)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(m)],
                outputs: [.floats(d.gramCount), .floats(1)]
            ) { backend, inputs, outputs in
                try backend.headSeparationForward(d, masks: inputs[0], gram: outputs[0], loss: outputs[1])
            }
            let gram = Float32Rounding.gamma(Double(d.pooledPositions + 5))
            let loss = 2 * gram + Float32Rounding.gamma(Double(d.gramCount)) + 7 * Float32Rounding.u
            return Comparison(combining: [
                (
                    "gram",
                    Comparison(actual: actual[0], expected: expected[0], tolerance: Tolerance(atol: 0, rtol: gram + Float32Rounding.u))
                ),
                ("loss", Comparison(actual: actual[1], expected: expected[1], tolerance: Tolerance(atol: 0, rtol: loss))),
            ])
        }
    }

    /// ∂M = g/(B·K·K)·Σ_{c≠k} G·P, positive terms: P γ₂, the K − 1 products and their sum
    /// γ_{K+1}, g/(B·K·K) 5u, the product u, the reference u: γ_{K+3} + 7u of |∂M|.
    /// Elements outside the pool are exactly 0 on both.
    static func headSeparationBackward(_ d: HeadSeparationDescriptor) -> VerificationCase {
        VerificationCase(op: AttentionOps.headSeparationBackward.name, shape: "\(d)") { device, reference in
            let m = masks(d)
            let gram = Reference.headSeparation(d, masks: m).gram
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference,
                inputs: [.floats(m), .floats(gram), .floats([1.5])],
                outputs: [.floats(d.maskCount)]
            ) { backend, inputs, outputs in
                try backend.headSeparationBackward(
                    d, masks: inputs[0], gram: inputs[1], lossGradient: inputs[2],
                    masksGradient: outputs[0])
            }
            let rtol = Float32Rounding.gamma(Double(d.heads + 3)) + 7 * Float32Rounding.u
            return Comparison(actual: actual[0], expected: expected[0], tolerance: Tolerance(atol: 0, rtol: rtol))
        }
    }
}
