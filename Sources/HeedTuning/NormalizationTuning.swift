import HeedBench
import HeedOpenCL
import HeedOps
import HeedReference
import HeedVerify

/// `heed tune` for batch normalisation (`Kernels/normalization.cl`, `NormalizationLaunch`).
///
/// Two stages, as the GEMM's: every vector width with the default work-group size, then
/// every work-group size the device allows with the winning width (each candidate is a
/// program to build, and the whole grid would cost minutes more for knobs that interact
/// little). Each candidate must pass all of `heed verify`'s batch-norm cases (training
/// forward, inference forward, backward) before it is timed.
///
/// The workload is the `batch_norm` cases of benchmarks/suites.json (the Wide ResNet's
/// widest and deepest groups, forward and backward) at the device's kernel batch; a
/// candidate's time is their total device time, each the fastest of a few runs.
public struct NormalizationTuning {
    public static let family = "normalization"

    let device: OpenCLBackend
    let reference = ReferenceBackend()
    let quick: Bool
    let suites: BenchmarkSuites
    let cases: [KernelCase]
    let batch: Int
    let runs: Int

    /// - Parameter quick: the defaults and one other vector width at batch 1, to show the search
    ///   works (CI's smoke test), not to tune.
    public init(device: OpenCLBackend, quick: Bool) throws {
        self.device = device
        self.quick = quick
        suites = try BenchmarkSuites.builtIn()
        cases = suites.kernels.filter { $0.op == .batchNorm }
        batch = quick ? suites.kernelBatch.quick : device.shapedDevice.kind == .cpu ? suites.kernelBatch.cpu : suites.kernelBatch.gpu
        runs = quick ? 1 : 5
    }

    /// `base` with `knob` through each of its values on the device, `base` itself left out.
    func variations(of base: NormalizationLaunch, in knob: NormalizationLaunch.Knob) -> [NormalizationLaunch] {
        NormalizationLaunch.values(of: knob, for: device.device).compactMap { value in
            var launch = base
            launch[knob] = value
            return launch == base ? nil : launch
        }
    }

    func backend(with launch: NormalizationLaunch) -> OpenCLBackend {
        var tuning = device.tuning
        tuning.normalization = launch
        return device.retuned(tuning)
    }

    /// The first batch-norm verification case the candidate fails, or nil.
    func check(_ candidate: OpenCLBackend) throws -> String? {
        for c in VerificationSuite.cases(matching: "batch_norm") {
            let comparison = try c.run(candidate, reference)
            if !comparison.passed { return "fails \(c.op) \(c.shape): \(comparison.firstFailure ?? "")" }
        }
        return nil
    }

    /// Total device seconds of the workload, each case the fastest of `runs` after a warm-up.
    func time(_ candidate: OpenCLBackend) throws -> Double {
        try candidate.workloadSeconds(runs: runs, cases.map { try suites.kernelWorkload($0, batch: batch, on: candidate) })
    }

    public typealias Result = TuningSearch<NormalizationLaunch>.Result

    /// Measures every candidate; `progress` gets a line per candidate as it finishes.
    /// Throws when even the device defaults fail the reference check.
    public func run(progress: (String) -> Void) throws -> Result {
        let search = TuningSearch<NormalizationLaunch>(
            label: { $0.description },
            check: { try check(backend(with: $0)) },
            time: { try time(backend(with: $0)) })
        let defaults = NormalizationLaunch.defaults(for: device.device)
        var trials: [TuningSearch<NormalizationLaunch>.Trial] = []
        func measure(_ candidates: [NormalizationLaunch], stage: String) {
            for (index, candidate) in candidates.enumerated() {
                let trial = search.trial(candidate)
                trials.append(trial)
                progress(
                    TuningSearch.line(trial, stage: stage, index: index + 1, of: candidates.count, baseline: trials.first?.outcome.seconds))
            }
        }
        let widths = [defaults] + variations(of: defaults, in: .vectorWidth)
        measure(quick ? Array(widths.prefix(2)) : widths, stage: "vector")
        if !quick, let best = TuningSearch.fastest(of: trials) {
            measure(variations(of: best.candidate, in: .itemsPerChannel), stage: "group")
        }
        guard let baseline = trials.first?.outcome.seconds, let best = TuningSearch.fastest(of: trials) else {
            let reason = trials.first.map { if case .rejected(let why) = $0.outcome { why } else { "" } } ?? ""
            throw HeedError.invalidArgument(op: "heed tune", "the device defaults of normalization fail the reference check: \(reason)")
        }
        return try search.confirmed(
            Result(
                defaults: defaults, winner: best.candidate, defaultSeconds: baseline, winnerSeconds: best.outcome.seconds!,
                trials: trials),
            rounds: quick ? 1 : 5, progress: progress)
    }
}
