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

    /// A number of bytes in variable `name`, or nil when it is not set: a whole number of
    /// bytes (`536870912`) or of binary units with a suffix `K`, `M`, `G` or `T` (`512M`,
    /// `2G`; 1024-based, case-insensitive, an optional `B` or `iB` after it).
    ///
    /// - Throws: `EnvironmentError` when the variable is set to anything else, to zero, or
    ///   to more bytes than an `Int` holds.
    public static func byteCount(
        _ name: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Int? {
        guard let text = environment[name] else { return nil }
        let error = EnvironmentError(name: name, value: text, expected: "a size in bytes such as 536870912, 512M or 2G")
        let digits = text.prefix { ("0"..."9").contains($0) }
        let suffix = text.dropFirst(digits.count).uppercased()
        let shifts = [
            "": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20, "G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40,
            "TIB": 40,
        ]
        guard let shift = shifts[suffix], let count = Int(digits), count > 0, count <= Int.max >> shift else { throw error }
        return count << shift
    }
}
