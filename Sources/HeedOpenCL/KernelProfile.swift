import Foundation
import HeedOps

/// Device time per kernel, for finding where a workload spends it.
///
/// When on (`OpenCLBackend.profile`), every launch waits for its profiling event and adds
/// the kernel's device time under its name; GEMMs through CLBlast are timed by
/// draining the queue around them. Waiting after each command serialises host and
/// device, so totals are for comparing kernels, not for measuring throughput.
public struct KernelProfile: Sendable {
    public struct Entry: Sendable {
        public var calls = 0
        public var seconds = 0.0
    }

    public private(set) var entries: [String: Entry] = [:]

    public init() {}

    mutating func add(_ name: String, seconds: Double) {
        entries[name, default: Entry()].calls += 1
        entries[name, default: Entry()].seconds += seconds
    }

    /// A table, largest total first, with each kernel's share.
    public var report: String {
        let total = entries.values.reduce(0) { $0 + $1.seconds }
        let rows = entries.sorted { $0.value.seconds > $1.value.seconds }.map { name, entry in
            name.padding(toLength: 34, withPad: " ", startingAt: 0)
                + String(format: "%8d calls %10.3f s %6.1f%%", entry.calls, entry.seconds, 100 * entry.seconds / max(total, 1e-12))
        }
        return (["kernel                             device time"] + rows + [String(format: "total %.3f s", total)])
            .joined(separator: "\n")
    }
}
