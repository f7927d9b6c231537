import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

/// The reference's semantics against PyTorch: batch norm, softmax/log-softmax and strided
/// convolution, from the fixtures of `Tests/Fixtures/generate_pytorch_fixtures.py`
/// (PyTorch computes in float64 and rounds each result to float32 once). No OpenCL:
/// HeedOpenCLTests checks the OpenCL backend against the same fixtures.
///
/// The reference, run in Double on the same float32 inputs and rounded once, must equal
/// PyTorch's value to within one float32 ulp (both are the exact result rounded, so they
/// differ only where the two Double computations straddle a rounding boundary).
final class PyTorchGoldenReferenceTests: XCTestCase {
    /// One ulp of the expected value (ulp(r) ≤ 2⁻²³·|r|), plus 1e-12 of the largest value
    /// for results that cancel to nearly nothing in a sum (Double's own rounding there).
    private func oneULP(_ expected: [Float]) -> Tolerance {
        Tolerance(atol: 1e-12 * Double(expected.map(abs).maxPropagatingNaN() ?? 0), rtol: 0x1p-23)
    }

    private func assertOneULP(
        _ actual: [Double], _ expected: FixtureTensor, _ label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let comparison = Comparison(actual: actual.map { Float($0) }, expected: expected.values, tolerance: oneULP(expected.values))
        assertPassed(comparison, label, file: file, line: line)
    }

    // MARK: Batch norm

    func testBatchNormMatchesPyTorch() throws {
        for item in try PyTorchFixture.load("batch_norm").cases {
            let x = try item.tensor("input")
            let d = try item.batchNormDescriptor()
            let (weight, bias) = (try item.tensor("weight").values, try item.tensor("bias").values)
            let (runningMean, runningVariance) = (try item.tensor("running_mean").values, try item.tensor("running_var").values)
            let dy = try item.tensor("grad_output").values
            let training = try item.intSetting("training") == 1
            let double = { (values: [Float]) in values.map(Double.init) }

            // Semantics: the reference in Double.
            var meanAfter = double(runningMean)
            var varianceAfter = double(runningVariance)
            if training {
                let forward = Reference.batchNormForwardTraining(
                    d, input: double(x.values), weight: double(weight), bias: double(bias),
                    runningMean: &meanAfter, runningVariance: &varianceAfter)
                assertOneULP(forward.output, try item.tensor("output"), "\(item.name) output")
                assertOneULP(meanAfter, try item.tensor("running_mean_after"), "\(item.name) running_mean")
                assertOneULP(varianceAfter, try item.tensor("running_var_after"), "\(item.name) running_var")
                let backward = Reference.batchNormBackward(
                    d, input: double(x.values), outputGradient: double(dy), weight: double(weight),
                    savedMean: forward.savedMean, savedInverseStd: forward.savedInverseStd)
                assertOneULP(backward.input, try item.tensor("grad_input"), "\(item.name) grad_input")
                assertOneULP(backward.weight, try item.tensor("grad_weight"), "\(item.name) grad_weight")
                assertOneULP(backward.bias, try item.tensor("grad_bias"), "\(item.name) grad_bias")
            } else {
                let output = Reference.batchNormForwardInference(
                    d, input: double(x.values), weight: double(weight), bias: double(bias),
                    runningMean: double(runningMean), runningVariance: double(runningVariance))
                assertOneULP(output, try item.tensor("output"), "\(item.name) output")
            }
        }
    }

    // MARK: Softmax

    func testSoftmaxMatchesPyTorchIncludingHugeInputs() throws {
        for item in try PyTorchFixture.load("softmax").cases {
            let x = try item.tensor("input")
            let d = try item.softmaxDescriptor()
            let y = Reference.softmax(d, x.values.map(Double.init))
            assertOneULP(y, try item.tensor("output"), "\(item.name) output")
            // The backward from PyTorch's own (float32) output, as a device would hold it.
            let yFloat = try item.tensor("output").values
            let dy = try item.tensor("grad_output").values
            let dx = Reference.softmaxBackward(d, output: yFloat.map(Double.init), outputGradient: dy.map(Double.init))
            // PyTorch differentiates from its float64 output, Heed from the rounded float32
            // one: that moves the exact gradient by up to u·|y|·(|dy| + Σ|dy·y|)-sized terms.
            let perturbed = Comparison(
                actual: dx.map { Float($0) }, expected: try item.tensor("grad_input").values,
                tolerance: .float32Sum(terms: 4),
                scale: backwardScale(d, d.kind, y: yFloat, dy: dy))
            assertPassed(perturbed, "\(item.name) grad_input")
        }
    }

    /// Σ|terms| of the softmax backward: softmax dx = y·(dy − Σdy·y); log-softmax
    /// dx = dy − exp(y)·Σdy.
    private func backwardScale(_ d: SoftmaxDescriptor, _ kind: SoftmaxKind, y: [Float], dy: [Float]) -> [Double] {
        var scale = [Double](repeating: 0, count: y.count)
        for row in 0..<d.outer {
            let range = row * d.axis..<(row + 1) * d.axis
            switch kind {
            case .softmax:
                let s = range.reduce(0.0) { $0 + abs(Double(dy[$1]) * Double(y[$1])) }
                for i in range { scale[i] = abs(Double(y[i])) * (abs(Double(dy[i])) + s) * Double(d.axis) }
            case .logSoftmax:
                let s = range.reduce(0.0) { $0 + abs(Double(dy[$1])) }
                for i in range { scale[i] = abs(Double(dy[i])) + exp(Double(y[i])) * s * Double(d.axis) }
            }
        }
        return scale
    }

    // MARK: Convolution

    func testStridedConvolutionMatchesPyTorch() throws {
        for item in try PyTorchFixture.load("conv2d").cases {
            let (x, w, b) = (try item.tensor("input"), try item.tensor("weight"), try item.tensor("bias"))
            let d = try item.conv2dDescriptor()
            let double = { (values: [Float]) in values.map(Double.init) }
            let dy = try item.tensor("grad_output").values
            assertOneULP(
                Reference.conv2dForward(d, input: double(x.values), weight: double(w.values), bias: double(b.values)),
                try item.tensor("output"), "\(item.name) output")
            assertOneULP(
                Reference.conv2dBackwardInput(d, outputGradient: double(dy), weight: double(w.values)),
                try item.tensor("grad_input"), "\(item.name) grad_input")
            assertOneULP(
                Reference.conv2dBackwardWeight(d, input: double(x.values), outputGradient: double(dy)),
                try item.tensor("grad_weight"), "\(item.name) grad_weight")
            assertOneULP(
                Reference.conv2dBackwardBias(d, outputGradient: double(dy)), try item.tensor("grad_bias"), "\(item.name) grad_bias")
        }
    }
}
