/// Philox-2×32-10, the counter-based random number generator of Salmon et al.,
/// "Parallel random numbers: as easy as 1, 2, 3" (SC 2011, Random123).
///
/// A pure function from a 64-bit counter and a 32-bit key to 64 random bits, so any
/// element's random number can be drawn on its own, in any order, on any device. The
/// OpenCL twin is `philox2x32_10` in `Kernels/random.cl`; both are checked against
/// Random123's published known-answer vectors (`kat_vectors`).
///
/// ```swift
/// let (r0, r1) = Philox.block(counter: (0, 0), key: 0)   // (0xff1dae59, 0x6cd10df2)
/// ```
public enum Philox {
    /// The round multiplier `PHILOX_M2x32_0`.
    public static let multiplier: UInt32 = 0xD256_D193
    /// The key increment between rounds `PHILOX_W32_0` (the golden ratio).
    public static let weyl: UInt32 = 0x9E37_79B9
    public static let rounds = 10

    /// The 10-round block: each round maps (c0, c1) to (hi(M·c0) ⊕ key ⊕ c1, lo(M·c0)),
    /// and the key grows by `weyl` between rounds.
    public static func block(counter: (UInt32, UInt32), key: UInt32) -> (UInt32, UInt32) {
        var (c0, c1) = counter
        var k = key
        for round in 0..<rounds {
            if round > 0 { k &+= weyl }
            let product = UInt64(c0) * UInt64(multiplier)
            (c0, c1) = (UInt32(product >> 32) ^ k ^ c1, UInt32(truncatingIfNeeded: product))
        }
        return (c0, c1)
    }
}
