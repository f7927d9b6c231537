import HeedBench

/// The search every tunable family runs: each candidate is checked against the
/// reference first and timed only if it passed, so a kernel that computes nothing (or
/// computes wrong) can never win however fast it runs. The baseline, the device
/// defaults, is always measured first: the winner is reported against it.
public struct TuningSearch<Candidate> {
    /// What happened to one candidate, in the order they were tried.
    public enum Outcome {
        /// Passed the reference check; `seconds` is its score (see `Timing`).
        case measured(seconds: Double)
        /// Failed the reference check (or could not be built or run): never timed.
        case rejected(reason: String)
    }

    public struct Trial {
        public let candidate: Candidate
        public let label: String
        public let outcome: Outcome
    }

    /// A family's search as `heed tune` reports it: the device defaults and the winner
    /// with their times, and every candidate tried.
    public struct Result {
        public let defaults: Candidate
        public let winner: Candidate
        public let defaultSeconds: Double
        public let winnerSeconds: Double
        public let trials: [Trial]
    }

    public let label: (Candidate) -> String
    /// Nil when the candidate agrees with the reference, else the first failure.
    public let check: (Candidate) throws -> String?
    /// Device seconds of the family's workload with the candidate (smaller is better).
    public let time: (Candidate) throws -> Double

    public init(
        label: @escaping (Candidate) -> String,
        check: @escaping (Candidate) throws -> String?,
        time: @escaping (Candidate) throws -> Double
    ) {
        self.label = label
        self.check = check
        self.time = time
    }

    /// Checks, then times, one candidate. An error while building or running it rejects it.
    public func trial(_ candidate: Candidate) -> Trial {
        let outcome: Outcome
        do {
            if let failure = try check(candidate) {
                outcome = .rejected(reason: failure)
            } else {
                outcome = .measured(seconds: try time(candidate))
            }
        } catch {
            outcome = .rejected(reason: "\(error)")
        }
        return Trial(candidate: candidate, label: label(candidate), outcome: outcome)
    }

    /// One line of progress for `trial`, the `index`-th of `count` in `stage`, its time against `baseline`.
    public static func line(_ trial: Trial, stage: String, index: Int, of count: Int, baseline: Double?) -> String {
        let tag = "[\(stage) \(index)/\(count)]"
        let position = tag.count < 12 ? tag.padding(toLength: 12, withPad: " ", startingAt: 0) : tag
        let label = trial.label.padding(toLength: 44, withPad: " ", startingAt: 0)
        switch trial.outcome {
        case .measured(let seconds):
            let ratio = baseline.map { String(format: "  %.2fx the defaults' time", seconds / $0) } ?? ""
            return "  \(position) \(label) \(String(format: "%8.4f s", seconds))\(ratio)"
        case .rejected(let reason):
            return "  \(position) \(label) rejected: \(reason)"
        }
    }

    /// The fastest of `trials` that passed, or nil when none did.
    public static func fastest(of trials: [Trial]) -> Trial? {
        trials.min { a, b in
            switch (a.outcome, b.outcome) {
            case (.measured(let x), .measured(let y)): x < y
            case (.measured, .rejected): true
            default: false
            }
        }.flatMap { if case .measured = $0.outcome { $0 } else { nil } }
    }
}

extension TuningSearch where Candidate: Equatable {
    /// `result` with its winner held against the defaults again: both timed `rounds` times,
    /// alternately (defaults, winner, defaults, …), so that both see the same state of the
    /// machine. The search times each candidate once, and on a busy machine one time can be
    /// off by more than what separates the candidates. The winner stays only where its
    /// median time beats the defaults' by more than `margin` (a fraction); the result then
    /// reports the two medians. A winner that is the defaults is returned as it is.
    public func confirmed(
        _ result: Result, rounds: Int, margin: Double = 0.02, progress: (String) -> Void
    ) throws -> Result {
        guard result.winner != result.defaults, rounds > 0 else { return result }
        var defaultTimes: [Double] = []
        var winnerTimes: [Double] = []
        for _ in 0..<rounds {
            defaultTimes.append(try time(result.defaults))
            winnerTimes.append(try time(result.winner))
        }
        let (defaultSeconds, winnerSeconds) = (Samples(defaultTimes).median, Samples(winnerTimes).median)
        let stays = winnerSeconds < defaultSeconds * (1 - margin)
        let seconds = { (value: Double) in String(format: "%.4f s", value) }
        progress(
            "  [confirm]   defaults \(seconds(defaultSeconds)), \(label(result.winner)) \(seconds(winnerSeconds))"
                + " (medians of \(rounds) alternating rounds): \(stays ? "the winner stays" : "the defaults stay")")
        return Result(
            defaults: result.defaults, winner: stays ? result.winner : result.defaults,
            defaultSeconds: defaultSeconds, winnerSeconds: stays ? winnerSeconds : defaultSeconds,
            trials: result.trials)
    }
}

extension TuningSearch.Outcome {
    public var seconds: Double? {
        if case .measured(let seconds) = self { seconds } else { nil }
    }
}
