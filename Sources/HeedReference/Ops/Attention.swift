import Foundation
import HeedOps

extension Reference {
    // MARK: Attended sum

    /// `o[b,k,l] = Σ_s O[b,k,l,s]·M[b,k,s]`: O (B,K,L,S), M (B,K,S) → o (B,K,L).
    public static func attendedSum<T: BinaryFloatingPoint>(_ d: AttentionDescriptor, values: [T], mask: [T]) -> [T] {
        let (L, S) = (d.classes, d.positions)
        var o = [T](repeating: 0, count: d.count(.perClass))
        for bk in 0..<d.batch * d.heads {
            for l in 0..<L {
                var sum = 0.0
                for s in 0..<S { sum += Double(values[(bk * L + l) * S + s]) * Double(mask[bk * S + s]) }
                o[bk * L + l] = T(sum)
            }
        }
        return o
    }

    /// `∂O = do·M` (B,K,L,S) and `∂M = Σ_l do·O` (B,K,S).
    public static func attendedSumBackward<T: BinaryFloatingPoint>(
        _ d: AttentionDescriptor, values: [T], mask: [T],
        outputGradient dout: [T]
    ) -> (values: [T], mask: [T]) {
        let (L, S) = (d.classes, d.positions)
        var dValues = [T](repeating: 0, count: d.count(.values))
        var dMask = [T](repeating: 0, count: d.count(.perPosition))
        for bk in 0..<d.batch * d.heads {
            for s in 0..<S {
                var sum = 0.0
                for l in 0..<L {
                    dValues[(bk * L + l) * S + s] = T(Double(dout[bk * L + l]) * Double(mask[bk * S + s]))
                    sum += Double(dout[bk * L + l]) * Double(values[(bk * L + l) * S + s])
                }
                dMask[bk * S + s] = T(sum)
            }
        }
        return (dValues, dMask)
    }

    // MARK: Attention gates

    /// `out[b,l] = Σ_k g[b,k]·o[b,k,l]`: g (B,K), o (B,K,L) → (B,L).
    public static func gatedSum<T: BinaryFloatingPoint>(batch: Int, heads: Int, classes: Int, gates g: [T], headOutputs o: [T]) -> [T] {
        var out = [T](repeating: 0, count: batch * classes)
        for b in 0..<batch {
            for l in 0..<classes {
                var sum = 0.0
                for k in 0..<heads { sum += Double(g[b * heads + k]) * Double(o[(b * heads + k) * classes + l]) }
                out[b * classes + l] = T(sum)
            }
        }
        return out
    }

    /// `∂g[b,k] = Σ_l dout[b,l]·o[b,k,l]` and `∂o[b,k,l] = g[b,k]·dout[b,l]`.
    public static func gatedSumBackward<T: BinaryFloatingPoint>(
        batch: Int, heads: Int, classes: Int, gates g: [T], headOutputs o: [T],
        outputGradient dout: [T]
    ) -> (gates: [T], headOutputs: [T]) {
        var dg = [T](repeating: 0, count: batch * heads)
        var dO = [T](repeating: 0, count: batch * heads * classes)
        for b in 0..<batch {
            for k in 0..<heads {
                var sum = 0.0
                for l in 0..<classes {
                    let e = (b * heads + k) * classes + l
                    sum += Double(dout[b * classes + l]) * Double(o[e])
                    dO[e] = T(Double(g[b * heads + k]) * Double(dout[b * classes + l]))
                }
                dg[b * heads + k] = T(sum)
            }
        }
        return (dg, dO)
    }

    /// The gates' pre-activations `t = tanh(Σ_s S·M)` (B,K): a dot product per head is
    /// the attended sum with a single class.
    static func gateScores<T: BinaryFloatingPoint>(_ d: AttentionDescriptor, scores: [T], mask: [T]) -> (dots: [T], t: [T]) {
        let dots = attendedSum(d.singleClass, values: scores, mask: mask)
        return (dots, tanh(dots))
    }

    /// `g = softmax_k(tanh(Σ_s S·M))` (B,K) and `output = Σ_k g·o` (B,L).
    public static func attentionGates<T: BinaryFloatingPoint>(
        _ d: AttentionDescriptor, scores: [T], mask: [T], headOutputs: [T]
    )
        -> (gates: [T], output: [T])
    {
        let t = gateScores(d, scores: scores, mask: mask).t
        let g = softmax(SoftmaxDescriptor(outer: d.batch, axis: d.heads), t)
        return (g, gatedSum(batch: d.batch, heads: d.heads, classes: d.classes, gates: g, headOutputs: headOutputs))
    }

    /// The gates' chain backwards: gated sum, softmax over K, tanh, dot products.
    public static func attentionGatesBackward<T: BinaryFloatingPoint>(
        _ d: AttentionDescriptor, scores: [T], mask: [T], headOutputs: [T],
        outputGradient: [T]
    ) -> (scores: [T], mask: [T], headOutputs: [T]) {
        let t = gateScores(d, scores: scores, mask: mask).t
        let gateSoftmax = SoftmaxDescriptor(outer: d.batch, axis: d.heads)
        let g = softmax(gateSoftmax, t)
        let (dg, dO) = gatedSumBackward(
            batch: d.batch, heads: d.heads, classes: d.classes, gates: g, headOutputs: headOutputs,
            outputGradient: outputGradient)
        let dt = softmaxBackward(gateSoftmax, output: g, outputGradient: dg)
        let dDots = zip(dt, t).map { T(Double($0) * (1 - Double($1) * Double($1))) }
        let (dScores, dMask) = attendedSumBackward(d.singleClass, values: scores, mask: mask, outputGradient: dDots)
        return (dScores, dMask, dO)
    }

    // MARK: Aggregation

    /// Weights of the sources (B,N) from raw gates: softmax over N, or σ normalised by
    /// `1e-6 + Σσ`.
    public static func aggregationWeights<T: BinaryFloatingPoint>(_ d: AggregationDescriptor, gates: [T]) -> [T] {
        switch d.gate {
        case .softmax:
            return softmax(SoftmaxDescriptor(outer: d.batch, axis: d.sources), gates)
        case .sigmoid:
            var w = [T](repeating: 0, count: d.batch * d.sources)
            for b in 0..<d.batch {
                let row = (0..<d.sources).map { sigmoid(Double(gates[b * d.sources + $0])) }
                let denominator = AggregationDescriptor.sigmoidEpsilon + row.reduce(0, +)
                for i in 0..<d.sources { w[b * d.sources + i] = T(row[i] / denominator) }
            }
            return w
        }
    }

    /// `∂gates` from `∂w`: the softmax backward, or for the sigmoid gate
    /// `(∂w_i − Σ_j w_j ∂w_j)/D · σ_i(1 − σ_i)`.
    static func aggregationWeightsBackward<T: BinaryFloatingPoint>(
        _ d: AggregationDescriptor, gates: [T], weights w: [T],
        weightsGradient dw: [T]
    ) -> [T] {
        switch d.gate {
        case .softmax:
            return softmaxBackward(SoftmaxDescriptor(outer: d.batch, axis: d.sources), output: w, outputGradient: dw)
        case .sigmoid:
            var dg = [T](repeating: 0, count: d.batch * d.sources)
            for b in 0..<d.batch {
                let indices = (0..<d.sources).map { b * d.sources + $0 }
                let sig = indices.map { sigmoid(Double(gates[$0])) }
                let denominator = AggregationDescriptor.sigmoidEpsilon + sig.reduce(0, +)
                let c = indices.reduce(0.0) { $0 + Double(w[$1]) * Double(dw[$1]) }
                for (i, e) in indices.enumerated() {
                    dg[e] = T((Double(dw[e]) - c) / denominator * sig[i] * (1 - sig[i]))
                }
            }
            return dg
        }
    }

    /// `out[b,l] = Σ_i w[b,i]·log_softmax(sources[b,i,:])[l]`: sources (B,N,L), gates (B,N) → (B,L).
    public static func aggregation<T: BinaryFloatingPoint>(_ d: AggregationDescriptor, sources: [T], gates: [T]) -> [T] {
        let logp = softmax(SoftmaxDescriptor(.logSoftmax, outer: d.batch * d.sources, axis: d.classes), sources)
        let w = aggregationWeights(d, gates: gates)
        return gatedSum(batch: d.batch, heads: d.sources, classes: d.classes, gates: w, headOutputs: logp)
    }

    /// Gradients of the aggregation with respect to sources (B,N,L) and gates (B,N).
    public static func aggregationBackward<T: BinaryFloatingPoint>(
        _ d: AggregationDescriptor, sources: [T], gates: [T],
        outputGradient: [T]
    ) -> (sources: [T], gates: [T]) {
        let logSoftmax = SoftmaxDescriptor(.logSoftmax, outer: d.batch * d.sources, axis: d.classes)
        let logp = softmax(logSoftmax, sources)
        let w = aggregationWeights(d, gates: gates)
        let (dw, dlogp) = gatedSumBackward(
            batch: d.batch, heads: d.sources, classes: d.classes, gates: w, headOutputs: logp,
            outputGradient: outputGradient)
        return (
            softmaxBackward(logSoftmax, output: logp, outputGradient: dlogp),
            aggregationWeightsBackward(d, gates: gates, weights: w, weightsGradient: dw)
        )
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    // MARK: Head separation

    /// P (B,K,Q): the 2×2 average pool with floor of the masks (B,K,h,w), Q = ⌊h/2⌋·⌊w/2⌋.
    public static func pooledMasks<T: BinaryFloatingPoint>(_ d: HeadSeparationDescriptor, masks: [T]) -> [T] {
        let (H, W, h2, w2) = (d.height, d.width, d.height / 2, d.width / 2)
        var p = [T](repeating: 0, count: d.batch * d.heads * h2 * w2)
        for bk in 0..<d.batch * d.heads {
            for y in 0..<h2 {
                for x in 0..<w2 {
                    var sum = 0.0
                    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] { sum += Double(masks[(bk * H + 2 * y + dy) * W + 2 * x + dx]) }
                    p[(bk * h2 + y) * w2 + x] = T(sum / 4)
                }
            }
        }
        return p
    }

    /// `G = P·Pᵀ` per item (B,K,K) and `R = mean over B·K·K of (G ⊙ (1 − I))²`.
    public static func headSeparation<T: BinaryFloatingPoint>(_ d: HeadSeparationDescriptor, masks: [T]) -> (gram: [T], loss: T) {
        let (K, Q) = (d.heads, d.pooledPositions)
        let p = pooledMasks(d, masks: masks)
        var gram = [T](repeating: 0, count: d.gramCount)
        var loss = 0.0
        for b in 0..<d.batch {
            for k in 0..<K {
                for c in 0..<K {
                    var sum = 0.0
                    for q in 0..<Q { sum += Double(p[(b * K + k) * Q + q]) * Double(p[(b * K + c) * Q + q]) }
                    gram[(b * K + k) * K + c] = T(sum)
                    if k != c { loss += sum * sum }
                }
            }
        }
        return (gram, T(loss / Double(d.gramCount)))
    }

    /// `g·∂R/∂M` (B,K,h,w): `∂R/∂G = 2G/(B·K·K)` off the diagonal, through `G = P·Pᵀ`
    /// to P, and through the pool (¼ to each element of a 2×2 block, 0 outside).
    public static func headSeparationBackward<T: BinaryFloatingPoint>(
        _ d: HeadSeparationDescriptor, masks: [T], gram: [T],
        lossGradient g: T
    ) -> [T] {
        let (K, Q, H, W, w2) = (d.heads, d.pooledPositions, d.height, d.width, d.width / 2)
        let p = pooledMasks(d, masks: masks)
        var dG = [Double](repeating: 0, count: d.gramCount)
        for b in 0..<d.batch {
            for k in 0..<K {
                for c in 0..<K where c != k {
                    dG[(b * K + k) * K + c] = Double(g) * 2 * Double(gram[(b * K + k) * K + c]) / Double(d.gramCount)
                }
            }
        }
        var dMasks = [T](repeating: 0, count: d.maskCount)
        for b in 0..<d.batch {
            for k in 0..<K {
                for q in 0..<Q {
                    var dP = 0.0
                    for c in 0..<K { dP += (dG[(b * K + k) * K + c] + dG[(b * K + c) * K + k]) * Double(p[(b * K + c) * Q + q]) }
                    let (y, x) = (2 * (q / w2), 2 * (q % w2))
                    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] { dMasks[((b * K + k) * H + y + dy) * W + x + dx] = T(dP / 4) }
                }
            }
        }
        return dMasks
    }
}

extension AttentionDescriptor {
    /// The same heads with one class: the gates' dot products Σ_s S·M are attended sums of it.
    var singleClass: AttentionDescriptor { AttentionDescriptor(batch: batch, heads: heads, classes: 1, positions: positions) }
}
