import Foundation
import HeedOpenCL

/// `heed tune`: searches each requested kernel family's knobs on one device and
/// stores the winners in the device's `TuningFile`, which every later backend loads.
public enum Tuner {
    /// The families `--op` accepts.
    public static let families = [PackedGemmTuning.family, CLBlastGemmTuning.family, NormalizationTuning.family]

    /// What one family's search ended with, for the summary table.
    public struct FamilyReport {
        public let family: String
        public let defaults: String
        public let winner: String
        public let defaultSeconds: Double
        public let winnerSeconds: Double
        public let measured: Int
        public let rejected: Int
    }

    /// Tunes `families` on `backend` and writes the file to `url` (by default the
    /// device's file in the cache), keeping entries of families not tuned now. Families
    /// the device does not run (the packed GEMM where GEMM goes through CLBlast) are
    /// skipped with a line on `progress`; when none was tuned, nothing is written.
    public static func tune(
        backend: OpenCLBackend, families requested: [String], quick: Bool, to url: URL? = nil,
        progress: (String) -> Void
    ) throws -> (reports: [FamilyReport], file: TuningFile, url: URL) {
        let url = url ?? TuningFile.url(for: backend.device, in: TuningFile.directory(environment: backend.settings.environment))
        // Entries of other families survive a retune of one; a damaged file is replaced.
        var file =
            (try? TuningFile.read(from: url)).flatMap { $0.device == backend.device.name ? $0 : nil } ?? TuningFile(device: backend.device)
        var reports: [FamilyReport] = []
        for family in requested {
            switch family {
            case PackedGemmTuning.family:
                guard backend.gemmEngine == .packed else {
                    progress("\(family): skipped: \(backend.device.name) runs GEMM through CLBlast (HEED_GEMM=packed tunes it anyway)")
                    continue
                }
                progress("\(family): packed GEMM micro-tiles, then cache blocks\(quick ? " (quick: a tiny space)" : "")")
                let result = try PackedGemmTuning(device: backend, quick: quick).run(progress: progress)
                file.families[family] = TuningFile.Family(
                    sourceHash: try backend.sourceHash(of: family), knobs: result.winner.knobs,
                    defaultSeconds: result.defaultSeconds, tunedSeconds: result.winnerSeconds,
                    candidates: result.trials.filter { $0.outcome.seconds != nil }.count)
                reports.append(
                    FamilyReport(
                        family: family, defaults: result.defaults.description, winner: result.winner.description,
                        defaultSeconds: result.defaultSeconds, winnerSeconds: result.winnerSeconds,
                        measured: result.trials.filter { $0.outcome.seconds != nil }.count,
                        rejected: result.trials.filter { $0.outcome.seconds == nil }.count))
            case CLBlastGemmTuning.family:
                guard backend.gemmEngine == .clblast else {
                    progress(
                        "\(family): skipped: \(backend.device.name) runs GEMM through Heed's packed kernels (HEED_GEMM=clblast tunes it anyway)"
                    )
                    continue
                }
                progress("\(family): CLBlast's Xgemm tuner\(quick ? " (quick: a tiny sample)" : "")")
                let result = try CLBlastGemmTuning(device: backend, quick: quick).run(progress: progress)
                if let winner = result.winner {
                    file.families[family] = TuningFile.Family(
                        sourceHash: CLBlastTuning.sourceHash, knobs: winner, defaultSeconds: result.previousSeconds,
                        tunedSeconds: result.foundSeconds, candidates: 2)
                } else {
                    // The parameters CLBlast had won: an older entry is no better than them.
                    file.families[family] = nil
                }
                reports.append(
                    FamilyReport(
                        family: family, defaults: "CLBlast's parameters",
                        winner: result.winner == nil ? "CLBlast's parameters" : "TuneXgemm's best",
                        defaultSeconds: result.previousSeconds,
                        winnerSeconds: result.winner == nil ? result.previousSeconds : result.foundSeconds!,
                        measured: result.foundSeconds == nil ? 1 : 2, rejected: result.foundSeconds == nil ? 1 : 0))
            case NormalizationTuning.family:
                progress("\(family): batch norm's work-group size and vector width\(quick ? " (quick: two vector widths)" : "")")
                let result = try NormalizationTuning(device: backend, quick: quick).run(progress: progress)
                let measured = result.trials.filter { $0.outcome.seconds != nil }.count
                file.families[family] = TuningFile.Family(
                    sourceHash: try backend.sourceHash(of: family), knobs: result.winner.knobs,
                    defaultSeconds: result.defaultSeconds, tunedSeconds: result.winnerSeconds, candidates: measured)
                reports.append(
                    FamilyReport(
                        family: family, defaults: result.defaults.description, winner: result.winner.description,
                        defaultSeconds: result.defaultSeconds, winnerSeconds: result.winnerSeconds,
                        measured: measured, rejected: result.trials.count - measured))
            default:
                throw TunerError.unknownFamily(family)
            }
        }
        if !reports.isEmpty {
            file.created = ISO8601DateFormatter().string(from: Date())
            try file.write(to: url)
        }
        return (reports, file, url)
    }
}

public enum TunerError: Error, CustomStringConvertible {
    case unknownFamily(String)

    public var description: String {
        switch self {
        case .unknownFamily(let family): "unknown kernel family '\(family)'; tunable: \(Tuner.families.joined(separator: ", ")), or all"
        }
    }
}
