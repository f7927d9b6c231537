import HeedOpenCL
import HeedOps

/// Builds the workload of a kernel case on an OpenCL backend: buffers of random inputs
/// and outputs, then a closure that enqueues exactly the ops benchmarks/README.md
/// describes for the case's op and pass.
struct KernelWorkloads {
    let layers: [String: BenchmarkSuites.Layer]
    /// The batch B of convolutions, attention, batch norm and sampling.
    let batch: Int
    let quick: Bool
    private var buffers: RandomBuffers

    init(layers: [String: BenchmarkSuites.Layer], batch: Int, quick: Bool, backend: OpenCLBackend) {
        self.layers = layers
        self.batch = batch
        self.quick = quick
        buffers = RandomBuffers(backend: backend)
    }

    private var backend: OpenCLBackend { buffers.backend }

    mutating func make(_ c: KernelCase) throws -> Workload {
        switch c.op {
        case .gemm: try gemm(GemmDescriptor(m: c.require(c.m, "m"), n: c.require(c.n, "n"), k: c.require(c.k, "k")))
        case .convGemm: try convolutionGemm(c)
        case .conv2d: try convolution(c)
        case .attention: try attention(c)
        case .aggregation: try aggregation(c)
        case .batchNorm: try batchNorm(c)
        case .gridSample: try gridSample(c)
        case .sgd: try sgd(count: quick ? c.require(c.quickCount ?? c.count, "quick_count") : c.require(c.count, "count"))
        }
    }

    // MARK: GEMM and convolution

    mutating func gemm(_ d: GemmDescriptor) throws -> Workload {
        let (a, b, c) = (try buffers.uniform(d.m * d.k), try buffers.uniform(d.k * d.n), try buffers.output(d.m * d.n))
        let backend = backend
        return Workload(GemmOps.gemm, d, bound: .compute) {
            try backend.gemm(d, a: a, b: b, c: c)
        }
    }

    /// The GEMM the im2col convolution issues for the whole batch (P = H′W′, K = C·kh·kw).
    private mutating func convolutionGemm(_ c: KernelCase) throws -> Workload {
        let d = try descriptor(c)
        let (o, p, k) = (d.outChannels, batch * d.outputHeight * d.outputWidth, d.reductionSize)
        switch try c.requirePass([.forward, .input, .weight]) {
        case .forward: return try gemm(GemmDescriptor(m: o, n: p, k: k))  // W · col
        case .input: return try gemm(GemmDescriptor(transposeA: true, m: k, n: p, k: o))  // Wᵀ · ∂Y
        default: return try gemm(GemmDescriptor(transposeB: true, m: o, n: k, k: p))  // ∂Y · colᵀ
        }
    }

    private mutating func convolution(_ c: KernelCase) throws -> Workload {
        let d = try descriptor(c)
        let (inputCount, weightCount) = (d.inputShape.reduce(1, *), d.weightShape.reduce(1, *))
        let outputCount = d.outputShape.reduce(1, *)
        let backend = backend
        switch try c.requirePass([.forward, .input, .weight]) {
        case .forward:
            let (x, w, y) = (try buffers.uniform(inputCount), try buffers.uniform(weightCount), try buffers.output(outputCount))
            return Workload(ConvolutionOps.forward, d, leaving: ["bias"], bound: .compute) {
                try backend.conv2dForward(d, input: x, weight: w, bias: nil, output: y)
            }
        case .input:
            let (dy, w, dx) = (try buffers.uniform(outputCount), try buffers.uniform(weightCount), try buffers.output(inputCount))
            return Workload(ConvolutionOps.backwardInput, d, bound: .compute) {
                try backend.conv2dBackwardInput(d, outputGradient: dy, weight: w, inputGradient: dx)
            }
        default:
            let (x, dy, dw) = (try buffers.uniform(inputCount), try buffers.uniform(outputCount), try buffers.output(weightCount))
            return Workload(ConvolutionOps.backwardWeight, d, bound: .compute) {
                try backend.conv2dBackwardWeight(d, input: x, outputGradient: dy, weightGradient: dw)
            }
        }
    }

    private func descriptor(_ c: KernelCase) throws -> Conv2dDescriptor {
        let layer = try c.requireLayer(layers)
        return Conv2dDescriptor(
            batch: batch, inChannels: layer.inChannels, outChannels: layer.outChannels,
            height: layer.size, width: layer.size, kernelHeight: layer.kernel, kernelWidth: layer.kernel,
            stride: layer.stride, padding: layer.padding)
    }

    // MARK: Attention

    /// The spatial-softmax path of one attention module (B, K heads, L classes, S positions).
    private mutating func attention(_ c: KernelCase) throws -> Workload {
        let (k, l, size) = (try c.require(c.heads, "heads"), try c.require(c.classes, "classes"), try c.require(c.size, "size"))
        let d = AttentionDescriptor(batch: batch, heads: k, classes: l, positions: size * size)
        let softmax = SoftmaxDescriptor(.softmax, outer: batch * k, axis: size * size)
        let (bks, bkls, bkl, bl) = (batch * k * size * size, batch * k * l * size * size, batch * k * l, batch * l)
        let backend = backend
        let logits = try buffers.uniform(bks, in: -4...4)
        let (values, scores) = (try buffers.uniform(bkls), try buffers.uniform(bks))
        let (masks, headOutputs, gates, output) = (
            try buffers.output(bks), try buffers.output(bkl),
            try buffers.output(batch * k), try buffers.output(bl)
        )
        // The forward's results are the backward's inputs.
        try backend.softmaxForward(softmax, input: logits, output: masks)
        try backend.attendedSumForward(d, values: values, mask: masks, output: headOutputs)
        switch try c.requirePass([.forward, .backward]) {
        case .forward:
            return Workload(flops: 2 * bkls + 4 * bks, bytes: 4 * (3 * bks + bkls + bkl + batch * k + bl), bound: .memory) {
                try backend.softmaxForward(softmax, input: logits, output: masks)
                try backend.attendedSumForward(d, values: values, mask: masks, output: headOutputs)
                try backend.attentionGatesForward(d, scores: scores, mask: masks, headOutputs: headOutputs, gates: gates, output: output)
            }
        default:
            let outputGradient = try buffers.uniform(bl)
            let (scoresGradient, gatesMaskGradient, headOutputsGradient) = (
                try buffers.output(bks), try buffers.output(bks), try buffers.output(bkl)
            )
            let (valuesGradient, sumMaskGradient, logitsGradient) = (
                try buffers.output(bkls), try buffers.output(bks), try buffers.output(bks)
            )
            return Workload(flops: 4 * bkls + 8 * bks, bytes: 4 * (2 * bkls + 4 * bks + bkl + bl), bound: .memory) {
                try backend.attentionGatesBackward(
                    d, scores: scores, mask: masks, headOutputs: headOutputs, outputGradient: outputGradient,
                    scoresGradient: scoresGradient, maskGradient: gatesMaskGradient,
                    headOutputsGradient: headOutputsGradient)
                try backend.attendedSumBackward(
                    d, values: values, mask: masks, outputGradient: headOutputsGradient,
                    valuesGradient: valuesGradient, maskGradient: sumMaskGradient)
                // The mask feeds both the attended sum and the gates: its gradient is the sum.
                try backend.add(count: bks, a: gatesMaskGradient, b: sumMaskGradient, output: sumMaskGradient)
                try backend.softmaxBackward(softmax, output: masks, outputGradient: sumMaskGradient, inputGradient: logitsGradient)
            }
        }
    }

    private mutating func aggregation(_ c: KernelCase) throws -> Workload {
        let (n, l) = (try c.require(c.sources, "sources"), try c.require(c.classes, "classes"))
        let d = AggregationDescriptor(batch: batch, sources: n, classes: l, gate: .softmax)
        let (sources, gates, output) = (
            try buffers.uniform(batch * n * l, in: -4...4), try buffers.uniform(batch * n), try buffers.output(batch * l)
        )
        let backend = backend
        switch try c.requirePass([.forward, .backward]) {
        case .forward:
            return Workload(AttentionOps.aggregationForward, d, bound: .memory) {
                try backend.aggregationForward(d, sources: sources, gates: gates, output: output)
            }
        default:
            let outputGradient = try buffers.uniform(batch * l)
            let (sourcesGradient, gatesGradient) = (try buffers.output(batch * n * l), try buffers.output(batch * n))
            return Workload(AttentionOps.aggregationBackward, d, bound: .memory) {
                try backend.aggregationBackward(
                    d, sources: sources, gates: gates, outputGradient: outputGradient,
                    sourcesGradient: sourcesGradient, gatesGradient: gatesGradient)
            }
        }
    }

    // MARK: Normalisation, sampling, optimiser

    private mutating func batchNorm(_ c: KernelCase) throws -> Workload {
        let (channels, size) = (try c.require(c.channels, "channels"), try c.require(c.size, "size"))
        let d = BatchNormDescriptor(batch: batch, channels: channels, spatial: size * size)
        let input = try buffers.uniform(d.count)
        let (weight, bias) = (try buffers.uniform(channels, in: 0.5...1.5), try buffers.uniform(channels))
        let (runningMean, runningVariance) = (try buffers.uniform(channels), try buffers.uniform(channels, in: 0.5...1.5))
        let (output, savedMean, savedInverseStd) = (try buffers.output(d.count), try buffers.output(channels), try buffers.output(channels))
        let backend = backend
        try backend.batchNormForwardTraining(
            d, input: input, weight: weight, bias: bias, runningMean: runningMean,
            runningVariance: runningVariance, output: output,
            savedMean: savedMean, savedInverseStd: savedInverseStd)
        switch try c.requirePass([.forward, .backward]) {
        case .forward:
            return Workload(flops: 8 * d.count, bytes: 4 * 2 * d.count, bound: .memory) {
                try backend.batchNormForwardTraining(
                    d, input: input, weight: weight, bias: bias, runningMean: runningMean,
                    runningVariance: runningVariance, output: output,
                    savedMean: savedMean, savedInverseStd: savedInverseStd)
            }
        default:
            let outputGradient = try buffers.uniform(d.count)
            let (inputGradient, weightGradient, biasGradient) = (
                try buffers.output(d.count), try buffers.output(channels), try buffers.output(channels)
            )
            return Workload(flops: 8 * d.count, bytes: 4 * 3 * d.count, bound: .memory) {
                try backend.batchNormBackward(
                    d, input: input, outputGradient: outputGradient, weight: weight,
                    savedMean: savedMean, savedInverseStd: savedInverseStd,
                    inputGradient: inputGradient, weightGradient: weightGradient, biasGradient: biasGradient)
            }
        }
    }

    /// Bilinear resampling at the input's size on the grid of a random zoom (scale
    /// 0.5–1, shift ±0.2), as Coarse2Fine's fine view does.
    private mutating func gridSample(_ c: KernelCase) throws -> Workload {
        let (channels, size) = (try c.require(c.channels, "channels"), try c.require(c.size, "size"))
        let d = GridSampleDescriptor(
            batch: batch, channels: channels, inputHeight: size, inputWidth: size, outputHeight: size, outputWidth: size)
        var random = SeededGenerator(seed: 0x2004)
        let theta: [Float] = (0..<batch).flatMap { _ -> [Float] in
            let scale = Float.random(in: 0.5...1, using: &random)
            return [scale, 0, Float.random(in: -0.2...0.2, using: &random), 0, scale, Float.random(in: -0.2...0.2, using: &random)]
        }
        let grid = try buffers.output(d.gridCount)
        try backend.affineGridForward(
            AffineGridDescriptor(batch: batch, height: size, width: size), theta: try backend.makeBuffer(theta), grid: grid)
        let input = try buffers.uniform(d.inputCount)
        let flops = 20 * d.outputCount
        let backend = backend
        switch try c.requirePass([.forward, .backward]) {
        case .forward:
            let output = try buffers.output(d.outputCount)
            return Workload(SamplingOps.gridSampleForward, d, bound: .memory) {
                try backend.gridSampleForward(d, input: input, grid: grid, output: output)
            }
        default:
            let outputGradient = try buffers.uniform(d.outputCount)
            let (inputGradient, gridGradient) = (try buffers.output(d.inputCount), try buffers.output(d.gridCount))
            return Workload(flops: flops, bytes: 4 * (2 * d.inputCount + 2 * d.gridCount + d.outputCount), bound: .memory) {
                try backend.gridSampleBackwardInput(d, grid: grid, outputGradient: outputGradient, inputGradient: inputGradient)
                try backend.gridSampleBackwardGrid(d, input: input, grid: grid, outputGradient: outputGradient, gridGradient: gridGradient)
            }
        }
    }

    /// One SGD step (momentum 0.9, Nesterov, weight decay 5·10⁻⁴) on `count` parameters.
    private mutating func sgd(count: Int) throws -> Workload {
        let d = SGDDescriptor(count: count, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        let (parameter, gradient, momentum) = (try buffers.uniform(count), try buffers.uniform(count), try buffers.uniform(count))
        let backend = backend
        return Workload(OptimizerOps.sgd, d, bound: .memory) {
            try backend.sgdUpdate(d, parameter: parameter, gradient: gradient, momentumBuffer: momentum)
        }
    }
}

extension BenchmarkSuites {
    /// The ops of kernel case `c` at `batch` on `backend`, with their inputs made, ready to
    /// run again and again: what `heed tune` times its candidates on.
    public func kernelWorkload(_ c: KernelCase, batch: Int, on backend: OpenCLBackend) throws -> () throws -> Void {
        var workloads = KernelWorkloads(layers: layers, batch: batch, quick: false, backend: backend)
        return try workloads.make(c).run
    }
}
