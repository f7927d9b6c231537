import HeedBench
import HeedOpenCL
import HeedOps
import HeedReference
import HeedVerify

/// `heed tune` for the packed CPU GEMM (`Kernels/gemm_cpu.cl`, `PackedGemmKernel`).
///
/// Two stages, each a `TuningSearch`: first every micro-tile of the search space that
/// fits the device's vector registers, with the default blocks (a tile changes the
/// compiled kernel; the blocks only its launches); then, with the winning tile, each
/// block size in turn over its values, keeping the best (coordinate descent: the
/// blocks interact little once the tile is fixed). Every candidate must pass all of
/// `heed verify`'s GEMM cases before it is timed, and the winner must beat the defaults
/// again in alternating rounds (`TuningSearch.confirmed`).
///
/// The workload is the GEMMs training issues: the im2col convolutions of the Wide
/// ResNet's layers (`conv_gemm` cases of benchmarks/suites.json, forward and both
/// gradients, at the CPU kernel batch) and the square GEMMs of the suite; a
/// candidate's time is their total device time, each the fastest of a few runs.
public struct PackedGemmTuning {
    public static let family = "gemm_cpu"

    let device: OpenCLBackend
    let reference = ReferenceBackend()
    let quick: Bool
    let shapes: [GemmDescriptor]
    let runs: Int

    /// - Parameter quick: a tiny space (the default tile and one other, two depths) and
    ///   small shapes, to show the whole search works (CI's smoke test), not to tune.
    public init(device: OpenCLBackend, quick: Bool) throws {
        self.device = device
        self.quick = quick
        shapes = try Self.workload(quick: quick)
        runs = quick ? 1 : 3
    }

    /// The GEMMs a candidate is timed on (see the type's comment).
    static func workload(quick: Bool) throws -> [GemmDescriptor] {
        let suites = try BenchmarkSuites.builtIn()
        if quick {
            return [GemmDescriptor(m: 96, n: 200, k: 130), GemmDescriptor(transposeB: true, m: 64, n: 150, k: 300)]
        }
        let batch = suites.kernelBatch.cpu
        var shapes: [GemmDescriptor] = []
        for c in suites.kernels {
            switch c.op {
            case .gemm:
                if let m = c.m, let n = c.n, let k = c.k, max(m, n, k) <= 1024 { shapes.append(GemmDescriptor(m: m, n: n, k: k)) }
            case .convGemm:
                guard let name = c.layer, let layer = suites.layers[name], let pass = c.pass else { continue }
                let (o, p, k) = (
                    layer.outChannels, batch * layer.outputSize * layer.outputSize, layer.inChannels * layer.kernel * layer.kernel
                )
                switch pass {
                case .forward: shapes.append(GemmDescriptor(m: o, n: p, k: k))  // W · col
                case .input: shapes.append(GemmDescriptor(transposeA: true, m: k, n: p, k: o))  // Wᵀ · ∂Y
                default: shapes.append(GemmDescriptor(transposeB: true, m: o, n: k, k: p))  // ∂Y · colᵀ
                }
            default: continue
            }
        }
        return shapes
    }

    // MARK: Candidates

    /// Stage one: the default tile first, then every other tile of the search space that
    /// fits the registers.
    func tiles(around defaults: PackedGemmKernel) -> [PackedGemmKernel] {
        let native = device.device.nativeFloatVectorWidth
        if quick {
            var other = defaults
            other.microRows = defaults.microRows > 4 ? 4 : 6
            return [defaults, other]
        }
        let space = PackedGemmKernel.searchSpace(nativeWidth: native)
        var tiles = [defaults]
        for width in space["VW"]! {
            for vectors in space["NV"]! {
                for rows in space["MR"]! {
                    var tile = defaults
                    (tile.microRows, tile.vectorWidth, tile.vectorsPerRow) = (rows, width, vectors)
                    if tile != defaults && tile.fitsRegisters(nativeWidth: native) { tiles.append(tile) }
                }
            }
        }
        return tiles
    }

    /// Stage two: `best` with one block size changed, for each block and value.
    func blocks(around best: PackedGemmKernel, knob: WritableKeyPath<PackedGemmKernel, Int>, values: [Int]) -> [PackedGemmKernel] {
        values.compactMap { value in
            var candidate = best
            candidate[keyPath: knob] = value
            return candidate == best ? nil : candidate
        }
    }

    // MARK: Checking and timing

    /// The first GEMM verification case the candidate fails, or nil.
    func check(_ candidate: OpenCLBackend) throws -> String? {
        for c in VerificationSuite.cases(matching: GemmOps.gemm.name) {
            let comparison = try c.run(candidate, reference)
            if !comparison.passed { return "fails gemm \(c.shape): \(comparison.firstFailure ?? "")" }
        }
        return nil
    }

    /// Total device seconds of the workload, each GEMM the fastest of `runs` after a warm-up.
    func time(_ candidate: OpenCLBackend, buffers: [(any DeviceBuffer, any DeviceBuffer, any DeviceBuffer)]) throws -> Double {
        try candidate.workloadSeconds(
            runs: runs, zip(shapes, buffers).map { d, operands in { try candidate.gemm(d, a: operands.0, b: operands.1, c: operands.2) } })
    }

    // MARK: The search

    public typealias Result = TuningSearch<PackedGemmKernel>.Result

    /// Runs both stages; `progress` gets a line per candidate as it finishes.
    /// Throws when even the device defaults fail the reference check.
    public func run(progress: (String) -> Void) throws -> Result {
        var random = SeededGenerator(seed: 0x7E4E)
        let buffers = try shapes.map { d in
            (
                try device.makeBuffer(random.uniform(d.storedA.rows * d.lda)),
                try device.makeBuffer(random.uniform(d.storedB.rows * d.ldb)),
                try device.makeBuffer(count: d.m * d.ldc, of: Float.self)
            )
        }
        let search = TuningSearch<PackedGemmKernel>(
            label: { $0.description },
            check: { try check(device.retuned(KernelTuning(packedGemm: $0))) },
            time: { try time(device.retuned(KernelTuning(packedGemm: $0)), buffers: buffers) })
        let defaults = PackedGemmKernel.defaults(for: device.device)
        var trials: [TuningSearch<PackedGemmKernel>.Trial] = []
        func measure(_ candidates: [PackedGemmKernel], stage: String) -> PackedGemmKernel? {
            for (index, candidate) in candidates.enumerated() {
                let trial = search.trial(candidate)
                trials.append(trial)
                progress(
                    TuningSearch.line(trial, stage: stage, index: index + 1, of: candidates.count, baseline: trials.first?.outcome.seconds))
            }
            return TuningSearch.fastest(of: trials)?.candidate
        }

        let tiles = tiles(around: defaults)
        guard var best = measure(tiles, stage: "tile"), trials.first?.outcome.seconds != nil else {
            let reason = trials.first.map { if case .rejected(let why) = $0.outcome { why } else { "" } } ?? ""
            throw HeedError.invalidArgument(op: "heed tune", "the device defaults of gemm_cpu fail the reference check: \(reason)")
        }
        let stages: [(String, WritableKeyPath<PackedGemmKernel, Int>, [Int])] =
            quick
            ? [("kc", \.depthBlock, [128, defaults.depthBlock])]
            : [
                ("kc", \.depthBlock, PackedGemmKernel.allowedDepthBlocks),
                ("mc", \.rowBlock, PackedGemmKernel.allowedRowBlocks),
                ("nc", \.columnBlock, PackedGemmKernel.allowedColumnBlocks),
            ]
        for (name, knob, values) in stages {
            best = measure(blocks(around: best, knob: knob, values: values), stage: name) ?? best
        }
        let winner = trials.first { $0.candidate == best }!
        return try search.confirmed(
            Result(
                defaults: defaults, winner: best, defaultSeconds: trials[0].outcome.seconds!,
                winnerSeconds: winner.outcome.seconds!, trials: trials),
            rounds: quick ? 1 : 5, progress: progress)
    }
}
