import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedGraph

final class AutogradTests: XCTestCase {
    /// The graph layer's tests need no OpenCL; the same graphs run on OpenCL in
    /// HeedTrainingTests, whose training steps are compared across backends.
    private func backends() throws -> [any Backend] {
        [TestDevices.reference]
    }

    /// L = Σ relu(x ⊙ w) + Σ w, worked by hand: ∂L/∂w = x·[x·w > 0] + 1.
    func testGradientsOfAComposition() throws {
        for backend in try backends() {
            let x = try Tensor([1, -2, 3, 0.5], shape: [4], on: backend)
            let w = try Tensor(parameter: [2, 1, -1, 4], shape: [4], on: backend)
            let loss = try x.multiplying(w).relu().sum().adding(w.sum())
            XCTAssertEqual(try loss.item(), 2 + 0 + 0 + 2 + 6, backend.name)
            try loss.backward()
            XCTAssertEqual(try w.gradient?.values(), [2, 1, 1, 1.5], backend.name)
            XCTAssertNil(x.gradient, "constants get no gradient")
        }
    }

    func testGradientsAccumulateUntilCleared() throws {
        for backend in try backends() {
            let w = try Tensor(parameter: [1, 2], shape: [2], on: backend)
            for _ in 0..<2 { try w.scaled(by: 3).sum().backward() }
            XCTAssertEqual(try w.gradient?.values(), [6, 6], backend.name)
            w.zeroGradient()
            XCTAssertNil(w.gradient)
        }
    }

    /// A tensor used twice receives the sum of both paths' gradients.
    func testSharedInputsSumTheirGradients() throws {
        let backend = TestDevices.reference
        let w = try Tensor(parameter: [3], shape: [1], on: backend)
        let loss = try w.multiplying(w).adding(w)  // w² + w
        try loss.backward()
        XCTAssertEqual(try w.gradient?.values(), [7])  // 2w + 1
    }

    /// Where gradients meet, backward adds into the first one's buffer when nothing else
    /// holds it. Each case here shares that buffer (one rule's gradient sent down two
    /// edges, to the same tensor twice, or the caller's seed), so the sums must be fresh:
    /// every gradient is worked by hand, and the seed is unchanged.
    func testGradientsThatMeetAreSummedWithoutOverwritingASharedOne() throws {
        let backend = TestDevices.reference
        let w = try Tensor(parameter: [1, -2, 3], shape: [3], on: backend)
        // h = 2w; a = h + h sends one gradient tensor down both of its edges to h, and
        // h also feeds the product: L = Σ (h + h) ⊙ h = Σ 2h², ∂L/∂h = 4h, ∂L/∂w = 16w.
        let h = try w.scaled(by: 2)
        try h.adding(h).multiplying(h).sum().backward()
        XCTAssertEqual(try w.gradient?.values(), [16, -32, 48])
        w.zeroGradient()
        // The caller's seed reaches both edges of the sum: ∂(u + u)/∂u · s = 2s.
        let seed = try Tensor([0.5, 1, -1], shape: [3], on: backend)
        let u = try w.scaled(by: 1)
        try u.adding(u).backward(seed: seed)
        XCTAssertEqual(try w.gradient?.values(), [1, 2, -2])
        XCTAssertEqual(try seed.values(), [0.5, 1, -1], "the seed is the caller's")
        w.zeroGradient()
        // Three paths into one tensor, the first's buffer unshared: (3 + 5 + 1)·v.
        let v = try w.scaled(by: 1)
        try v.scaled(by: 3).adding(v.scaled(by: 5)).adding(v).multiplying(v).sum().backward()
        XCTAssertEqual(try w.gradient?.values(), [18, -36, 54])  // ∂(9v²)/∂v = 18v
    }

    /// The sum where gradients meet never writes into a buffer anything else holds: a
    /// first gradient held elsewhere keeps its values and the sum gets a new buffer. (Where
    /// nothing else holds it, optimised builds add in place; what that saves is in
    /// RESULTS.md, and the training-step fixtures show the numbers do not change.)
    func testAccumulatingNeverOverwritesAHeldGradient() throws {
        let backend = TestDevices.reference
        let addend = try Tensor([1, 2, 3], shape: [3], on: backend)
        let unshared = try Tensor([10, 20, 30], shape: [3], on: backend)
        XCTAssertEqual(try Tensor.accumulate(consume unshared, addend).values(), [11, 22, 33])
        let held = try Tensor([10, 20, 30], shape: [3], on: backend)
        let fresh = try Tensor.accumulate(held, addend)
        XCTAssertNotEqual(ObjectIdentifier(fresh.storage), ObjectIdentifier(held.storage))
        XCTAssertEqual(try fresh.values(), [11, 22, 33])
        XCTAssertEqual(try held.values(), [10, 20, 30])
        let view = try Tensor([10, 20, 30], shape: [3], on: backend)
        let storage = view.storage
        let viewed = try Tensor.accumulate(consume view, addend)
        XCTAssertNotEqual(ObjectIdentifier(viewed.storage), ObjectIdentifier(storage), "a buffer held on its own")
        XCTAssertEqual(try backend.read(storage, as: Float.self), [10, 20, 30])
    }

    func testNothingIsRecordedWithoutGradients() throws {
        let backend = TestDevices.reference
        let w = try Tensor(parameter: [1, 2], shape: [2], on: backend)
        let y = try Tensor.withoutGradients { try w.scaled(by: 2) }
        XCTAssertFalse(y.requiresGradient)
        XCTAssertTrue(try w.scaled(by: 2).requiresGradient)
    }

    func testBackwardNeedsAScalar() throws {
        let w = try Tensor(parameter: [1, 2], shape: [2], on: TestDevices.reference)
        XCTAssertThrowsError(try w.scaled(by: 2).backward()) {
            XCTAssertEqual($0 as? HeedError, .shapeMismatch(op: "backward", "needs a scalar loss, got shape [2]"))
        }
    }

    /// Cross-entropy through linear + log-softmax + NLL against a hand computation:
    /// with W = 0 and b = 0, p = 1/L, ∂L/∂b = (p − onehot)/N.
    func testLinearSoftmaxNLLGradient() throws {
        for backend in try backends() {
            let x = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], on: backend)
            let w = try Tensor(parameter: Array(repeating: 0, count: 12), shape: [4, 3], on: backend)
            let b = try Tensor(parameter: Array(repeating: 0, count: 4), shape: [4], on: backend)
            let labels = try backend.makeBuffer([Int32(1), 3])
            let loss = try x.linear(weight: w, bias: b).logSoftmax().nllLoss(labels: labels)
            XCTAssertEqual(try loss.item(), Float(log(4.0)), accuracy: 1e-6, backend.name)
            try loss.backward()
            let db = try XCTUnwrap(b.gradient).values()
            for (got, expected) in zip(db, [0.25, -0.25, 0.25, -0.25] as [Float]) {
                XCTAssertEqual(got, expected, accuracy: 1e-6, backend.name)
            }
        }
    }

    /// Concatenating along axis 0 and taking channel ranges move values and gradients
    /// to the right places (hand-worked on a (1, 3, 2) tensor).
    func testConcatenateAndChannelsRouteGradients() throws {
        for backend in try backends() {
            let a = try Tensor(parameter: [1, 2], shape: [1, 1, 2], on: backend)
            let b = try Tensor(parameter: [3, 4, 5, 6], shape: [2, 1, 2], on: backend)
            let joined = try Tensor.concatenate([a, b])  // (3, 1, 2)
            XCTAssertEqual(joined.shape, [3, 1, 2])
            XCTAssertEqual(try joined.values(), [1, 2, 3, 4, 5, 6], backend.name)
            let view = try joined.reshaped([1, 3, 2]).channels(1..<3)  // the rows of b
            XCTAssertEqual(try view.values(), [3, 4, 5, 6], backend.name)
            let weights = try Tensor([1, 10, 100, 1000], shape: [1, 2, 2], on: backend)
            try view.multiplying(weights).sum().backward()
            XCTAssertEqual(try a.gradient?.values(), [0, 0], backend.name)
            XCTAssertEqual(try b.gradient?.values(), [1, 10, 100, 1000], backend.name)
        }
    }

    /// C = A·Bᵀ batched, against a hand computation, and its gradients.
    func testBatchedMatmulAndItsGradients() throws {
        for backend in try backends() {
            let a = try Tensor(parameter: [1, 2, 3, 4], shape: [1, 2, 2], on: backend)  // [[1, 2], [3, 4]]
            let b = try Tensor(parameter: [5, 6, 7, 8], shape: [1, 2, 2], on: backend)  // [[5, 6], [7, 8]]
            let c = try a.batchedMatmul(b, transposeOther: true)  // A·Bᵀ
            XCTAssertEqual(try c.values(), [17, 23, 39, 53], backend.name)
            try c.sum().backward()
            // ∂Σ(A·Bᵀ)/∂A[i,k] = Σ_j B[j,k]; ∂/∂B[j,k] = Σ_i A[i,k].
            XCTAssertEqual(try a.gradient?.values(), [12, 14, 12, 14], backend.name)
            XCTAssertEqual(try b.gradient?.values(), [4, 6, 4, 6], backend.name)
        }
    }
}
