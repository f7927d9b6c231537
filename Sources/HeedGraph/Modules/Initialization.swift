import Foundation
import HeedDevice

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
