import HeedGraph
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

/// `Tensor.frozenBatchNorm` (--freeze-bn) on the OpenCL device against the reference backend
/// (the Double checks of its maths are in HeedGraphTests and HeedReferenceTests), at odd sizes,
/// 4-d and 2-d, with running statistics away from 0 and 1.
final class FrozenBatchNormOpenCLTests: XCTestCase {
    func testTheDeviceMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        for shape in [[7, 5, 33, 31], [9, 3]] {
            let channels = shape[1]
            var random = SeededGenerator(seed: 31)
            let count = shape.reduce(1, *)
            let xValues = (0..<count).map { _ in Float.random(in: -1...3, using: &random) }
            let upstream = (0..<count).map { _ in Float.random(in: -1...1, using: &random) }
            let weightValues = (0..<channels).map { _ in Float.random(in: 0.5...1.5, using: &random) }
            let biasValues = (0..<channels).map { _ in Float.random(in: -0.5...0.5, using: &random) }
            let meanValues = (0..<channels).map { _ in Float.random(in: -1...1, using: &random) }
            let varianceValues = (0..<channels).map { _ in Float.random(in: 0.2...3, using: &random) }

            func run(on backend: any Backend) throws -> [[Float]] {
                let x = try Tensor(parameter: xValues, shape: shape, on: backend)
                let weight = try Tensor(parameter: weightValues, shape: [channels], on: backend)
                let bias = try Tensor(parameter: biasValues, shape: [channels], on: backend)
                let runningMean = try Tensor(meanValues, shape: [channels], on: backend)
                let runningVariance = try Tensor(varianceValues, shape: [channels], on: backend)
                let y = try x.frozenBatchNorm(
                    weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance, epsilon: 1e-5)
                try y.backward(seed: Tensor(upstream, shape: shape, on: backend))
                var results = [try y.values()]
                for input in [x, weight, bias] { results.append(try XCTUnwrap(input.gradient).values()) }
                return results + [try runningMean.values(), try runningVariance.values()]
            }
            let (actual, expected) = (try run(on: device), try run(on: TestDevices.reference))
            // Output and ∂x: a few float32 operations per element, 1e-5 relative. ∂weight and
            // ∂bias sum n = count / channels terms |∂y·x̂| ≤ 1 · 9 (|x - mean| ≤ 4, 1/sqrt(var) ≤ 2.3) in
            // float32 on the device, in Double on the reference: the worst case n·ε·9 bounds that.
            let sumTolerance = Float(count / channels) * Float.ulpOfOne * 9
            for (index, name) in ["output", "∂x", "∂weight", "∂bias"].enumerated() {
                for (a, e) in zip(actual[index], expected[index]) {
                    let tolerance = index < 2 ? 1e-5 * max(1, abs(e)) : sumTolerance
                    XCTAssertEqual(a, e, accuracy: tolerance, "\(shape) \(name)")
                }
            }
            XCTAssertEqual(actual[4], meanValues, "the running mean is left as it was")
            XCTAssertEqual(actual[5], varianceValues, "the running variance is left as it was")
        }
    }
}
