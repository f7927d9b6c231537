/// How close a device result must be to the reference: `|a − r| ≤ atol + rtol·s`,
/// where `s` is `|r|` or, for sums, the magnitude of the summed terms.
///
/// Floating-point error in a sum is proportional to the sum of the terms' magnitudes,
/// not to the sum itself (which cancellation can make tiny), so ops that accumulate
/// pass a per-element `scale` of Σ|terms|; elementwise ops use `|r|`.
public struct Tolerance: Sendable, Equatable, CustomStringConvertible {
    public var atol: Double
    public var rtol: Double
    /// Whether `rtol` multiplies a per-element magnitude of the summed terms.
    public var relativeToTerms: Bool

    public init(atol: Double, rtol: Double, relativeToTerms: Bool = false) {
        self.atol = atol
        self.rtol = rtol
        self.relativeToTerms = relativeToTerms
    }

    /// Bit-for-bit equality, for inputs whose every intermediate is exact in float32.
    public static let exact = Tolerance(atol: 0, rtol: 0)

    /// The classic bound on a float32 dot product of `n` terms in any order,
    /// `|fl(Σ) − Σ| ≤ γₙ·Σ|terms|` with `γₙ = n·u/(1 − n·u)` and `u = 2⁻²⁴`
    /// (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). A theorem,
    /// not a fudge factor: an implementation that breaks it is wrong.
    public static func float32Sum(terms n: Int) -> Tolerance {
        let u = 0x1p-24
        let nu = Double(max(n, 1)) * u
        return Tolerance(atol: 0, rtol: nu / (1 - nu), relativeToTerms: true)
    }

    public var description: String {
        if atol == 0 && rtol == 0 { return "exact" }
        let scale = relativeToTerms ? "Σ|terms|" : "|ref|"
        if atol == 0 { return String(format: "%.1e·%@", rtol, scale) }
        return String(format: "%.0e + %.0e·%@", atol, rtol, scale)
    }
}
