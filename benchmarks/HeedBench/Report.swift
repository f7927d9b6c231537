import Foundation
import HeedOpenCL
import HeedSupport

/// What limits an op: arithmetic (compared with the GEMM ceiling) or memory traffic
/// (compared with the copy bandwidth).
public enum Bound: String, Codable, Sendable {
    case compute, memory
}

/// Times of the runs of one case, in seconds.
public struct Samples: Sendable {
    public let seconds: [Double]

    public init(_ seconds: [Double]) {
        precondition(!seconds.isEmpty, "a benchmark needs at least one run")
        self.seconds = seconds.sorted()
    }

    /// The middle run (the mean of the two middle ones for an even count).
    public var median: Double {
        let middle = seconds.count / 2
        return seconds.count % 2 == 1 ? seconds[middle] : (seconds[middle - 1] + seconds[middle]) / 2
    }

    public var minimum: Double { seconds.first! }
    public var maximum: Double { seconds.last! }
}

/// One line of the results: a case, its times and rates, and its share of the ceiling.
/// Field names match the JSON of the peers (benchmarks/README.md).
public struct BenchmarkRow: Codable, Sendable {
    public var suite: String
    public var id: String
    public var batch: Int?
    public var runs: Int
    public var medianMs: Double
    public var minMs: Double
    public var maxMs: Double
    public var flops: Int
    /// Nil where bytes are not counted (whole networks).
    public var bytes: Int?
    public var gflops: Double
    public var gbs: Double?
    public var bound: Bound
    /// The rate as a fraction of the device's ceiling for `bound`.
    public var fraction: Double?
    public var imagesPerS: Double?
    /// Most bytes of device memory held from the driver at once during the timed runs
    /// (training steps): buffers in use and those the caching allocator keeps for reuse.
    public var peakBytes: Int?
    /// Most bytes of device buffers in use at once during the timed runs.
    public var peakInUseBytes: Int?
    /// Bytes of `peakInUseBytes` that were ops' working space (convolution's columns, GEMM's packed copies).
    public var peakScratchBytes: Int?
    /// Buffers created with `clCreateBuffer` per timed run: 0 once the pools serve a steady step.
    public var driverAllocationsPerStep: Double?
    /// Buffer requests per timed run that a pool served.
    public var poolHitsPerStep: Double?
    /// Buffers created with `clCreateBuffer` during the warm-up runs (the pools filling).
    public var warmupDriverAllocations: Int?
    /// Bytes of device buffers still in use after the timed runs: the parameters,
    /// gradients, momentum and what the workload keeps between steps.
    public var finalLiveBytes: Int?

    init(suite: String, id: String, batch: Int?, samples: Samples, workload: Workload) {
        self.suite = suite
        self.id = id
        self.batch = batch
        runs = samples.seconds.count
        medianMs = samples.median * 1e3
        minMs = samples.minimum * 1e3
        maxMs = samples.maximum * 1e3
        flops = workload.flops
        bytes = workload.bytes
        gflops = Double(workload.flops) / samples.median * 1e-9
        gbs = workload.bytes.map { Double($0) / samples.median * 1e-9 }
        bound = workload.bound
        if let images = workload.images { imagesPerS = Double(images) / samples.median }
    }
}

extension BenchmarkRow {
    /// The memory fields, from the device's counts before the warm-up, before the `steps`
    /// timed runs (the peaks were reset then) and after them.
    mutating func recordMemory(start: DeviceMemoryUsage, from before: DeviceMemoryUsage, to after: DeviceMemoryUsage, steps: Int) {
        warmupDriverAllocations = before.driverAllocations - start.driverAllocations
        finalLiveBytes = after.liveBytes
        peakBytes = after.peakReservedBytes
        peakInUseBytes = after.peakBytes
        peakScratchBytes = after.scratchBytesAtPeak
        driverAllocationsPerStep = Double(after.driverAllocations - before.driverAllocations) / Double(steps)
        poolHitsPerStep = Double(after.poolHits - before.poolHits) / Double(steps)
    }
}

/// The device's ceilings, measured in the same run as the rows.
public struct Ceilings: Codable, Sendable {
    /// Bandwidth of a device-side copy of one large buffer (read + write bytes).
    public var copyGbs: Double
    public var copyBytes: Int
    /// Which copy set `copyGbs`: `clEnqueueCopyBuffer` or `copy kernel`.
    public var copyMethod: String
    /// The best rate among the square GEMMs timed in this run.
    public var gemmGflops: Double
    /// The case that set `gemmGflops`.
    public var gemmId: String
}

/// A whole `heed bench` run, as printed and as written by `--json`.
public struct BenchmarkReport: Codable, Sendable {
    public var tool = "heed"
    public var version: String
    public var device: String
    /// The kernel parameters the run used (`KernelTuning.summary`): a tuning file or the device defaults.
    public var tuning: String?
    /// `cpu` or `gpu`: which sizes of `suites.json` the run used.
    public var kind: String
    public var quick: Bool
    public var date: String
    public var ceilings: Ceilings
    public var rows: [BenchmarkRow]

    /// Writes the report as JSON, atomically: a failed write leaves any earlier file whole.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(self)) + [0x0A], to: url)
    }
}
