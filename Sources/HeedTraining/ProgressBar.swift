import Foundation

/// A one-line progress display on standard error: a bar, counts, the latest
/// metrics and the time left. On a terminal it redraws in place every
/// `redrawInterval` seconds; otherwise (logs, CI) it prints a line every
/// `lineInterval` seconds; and always at the end.
public final class ProgressBar {
    private let total: Int
    private let label: String
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastLine = Date.distantPast
    private let lineInterval: TimeInterval
    private let redrawInterval: TimeInterval

    public init(label: String, total: Int, lineInterval: TimeInterval = 15, redrawInterval: TimeInterval = 0.25) {
        self.label = label
        self.total = max(total, 1)
        self.lineInterval = lineInterval
        self.redrawInterval = redrawInterval
    }

    /// Whether an `update` now would show something: callers read their metrics back
    /// from the device only then.
    public var isDue: Bool {
        Date().timeIntervalSince(lastLine) >= (isTerminal ? redrawInterval : lineInterval)
    }

    /// Shows `done` of `total` with `metrics` such as "loss 0.532  acc 81.2%", when it
    /// `isDue` or is `final`.
    public func update(_ done: Int, metrics: String, final: Bool = false) {
        let now = Date()
        guard final || isDue else { return }
        lastLine = now
        let elapsed = now.timeIntervalSince(start)
        let fraction = Double(done) / Double(total)
        let remaining = done > 0 ? elapsed / fraction - elapsed : 0
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let timing = final ? "in \(Self.duration(elapsed))" : "ETA \(Self.duration(remaining))"
        let line = "\(label) \(bar) \(done)/\(total)  \(metrics)  \(timing)"
        // Flush buffered stdout first, so lines on both streams keep their order in one log.
        fflush(nil)
        if isTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)\(final ? "\n" : "")".utf8))
        } else {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }

    /// `1h02m`, `3m07s` or `42s`.
    public static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
