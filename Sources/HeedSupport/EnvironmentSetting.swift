import Foundation

/// A setting in the environment that Heed cannot use, in one line naming the variable
/// and its value: `HEED_MAX_IMAGE_PIXELS='lots' is not a whole number from 1 to 4294967296`.
public struct EnvironmentError: Error, CustomStringConvertible, Equatable {
    public let name: String
    public let value: String
    /// What the value should be, e.g. `a whole number from 1 to 4294967296`.
    public let expected: String

    public var description: String {
        // Printable ASCII only and a bounded length, so the message stays one readable line.
        let shown = value.utf8.prefix(40).map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }
        return "\(name)='\(shown.joined())\(value.utf8.count > 40 ? "..." : "")' is not \(expected)"
    }
}

/// Settings read from environment variables.
public enum EnvironmentSetting {
    /// The whole number in variable `name`, or `fallback` when it is not set.
    ///
    /// - Throws: `EnvironmentError` when the variable is set to anything but a decimal
    ///   whole number in `range` (empty, signed wrongly, fractional, too large).
    public static func integer(
        _ name: String, in range: ClosedRange<Int>, default fallback: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Int {
        guard let text = environment[name] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw EnvironmentError(name: name, value: text, expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
