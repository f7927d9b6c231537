import HeedOps

extension Comparison {
    /// The comparison of an op whose outputs are sums of products: exact when the inputs
    /// are small integers (every partial sum is then an integer below 2²⁴, exact in
    /// float32 in any order), else within `Tolerance.float32Sum(terms:)` of the
    /// per-element magnitude `scale` (the op applied to the inputs' absolute values).
    public static func ofSums(
        actual: [Float], expected: [Float], integers: Bool, terms: Int,
        scale: [Double]
    ) -> Comparison {
        integers
            ? Comparison(actual: actual, expected: expected, tolerance: .exact)
            : Comparison(actual: actual, expected: expected, tolerance: .float32Sum(terms: terms), scale: scale)
    }
}

extension SeededGenerator {
    /// `count` small integers (exact sums) or uniform floats in [−1, 1].
    mutating func values(_ count: Int, integers: Bool) -> [Float] {
        integers ? self.integers(count) : uniform(count)
    }
}

/// Element-wise |x| in Double, for the magnitudes tolerances scale with.
func magnitudes(_ values: [Float]) -> [Double] {
    values.map { Double(abs($0)) }
}
