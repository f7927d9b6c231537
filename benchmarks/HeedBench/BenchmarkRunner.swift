import Foundation
import HeedOpenCL
import HeedOps
import HeedSupport

/// Which cases of `suites.json` a run takes.
public enum BenchmarkSuite: String, CaseIterable, Sendable {
    case kernels, train, all
}

/// How a run chooses and repeats its cases.
public struct BenchmarkOptions: Sendable {
    public var suite: BenchmarkSuite
    /// The smallest sizes, one warm-up and one run, cases marked `"quick": false` left out.
    public var quick: Bool
    /// Only cases whose id contains this text (case-insensitive).
    public var filter: String?
    /// Timed runs per case, instead of the settings' count.
    public var runs: Int?
    /// Warm-up runs per case, instead of the settings' count.
    public var warmup: Int?

    public init(suite: BenchmarkSuite = .all, quick: Bool = false, filter: String? = nil, runs: Int? = nil, warmup: Int? = nil) {
        self.suite = suite
        self.quick = quick
        self.filter = filter
        self.runs = runs
        self.warmup = warmup
    }
}

/// What a run reports while it goes, for progress lines.
public enum BenchmarkEvent: Sendable {
    case ceiling(String)
    case starting(index: Int, total: Int, id: String)
    case run(id: String, run: Int, of: Int, seconds: Double)
    case finished(BenchmarkRow)
}

/// Runs the chosen cases on one OpenCL device: its ceilings first, then each case
/// (warm-up runs, then timed runs on the device's clock), each row as a fraction of
/// the ceiling its op is bound by.
public struct BenchmarkRunner {
    public let backend: OpenCLBackend
    public let suites: BenchmarkSuites
    public let options: BenchmarkOptions

    public init(backend: OpenCLBackend, suites: BenchmarkSuites, options: BenchmarkOptions) {
        self.backend = backend
        self.suites = suites
        self.options = options
    }

    /// Which sizes the device gets.
    public var deviceClass: DeviceClass {
        backend.device.kind == .cpu ? .cpu : .gpu
    }

    public var kernelCases: [KernelCase] {
        guard options.suite != .train else { return [] }
        return suites.kernels.filter { included(id: $0.id, quick: $0.quick) }
    }

    public var trainCases: [TrainCase] {
        guard options.suite != .kernels else { return [] }
        return suites.train.filter { included(id: $0.id, quick: $0.quick) }
    }

    private func included(id: String, quick: Bool?) -> Bool {
        if options.quick && quick == false { return false }
        guard let filter = options.filter, !filter.isEmpty else { return true }
        return id.range(of: filter, options: .caseInsensitive) != nil
    }

    public func run(version: String, progress: (BenchmarkEvent) -> Void = { _ in }) throws -> BenchmarkReport {
        let (kernels, networks) = (kernelCases, trainCases)
        guard !kernels.isEmpty || !networks.isEmpty else {
            throw BenchmarkError.noCases(
                "suite '\(options.suite.rawValue)'\(options.filter.map { " with filter '\($0)'" } ?? "") matches none of the \(suites.kernels.count + suites.train.count) cases"
            )
        }
        let warmup = options.warmup ?? suites.settings.warmup.value(quick: options.quick)
        let runs = options.runs ?? suites.settings.runs.value(quick: options.quick)
        let copy = try copyBandwidth(warmup: warmup, runs: runs)
        progress(.ceiling(String(format: "copy bandwidth %.1f GB/s (%@ buffer, %@)", copy.gbs, formatBytes(copy.bytes / 2), copy.method)))

        var rows: [BenchmarkRow] = []
        let total = kernels.count + networks.count
        let batch = suites.kernelBatch.value(for: deviceClass, quick: options.quick)
        var workloads = KernelWorkloads(layers: suites.layers, batch: batch, quick: options.quick, backend: backend)
        for (index, kernelCase) in kernels.enumerated() {
            progress(.starting(index: index + 1, total: total, id: kernelCase.id))
            let workload = try workloads.make(kernelCase)
            let samples = try time(workload, warmup: warmup, runs: runs)
            let usesBatch = ![.gemm, .sgd].contains(kernelCase.op)
            rows.append(
                BenchmarkRow(suite: "kernels", id: kernelCase.id, batch: usesBatch ? batch : nil, samples: samples, workload: workload))
            progress(.finished(rows.last!))
        }

        let trainWarmup = options.warmup ?? suites.settings.trainWarmup.value(quick: options.quick)
        let trainRuns = options.runs ?? suites.settings.trainRuns.value(quick: options.quick)
        for (index, network) in networks.enumerated() {
            progress(.starting(index: kernels.count + index + 1, total: total, id: network.id))
            let networkBatch = network.batch.value(for: deviceClass, quick: options.quick)
            // The buffers earlier cases left in the allocator's pools are not this case's memory.
            backend.releaseCachedMemory()
            let workload = try TrainingWorkloads.make(network, batch: networkBatch, backend: backend)
            try backend.synchronize()
            let start = backend.memoryUsage
            var beforeTimed = DeviceMemoryUsage()
            let samples = try time(
                workload, warmup: trainWarmup, runs: trainRuns,
                beforeTimedRuns: {
                    try backend.synchronize()
                    backend.resetPeakMemory()
                    beforeTimed = backend.memoryUsage
                }
            ) { run, seconds in
                progress(.run(id: network.id, run: run, of: trainRuns, seconds: seconds))
            }
            var row = BenchmarkRow(suite: "train", id: network.id, batch: networkBatch, samples: samples, workload: workload)
            try backend.synchronize()
            row.recordMemory(start: start, from: beforeTimed, to: backend.memoryUsage, steps: samples.seconds.count)
            rows.append(row)
            progress(.finished(row))
        }

        let gemm = try gemmCeiling(rows: rows, warmup: warmup, runs: runs, progress: progress)
        let ceilings = Ceilings(
            copyGbs: copy.gbs, copyBytes: copy.bytes, copyMethod: copy.method,
            gemmGflops: gemm.gflops, gemmId: gemm.id)
        for index in rows.indices {
            rows[index].fraction = rows[index].bound == .compute ? rows[index].gflops / gemm.gflops : rows[index].gbs.map { $0 / copy.gbs }
        }
        return BenchmarkReport(
            version: version, device: backend.name, tuning: backend.tuning.summary(gemmEngine: backend.gemmEngine),
            kind: deviceClass.rawValue, quick: options.quick,
            date: ISO8601DateFormatter().string(from: Date()), ceilings: ceilings, rows: rows)
    }

    // MARK: Timing

    /// Warm-up runs (which also build the programs), then `runs` timed on the device's clock.
    private func time(
        _ workload: Workload, warmup: Int, runs: Int, beforeTimedRuns: () throws -> Void = {},
        afterRun: (Int, Double) -> Void = { _, _ in }
    ) throws -> Samples {
        for _ in 0..<warmup { try workload.run() }
        try beforeTimedRuns()
        var seconds: [Double] = []
        for run in 1...max(runs, 1) {
            seconds.append(try backend.deviceSeconds(workload.run))
            afterRun(run, seconds.last!)
        }
        return Samples(seconds)
    }

    // MARK: Ceilings

    /// Bandwidth of copying one large buffer on the device, 2 × size bytes (read and
    /// write) per copy: the faster of the driver's copy (`clEnqueueCopyBuffer`) and a
    /// kernel that copies (`scale` by 1). Both count: PoCL's copy runs on one core where a
    /// kernel runs on all of them, and a GPU's copy engine may beat a kernel or not.
    private func copyBandwidth(warmup: Int, runs: Int) throws -> (gbs: Double, bytes: Int, method: String) {
        let mebibytes = suites.settings.copyMib.value(for: deviceClass, quick: options.quick)
        let count = mebibytes << 18  // floats in that many MiB
        let source = try backend.makeBuffer(count: count, of: Float.self)
        let destination = try backend.makeBuffer(count: count, of: Float.self)
        try backend.fill(source, with: Float(1))
        let backend = backend
        let bytes = 2 * 4 * count
        let methods: [(name: String, run: () throws -> Void)] = [
            ("clEnqueueCopyBuffer", { try backend.copy(source, to: destination) }),
            ("copy kernel", { try backend.scale(count: count, alpha: 1, input: source, output: destination) }),
        ]
        let rates = try methods.map { method -> (gbs: Double, bytes: Int, method: String) in
            let samples = try time(
                Workload(flops: 0, bytes: bytes, bound: .memory, run: method.run),
                warmup: warmup, runs: runs)
            return (Double(bytes) / samples.median * 1e-9, bytes, method.name)
        }
        return rates.max { $0.gbs < $1.gbs }!
    }

    /// The best rate among the square GEMMs of `ceiling_gemm`, reusing a row's time
    /// where this run already timed that size.
    private func gemmCeiling(
        rows: [BenchmarkRow], warmup: Int, runs: Int,
        progress: (BenchmarkEvent) -> Void
    ) throws -> (gflops: Double, id: String) {
        let squareIds = Dictionary(
            suites.kernels.filter { $0.op == .gemm && $0.m == $0.n && $0.n == $0.k }.map { ($0.m!, $0.id) },
            uniquingKeysWith: { first, _ in first })
        var workloads = KernelWorkloads(layers: suites.layers, batch: 1, quick: options.quick, backend: backend)
        var candidates: [(gflops: Double, id: String)] = []
        for size in suites.settings.ceilingGemm.value(for: deviceClass, quick: options.quick) {
            if let id = squareIds[size], let row = rows.first(where: { $0.id == id }) {
                candidates.append((row.gflops, id))
            } else {
                let workload = try workloads.gemm(GemmDescriptor(m: size, n: size, k: size))
                let samples = try time(workload, warmup: warmup, runs: runs)
                candidates.append((Double(workload.flops) / samples.median * 1e-9, "gemm \(size)"))
            }
        }
        guard let best = candidates.max(by: { $0.gflops < $1.gflops }) else {
            throw BenchmarkError.invalidSuites(source: "settings", "ceiling_gemm lists no sizes for \(deviceClass.rawValue)")
        }
        progress(.ceiling(String(format: "best GEMM %.1f GFLOP/s (%@)", best.gflops, best.id)))
        return best
    }
}
