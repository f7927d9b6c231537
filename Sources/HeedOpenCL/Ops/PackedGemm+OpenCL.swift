import COpenCL
import HeedOps

/// Which implementation runs `gemm` on an OpenCL device.
///
/// - `clblast`: CLBlast (`CLBlastSgemm`, `CLBlastSgemmStridedBatched`), the default on
///   GPUs, whose kernels are written and tuned for them.
/// - `packed`: Heed's own kernels in `Kernels/gemm_cpu.cl`, the default on CPU devices.
///   PoCL runs each work-group on one thread, so CLBlast's GPU-shaped kernels, even
///   with Heed's tuned parameters (`CLBlastTuning`), leave a CPU mostly idle; the
///   packed kernels work like a CPU BLAS (packing, cache blocking, a register tile).
///   benchmarks/RESULTS.md has both engines' rates beside NumPy's.
///
/// `HEED_GEMM=clblast` or `HEED_GEMM=packed` overrides the choice (for comparisons).
public enum GemmEngine: String, Sendable {
    case clblast
    case packed

    public static let environmentVariable = "HEED_GEMM"

    /// The engine for `device`: `HEED_GEMM` when set, else the device's (`DeviceShapes.gemmEngine`).
    static func choose(
        for device: OpenCLDeviceInfo,
        environment: [String: String]
    ) throws -> GemmEngine {
        if let requested = environment[environmentVariable], !requested.isEmpty {
            guard let engine = GemmEngine(rawValue: requested) else {
                throw HeedError.invalidArgument(
                    op: environmentVariable, "'\(requested)' is not a GEMM engine (clblast or packed)")
            }
            return engine
        }
        return DeviceShapes(for: device).gemmEngine
    }
}

/// Block sizes of one packed GEMM (see `Kernels/gemm_cpu.cl`).
///
/// Each work-group computes an `mc × nc` block of C in steps of `kc` along k, the
/// largest the kernel's blocks (`PackedGemmKernel`) allow; smaller problems get
/// smaller blocks so that every core has several work-groups (PoCL hands work-groups
/// to its threads one at a time).
struct PackedGemmPlan: Equatable {
    var mc: Int
    var nc: Int
    var kc: Int
    /// Work-groups along n and m (per matrix of the batch).
    var columnBlocks: Int
    var rowBlocks: Int

    init(m: Int, n: Int, k: Int, batch: Int, computeUnits: Int, kernel: PackedGemmKernel) {
        let (microRows, microColumns) = (kernel.microRows, kernel.microColumns)
        let rowPanels = (m + microRows - 1) / microRows
        let columnPanels = (n + microColumns - 1) / microColumns
        var rowsPerBlock = min(max(1, kernel.rowBlock / microRows), rowPanels)
        var columnsPerBlock = min(max(1, kernel.columnBlock / microColumns), columnPanels)
        func blocks(_ panels: Int, _ perBlock: Int) -> Int { (panels + perBlock - 1) / perBlock }
        // Split further until there are a few work-groups per core, halving the side
        // that has fewer blocks (keeping blocks closer to square keeps packed A and B reuse balanced).
        let wanted = 4 * max(computeUnits, 1)
        while blocks(rowPanels, rowsPerBlock) * blocks(columnPanels, columnsPerBlock) * batch < wanted {
            let rowBlocks = blocks(rowPanels, rowsPerBlock)
            let columnBlocks = blocks(columnPanels, columnsPerBlock)
            if rowsPerBlock > 1 && (rowBlocks <= columnBlocks || columnsPerBlock == 1) {
                rowsPerBlock = (rowsPerBlock + 1) / 2
            } else if columnsPerBlock > 1 {
                columnsPerBlock = (columnsPerBlock + 1) / 2
            } else {
                break
            }
        }
        // Spread the panels evenly over the blocks, so that the last block is not a sliver.
        rowBlocks = blocks(rowPanels, rowsPerBlock)
        columnBlocks = blocks(columnPanels, columnsPerBlock)
        mc = blocks(rowPanels, rowBlocks) * microRows
        nc = blocks(columnPanels, columnBlocks) * microColumns
        // Likewise along k: equal steps of at most depthBlock.
        let steps = max(1, (k + kernel.depthBlock - 1) / kernel.depthBlock)
        kc = max(1, (k + steps - 1) / steps)
    }
}

/// What a convolution's GEMM reads an operand from. Heed's packed GEMM reads each kind
/// straight into its packed panels; CLBlast reads only `matrix`, so on that engine the
/// convolution writes the others out first (`Convolution+OpenCL.swift`).
enum GemmOperand {
    /// The matrix the descriptor describes (offset, leading dimension, stride, transpose).
    case matrix(OpenCLBuffer)
    /// B as the column matrix of a chunk of images (`Kernels/conv.cl`), packed by
    /// `gemm_pack_columns`: `op(B)` is the matrix itself (`depthIsTaps`, a convolution's
    /// forward pass) or its transpose (its weight gradient).
    case columns(of: ConvolutionPlan, input: OpenCLBuffer, firstImage: Int, depthIsTaps: Bool)
    /// The (channels × count·plane) matrix of a chunk of NCHW planes, not transposed: as
    /// A or B (a convolution's output gradient) packed by `gemm_pack_planes`; as C (its
    /// output) written straight into the planes by `gemm_packed`.
    case planes(OpenCLBuffer, firstImage: Int, channels: Int, plane: Int)

    var matrix: OpenCLBuffer? {
        if case .matrix(let buffer) = self { buffer } else { nil }
    }
}

extension OpenCLBackend {
    /// The largest number of floats the two packed buffers hold together: batches whose
    /// packed copies would be larger are packed and multiplied a slice at a time.
    static let packedGemmScratchLimit = 64 << 20

    /// `gemm` through `Kernels/gemm_cpu.cl` with the backend's tuning; `d` is valid,
    /// non-empty and has k > 0. `scratchLimit` (floats) is a parameter so that tests
    /// can make batches run in slices.
    func packedGemm(
        _ d: GemmDescriptor, a: OpenCLBuffer, b: OpenCLBuffer, c: OpenCLBuffer,
        scratchLimit: Int = packedGemmScratchLimit
    ) throws {
        try packedGemm(d, a: .matrix(a), b: .matrix(b), c: .matrix(c), scratchLimit: scratchLimit)
    }

    /// The same on operands of any kind; one that is not a `matrix` is one matrix (the
    /// batch is one) and, as `planes`, not transposed. The descriptor's fields of such an
    /// operand (offset, leading dimension, stride) say nothing. C is a matrix or planes.
    func packedGemm(
        _ d: GemmDescriptor, a: GemmOperand, b: GemmOperand, c: GemmOperand,
        scratchLimit: Int = packedGemmScratchLimit
    ) throws {
        precondition(
            (a.matrix != nil && b.matrix != nil && c.matrix != nil) || d.batchCount == 1,
            "an operand read from images is one matrix")
        // C: where it starts, its leading dimension and its plane (0: an ordinary matrix).
        let (cBuffer, cOffset, ldc, cPlane): (OpenCLBuffer, Int, Int, Int)
        switch c {
        case .matrix(let buffer): (cBuffer, cOffset, ldc, cPlane) = (buffer, d.cOffset, d.ldc, 0)
        case .planes(let buffer, let firstImage, let channels, let plane):
            precondition(channels == d.m, "C's planes are its rows")
            (cBuffer, cOffset, ldc, cPlane) = (buffer, firstImage * channels * plane, plane, plane)
        case .columns: preconditionFailure("C is never a column matrix read from images")
        }
        let kernel = tuning.packedGemm
        let plan = PackedGemmPlan(m: d.m, n: d.n, k: d.k, batch: d.batchCount, computeUnits: device.computeUnits, kernel: kernel)
        let mr = kernel.microRows
        let nr = kernel.microColumns
        let defines = kernel.defines
        let packedA = (d.m + mr - 1) / mr * mr * d.k
        let packedB = (d.n + nr - 1) / nr * nr * d.k
        // A matrix shared by the whole batch (stride 0, as a convolution's weights) is packed once.
        let shareA = d.aStride == 0 && d.batchCount > 1
        let shareB = d.bStride == 0 && d.batchCount > 1
        let perMatrix = (shareA ? 0 : packedA) + (shareB ? 0 : packedB)
        let slice = perMatrix == 0 ? d.batchCount : max(1, min(d.batchCount, scratchLimit / perMatrix))

        // The packed copies of A and B: scratch blocks for this call.
        let aPacked = try OpenCLBuffer.scratch(context: context, floats: packedA * (shareA ? 1 : slice))
        let bPacked = try OpenCLBuffer.scratch(context: context, floats: packedB * (shareB ? 1 : slice))
        let op = "gemm"
        let depthSteps = (d.k + plan.kc - 1) / plan.kc
        let aPanels = (d.m + mr - 1) / mr
        let bPanels = (d.n + nr - 1) / nr

        /// Packs an operand read from images into `packed` (`panels` wide, of `across` rows or columns).
        func packFromImages(_ operand: GemmOperand, isA: Bool, across: Int, panels: Int, into packed: OpenCLBuffer) throws {
            switch operand {
            case .matrix:
                return
            case .columns(let columns, let input, let firstImage, let depthIsTaps):
                precondition(!isA, "a column matrix is B")
                let geometry = columns.descriptor
                try launch(
                    family: "gemm_cpu", kernel: "gemm_pack_columns", defines: defines,
                    global: [panels, depthSteps], local: [1, 1],
                    arguments: [
                        .int(depthIsTaps ? 1 : 0), try .int(across, op), try .int(d.k, op), try .int(plan.kc, op),
                        .buffer(input), try .int(firstImage, op),
                    ]
                        + (try [
                            geometry.inChannels, geometry.height, geometry.width, geometry.kernelHeight,
                            geometry.kernelWidth, geometry.stride, geometry.padding, geometry.outputHeight,
                            geometry.outputWidth,
                        ].map { try .int($0, op) }) + [.buffer(packed)])
            case .planes(let x, let firstImage, let channels, let plane):
                precondition(!(isA ? d.transposeA : d.transposeB), "planes are read as they are")
                try launch(
                    family: "gemm_cpu", kernel: "gemm_pack_planes", defines: defines,
                    global: [panels, depthSteps], local: [1, 1],
                    arguments: [
                        .int(isA ? 1 : 0), try .int(across, op), try .int(d.k, op), try .int(plan.kc, op),
                        .buffer(x), try .int(firstImage, op), try .int(channels, op), try .int(plane, op),
                        .buffer(packed),
                    ])
            }
        }

        for first in stride(from: 0, to: d.batchCount, by: slice) {
            let count = min(slice, d.batchCount - first)
            // Shared operands are packed with the first slice only; later slices reuse them.
            let packA = first == 0 || !shareA
            let packB = first == 0 || !shareB
            if packA { try packFromImages(a, isA: true, across: d.m, panels: aPanels, into: aPacked) }
            if packB { try packFromImages(b, isA: false, across: d.n, panels: bPanels, into: bPacked) }
            // The matrices among the operands, packed by one gemm_pack launch.
            let (aMatrix, bMatrix) = (packA ? a.matrix : nil, packB ? b.matrix : nil)
            if aMatrix != nil || bMatrix != nil {
                try launch(
                    family: "gemm_cpu", kernel: "gemm_pack", defines: defines,
                    global: [(aMatrix != nil ? aPanels : 0) + (bMatrix != nil ? bPanels : 0), depthSteps, count],
                    local: [1, 1, 1],
                    arguments: [
                        // m = 0 (n = 0) leaves A (B) alone: the kernel then has no panels of it
                        // and reads nothing of that buffer, so any buffer stands in for it.
                        try .int(aMatrix != nil ? d.m : 0, op), try .int(bMatrix != nil ? d.n : 0, op),
                        try .int(d.k, op), try .int(plan.kc, op),
                        .int(d.transposeA ? 1 : 0), .int(d.transposeB ? 1 : 0),
                        .buffer(aMatrix ?? aPacked), try .int(d.aOffset + first * d.aStride, op), try .int(d.lda, op),
                        try .int(d.aStride, op),
                        .buffer(bMatrix ?? bPacked), try .int(d.bOffset + first * d.bStride, op), try .int(d.ldb, op),
                        try .int(d.bStride, op),
                        .buffer(aPacked), try .int(shareA ? 0 : packedA, op),
                        .buffer(bPacked), try .int(shareB ? 0 : packedB, op),
                    ])
            }
            try launch(
                family: "gemm_cpu", kernel: "gemm_packed", defines: defines,
                global: [plan.columnBlocks, plan.rowBlocks, count], local: [1, 1, 1],
                arguments: [
                    try .int(d.m, op), try .int(d.n, op), try .int(d.k, op), .float(d.alpha), .float(d.beta),
                    try .int(plan.mc, op), try .int(plan.nc, op), try .int(plan.kc, op),
                    .buffer(aPacked), try .int(shareA ? 0 : packedA, op),
                    .buffer(bPacked), try .int(shareB ? 0 : packedB, op),
                    .buffer(cBuffer), try .int(cOffset + first * d.cStride, op), try .int(ldc, op),
                    try .int(d.cStride, op), try .int(cPlane, op),
                ])
        }
    }
}
