import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

@testable import HeedOpenCL

final class ConvolutionTests: XCTestCase {
    /// The cases `heed verify --op conv2d` runs: forward, input, weight and bias gradients
    /// for 1×1 stride 2, 3×3 padding 1 at strides 1 and 2, 5×3 at stride 3 padding 2, a
    /// kernel as large as the input and odd sizes; exact on integers, else within γₙ·Σ|terms|.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "conv2d")
        XCTAssertEqual(cases.count, 64)
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
        }
    }

    /// A scratch limit of one or two images' columns splits a batch of 5 into chunks
    /// (5 × 1, then 2 + 2 + 1): every chunk boundary must land on the right images, and
    /// the weight gradient must add the chunks up. Integer inputs, so results are exact.
    func testChunkedBatchesMatchTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let d = Conv2dDescriptor(
            batch: 5, inChannels: 3, outChannels: 4, height: 7, width: 6,
            kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1)
        var random = SeededGenerator(seed: 11)
        let x = random.integers(d.inputShape.reduce(1, *))
        let w = random.integers(d.weightShape.reduce(1, *))
        let dy = random.integers(d.outputShape.reduce(1, *))
        let imageColumns = d.reductionSize * d.outputHeight * d.outputWidth
        // The chunked implementations take buffers the op's binding has checked.
        func buffer(_ values: [Float]) throws -> OpenCLBuffer { try device.floats(device.makeBuffer(values), "test", "buffer") }
        for limit in [1, 2 * imageColumns] {
            let output = try buffer([Float](repeating: .nan, count: dy.count))
            try device.conv2dForward(
                d, input: buffer(x), weight: buffer(w), bias: nil,
                output: output, scratchLimit: limit)
            XCTAssertEqual(
                try device.read(output, as: Float.self),
                Reference.conv2dForward(d, input: x, weight: w, bias: nil), "forward, limit \(limit)")

            let inputGradient = try buffer([Float](repeating: .nan, count: x.count))
            try device.conv2dBackwardInput(
                d, outputGradient: buffer(dy), weight: buffer(w),
                inputGradient: inputGradient, scratchLimit: limit)
            XCTAssertEqual(
                try device.read(inputGradient, as: Float.self),
                Reference.conv2dBackwardInput(d, outputGradient: dy, weight: w), "input gradient, limit \(limit)")

            let weightGradient = try buffer([Float](repeating: .nan, count: w.count))
            try device.conv2dBackwardWeight(
                d, input: buffer(x), outputGradient: buffer(dy),
                weightGradient: weightGradient, scratchLimit: limit)
            XCTAssertEqual(
                try device.read(weightGradient, as: Float.self),
                Reference.conv2dBackwardWeight(d, input: x, outputGradient: dy), "weight gradient, limit \(limit)")
        }
    }

    /// Under a memory limit that the whole batch's scratch does not fit (the GEMM's 9 MiB
    /// packed copy of the column matrix, with 6 MiB to spare), the chunked implementation
    /// at the device's scratch limit runs out of memory, and the op runs in smaller chunks
    /// instead, with the reference's results. Integer inputs, so results are exact.
    func testAConvolutionWhoseScratchDoesNotFitRunsInSmallerChunks() throws {
        let device = try TestDevices.requireOpenCL()
        let d = Conv2dDescriptor(
            batch: 16, inChannels: 16, outChannels: 8, height: 32, width: 32,
            kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        XCTAssertEqual(try ConvolutionPlan(d, scratchLimit: device.convolutionScratchLimit).chunk, 16)
        var random = SeededGenerator(seed: 12)
        let (x, w, dy) = (
            random.integers(d.inputShape.reduce(1, *)), random.integers(d.weightShape.reduce(1, *)),
            random.integers(d.outputShape.reduce(1, *))
        )
        func buffer(_ values: [Float]) throws -> OpenCLBuffer { try device.floats(device.makeBuffer(values), "test", "buffer") }
        let (input, weight, outputGradient) = (try buffer(x), try buffer(w), try buffer(dy))
        let output = try buffer([Float](repeating: .nan, count: dy.count))
        let inputGradient = try buffer([Float](repeating: .nan, count: x.count))
        let weightGradient = try buffer([Float](repeating: .nan, count: w.count))
        device.releaseCachedMemory()
        defer { device.memoryLimit = nil }
        device.memoryLimit = device.memoryUsage.reservedBytes + (6 << 20)
        assertThrows(
            try device.conv2dForward(
                d, input: input, weight: weight, bias: nil, output: output, scratchLimit: device.convolutionScratchLimit),
            as: OutOfDeviceMemory.self)
        try device.conv2dForward(d, input: input, weight: weight, bias: nil, output: output)
        try device.conv2dBackwardInput(d, outputGradient: outputGradient, weight: weight, inputGradient: inputGradient)
        try device.conv2dBackwardWeight(d, input: input, outputGradient: outputGradient, weightGradient: weightGradient)
        XCTAssertEqual(try device.read(output, as: Float.self), Reference.conv2dForward(d, input: x, weight: w, bias: nil))
        XCTAssertEqual(
            try device.read(inputGradient, as: Float.self), Reference.conv2dBackwardInput(d, outputGradient: dy, weight: w))
        XCTAssertEqual(
            try device.read(weightGradient, as: Float.self), Reference.conv2dBackwardWeight(d, input: x, outputGradient: dy))
    }

    /// The reference against convolutions worked out by hand on the 3×3 image 1…9.
    func testReferenceComputesKnownConvolutions() {
        let image: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        // 3×3 box filter, padding 1: each output sums the neighbours inside the image.
        var d = Conv2dDescriptor(
            batch: 1, inChannels: 1, outChannels: 1, height: 3, width: 3,
            kernelHeight: 3, kernelWidth: 3, padding: 1)
        let box = [Double](repeating: 1, count: 9)
        XCTAssertEqual(
            Reference.conv2dForward(d, input: image, weight: box, bias: [0.5]),
            [12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5])
        // Stride 2: windows start at rows/columns −1 and 1, so 2×2 outputs.
        d.stride = 2
        XCTAssertEqual(d.outputShape, [1, 1, 2, 2])
        XCTAssertEqual(Reference.conv2dForward(d, input: image, weight: box, bias: nil), [12, 16, 24, 28])

        // 2×2 kernel x[i][j] − x[i+1][j+1], no padding, two output channels (the second doubled).
        let diagonal = Conv2dDescriptor(
            batch: 1, inChannels: 1, outChannels: 2, height: 3, width: 3,
            kernelHeight: 2, kernelWidth: 2)
        XCTAssertEqual(
            Reference.conv2dForward(diagonal, input: image, weight: [1, 0, 0, -1, 2, 0, 0, -2], bias: nil),
            [-4, -4, -4, -4, -8, -8, -8, -8])

        // 1×1 stride 2 (a shortcut) samples the corners; its gradients scatter back there.
        let shortcut = Conv2dDescriptor(
            batch: 1, inChannels: 1, outChannels: 1, height: 3, width: 3,
            kernelHeight: 1, kernelWidth: 1, stride: 2)
        let dy: [Double] = [1, 2, 3, 4]
        XCTAssertEqual(Reference.conv2dForward(shortcut, input: image, weight: [2], bias: nil), [2, 6, 14, 18])
        XCTAssertEqual(Reference.conv2dBackwardInput(shortcut, outputGradient: dy, weight: [2]), [2, 0, 4, 0, 0, 0, 6, 0, 8])
        XCTAssertEqual(Reference.conv2dBackwardWeight(shortcut, input: image, outputGradient: dy), [1 + 6 + 21 + 36])
        XCTAssertEqual(Reference.conv2dBackwardBias(shortcut, outputGradient: dy), [10])
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        let d = Conv2dDescriptor(
            batch: 2, inChannels: 3, outChannels: 4, height: 7, width: 7,
            kernelHeight: 3, kernelWidth: 3, padding: 1)
        let context = "in conv2d(input (2, 3, 7, 7), weight (4, 3, 3, 3), stride 1, padding 1)"
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let input = try backend.makeBuffer(count: 2 * 3 * 7 * 7, of: Float.self)
            let output = try backend.makeBuffer(count: 2 * 4 * 7 * 7, of: Float.self)
            let weight = try backend.makeBuffer(count: 4 * 3 * 9, of: Float.self)
            // A weight with 2 input channels where the input has 3.
            let narrowWeight = try backend.makeBuffer(count: 4 * 2 * 9, of: Float.self)
            let mismatch = HeedError.shapeMismatch(op: "conv2d", "weight (4, 3, 3, 3) needs 108 elements, buffer has 72, \(context)")
            assertThrows(
                try backend.conv2dForward(d, input: input, weight: narrowWeight, bias: nil, output: output),
                as: HeedError.self
            ) { XCTAssertEqual($0, mismatch) }
            assertThrows(
                try backend.conv2dBackwardInput(d, outputGradient: output, weight: narrowWeight, inputGradient: input),
                as: HeedError.self
            ) { XCTAssertEqual($0, mismatch) }
            assertThrows(
                try backend.conv2dBackwardWeight(d, input: input, outputGradient: output, weightGradient: narrowWeight),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0, .shapeMismatch(op: "conv2d", "weight gradient (4, 3, 3, 3) needs 108 elements, buffer has 72, \(context)"))
            }
            assertThrows(try backend.conv2dBackwardBias(d, outputGradient: output, biasGradient: weight), as: HeedError.self) {
                XCTAssertEqual($0, .shapeMismatch(op: "conv2d", "bias gradient (4) needs 4 elements, buffer has 108, \(context)"))
            }
            assertThrows(
                try backend.conv2dForward(d, input: output, weight: weight, bias: nil, output: output),
                as: HeedError.self
            ) {
                XCTAssertEqual($0, .shapeMismatch(op: "conv2d", "input (2, 3, 7, 7) needs 294 elements, buffer has 392, \(context)"))
            }
            let ints = try backend.makeBuffer(count: 2 * 3 * 7 * 7, of: Int32.self)
            assertThrows(try backend.conv2dForward(d, input: ints, weight: weight, bias: nil, output: output), as: HeedError.self) {
                XCTAssertEqual($0, .invalidArgument(op: "conv2d", "input holds int32, expected float32"))
            }
            var unpadded = d
            unpadded.padding = 0
            unpadded.height = 2
            assertThrows(
                try backend.conv2dForward(unpadded, input: input, weight: weight, bias: nil, output: output),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "conv2d",
                        "kernel 3x3 is larger than the padded input, in conv2d(input (2, 3, 2, 7), weight (4, 3, 3, 3), stride 1, padding 0)"
                    ))
            }
        }
    }

    /// The graph layer builds descriptors from tensor shapes; channel counts must agree.
    func testDescriptorFromShapesChecksTheChannels() throws {
        let d = try Conv2dDescriptor(input: [2, 3, 9, 7], weight: [5, 3, 3, 3], stride: 2, padding: 1)
        XCTAssertEqual(d.outputShape, [2, 5, 5, 4])
        assertThrows(try Conv2dDescriptor(input: [2, 3, 9, 7], weight: [5, 4, 3, 3]), as: HeedError.self) {
            XCTAssertEqual(
                $0,
                .shapeMismatch(
                    op: "conv2d",
                    "input (2, 3, 9, 7) and weight (5, 4, 3, 3) do not fit: expected input (N, C, H, W) and weight (O, C, kh, kw) with the same C"
                ))
        }
        assertThrows(try Conv2dDescriptor(input: [2, 3, 9, 7], weight: [5, 3, 3, 3], stride: 0), as: HeedError.self) {
            XCTAssertEqual(
                $0,
                .invalidArgument(
                    op: "conv2d",
                    "stride = 0 must be at least 1, in conv2d(input (2, 3, 9, 7), weight (5, 3, 3, 3), stride 0, padding 0)"))
        }
    }
}
