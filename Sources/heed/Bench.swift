import ArgumentParser
import Foundation
import HeedBench
import HeedOpenCL
import HeedOps
import HeedSupport

extension BenchmarkSuite: ExpressibleByArgument {}

/// `heed bench`: kernels and whole training steps, timed on the device, beside the
/// device's own ceilings measured in the same run (benchmarks/README.md).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time kernels and training steps on an OpenCL device, against its measured ceilings.",
        discussion: """
            The cases are those of benchmarks/suites.json (GEMM, convolution, attention, batch norm, \
            grid sampling, SGD at WRN-28-10's shapes; training steps and inference of WRN-16-4 and \
            WRN-28-10 with attention). Each case gets warm-up runs, then timed runs on the device's \
            clock: the table shows the median with the minimum and maximum, GFLOP/s and GB/s from \
            counted flops and bytes, and the fraction of the device's ceiling (the best GEMM rate \
            for compute-bound rows, the bandwidth of a large buffer copy for the rest). Progress goes \
            to standard error, the table to standard output.
            """)

    @OptionGroup var device: DeviceOptions

    @Option(name: .long, help: "Which cases: kernels, train or all.")
    var suite: BenchmarkSuite = .all

    @Flag(name: .long, help: "Smallest sizes, one warm-up and one run: checks that every benchmark runs, times nothing worth quoting.")
    var quick = false

    @Option(name: .long, help: "Write the results as JSON to this file (the format of benchmarks/README.md).")
    var json: String?

    @Option(name: .long, help: "Only cases whose id contains this text, e.g. 'gemm' or 'attention att0'.")
    var filter: String?

    @Option(name: .long, help: "Timed runs per case (default from suites.json: 7 for kernels, 5 for training steps).")
    var runs: Int?

    @Option(name: .long, help: "Warm-up runs per case (default from suites.json).")
    var warmup: Int?

    @Option(name: .long, help: "Read the cases from this JSON file instead of the built-in benchmarks/suites.json.")
    var suites: String?

    @Flag(
        name: .long,
        help: "Also print device time per kernel over the whole run (waits after every kernel, so the rates it prints are lower).")
    var profile = false

    func validate() throws {
        if let runs { try OptionError.require("--runs", runs, in: 1...10_000) }
        if let warmup { try OptionError.require("--warmup", warmup, in: 0...10_000) }
    }

    func run() throws {
        let definitions = try suites.map { try BenchmarkSuites.load(from: URL(fileURLWithPath: $0)) } ?? BenchmarkSuites.builtIn()
        let backend = try device.openBackend()
        if profile { backend.profile = KernelProfile() }
        let runner = BenchmarkRunner(
            backend: backend, suites: definitions,
            options: BenchmarkOptions(suite: suite, quick: quick, filter: filter, runs: runs, warmup: warmup))
        let cases = runner.kernelCases.count + runner.trainCases.count
        note(
            "Benchmarking \(cases) case\(cases == 1 ? "" : "s") on \(backend.name) (\(runner.deviceClass.rawValue) sizes\(quick ? ", quick" : ""))"
        )
        let report = try runner.run(version: Heed.configuration.version) { event in
            switch event {
            case .ceiling(let text): note("ceiling: \(text)")
            case .starting(let index, let total, let id): note("[\(index)/\(total)] \(id)")
            case .run(_, let run, let of, let seconds) where of > 1: note(String(format: "    run %d/%d: %.3f s", run, of, seconds))
            case .run: break
            case .finished(let row): note(String(format: "    median %.3f ms", row.medianMs))
            }
        }
        printTable(report)
        if let profile = backend.profile { print("\n" + profile.report) }
        if let json {
            try report.write(to: URL(fileURLWithPath: json))
            note("wrote \(json)")
        }
    }

    private func printTable(_ report: BenchmarkReport) {
        print("Device: \(report.device)")
        if let tuning = report.tuning { print(tuning.prefix(1).uppercased() + tuning.dropFirst()) }
        print(
            String(
                format: "Ceilings (same run): copy %.2f GB/s (%@ buffer, %@), best GEMM %.2f GFLOP/s (%@)",
                report.ceilings.copyGbs, formatBytes(report.ceilings.copyBytes / 2), report.ceilings.copyMethod,
                report.ceilings.gemmGflops, report.ceilings.gemmId))
        if report.quick { print("--quick: smallest sizes, one run each; not a measurement.") }
        print()
        let table = TextTable(
            columns: ["case", "batch", "median ms", "min–max ms", "GFLOP/s", "GB/s", "of ceiling", "notes"],
            minimumWidths: [30, 5, 10, 19, 8, 7, 14])
        for row in report.rows {
            let fraction = row.fraction.map { String(format: "%.0f%% %@", 100 * $0, row.bound == .compute ? "GEMM" : "copy") } ?? "-"
            var notes: [String] = []
            if let images = row.imagesPerS { notes.append(String(format: "%.1f images/s", images)) }
            if let peak = row.peakBytes, let inUse = row.peakInUseBytes {
                let scratch = row.peakScratchBytes.map { " (\(formatBytes($0)) of it scratch)" } ?? ""
                notes.append("peak memory \(formatBytes(peak)) reserved, \(formatBytes(inUse)) in use\(scratch)")
            }
            if let allocations = row.driverAllocationsPerStep, let hits = row.poolHitsPerStep {
                notes.append(String(format: "%.1f driver allocations and %.0f pool hits per step", allocations, hits))
            }
            if let warmup = row.warmupDriverAllocations, let live = row.finalLiveBytes {
                notes.append("\(warmup) driver allocations in the warm-up, \(formatBytes(live)) in use after")
            }
            table.printRow([
                row.id, row.batch.map(String.init) ?? "-", String(format: "%.3f", row.medianMs),
                String(format: "%.3f–%.3f", row.minMs, row.maxMs), String(format: "%.2f", row.gflops),
                row.gbs.map { String(format: "%.2f", $0) } ?? "-", fraction, notes.joined(separator: ", "),
            ])
        }
    }

    /// A progress line on standard error, so standard output holds only the results.
    private func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
