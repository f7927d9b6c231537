import Foundation

/// A count of bytes for people: `"512 B"`, `"1.5 KiB"`, `"13.8 GiB"` (powers of 1024).
public func formatBytes<Count: BinaryInteger>(_ count: Count) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
}
