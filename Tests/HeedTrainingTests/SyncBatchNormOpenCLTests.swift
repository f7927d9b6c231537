import HeedGraph
import HeedOpenCLTestSupport
import HeedOps
import HeedSupport
import HeedTestSupport
import XCTest

/// Synchronised batch norm with one replica on the OpenCL device, in single precision,
/// against plain batch norm's kernels (the Double checks are in HeedGraphTests): the
/// composed op must agree with them to rounding, at odd sizes and with a mean away from 0.
final class SyncBatchNormOpenCLTests: XCTestCase {
    func testOneReplicaMatchesTheBatchNormKernels() throws {
        let backend = try TestDevices.requireOpenCL()
        let shape = [7, 5, 33, 31]
        var random = SeededGenerator(seed: 21)
        let count = shape.reduce(1, *)
        let xValues = (0..<count).map { _ in Float.random(in: -1...3, using: &random) }
        let upstream = (0..<count).map { _ in Float.random(in: -1...1, using: &random) }
        let weightValues = (0..<5).map { _ in Float.random(in: 0.5...1.5, using: &random) }
        let biasValues = (0..<5).map { _ in Float.random(in: -0.5...0.5, using: &random) }

        func run(synchronised: Bool) throws -> [[Float]] {
            let x = try Tensor(parameter: xValues, shape: shape, on: backend)
            let weight = try Tensor(parameter: weightValues, shape: [5], on: backend)
            let bias = try Tensor(parameter: biasValues, shape: [5], on: backend)
            let runningMean = try Tensor([Float](repeating: 0, count: 5), shape: [5], on: backend)
            let runningVariance = try Tensor([Float](repeating: 1, count: 5), shape: [5], on: backend)
            let y =
                synchronised
                ? try x.syncBatchNorm(
                    weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                    momentum: 0.1, epsilon: 1e-5, reduction: SingleReplica())
                : try x.batchNorm(
                    weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                    training: true, momentum: 0.1, epsilon: 1e-5)
            try y.backward(seed: Tensor(upstream, shape: shape, on: backend))
            var results = [try y.values()]
            for input in [x, weight, bias] { results.append(try XCTUnwrap(input.gradient).values()) }
            return results + [try runningMean.values(), try runningVariance.values()]
        }
        let synced = try run(synchronised: true)
        let plain = try run(synchronised: false)
        // Single-precision sums over 7161 values per channel in other orders: ~1e-6 relative
        // to each result's largest element; a wrong term would be off by its own size.
        for (index, name) in ["output", "dx", "dweight", "dbias", "running mean", "running variance"].enumerated() {
            let scale = plain[index].map(abs).max() ?? 1
            let error = zip(synced[index], plain[index]).map { abs($0 - $1) }.max() ?? .nan
            XCTAssertLessThanOrEqual(error / scale, 1e-5, name)
        }
    }
}
