import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

/// The fused batch norm + ReLU kernels (`BatchNormDescriptor.relu`) against the two ops
/// they replace, batch norm then `relu_forward` (and `relu_backward` then batch norm's
/// backward): equal bit for bit, so that models running the fused ones train exactly as
/// before. Every launch the verification runs (the defaults, each one-knob variation, a
/// GPU's defaults) and odd shapes, 2-d and 1-d.
final class BatchNormReLUFusionTests: XCTestCase {
    private static let shapes = [(3, 7, 33), (33, 3, 1), (4, 3, 323)]

    func testFusedKernelsEqualBatchNormThenReLUBitForBit() throws {
        let backend = try TestDevices.requireOpenCL()
        let launches =
            NormalizationLaunch.oneKnobVariations(for: backend.device) + [.defaults(for: backend.device.treated(as: .gpu))]
        for launch in launches {
            var tuning = backend.tuning
            tuning.normalization = launch
            let tuned = backend.retuned(tuning)
            for shape in Self.shapes {
                try assertFusionIsExact(on: tuned, BatchNormDescriptor(batch: shape.0, channels: shape.1, spatial: shape.2), "\(launch)")
            }
        }
    }

    private func assertFusionIsExact(on backend: OpenCLBackend, _ plain: BatchNormDescriptor, _ label: String) throws {
        var fused = plain
        fused.relu = true
        var random = SeededGenerator(seed: UInt64(plain.count))
        let offsets = random.uniform(plain.channels, in: -3...3)
        let x = (0..<plain.count).map { offsets[($0 / plain.spatial) % plain.channels] + Float.random(in: -1...1, using: &random) }
        let (weight, bias) = (random.uniform(plain.channels, in: 0.5...1.5), random.uniform(plain.channels))
        let (mean, variance) = (random.uniform(plain.channels), random.uniform(plain.channels, in: 0.5...2))
        let dy = random.uniform(plain.count)
        let (input, weightBuffer, biasBuffer, gradient) = (
            try backend.makeBuffer(x), try backend.makeBuffer(weight), try backend.makeBuffer(bias), try backend.makeBuffer(dy)
        )
        func floats(_ count: Int) throws -> any DeviceBuffer { try backend.makeBuffer([Float](repeating: .nan, count: count)) }
        func read(_ buffers: [any DeviceBuffer]) throws -> [[UInt32]] {
            try buffers.map { try backend.read($0, as: Float.self).map(\.bitPattern) }
        }

        // Training forward: batch norm, then relu_forward in place, as the models ran it.
        func training(_ d: BatchNormDescriptor) throws -> (all: [any DeviceBuffer], output: any DeviceBuffer, saved: [any DeviceBuffer]) {
            let (runningMean, runningVariance) = (try backend.makeBuffer(mean), try backend.makeBuffer(variance))
            let (output, savedMean, savedInverseStd) = (try floats(d.count), try floats(d.channels), try floats(d.channels))
            try backend.batchNormForwardTraining(
                d, input: input, weight: weightBuffer, bias: biasBuffer, runningMean: runningMean, runningVariance: runningVariance,
                output: output, savedMean: savedMean, savedInverseStd: savedInverseStd)
            if !d.relu { try backend.reluForward(count: d.count, input: output, output: output) }
            return ([output, savedMean, savedInverseStd, runningMean, runningVariance], output, [savedMean, savedInverseStd])
        }
        let (plainTraining, fusedTraining) = (try training(plain), try training(fused))
        let plainForward = try read(plainTraining.all)
        XCTAssertEqual(plainForward, try read(fusedTraining.all), "training forward of \(fused) with \(label)")
        let clamped = plainForward[0].filter { $0 == 0 }.count
        XCTAssertTrue(clamped > 0 && clamped < plain.count, "\(plain): the ReLU clamps \(clamped) of \(plain.count)")

        func inference(_ d: BatchNormDescriptor) throws -> [[UInt32]] {
            let output = try floats(d.count)
            try backend.batchNormForwardInference(
                d, input: input, weight: weightBuffer, bias: biasBuffer, runningMean: try backend.makeBuffer(mean),
                runningVariance: try backend.makeBuffer(variance), output: output)
            if !d.relu { try backend.reluForward(count: d.count, input: output, output: output) }
            return try read([output])
        }
        XCTAssertEqual(try inference(plain), try inference(fused), "inference forward of \(fused) with \(label)")

        // Backward: relu_backward from the ReLU's output, then batch norm's backward on that.
        func backward(_ d: BatchNormDescriptor) throws -> [[UInt32]] {
            let (inputGradient, weightGradient, biasGradient) = (try floats(d.count), try floats(d.channels), try floats(d.channels))
            var outputGradient = gradient
            if !d.relu {
                outputGradient = try floats(d.count)
                try backend.reluBackward(
                    count: d.count, input: plainTraining.output, outputGradient: gradient, inputGradient: outputGradient)
            }
            let saved = d.relu ? fusedTraining.saved : plainTraining.saved
            try backend.batchNormBackward(
                d, input: input, outputGradient: outputGradient, output: d.relu ? fusedTraining.output : nil, weight: weightBuffer,
                savedMean: saved[0], savedInverseStd: saved[1], inputGradient: inputGradient, weightGradient: weightGradient,
                biasGradient: biasGradient)
            return try read([inputGradient, weightGradient, biasGradient])
        }
        XCTAssertEqual(try backward(plain), try backward(fused), "backward of \(fused) with \(label)")
    }

    /// The fused backward needs the forward's output (the ReLU's mask), and a plain one
    /// takes none: either mistake is a one-line error on both backends, not a wrong gradient.
    func testTheBackwardsOutputMatchesTheReLUFlag() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let plain = BatchNormDescriptor(batch: 2, channels: 3, spatial: 5)
            var fused = plain
            fused.relu = true
            let full = try backend.makeBuffer(count: plain.count, of: Float.self)
            let channel = try backend.makeBuffer(count: plain.channels, of: Float.self)
            for (d, output, message) in [
                (fused, nil, "the backward of a fused relu needs the forward's output, in \(fused)"),
                (plain, full, "an output was passed to a backward without relu, in \(plain)"),
            ] as [(BatchNormDescriptor, (any DeviceBuffer)?, String)] {
                assertThrows(
                    try backend.batchNormBackward(
                        d, input: full, outputGradient: full, output: output, weight: channel, savedMean: channel,
                        savedInverseStd: channel, inputGradient: full, weightGradient: channel, biasGradient: channel),
                    as: HeedError.self
                ) { XCTAssertEqual($0, .invalidArgument(op: "batch_norm", message)) }
            }
            XCTAssertTrue(fused.description.hasSuffix("momentum=0.1, relu)"), fused.description)
        }
    }
}
