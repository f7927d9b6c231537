import Foundation

/// float32 rounding error in units of the unit roundoff u = 2⁻²⁴, for the tolerances
/// of ops built from sums and OpenCL built-ins. One ulp of a float32 value is at most
/// 2u times its magnitude, so the maximum errors OpenCL 1.2 §7.4 allows (full profile,
/// no relaxed maths) are, relative: exp ≤ 3 ulp = 6u, log ≤ 3 ulp = 6u, x/y ≤ 2.5 ulp
/// = 5u, and tanh ≤ 5 ulp, which for |tanh| < 1 is at most 5u absolute.
/// Every comparison also allows u·|ref| for rounding the reference's Double result to
/// float32.
enum Float32Rounding {
    static let u = 0x1p-24
    static let exp = 6.0
    static let log = 6.0
    static let divide = 5.0
    static let tanhAbsolute = 5.0

    /// γₙ = n·u / (1 − n·u): the relative error bound of n roundings (Higham §3.1).
    static func gamma(_ n: Double) -> Double { n * u / (1 - n * u) }

    /// The smallest normal float32: OpenCL 1.2 makes single-precision denormals optional
    /// (§6.1.1.1), so a device may flush results below it to zero.
    static let smallestNormal = Double(Float.leastNormalMagnitude)
}
