import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

/// The OpenCL backend's batch norm, softmax/log-softmax and strided convolution against
/// PyTorch, from the fixtures of `Tests/Fixtures/generate_pytorch_fixtures.py` (PyTorch
/// computes in float64 and rounds each result to float32 once): from the same inputs,
/// within the float32 bound of its sums. The reference's semantics are checked against
/// the same fixtures, without OpenCL, in HeedReferenceTests (`PyTorchGoldenReferenceTests`).
final class PyTorchGoldenTests: XCTestCase {
    // MARK: Batch norm

    func testBatchNormMatchesPyTorch() throws {
        let device = try TestDevices.requireOpenCL()
        for item in try PyTorchFixture.load("batch_norm").cases {
            let x = try item.tensor("input")
            let d = try item.batchNormDescriptor()
            let (weight, bias) = (try item.tensor("weight").values, try item.tensor("bias").values)
            let (runningMean, runningVariance) = (try item.tensor("running_mean").values, try item.tensor("running_var").values)
            let training = try item.intSetting("training") == 1
            let double = { (values: [Float]) in values.map(Double.init) }

            // The device, forward: each output is built from |γ|·r·(mean|x| + |x − μ|) + |β|
            // through sums of M terms (the bound the verification suite states).
            let input = try device.makeBuffer(x.values)
            let output = try device.makeBuffer([Float](repeating: .nan, count: d.count))
            let deviceMean = try device.makeBuffer(runningMean)
            let deviceVariance = try device.makeBuffer(runningVariance)
            let (mean, variance): ([Double], [Double])
            if training {
                let saved = (
                    try device.makeBuffer(count: d.channels, of: Float.self), try device.makeBuffer(count: d.channels, of: Float.self)
                )
                try device.batchNormForwardTraining(
                    d, input: input, weight: device.makeBuffer(weight), bias: device.makeBuffer(bias),
                    runningMean: deviceMean, runningVariance: deviceVariance, output: output,
                    savedMean: saved.0, savedInverseStd: saved.1)
                (mean, variance) = (double(try item.tensor("batch_mean").values), double(try item.tensor("batch_var").values))
            } else {
                try device.batchNormForwardInference(
                    d, input: input, weight: device.makeBuffer(weight), bias: device.makeBuffer(bias),
                    runningMean: deviceMean, runningVariance: deviceVariance, output: output)
                (mean, variance) = (double(runningMean), double(runningVariance))
            }
            let meanAbs = (0..<d.channels).map { c in
                (0..<d.reduced).reduce(0.0) { $0 + Double(abs(x.values[Reference.batchNormIndex(d, $1, channel: c)])) } / Double(d.reduced)
            }
            let scale = (0..<d.count).map { i -> Double in
                let c = (i / d.spatial) % d.channels
                let r = 1 / (variance[c] + Double(d.epsilon)).squareRoot()
                return Double(abs(weight[c])) * r * (meanAbs[c] + abs(Double(x.values[i]) - mean[c]) + abs(mean[c])) + Double(abs(bias[c]))
            }
            assertPassed(
                Comparison(
                    actual: try device.read(output, as: Float.self), expected: try item.tensor("output").values,
                    tolerance: .float32Sum(terms: d.reduced + 16), scale: scale),
                "OpenCL \(item.name) output")
        }
    }

    // MARK: Softmax

    func testSoftmaxMatchesPyTorchIncludingHugeInputs() throws {
        let device = try TestDevices.requireOpenCL()
        for item in try PyTorchFixture.load("softmax").cases {
            let x = try item.tensor("input")
            let d = try item.softmaxDescriptor()
            let yFloat = try item.tensor("output").values
            let output = try device.makeBuffer([Float](repeating: .nan, count: x.values.count))
            try device.softmaxForward(d, input: device.makeBuffer(x.values), output: output)
            let actual = try device.read(output, as: Float.self)
            XCTAssertTrue(actual.allSatisfy(\.isFinite), "\(item.name): inputs of ±1e4 must not overflow")
            assertPassed(
                Comparison(actual: actual, expected: yFloat, tolerance: SoftmaxVerification.forwardTolerance(d, x.values)),
                "OpenCL \(item.name) output")
        }
    }

    // MARK: Convolution

    func testStridedConvolutionMatchesPyTorch() throws {
        let device = try TestDevices.requireOpenCL()
        for item in try PyTorchFixture.load("conv2d").cases {
            let (x, w, b) = (try item.tensor("input"), try item.tensor("weight"), try item.tensor("bias"))
            let d = try item.conv2dDescriptor()
            let double = { (values: [Float]) in values.map(Double.init) }
            // The device: sums of C·k·k (+ bias) terms, Σ|terms| from the reference on |x|, |w|, |b|.
            let output = try device.makeBuffer([Float](repeating: .nan, count: d.outputShape.reduce(1, *)))
            try device.conv2dForward(
                d, input: device.makeBuffer(x.values), weight: device.makeBuffer(w.values),
                bias: device.makeBuffer(b.values), output: output)
            let scale = Reference.conv2dForward(
                d, input: double(x.values).map(abs), weight: double(w.values).map(abs),
                bias: double(b.values).map(abs))
            assertPassed(
                Comparison(
                    actual: try device.read(output, as: Float.self), expected: try item.tensor("output").values,
                    tolerance: .float32Sum(terms: d.reductionSize + 2), scale: scale),
                "OpenCL \(item.name) output")
        }
    }
}
