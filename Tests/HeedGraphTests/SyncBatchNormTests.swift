import HeedGraph
import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// Synchronised batch norm composed of existing ops (Rules/SyncBatchNormRules.swift), with
/// one replica (the sum over replicas is the identity), in Double on the reference backend:
/// its gradient against central differences, and its every result against plain batch norm,
/// which with one replica it must equal. Across ranks it is checked by the MPI tests in
/// HeedCLITests (2 ranks x 8 images against 1 x 16).
final class SyncBatchNormTests: XCTestCase {
    private let backend = ReferenceBackend(precision: .double)

    /// (N, C, H, W) = (3, 2, 2, 3) and (5, 3): odd sizes, both layouts batch norm takes.
    private let shapes = [[3, 2, 2, 3], [5, 3]]

    private func tensor(_ values: [Double], _ shape: [Int], parameter: Bool) throws -> Tensor {
        let tensor =
            parameter
            ? try Tensor(parameter: [Float](repeating: 0, count: values.count), shape: shape, on: backend)
            : try Tensor([Float](repeating: 0, count: values.count), shape: shape, on: backend)
        try backend.write(doubles: values, to: tensor.storage)
        return tensor
    }

    private struct Inputs {
        var x: [Double]
        var weight: [Double]
        var bias: [Double]
    }

    /// Inputs with a mean away from 0 (as after a convolution) and weights away from 1.
    private func inputs(_ shape: [Int], seed: UInt64) -> Inputs {
        let channels = shape[1]
        return Inputs(
            x: randomDoubles(shape.reduce(1, *), in: -1...2, seed: seed),
            weight: randomDoubles(channels, in: 0.5...1.5, seed: seed + 1),
            bias: randomDoubles(channels, in: -0.5...0.5, seed: seed + 2))
    }

    /// Output, input gradients (x, weight, bias) for upstream gradient `upstream`, and the
    /// running statistics after one step, by plain or synchronised batch norm.
    private func run(
        _ inputs: Inputs, _ shape: [Int], upstream: [Double], synchronised: Bool
    ) throws
        -> (output: [Double], gradients: [[Double]], running: [[Double]])
    {
        let channels = shape[1]
        let x = try tensor(inputs.x, shape, parameter: true)
        let weight = try tensor(inputs.weight, [channels], parameter: true)
        let bias = try tensor(inputs.bias, [channels], parameter: true)
        let runningMean = try tensor(randomDoubles(channels, seed: 40), [channels], parameter: false)
        let runningVariance = try tensor(randomDoubles(channels, in: 0.5...2, seed: 41), [channels], parameter: false)
        let y =
            synchronised
            ? try x.syncBatchNorm(
                weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                momentum: 0.1, epsilon: 1e-5, reduction: SingleReplica())
            : try x.batchNorm(
                weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
                training: true, momentum: 0.1, epsilon: 1e-5)
        try y.backward(seed: tensor(upstream, shape, parameter: false))
        return (
            try backend.readDoubles(y.storage),
            try [x, weight, bias].map { try backend.readDoubles(XCTUnwrap($0.gradient).storage) },
            try [runningMean, runningVariance].map { try backend.readDoubles($0.storage) }
        )
    }

    func testGradientMatchesCentralDifferences() throws {
        for shape in shapes {
            let given = inputs(shape, seed: 3)
            let channels = shape[1]
            let count = given.x.count
            // All three inputs at once: x, then weight, then bias.
            let point = given.x + given.weight + given.bias
            func split(_ v: [Double]) -> Inputs {
                Inputs(x: Array(v[0..<count]), weight: Array(v[count..<count + channels]), bias: Array(v[(count + channels)...]))
            }
            try assertGradientMatches(
                at: point,
                forward: { try run(split($0), shape, upstream: [Double](repeating: 0, count: count), synchronised: true).output },
                backward: { upstream in try run(split(point), shape, upstream: upstream, synchronised: true).gradients.flatMap { $0 } },
                "sync batch norm \(shape)")
        }
    }

    /// With one replica every result is plain batch norm's: the output, the three gradients
    /// and the running statistics (variance unbiased). Tolerance: both in Double, the
    /// scale 1/N rounded to single precision here (the scaling op takes a Float), exact there:
    /// apart by ~1e-8 relative; a wrong term would be off by far more.
    func testOneReplicaIsPlainBatchNorm() throws {
        for shape in shapes {
            let given = inputs(shape, seed: 9)
            let upstream = randomDoubles(given.x.count, seed: 10)
            let synced = try run(given, shape, upstream: upstream, synchronised: true)
            let plain = try run(given, shape, upstream: upstream, synchronised: false)
            assertClose(synced.output, plain.output, 1e-7, "output \(shape)")
            for (index, name) in ["x", "weight", "bias"].enumerated() {
                assertClose(synced.gradients[index], plain.gradients[index], 1e-7, "d\(name) \(shape)")
            }
            // The running statistics go through the host in single precision.
            assertClose(synced.running[0], plain.running[0], 1e-6, "running mean \(shape)")
            assertClose(synced.running[1], plain.running[1], 1e-6, "running variance \(shape)")
        }
    }

    private func assertClose(_ a: [Double], _ b: [Double], _ tolerance: Double, _ label: String, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, label, line: line)
        let scale = max(b.map(abs).max() ?? 0, 1e-300)
        let error = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(error / scale, tolerance, label, line: line)
    }
}
