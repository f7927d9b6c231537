/// The outcome of comparing a device's output with the reference's.
public struct Comparison: Sendable {
    public let maxAbsoluteError: Double
    /// Largest `|a − r| / |r|` over elements whose reference is not zero.
    public let maxRelativeError: Double
    public let tolerance: Tolerance
    /// The first element outside the tolerance, described, or nil when all pass.
    public let firstFailure: String?
    public var passed: Bool { firstFailure == nil }

    init(maxAbsoluteError: Double, maxRelativeError: Double, tolerance: Tolerance, firstFailure: String?) {
        self.maxAbsoluteError = maxAbsoluteError
        self.maxRelativeError = maxRelativeError
        self.tolerance = tolerance
        self.firstFailure = firstFailure
    }

    /// Compares element by element. A NaN or infinity where the reference is finite
    /// fails (so output buffers poisoned with NaN catch unwritten elements); so does
    /// a length mismatch.
    public init(actual: [Float], expected: [Float], tolerance: Tolerance, scale: [Double]? = nil) {
        self.tolerance = tolerance
        var maxAbsolute = 0.0
        var maxRelative = 0.0
        var failure: String?
        if actual.count != expected.count {
            failure = "\(actual.count) values, reference has \(expected.count)"
        }
        for i in 0..<min(actual.count, expected.count) {
            let a = Double(actual[i])
            let r = Double(expected[i])
            let error = abs(a - r)
            let magnitude = tolerance.relativeToTerms ? (scale?[i] ?? abs(r)) : abs(r)
            let bound = tolerance.atol + tolerance.rtol * magnitude
            let bad = a.isNaN != r.isNaN || (r.isFinite && !(error <= bound)) || (r.isInfinite && a != r)
            if error.isFinite {
                maxAbsolute = max(maxAbsolute, error)
                if r != 0 { maxRelative = max(maxRelative, error / abs(r)) }
            } else if bad {
                maxAbsolute = .infinity
            }
            if bad && failure == nil {
                failure = "element \(i): got \(actual[i]), reference \(expected[i]), allowed ±\(Float(bound))"
            }
        }
        maxAbsoluteError = maxAbsolute
        maxRelativeError = maxRelative
        firstFailure = failure
    }
}

extension Sequence where Element: FloatingPoint {
    /// The largest element, NaN when any element is NaN, nil when there is none.
    ///
    /// `max()` returns NaN only when the first element is NaN, so it hides a NaN
    /// anywhere else; a tolerance or error bound built from it would pass one.
    public func maxPropagatingNaN() -> Element? {
        var largest: Element?
        for element in self {
            if element.isNaN { return element }
            if largest.map({ element > $0 }) ?? true { largest = element }
        }
        return largest
    }

    /// The smallest element, NaN when any element is NaN, nil when there is none.
    public func minPropagatingNaN() -> Element? {
        lazy.map { -$0 }.maxPropagatingNaN().map { -$0 }
    }
}
