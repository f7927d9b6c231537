import CCLBlastTuner
import COpenCL
import HeedBench
import HeedOpenCL
import HeedOps
import HeedReference
import HeedVerify

/// `heed tune` for GEMM through CLBlast (GPUs): CLBlast's own Xgemm tuner
/// (`clblast::TuneXgemm`, through the `CCLBlastTuner` shim) searches a sample of its
/// kernel's parameter space on this device; its best set is then installed with
/// `CLBlastOverrideParameters` and must pass every GEMM case of `heed verify` through
/// CLBlast before it is timed against the parameters CLBlast had (its database's, or
/// Heed's PoCL set). It is kept only if it passed and was faster.
///
/// CLBlast holds parameters per device for the whole process, so the candidate is
/// installed, checked and timed in place, and the previous set reinstalled if it loses.
public struct CLBlastGemmTuning {
    public static let family = "clblast_xgemm"

    let device: OpenCLBackend
    let reference = ReferenceBackend()
    let quick: Bool
    let shapes: [GemmDescriptor]

    /// - Parameter quick: a tiny sample of CLBlast's space, to show the path works. (Its
    ///   640³ timing shape may run CLBlast's direct kernel: a quick run times nothing worth keeping.)
    public init(device: OpenCLBackend, quick: Bool) throws {
        guard device.gemmEngine == .clblast else {
            throw HeedError.invalidArgument(op: "heed tune", "\(Self.family) needs a backend that runs GEMM through CLBlast")
        }
        self.device = device
        self.quick = quick
        shapes =
            quick
            ? [GemmDescriptor(m: 640, n: 640, k: 640)]
            : [GemmDescriptor(m: 1024, n: 1024, k: 1024), GemmDescriptor(m: 2048, n: 2048, k: 2048)]
    }

    /// Sizes and share of the search space CLBlast's tuner gets.
    var tunerSize: Int { quick ? 640 : 1024 }
    var fraction: Double { quick ? 1.0 / 512 : 1.0 / 8 }

    public struct Result {
        /// The parameters CLBlast had before; nil when they could not be read.
        public let previous: [String: Int]?
        /// CLBlast's tuner's best set, nil when it failed or found none.
        public let found: [String: Int]?
        /// The winner when it is `found`, nil when the previous parameters stay.
        public let winner: [String: Int]?
        public let previousSeconds: Double
        public let foundSeconds: Double?
        public let rejection: String?
    }

    /// The first GEMM case that fails through CLBlast's Xgemm kernel, or nil (every case
    /// runs the indirect kernel, `CLBlastTuning.withIndirectGemm`).
    func check() throws -> String? {
        try CLBlastTuning.withIndirectGemm(on: device.device) {
            for c in VerificationSuite.cases(matching: GemmOps.gemm.name) {
                let comparison = try c.run(device, reference)
                if !comparison.passed { return "fails gemm \(c.shape): \(comparison.firstFailure ?? "")" }
            }
            return nil
        }
    }

    func time(buffers: [(any DeviceBuffer, any DeviceBuffer, any DeviceBuffer)]) throws -> Double {
        try device.workloadSeconds(
            runs: quick ? 1 : 3,
            zip(shapes, buffers).map { d, operands in { try device.gemm(d, a: operands.0, b: operands.1, c: operands.2) } })
    }

    /// Runs CLBlast's tuner, then checks and times its result. `tuner` stands in for
    /// `clblast::TuneXgemm` in tests (on a CPU device the real one runs for tens of minutes).
    public func run(
        progress: (String) -> Void,
        tuner: ((cl_command_queue, Int, Double) throws -> [String: Int])? = nil
    ) throws -> Result {
        var random = SeededGenerator(seed: 0xC1B1)
        let buffers = try shapes.map { d in
            (
                try device.makeBuffer(random.uniform(d.m * d.k)), try device.makeBuffer(random.uniform(d.k * d.n)),
                try device.makeBuffer(count: d.m * d.n, of: Float.self)
            )
        }
        let previous = try? Self.retrieve(device.device)
        if let failure = try check() {
            throw HeedError.invalidArgument(op: "heed tune", "GEMM through CLBlast fails the reference check before tuning: \(failure)")
        }
        let previousSeconds = try time(buffers: buffers)
        progress(
            "  [clblast 1/2] " + "CLBlast's parameters before tuning".padding(toLength: 44, withPad: " ", startingAt: 0)
                + String(format: " %8.4f s", previousSeconds))
        progress("  [clblast 2/2] clblast::TuneXgemm at \(tunerSize)^3 over \(String(format: "%.1f", 100 * fraction))% of its space ...")
        let found: [String: Int]
        do {
            found = try device.withQueue(profiledAs: "clblast_tune_xgemm") { queue in
                try (tuner ?? Self.tune)(queue, tunerSize, fraction)
            }
        } catch {
            progress("  [clblast 2/2] rejected: \(error)")
            return Result(
                previous: previous, found: nil, winner: nil, previousSeconds: previousSeconds, foundSeconds: nil, rejection: "\(error)")
        }
        func restore() throws {
            if let previous {
                try CLBlastTuning.overrideXgemm(on: device.device, previous.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            }
        }
        let failure: String?
        do {
            try CLBlastTuning.overrideXgemm(on: device.device, found.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            failure = try check()
        } catch {
            failure = "\(error)"
        }
        if let failure {
            try restore()
            progress("  [clblast 2/2] TuneXgemm's best rejected: \(failure)")
            return Result(
                previous: previous, found: found, winner: nil, previousSeconds: previousSeconds, foundSeconds: nil, rejection: failure)
        }
        let foundSeconds = try time(buffers: buffers)
        progress(
            "  [clblast 2/2] " + "TuneXgemm's best".padding(toLength: 44, withPad: " ", startingAt: 0)
                + String(format: " %8.4f s  %.2fx the previous time", foundSeconds, foundSeconds / previousSeconds))
        guard foundSeconds < previousSeconds else {
            try restore()
            return Result(
                previous: previous, found: found, winner: nil, previousSeconds: previousSeconds, foundSeconds: foundSeconds, rejection: nil)
        }
        return Result(
            previous: previous, found: found, winner: found, previousSeconds: previousSeconds, foundSeconds: foundSeconds, rejection: nil)
    }

    // MARK: The shim

    static func tune(_ queue: cl_command_queue, _ size: Int, _ fraction: Double) throws -> [String: Int] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var values: UnsafeMutablePointer<Int>?
        var count = 0
        let status = heed_clblast_tune_xgemm(queue, size, size, size, fraction, &names, &values, &count)
        defer { heed_clblast_free_parameters(names, values, count) }
        guard status == 0 else { throw HeedError.invalidArgument(op: "clblast::TuneXgemm", "failed with CLBlast status \(status)") }
        return try collect(names, values, count)
    }

    static func retrieve(_ device: OpenCLDeviceInfo) throws -> [String: Int] {
        try CLBlastTuning.parameters(of: "Xgemm", on: device)
    }

    private static func collect(
        _ names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ values: UnsafeMutablePointer<Int>?, _ count: Int
    ) throws -> [String: Int] {
        guard count > 0, let names, let values else { throw HeedError.invalidArgument(op: "CLBlast", "returned no parameters") }
        var result: [String: Int] = [:]
        for i in 0..<count {
            guard let name = names[i] else { continue }
            result[String(cString: name)] = values[i]
        }
        return result
    }
}
