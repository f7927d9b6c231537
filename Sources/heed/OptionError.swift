/// A bad option value, printed as one line: `Error: --lr must be a finite number above 0, not inf`.
///
/// Thrown from `validate()` instead of `ValidationError`, to which ArgumentParser
/// appends the usage text.
struct OptionError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    /// Throws `message` unless `condition` holds.
    static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        guard condition else { throw OptionError(message()) }
    }

    /// Throws unless `value` lies in `range`: `--batch-size must be 2...65536, not 0`.
    static func require<T: Comparable & CustomStringConvertible>(_ option: String, _ value: T, in range: ClosedRange<T>) throws {
        try require(range.contains(value), "\(option) must be \(range.lowerBound)...\(range.upperBound), not \(value)")
    }
}
