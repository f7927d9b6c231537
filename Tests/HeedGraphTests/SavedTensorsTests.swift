import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedGraph

/// What each gradient rule keeps for backward, and the graph's life after it.
///
/// The expected byte counts are written from the op's shapes and the tensors its backward
/// formula reads (4 bytes per float32 or int32 element), not read from the rules; a rule
/// that saved one more tensor (a convolution's output, a ReLU's input as well as its
/// output) would fail them. HeedTrainingTests' `TrainingMemoryTests` checks the same on the
/// OpenCL backend's memory ledger, which also sees what a rule might hold without declaring;
/// HeedModelsTests checks an attention module's.
final class SavedTensorsTests: XCTestCase {
    private let backend = TestDevices.reference

    private func constant(_ shape: [Int], seed: UInt64 = 1) throws -> Tensor {
        var random = SeededGenerator(seed: seed)
        return try Tensor((0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &random) }, shape: shape, on: backend)
    }

    private func parameter(_ shape: [Int], seed: UInt64 = 2) throws -> Tensor {
        try Tensor(parameter: constant(shape, seed: seed).values(), shape: shape, on: backend)
    }

    private func savedBytes(_ tensor: Tensor) throws -> Int {
        try XCTUnwrap(tensor.node, "\(tensor) was not recorded").savedByteCount
    }

    // MARK: Bytes saved per op

    /// conv2d reads the input (for ∂W) and the weight (for ∂x), not its output or the bias.
    func testConvolutionSavesItsInputAndWeight() throws {
        let (n, c, h, w, o, k) = (2, 3, 7, 5, 4, 3)
        let y = try constant([n, c, h, w]).conv2d(weight: parameter([o, c, k, k]), bias: parameter([o]), stride: 1, padding: 1)
        XCTAssertEqual(try savedBytes(y), 4 * (n * c * h * w + o * c * k * k))
    }

    /// Batch norm in training reads its input, its weight and the batch's mean and inverse
    /// standard deviation (C each), not its output (which a ReLU may overwrite in place).
    func testBatchNormSavesItsInputWeightAndStatistics() throws {
        let (n, c, h, w) = (3, 5, 4, 3)
        let norm = try BatchNorm(c, on: backend)
        let y = try norm(constant([n, c, h, w]))
        let statisticsAndWeight = 3 * c
        XCTAssertEqual(try savedBytes(y), 4 * (n * c * h * w + statisticsAndWeight))
    }

    /// Batch norm with the ReLU fused in saves what batch norm and a separate ReLU saved
    /// together, the input, weight and statistics and the ReLU's output (its mask), and no
    /// copy: the saved output is the result's own buffer.
    func testFusedBatchNormReLUSavesWhatBatchNormAndReLUSaved() throws {
        let (n, c, h, w) = (3, 5, 4, 3)
        let norm = try BatchNorm(c, on: backend)
        let y = try norm(constant([n, c, h, w]), relu: true)
        XCTAssertEqual(try savedBytes(y), 4 * (n * c * h * w + 3 * c) + 4 * n * c * h * w)
        let saved = try XCTUnwrap(y.node?.saved?.storages)
        XCTAssertTrue(saved.contains { $0 === y.storage }, "the saved output is the result's buffer")
    }

    /// ReLU reads only its output (y > 0 exactly when x > 0).
    func testReLUSavesItsOutputOnly() throws {
        let x = try parameter([3, 7])
        let y = try x.relu()
        XCTAssertEqual(try savedBytes(y), 4 * 3 * 7)
        let saved = try XCTUnwrap(y.node?.saved?.storages.first)
        XCTAssertTrue(saved === y.storage, "the saved buffer is the output's")
    }

    /// Max pooling reads only the indices of the chosen elements (int32, one per output).
    func testMaxPoolSavesItsIndicesOnly() throws {
        let (n, c, h, w, k) = (2, 3, 7, 6, 2)
        let y = try parameter([n, c, h, w]).maxPool2d(kernelSize: k)
        XCTAssertEqual(y.shape, [n, c, h / k, w / k])
        XCTAssertEqual(try savedBytes(y), 4 * n * c * (h / k) * (w / k))
    }

    /// linear reads the input (for ∂W) and the weight (for ∂x), not the bias.
    func testLinearSavesItsInputAndWeight() throws {
        let (n, inFeatures, outFeatures) = (3, 7, 5)
        let y = try constant([n, inFeatures]).linear(weight: parameter([outFeatures, inFeatures]), bias: parameter([outFeatures]))
        XCTAssertEqual(try savedBytes(y), 4 * (n * inFeatures + outFeatures * inFeatures))
    }

    /// Ops whose gradient reads nothing (add, scale, sums, dropout's redrawn mask, the
    /// layout copies) save nothing.
    func testOpsWhoseGradientReadsNothingSaveNothing() throws {
        let x = try parameter([2, 3, 4, 4])
        for y in [
            try x.adding(x), try x.scaled(by: 2), try x.sum(), try x.dropout2d(probability: 0.5, seed: 1, step: 0),
            try x.channels(1..<2), try x.reshaped([6, 16]), try x.globalAveragePool(),
        ] {
            XCTAssertEqual(try savedBytes(y), 0, "\(y.node?.op ?? "?")")
        }
    }

    // MARK: The graph after backward

    /// Backward frees every node's saved tensors and edges as it goes: afterwards nothing
    /// of the graph is kept, and a second backward is refused with PyTorch's words.
    func testBackwardFreesTheGraphAndASecondBackwardThrows() throws {
        let w = try parameter([4, 3])
        let hidden = try constant([2, 3]).linear(weight: w, bias: nil).relu()
        let loss = try hidden.multiplying(hidden).sum()
        XCTAssertGreaterThan(loss.bytesSavedForBackward, 0)
        try loss.backward()
        XCTAssertEqual(loss.bytesSavedForBackward, 0)
        XCTAssertEqual(loss.node?.edges.count, 0, "the root's edges are dropped")
        XCTAssertThrowsError(try loss.backward()) {
            XCTAssertTrue(
                "\($0)".hasSuffix("backward: invalid argument: backward through the graph a second time: its saved tensors were freed"),
                "\($0)")
        }
        // An intermediate the caller kept is part of the freed graph too.
        XCTAssertThrowsError(try hidden.sum().backward()) {
            XCTAssertTrue("\($0)".contains("backward through the graph a second time"), "\($0)")
        }
    }

    /// A tensor a rule saved and then changed in place (by `assign`, or by an in-place op)
    /// makes backward throw rather than compute a gradient from the new values.
    func testModifyingASavedTensorInPlaceThrows() throws {
        let w = try parameter([5])
        let x = try constant([5])
        let loss = try w.multiplying(x).sum()
        try x.assign([Float](repeating: 1, count: 5))
        XCTAssertThrowsError(try loss.backward()) {
            XCTAssertTrue("\($0)".contains("was modified in place after it was saved (version 1, saved at version 0)"), "\($0)")
        }

        let a = try w.scaled(by: 2)
        let square = try a.multiplying(a).sum()
        _ = try a.relu(inPlace: true)
        XCTAssertThrowsError(try square.backward()) {
            XCTAssertTrue("\($0)".contains("was modified in place after it was saved"), "\($0)")
        }
    }

    /// A parameter keeps its value for backward: an in-place op on it is refused.
    func testAParameterCannotBeOverwrittenInPlace() throws {
        let w = try parameter([3])
        XCTAssertThrowsError(try w.relu(inPlace: true)) {
            XCTAssertTrue("\($0)".contains("cannot be overwritten in place"), "\($0)")
        }
        XCTAssertThrowsError(try w.adding(w, inPlace: true))
    }

    /// In-place ReLU and add give the values and gradients of the out-of-place ops, bit
    /// for bit, and write into their input's storage.
    func testInPlaceReLUAndAddMatchTheOutOfPlaceOps() throws {
        func run(inPlace: Bool) throws -> (values: [Float], gradient: [Float], sharesStorage: Bool) {
            let w = try parameter([2, 9], seed: 4)
            let other = try constant([2, 9], seed: 5)
            let z = try w.scaled(by: 1.5)
            let sum = try z.adding(other, inPlace: inPlace)
            let y = try sum.relu(inPlace: inPlace)
            let loss = try y.multiplying(other).sum()
            try loss.backward()
            return (try y.values(), try XCTUnwrap(w.gradient).values(), y.storage === z.storage)
        }
        let (outOfPlace, inPlace) = (try run(inPlace: false), try run(inPlace: true))
        XCTAssertEqual(inPlace.values.map(\.bitPattern), outOfPlace.values.map(\.bitPattern))
        XCTAssertEqual(inPlace.gradient.map(\.bitPattern), outOfPlace.gradient.map(\.bitPattern))
        XCTAssertTrue(inPlace.sharesStorage)
        XCTAssertFalse(outOfPlace.sharesStorage)
        XCTAssertTrue(outOfPlace.values.contains(0) && outOfPlace.values.contains { $0 > 0 }, "both sides of the ReLU are exercised")
    }

    /// Max pooling's gradient goes to the element each window chose (hand-worked).
    func testMaxPoolRoutesTheGradientToTheChosenElements() throws {
        let x = try Tensor(parameter: [1, 3, 5, 2, 0, 2, 4, 1, 9, 7, 6, 8, 1, 1, 1, 0], shape: [1, 1, 4, 4], on: backend)
        let y = try x.maxPool2d(kernelSize: 2)
        XCTAssertEqual(try y.values(), [3, 5, 9, 8])
        try y.multiplying(Tensor([1, 10, 100, 1000], shape: [1, 1, 2, 2], on: backend)).sum().backward()
        XCTAssertEqual(try x.gradient?.values(), [0, 1, 10, 0, 0, 0, 0, 0, 100, 0, 0, 1000, 0, 0, 0, 0])
    }
}
