/// A small, fast, seedable random number generator (SplitMix64), so that test
/// inputs, data shuffles and initial weights repeat exactly from a seed on every
/// platform (Swift's `SystemRandomNumberGenerator` cannot be seeded).
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` floats uniform in `range`.
    public mutating func uniform(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &self) }
    }

    /// `count` small integers stored as floats: products and sums of these are exact
    /// in float32, so results can be compared for exact equality.
    public mutating func integers(_ count: Int, in range: ClosedRange<Int> = -3...3) -> [Float] {
        (0..<count).map { _ in Float(Int.random(in: range, using: &self)) }
    }
}
