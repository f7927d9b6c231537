import ArgumentParser
import Foundation
import HeedOpenCL
import HeedTuning

/// `heed tune`: measures kernel parameters on the chosen device and stores the fastest
/// that pass the reference check, for every later command on that device.
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the fastest kernel parameters for an OpenCL device and save them.",
        discussion: """
            For each kernel family, tries the parameters its search space allows on this \
            device (derived from the device's vector width and registers), checks each \
            candidate against the CPU reference with heed verify's cases, times those that \
            pass on the device clock at the shapes training uses, and writes the winners to \
            the device's tuning file in the cache folder (HEED_CACHE_DIR, else \
            ~/.cache/heed). Every command loads that file automatically; HEED_TUNING=defaults \
            ignores it. A full search takes a few minutes.
            """)

    @OptionGroup var device: DeviceOptions

    @Option(name: .long, help: "Kernel family to tune: \(Tuner.families.joined(separator: ", ")), or all.")
    var op = "all"

    @Flag(name: .long, help: "A tiny search space and small shapes: checks that tuning works, does not tune.")
    var quick = false

    @Option(name: .long, help: "Write the tuning file here instead of the cache folder (use it with HEED_TUNING=PATH).")
    var output: String?

    func validate() throws {
        if op != "all" && !Tuner.families.contains(op) {
            throw ValidationError("unknown kernel family '\(op)'; tunable: \(Tuner.families.joined(separator: ", ")), or all")
        }
    }

    func run() throws {
        // The candidates are measured against the device defaults, never against an older tuning.
        let backend = try device.openBackend(ignoringTuningFile: true)
        print(
            "Tuning \(backend.name) (native float vector width \(backend.device.nativeFloatVectorWidth), \(backend.device.computeUnits) compute units)"
        )
        let start = Date()
        let (reports, _, url) = try Tuner.tune(
            backend: backend, families: op == "all" ? Tuner.families : [op], quick: quick,
            to: output.map { URL(fileURLWithPath: $0) }
        ) { line in
            print(line)
            fflush(nil)
        }
        guard !reports.isEmpty else {
            print("Nothing to tune on this device; no tuning file written.")
            return
        }
        let table = TextTable(
            columns: ["family", "defaults", "winner", "defaults s", "winner s", "speed-up", "tried", "rejected"],
            minimumWidths: [Tuner.families.map(\.count).max()!, 38, 38, 10, 10, 8, 5])
        for r in reports {
            table.printRow([
                r.family, r.defaults, r.winner, String(format: "%.4f", r.defaultSeconds), String(format: "%.4f", r.winnerSeconds),
                String(format: "%.2fx", r.defaultSeconds / r.winnerSeconds), "\(r.measured + r.rejected)", "\(r.rejected)",
            ])
        }
        print(String(format: "Tuned in %.0f s; wrote %@", Date().timeIntervalSince(start), url.path))
    }
}
