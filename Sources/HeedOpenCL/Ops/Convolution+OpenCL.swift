import HeedOps

/// Convolution as im2col + GEMM (`Kernels/conv.cl`; GEMM as `gemm` runs it: CLBlast on
/// GPUs, Heed's packed kernels on CPUs).
///
/// The batch is processed in chunks of images whose scratch matrices (the column
/// matrix, C·kh·kw × chunk·H'·W', and the packed output gradient, O × chunk·H'·W')
/// each fit `convolutionScratchLimit` elements; a single image that does not fit
/// alone still runs, as a chunk of one. The scratch buffers, sized from the call's plan,
/// are scratch blocks of the allocator, given back when the call returns (the in-order
/// queue runs their next use after this call's kernels), so the calls of every layer
/// share the same memory (`DeviceAllocator`) and no layer keeps its own.
///
/// Per chunk of m images, with P = H'·W' and K = C·kh·kw:
/// - forward: one GEMM `W · col` (O × m·P) into the output's NCHW planes; bias added
///   last by `bias_forward`. (One GEMM over the chunk, not a batched GEMM `W · col_n` per
///   image: small per-image GEMMs ran several times slower.)
/// - input gradient: one GEMM `Wᵀ · ∂L/∂output` (K × m·P, ∂L/∂output as O × m·P), then
///   col2im gathers each input element's taps.
/// - weight gradient: one GEMM `∂L/∂output · colᵀ` (O × K), accumulated over chunks
///   with β = 1 after the first.
///
/// Heed's packed GEMM reads the column matrix (forward, weight gradient) and the output
/// gradient's planes (both gradients) straight from the images as it packs them
/// (`gemm_pack_columns`, `gemm_pack_planes`), and writes the forward product straight into
/// the output's planes: none of them is written out as a matrix, which saves its scratch
/// and a pass over it. CLBlast reads and writes matrices, so on that engine im2col,
/// `conv2d_pack_rows` and `conv2d_unpack_rows` lay them out (`readsImages`).
extension OpenCLBackend {
    /// Most elements one scratch buffer of a convolution call may hold on this device
    /// (`DeviceShapes.convolutionScratchLimit`).
    public var convolutionScratchLimit: Int {
        shapes.convolutionScratchLimit
    }

    /// Work-items per channel of `bias_backward` (its `BIAS_GROUP`; a power of two).
    static let biasGroupSize = 64

    public static let convolution: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(ConvolutionOps.forward) { backend, d, b in
            try backend.withScratchThatFits(d) { limit in
                try backend.conv2dForward(
                    d, input: b.input, weight: b.weight, bias: b.optional("bias"), output: b.output, scratchLimit: limit)
            }
        },
        OpImplementation(ConvolutionOps.backwardInput) { backend, d, b in
            try backend.withScratchThatFits(d) { limit in
                try backend.conv2dBackwardInput(
                    d, outputGradient: b.outputGradient, weight: b.weight, inputGradient: b.inputGradient,
                    scratchLimit: limit)
            }
        },
        OpImplementation(ConvolutionOps.backwardWeight) { backend, d, b in
            try backend.withScratchThatFits(d) { limit in
                try backend.conv2dBackwardWeight(
                    d, input: b.input, outputGradient: b.outputGradient, weightGradient: b.weightGradient,
                    scratchLimit: limit)
            }
        },
        OpImplementation(ConvolutionOps.backwardBias) { backend, d, b in
            try backend.addOrSumBias(
                backward: true, "conv2d", values: b.outputGradient, bias: b.biasGradient,
                batch: d.batch, channels: d.outChannels, plane: d.outputHeight * d.outputWidth)
        },
    ]

    /// Runs one convolution call (`body`, given its scratch limit) with
    /// `convolutionScratchLimit`, and where its scratch does not fit the device memory left
    /// (`OutOfDeviceMemory`) again in chunks of half as many images, down to one: as
    /// PyTorch falls back to a convolution algorithm with less workspace, a batch whose
    /// tensors fit still runs. Every call overwrites its whole output (the weight gradient
    /// starts at β = 0), so a retry leaves no trace of the failed try; a weight gradient
    /// summed over other chunks may differ in its last bits.
    func withScratchThatFits(_ d: Conv2dDescriptor, _ body: (_ scratchLimit: Int) throws -> Void) throws {
        var limit = convolutionScratchLimit
        while true {
            do {
                return try body(limit)
            } catch let error as OutOfDeviceMemory {
                let plan = try ConvolutionPlan(d, scratchLimit: limit)
                guard plan.chunk > 1 else { throw error }
                limit = plan.chunk / 2 * plan.rows * plan.plane
            }
        }
    }

    // MARK: Chunked implementations, on checked buffers (the scratch limit is a parameter so tests can force chunking)

    func conv2dForward(
        _ d: Conv2dDescriptor, input: OpenCLBuffer, weight: OpenCLBuffer, bias: OpenCLBuffer?,
        output: OpenCLBuffer, scratchLimit: Int
    ) throws {
        let plan = try ConvolutionPlan(d, scratchLimit: scratchLimit)
        let (col, packed) = try scratch(plan, columnMatrix: !readsImages, packedRows: !readsImages)
        for (n0, m) in plan.chunks {
            // The product lands in the output's planes, or in `packed` to be laid out into them.
            let planes = GemmOperand.planes(output, firstImage: n0, channels: d.outChannels, plane: plan.plane)
            try convolutionGemm(
                GemmDescriptor(m: d.outChannels, n: m * plan.plane, k: plan.reduction),
                a: .matrix(weight), b: try columns(plan, of: input, n0: n0, count: m, depthIsTaps: true, into: col),
                c: packed.map { .matrix($0) } ?? planes)
            if let packed {
                try packRows(plan, "conv2d_unpack_rows", from: packed, to: output, n0: n0, count: m)
            }
        }
        if let bias {
            try addOrSumBias(
                backward: false, "conv2d", values: output, bias: bias, batch: d.batch,
                channels: d.outChannels, plane: plan.plane)
        }
    }

    func conv2dBackwardInput(
        _ d: Conv2dDescriptor, outputGradient: OpenCLBuffer, weight: OpenCLBuffer,
        inputGradient: OpenCLBuffer, scratchLimit: Int
    ) throws {
        let plan = try ConvolutionPlan(d, scratchLimit: scratchLimit)
        let (col, packed) = try scratch(plan, columnMatrix: true, packedRows: !readsImages)
        for (n0, m) in plan.chunks {
            try convolutionGemm(
                GemmDescriptor(transposeA: true, m: plan.reduction, n: m * plan.plane, k: d.outChannels),
                a: .matrix(weight), b: try planes(plan, of: outputGradient, n0: n0, count: m, into: packed),
                c: .matrix(col!))
            try columnKernel(.col2im, plan, col!, inputGradient, n0: n0, count: m)
        }
    }

    func conv2dBackwardWeight(
        _ d: Conv2dDescriptor, input: OpenCLBuffer, outputGradient: OpenCLBuffer,
        weightGradient: OpenCLBuffer, scratchLimit: Int
    ) throws {
        let plan = try ConvolutionPlan(d, scratchLimit: scratchLimit)
        let (col, packed) = try scratch(plan, columnMatrix: !readsImages, packedRows: !readsImages)
        for (n0, m) in plan.chunks {
            try convolutionGemm(
                GemmDescriptor(
                    transposeB: true, m: d.outChannels, n: plan.reduction, k: m * plan.plane,
                    beta: n0 == 0 ? 0 : 1),
                a: try planes(plan, of: outputGradient, n0: n0, count: m, into: packed),
                b: try columns(plan, of: input, n0: n0, count: m, depthIsTaps: false, into: col),
                c: .matrix(weightGradient))
        }
    }

    /// Whether the GEMM reads the column matrix and the output gradient's planes straight
    /// from the images as it packs them, and writes the output's planes (Heed's packed
    /// engine), so that none is laid out as a matrix. CLBlast reads and writes matrices only.
    private var readsImages: Bool { gemmEngine == .packed }

    /// The scratch of one call: the column matrix (K × chunk·P) and the packed output or
    /// its gradient (O × chunk·P), each where the call writes it. Every GEMM of the call
    /// fits them, so `enqueueGemm` needs no check.
    private func scratch(
        _ plan: ConvolutionPlan, columnMatrix: Bool, packedRows: Bool
    ) throws -> (col: OpenCLBuffer?, packed: OpenCLBuffer?) {
        let columns = plan.chunk * plan.plane
        return (
            columnMatrix ? try OpenCLBuffer.scratch(context: context, floats: plan.reduction * columns) : nil,
            packedRows ? try OpenCLBuffer.scratch(context: context, floats: plan.descriptor.outChannels * columns) : nil
        )
    }

    /// The column matrix of images n0 ..< n0 + count as a GEMM operand: read from the images
    /// (`readsImages`), else written into `col` by im2col first.
    private func columns(
        _ plan: ConvolutionPlan, of input: OpenCLBuffer, n0: Int, count: Int, depthIsTaps: Bool, into col: OpenCLBuffer?
    ) throws -> GemmOperand {
        guard let col else { return .columns(of: plan, input: input, firstImage: n0, depthIsTaps: depthIsTaps) }
        try columnKernel(.im2col, plan, input, col, n0: n0, count: count)
        return .matrix(col)
    }

    /// The output gradient of images n0 ..< n0 + count as the (O × count·P) operand: read
    /// from its planes (`readsImages`), else re-laid out into `packed` first.
    private func planes(
        _ plan: ConvolutionPlan, of outputGradient: OpenCLBuffer, n0: Int, count: Int, into packed: OpenCLBuffer?
    ) throws -> GemmOperand {
        guard let packed else {
            return .planes(outputGradient, firstImage: n0, channels: plan.descriptor.outChannels, plane: plan.plane)
        }
        try packRows(plan, "conv2d_pack_rows", from: outputGradient, to: packed, n0: n0, count: count)
        return .matrix(packed)
    }

    /// One GEMM of a convolution: by the packed engine on operands of any kind, else (all
    /// then matrices) by `enqueueGemm`.
    private func convolutionGemm(_ d: GemmDescriptor, a: GemmOperand, b: GemmOperand, c: GemmOperand) throws {
        if let a = a.matrix, let b = b.matrix, let c = c.matrix {
            try enqueueGemm(d, a: a, b: b, c: c)
        } else {
            try packedGemm(d, a: a, b: b, c: c)
        }
    }

    // MARK: Kernels

    /// Image rows per work item of `conv2d_im2col` and `conv2d_col2im` (their `rows`) where
    /// `DeviceShapes.columns` gives items whole rows: 4, since each work item costs a CPU
    /// scheduling time (4, 8 and whole 32-row images ran alike on PoCL, one row per item
    /// slower). The tests' 7- to 11-row images also check the partial last block.
    static let columnRowsPerItem = 4

    /// The kernels between images and column matrices.
    private enum ColumnKernel: String {
        case im2col = "conv2d_im2col"
        case col2im = "conv2d_col2im"
    }

    /// Launches `kernel` from `source` into `destination` in the mapping `DeviceShapes.columns`
    /// says: rows per item, or its `_elements` twin.
    private func columnKernel(
        _ kernel: ColumnKernel, _ plan: ConvolutionPlan, _ source: OpenCLBuffer, _ destination: OpenCLBuffer, n0: Int, count: Int
    ) throws {
        let d = plan.descriptor
        // im2col writes the output plane for C·kh·kw taps per image; col2im the input plane for C channels.
        let (height, width, planes) =
            kernel == .im2col
            ? (d.outputHeight, d.outputWidth, count * plan.reduction) : (d.height, d.width, count * d.inChannels)
        let arguments: [KernelArgument] = [.buffer(source), .buffer(destination)] + (try plan.geometry(n0: n0, count: count))
        switch shapes.columns {
        case .rowsPerItem:
            let rows = Self.columnRowsPerItem
            try launch(
                family: "conv", kernel: kernel.rawValue, global: [(height + rows - 1) / rows, planes],
                arguments: arguments + [try .int(rows, "conv2d")])
        case .elementsPerItem:
            try launch(family: "conv", kernel: kernel.rawValue + "_elements", global: [width, height, planes], arguments: arguments)
        }
    }

    /// `conv2d_pack_rows` ((N, O, P) → (O, m·P) for images n0 ..< n0 + m) or `conv2d_unpack_rows` (back).
    private func packRows(
        _ plan: ConvolutionPlan, _ kernel: String, from source: OpenCLBuffer,
        to destination: OpenCLBuffer, n0: Int, count: Int
    ) throws {
        let d = plan.descriptor
        try launch(
            family: "conv", kernel: kernel, global: [count * plan.plane, d.outChannels],
            arguments: [
                .buffer(source), .buffer(destination), try .int(n0, "conv2d"),
                try .int(count, "conv2d"), try .int(d.outChannels, "conv2d"),
                try .int(plan.plane, "conv2d"),
            ])
    }

    /// `bias_forward` (values (N, O, P) += bias[o]) or `bias_backward` (bias[o] = Σ values[·, o, ·]);
    /// shared with linear layers, which have P = 1.
    func addOrSumBias(
        backward: Bool, _ op: String, values: OpenCLBuffer, bias: OpenCLBuffer,
        batch: Int, channels: Int, plane: Int
    ) throws {
        try Self.checkIndexRange(op, values.count)
        let sizes: [KernelArgument] = [try .int(batch, op), try .int(channels, op), try .int(plane, op)]
        if backward {
            let group = Self.biasGroupSize
            try launch(
                family: "conv", kernel: "bias_backward", defines: ["BIAS_GROUP": "\(group)"],
                global: [group * channels], local: [group],
                arguments: [.buffer(values), .buffer(bias)] + sizes)
        } else {
            try launch(
                family: "conv", kernel: "bias_forward", global: [values.count],
                arguments: [.buffer(values), .buffer(bias)] + sizes)
        }
    }

    /// Refuses buffers too large for the kernels' 32-bit index arithmetic.
    static func checkIndexRange(_ op: String, _ counts: Int...) throws {
        for count in counts where count > Int(Int32.max) {
            throw HeedError.invalidArgument(op: op, "a buffer of \(count) elements exceeds the kernels' 32-bit indices")
        }
    }
}

/// How one convolution call splits its batch into chunks that fit the scratch limit.
struct ConvolutionPlan {
    let descriptor: Conv2dDescriptor
    /// H'·W'.
    let plane: Int
    /// C·kh·kw, the rows of the column matrix.
    let reduction: Int
    /// Rows of the larger scratch matrix: the column matrix's, or the packed output's.
    let rows: Int
    /// Images per chunk (the last chunk may hold fewer).
    let chunk: Int

    init(_ d: Conv2dDescriptor, scratchLimit: Int) throws {
        descriptor = d
        plane = d.outputHeight * d.outputWidth
        reduction = d.reductionSize
        rows = max(reduction, d.outChannels)
        chunk = max(1, min(d.batch, scratchLimit / (rows * plane)))
        let scratch = rows * chunk * plane
        try OpenCLBackend.checkIndexRange(
            "conv2d", d.batch * d.inChannels * d.height * d.width,
            d.batch * d.outChannels * plane, scratch)
    }

    /// (first image, image count) of each chunk.
    var chunks: [(Int, Int)] {
        stride(from: 0, to: descriptor.batch, by: chunk).map { ($0, min(chunk, descriptor.batch - $0)) }
    }

    /// The arguments `conv2d_im2col` and `conv2d_col2im` share, after their two buffers.
    func geometry(n0: Int, count: Int) throws -> [KernelArgument] {
        let d = descriptor
        return try [
            n0, count, d.inChannels, d.height, d.width, d.kernelHeight, d.kernelWidth,
            d.stride, d.padding, d.outputHeight, d.outputWidth,
        ].map { try .int($0, "conv2d") }
    }
}
