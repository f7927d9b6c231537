import Foundation
import HeedOps

/// Initial values of parameters, as the reference implementation draws them.
public enum Initialization {
    /// Kaiming (He) normal, fan-in mode, gain √2 (for ReLU networks):
    /// N(0, 2 / fan_in), PyTorch's `kaiming_normal_(w)` with its defaults for conv weights
    /// in the reference code. `fanIn` = input channels × kernel area (or input features).
    public static func kaimingNormal(count: Int, fanIn: Int, random: inout SeededGenerator) -> [Float] {
        let std = (2.0 / Double(fanIn)).squareRoot()
        return normal(count: count, std: std, random: &random)
    }

    /// Uniform in ±1/√fan_in: PyTorch's default for a linear layer's bias.
    public static func uniformBias(count: Int, fanIn: Int, random: inout SeededGenerator) -> [Float] {
        let bound = 1 / Float(fanIn).squareRoot()
        return (0..<count).map { _ in Float.random(in: -bound...bound, using: &random) }
    }

    /// Samples of N(0, std²) by the Box–Muller transform.
    public static func normal(count: Int, std: Double, random: inout SeededGenerator) -> [Float] {
        var values: [Float] = []
        values.reserveCapacity(count + 1)
        while values.count < count {
            // u1 in (0, 1] so the logarithm is finite.
            let u1 = 1 - Double.random(in: 0..<1, using: &random)
            let u2 = Double.random(in: 0..<1, using: &random)
            let radius = (-2 * log(u1)).squareRoot() * std
            values.append(Float(radius * cos(2 * .pi * u2)))
            values.append(Float(radius * sin(2 * .pi * u2)))
        }
        return Array(values.prefix(count))
    }
}

extension Initialization {
    /// A rows × columns matrix (row-major) whose rows are orthonormal, times `gain`:
    /// W·Wᵀ = gain²·I. Gram–Schmidt (twice, for full precision) on Gaussian rows in
    /// Double, which is the QR of a Gaussian matrix with a positive diagonal: the
    /// sign-corrected QR of PyTorch's `orthogonal_`. Needs rows ≤ columns.
    public static func orthogonalRows(rows: Int, columns: Int, gain: Double, random: inout SeededGenerator) -> [Float] {
        precondition(rows <= columns, "\(rows) orthonormal rows need at least as many columns, got \(columns)")
        var basis: [[Double]] = []
        for _ in 0..<rows {
            var v = normal(count: columns, std: 1, random: &random).map(Double.init)
            for _ in 0..<2 {
                for q in basis {
                    let projection = zip(v, q).reduce(0) { $0 + $1.0 * $1.1 }
                    for i in v.indices { v[i] -= projection * q[i] }
                }
            }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            basis.append(v.map { $0 / norm })
        }
        return basis.flatMap { $0.map { Float($0 * gain) } }
    }
}
