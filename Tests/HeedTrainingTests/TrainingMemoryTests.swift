import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

/// Device memory of training and evaluation, read from the OpenCL backend's ledger of
/// live buffers (`OpenCLBackend.memoryUsage`): the bytes every buffer alive was asked for
/// (`requestedBytes`; the allocator's rounding aside), declared for backward or not.
final class TrainingMemoryTests: XCTestCase {
    private func liveBytes(_ backend: OpenCLBackend) -> Int { backend.memoryUsage.requestedBytes }

    private func images(_ shape: [Int], on backend: any Backend, seed: UInt64 = 5) throws -> Tensor {
        var random = SeededGenerator(seed: seed)
        return try Tensor((0..<shape.reduce(1, *)).map { _ in Float.random(in: -2...2, using: &random) }, shape: shape, on: backend)
    }

    /// After backward and the SGD step, the device holds what it held before the step plus
    /// the momentum buffers (4 bytes per parameter, made on the first step): no gradient,
    /// no saved tensor, no intermediate is left, and further steps add nothing.
    ///
    /// A first network of the same shapes takes a step beforehand, so that buffers the
    /// backend keeps across calls (the packed GEMM's scratch) have reached their size.
    func testLiveBytesReturnToTheBaselineAfterEachStep() throws {
        let backend = try TestDevices.requireOpenCL()
        let configuration = ModelConfiguration(
            backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 4)),
            attention: AttentionConfiguration(depth: 3, width: 2))
        let (batch, size) = (4, 8)
        func step(_ network: Network, _ optimizer: SGD, _ images: Tensor, _ labels: any DeviceBuffer) throws {
            network.zeroGradients()
            try network.trainingLoss(images: images, labels: labels).loss.backward()
            try optimizer.step()
        }
        let labels = try backend.makeBuffer((0..<batch).map { Int32($0 % 4) })
        let x = try images([batch, 3, size, size], on: backend)
        do {
            let warmUp = try configuration.makeModel(on: backend, seed: 1)
            try step(warmUp, SGD(parameters: warmUp.namedParameters, configuration: .init(learningRate: 0.1)), x, labels)
        }

        let network = try configuration.makeModel(on: backend, seed: 2)
        let optimizer = SGD(parameters: network.namedParameters, configuration: .init(learningRate: 0.1))
        let before = liveBytes(backend)
        let momentumBytes = 4 * network.parameterCount
        for index in 0..<3 {
            try step(network, optimizer, x, labels)
            XCTAssertEqual(liveBytes(backend), before + momentumBytes, "after step \(index + 1)")
        }
    }

    /// What stays alive after an op's forward pass, once its caller has dropped the op's
    /// input: the output and what the rule saved (as `SavedTensorsTests` states it from
    /// the shapes), counting only buffers the op made or was given. A rule that held its
    /// input without declaring it (a closure that captured it) would show here.
    func testEachRuleHoldsOnlyWhatItSaves() throws {
        let backend = try TestDevices.requireOpenCL()
        let (n, c, h, w) = (2, 3, 6, 5)
        let inputBytes = 4 * n * c * h * w
        // A first run sizes the buffers the backend keeps across calls (convolution and
        // GEMM scratch); the second is measured.
        func retained(_ forward: () throws -> Tensor) throws -> (output: Tensor, bytes: Int) {
            _ = try forward()
            let before = liveBytes(backend)
            let output = try forward()
            return (output, liveBytes(backend) - before)
        }
        func outputBytes(_ tensor: Tensor) -> Int { 4 * tensor.count }

        let weight = try Tensor(parameter: [Float](repeating: 0.1, count: 4 * c * 9), shape: [4, c, 3, 3], on: backend)
        let conv = try retained { try images([n, c, h, w], on: backend).conv2d(weight: weight, bias: nil, stride: 1, padding: 1) }
        XCTAssertEqual(conv.bytes, outputBytes(conv.output) + inputBytes, "conv2d: output and input")

        let norm = try BatchNorm(c, on: backend)
        let normalized = try retained { try norm(images([n, c, h, w], on: backend)) }
        XCTAssertEqual(normalized.bytes, outputBytes(normalized.output) + inputBytes + 4 * 2 * c, "batch norm: output, input, mean, 1/std")
        // Fused with its ReLU, the saved output is the result itself: nothing more is held.
        let fused = try retained { try norm(images([n, c, h, w], on: backend), relu: true) }
        XCTAssertEqual(
            fused.bytes, outputBytes(fused.output) + inputBytes + 4 * 2 * c, "batch norm + relu: output (its mask), input, mean, 1/std")

        // The ReLU's input is computed from a parameter (a scale, which saves nothing), so
        // the ReLU records; dropping it then frees it.
        let p = try Tensor(parameter: try images([n, c, h, w], on: backend).values(), shape: [n, c, h, w], on: backend)
        let relu = try retained { try p.scaled(by: 1).relu() }
        XCTAssertEqual(relu.bytes, outputBytes(relu.output), "relu: its output only")

        let pooled = try retained { try p.scaled(by: 1).maxPool2d(kernelSize: 2) }
        XCTAssertEqual(pooled.bytes, 2 * outputBytes(pooled.output), "max pool: output and its int32 indices")

        let linearWeight = try Tensor(parameter: [Float](repeating: 0.1, count: 5 * 7), shape: [5, 7], on: backend)
        let linear = try retained { try images([n, 7], on: backend).linear(weight: linearWeight, bias: nil) }
        XCTAssertEqual(linear.bytes, outputBytes(linear.output) + 4 * n * 7, "linear: output and input")

        for (label, tensor) in [
            ("conv", conv.output), ("bn", normalized.output), ("bn + relu", fused.output), ("relu", relu.output), ("linear", linear.output),
        ] {
            try tensor.sum().backward()
            XCTAssertEqual(tensor.bytesSavedForBackward, 0, "\(label): freed by backward")
        }
    }

    /// Without recording, a chain of layers frees each layer's output once the next has
    /// read it: the high-water mark of 8 layers is that of 2. Recording the same chain
    /// keeps each convolution's input for backward, so its mark grows with the length:
    /// the measurement sees retained outputs.
    func testEvaluationFreesEachLayersOutput() throws {
        let backend = try TestDevices.requireOpenCL()
        var random = SeededGenerator(seed: 3)
        let layers = try (0..<8).map { _ in try Conv2d(4, 4, kernelSize: 3, padding: 1, on: backend, random: &random) }
        let x = try images([2, 4, 8, 8], on: backend)
        func peakAboveStart(_ count: Int) throws -> Int {
            let start = backend.memoryUsage.liveBytes  // as the peak counts: at block sizes
            backend.resetPeakMemory()
            var h = x
            for layer in layers.prefix(count) { h = try layer(h).relu(inPlace: true) }
            _ = try h.values()
            return backend.memoryUsage.peakBytes - start
        }
        _ = try Tensor.withoutGradients { try peakAboveStart(8) }  // sizes the backend's scratch
        let (short, long) = try Tensor.withoutGradients { (try peakAboveStart(2), try peakAboveStart(8)) }
        XCTAssertEqual(long, short, "evaluation: 8 layers need no more memory than 2")
        let (recordedShort, recordedLong) = (try peakAboveStart(2), try peakAboveStart(8))
        XCTAssertGreaterThanOrEqual(recordedLong - recordedShort, 6 * 4 * x.count, "recording keeps 6 more layer inputs")
    }

    /// Evaluating a whole network leaves nothing behind on the device.
    func testEvaluationOfANetworkLeavesNothingAlive() throws {
        let backend = try TestDevices.requireOpenCL()
        let network = try ModelConfiguration(
            backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 4)),
            attention: AttentionConfiguration(depth: 3, width: 2)
        ).makeModel(on: backend, seed: 4)
        network.eval()
        let x = try images([3, 3, 8, 8], on: backend)
        _ = try Tensor.withoutGradients { try network.logProbabilities(images: x).values() }
        let before = liveBytes(backend)
        let output = try Tensor.withoutGradients { try network.logProbabilities(images: x) }
        XCTAssertEqual(liveBytes(backend), before + 4 * output.count, "only the output is alive")
    }
}
