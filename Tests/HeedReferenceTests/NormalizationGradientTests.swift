import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The batch-norm backward against central differences of the training forward (whose
/// statistics depend on the input), to input, weight and bias, 2-d and 1-d.
final class NormalizationGradientTests: XCTestCase {
    func testBackwardMatchesTheTrainingForward() throws {
        for d in [BatchNormDescriptor(batch: 3, channels: 2, spatial: 5), BatchNormDescriptor(batch: 4, channels: 3)] {
            let x = randomDoubles(d.count, in: -2...3, seed: 1)
            let weight = randomDoubles(d.channels, in: 0.5...1.5, seed: 2)
            let bias = randomDoubles(d.channels, seed: 3)
            func forward(
                _ x: [Double], _ weight: [Double], _ bias: [Double]
            ) -> (output: [Double], savedMean: [Double], savedInverseStd: [Double]) {
                var runningMean = [Double](repeating: 0, count: d.channels)
                var runningVariance = [Double](repeating: 1, count: d.channels)
                return Reference.batchNormForwardTraining(
                    d, input: x, weight: weight, bias: bias,
                    runningMean: &runningMean, runningVariance: &runningVariance)
            }
            let saved = forward(x, weight, bias)
            func backward(_ dy: [Double]) -> (input: [Double], weight: [Double], bias: [Double]) {
                Reference.batchNormBackward(
                    d, input: x, outputGradient: dy, weight: weight,
                    savedMean: saved.savedMean, savedInverseStd: saved.savedInverseStd)
            }
            try assertGradientMatches(
                at: x, forward: { forward($0, weight, bias).output },
                backward: { backward($0).input }, "\(d) ∂/∂x")
            try assertGradientMatches(
                at: weight, forward: { forward(x, $0, bias).output },
                backward: { backward($0).weight }, "\(d) ∂/∂γ")
            try assertGradientMatches(
                at: bias, forward: { forward(x, weight, $0).output },
                backward: { backward($0).bias }, "\(d) ∂/∂β")
        }
    }
}

/// The fused batch norm + ReLU backward (`BatchNormDescriptor.relu`), from the input and
/// the fused output, against central differences of relu(training forward), to input,
/// weight and bias, 2-d and 1-d. The inputs keep every pre-ReLU value well away from the
/// kink at 0 (checked) and the ReLU clamps part of each case, so the mask is exercised.
final class FusedReLUNormalizationGradientTests: XCTestCase {
    func testFusedBackwardMatchesReLUOfTheTrainingForward() throws {
        for plain in [BatchNormDescriptor(batch: 3, channels: 2, spatial: 5), BatchNormDescriptor(batch: 4, channels: 3)] {
            var fused = plain
            fused.relu = true
            let x = randomDoubles(plain.count, in: -2...3, seed: 11)
            let weight = randomDoubles(plain.channels, in: 0.5...1.5, seed: 12)
            let bias = randomDoubles(plain.channels, in: -0.5...0.5, seed: 13)
            func forward(
                _ d: BatchNormDescriptor, _ x: [Double], _ weight: [Double], _ bias: [Double]
            ) -> (output: [Double], savedMean: [Double], savedInverseStd: [Double]) {
                var runningMean = [Double](repeating: 0, count: d.channels)
                var runningVariance = [Double](repeating: 1, count: d.channels)
                return Reference.batchNormForwardTraining(
                    d, input: x, weight: weight, bias: bias, runningMean: &runningMean, runningVariance: &runningVariance)
            }
            // A step of h = 1e-6 in one input moves each normalised value by at most about
            // h·γ·r·2 < 1e-5 here; 1e-3 from the kink leaves a wide margin.
            let beforeReLU = forward(plain, x, weight, bias).output
            XCTAssertGreaterThan(beforeReLU.map(abs).min()!, 1e-3, "\(plain): a value sits at the ReLU's kink")
            let clamped = beforeReLU.filter { $0 < 0 }.count
            XCTAssertTrue(clamped > 0 && clamped < plain.count, "\(plain): the ReLU clamps \(clamped) of \(plain.count)")

            let saved = forward(fused, x, weight, bias)
            XCTAssertEqual(saved.output, Reference.relu(beforeReLU))
            func backward(_ dy: [Double]) -> (input: [Double], weight: [Double], bias: [Double]) {
                Reference.batchNormBackward(
                    fused, input: x, outputGradient: dy, output: saved.output, weight: weight,
                    savedMean: saved.savedMean, savedInverseStd: saved.savedInverseStd)
            }
            try assertGradientMatches(
                at: x, forward: { forward(fused, $0, weight, bias).output }, backward: { backward($0).input }, "\(fused) ∂/∂x")
            try assertGradientMatches(
                at: weight, forward: { forward(fused, x, $0, bias).output }, backward: { backward($0).weight }, "\(fused) ∂/∂γ")
            try assertGradientMatches(
                at: bias, forward: { forward(fused, x, weight, $0).output }, backward: { backward($0).bias }, "\(fused) ∂/∂β")
        }
    }

    /// Evaluation mode: relu of the inference forward, value for value.
    func testFusedInferenceIsReLUOfTheInferenceForward() {
        let plain = BatchNormDescriptor(batch: 3, channels: 2, spatial: 5)
        var fused = plain
        fused.relu = true
        let x = randomDoubles(plain.count, in: -2...3, seed: 14)
        let (weight, bias) = (randomDoubles(2, in: 0.5...1.5, seed: 15), randomDoubles(2, seed: 16))
        let (mean, variance) = (randomDoubles(2, seed: 17), randomDoubles(2, in: 0.3...2, seed: 18))
        func forward(_ d: BatchNormDescriptor) -> [Double] {
            Reference.batchNormForwardInference(d, input: x, weight: weight, bias: bias, runningMean: mean, runningVariance: variance)
        }
        XCTAssertEqual(forward(fused), Reference.relu(forward(plain)))
        XCTAssertTrue(forward(fused).contains(0) && forward(fused).contains { $0 > 0 })
    }
}

/// `Tensor.frozenBatchNorm`'s backward (the inference op on ∂y for ∂x; the training backward
/// from the running mean and inverse deviation for ∂weight, ∂bias) against central differences
/// of the inference forward, whose statistics are constants.
final class FrozenNormalizationGradientTests: XCTestCase {
    func testFrozenBackwardMatchesTheInferenceForward() throws {
        for d in [BatchNormDescriptor(batch: 3, channels: 2, spatial: 5), BatchNormDescriptor(batch: 4, channels: 3)] {
            let x = randomDoubles(d.count, in: -2...3, seed: 4)
            let weight = randomDoubles(d.channels, in: 0.5...1.5, seed: 5)
            let bias = randomDoubles(d.channels, seed: 6)
            let mean = randomDoubles(d.channels, seed: 7)
            let variance = randomDoubles(d.channels, in: 0.3...2, seed: 8)
            func forward(_ x: [Double], _ weight: [Double], _ bias: [Double]) -> [Double] {
                Reference.batchNormForwardInference(
                    d, input: x, weight: weight, bias: bias, runningMean: mean, runningVariance: variance)
            }
            let zeros = [Double](repeating: 0, count: d.channels)
            let inverseStd = variance.map { 1 / ($0 + Double(d.epsilon)).squareRoot() }
            func backward(_ dy: [Double]) -> (input: [Double], weight: [Double], bias: [Double]) {
                let dx = Reference.batchNormForwardInference(
                    d, input: dy, weight: weight, bias: zeros, runningMean: zeros, runningVariance: variance)
                let sums = Reference.batchNormBackward(
                    d, input: x, outputGradient: dy, weight: weight, savedMean: mean, savedInverseStd: inverseStd)
                return (dx, sums.weight, sums.bias)
            }
            try assertGradientMatches(at: x, forward: { forward($0, weight, bias) }, backward: { backward($0).input }, "\(d) ∂/∂x")
            try assertGradientMatches(
                at: weight, forward: { forward(x, $0, bias) }, backward: { backward($0).weight }, "\(d) ∂/∂γ")
            try assertGradientMatches(at: bias, forward: { forward(x, weight, $0) }, backward: { backward($0).bias }, "\(d) ∂/∂β")
        }
    }
}
