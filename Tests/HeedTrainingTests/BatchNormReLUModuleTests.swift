import HeedGraph
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

/// `BatchNorm`'s `callAsFunction(_:relu:)` against the module followed by an in-place ReLU,
/// what the models ran before the fusion: the same output, input, weight and bias gradients,
/// running statistics and batch count, bit for bit, on the reference backend and the OpenCL
/// device, in training (with the batch's statistics, frozen, and synchronised over one
/// replica, the last two unfused by design) and in evaluation. Odd sizes, 4-d and 2-d.
final class BatchNormReLUModuleTests: XCTestCase {
    private enum Mode: CaseIterable { case training, evaluation, frozen, synchronised }

    func testReLUOnTheModuleEqualsTheModuleThenReLUBitForBit() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            for shape in [[3, 5, 7, 9], [11, 3]] {
                for mode in Mode.allCases {
                    let (fused, unfused) = (try run(shape, mode, fused: true, on: backend), try run(shape, mode, fused: false, on: backend))
                    XCTAssertEqual(fused, unfused, "\(shape) \(mode) on \(backend)")
                    let output = try XCTUnwrap(unfused.first)
                    let clamped = output.filter { $0 == 0 }.count
                    XCTAssertTrue(clamped > 0 && clamped < output.count, "\(shape) \(mode): the ReLU clamps \(clamped) of \(output.count)")
                }
            }
        }
    }

    /// Output, then (in training) the gradients of input, weight and bias, then the running
    /// statistics and the batch count, as bit patterns.
    private func run(_ shape: [Int], _ mode: Mode, fused: Bool, on backend: any Backend) throws -> [[UInt32]] {
        let channels = shape[1]
        var random = SeededGenerator(seed: UInt64(shape.reduce(1, *)))
        let count = shape.reduce(1, *)
        let offsets = random.uniform(channels, in: -2...2)
        let xValues = (0..<count).map {
            offsets[($0 / (count / shape[0] / channels)) % channels] + Float.random(in: -1...1, using: &random)
        }
        let upstream = random.uniform(count)
        let norm = try BatchNorm(channels, on: backend)
        try norm.weight.assign(random.uniform(channels, in: 0.5...1.5))
        try norm.bias.assign(random.uniform(channels, in: -0.5...0.5))
        try norm.runningMean.assign(random.uniform(channels))
        try norm.runningVariance.assign(random.uniform(channels, in: 0.5...2))
        norm.train(mode != .evaluation)
        norm.isFrozen = mode == .frozen
        if mode == .synchronised { norm.replicaReduction = SingleReplica() }
        let x = try Tensor(parameter: xValues, shape: shape, on: backend)
        let y = fused ? try norm(x, relu: true) : try norm(x).relu(inPlace: true)
        var results = [try y.values()]
        if mode != .evaluation {
            try y.backward(seed: Tensor(upstream, shape: shape, on: backend))
            for input in [x, norm.weight, norm.bias] { results.append(try XCTUnwrap(input.gradient).values()) }
        }
        results += [try norm.runningMean.values(), try norm.runningVariance.values(), [Float(norm.batchesTracked.value)]]
        return results.map { $0.map(\.bitPattern) }
    }
}
