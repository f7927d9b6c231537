import HeedDevice
import HeedGraph
import HeedTestSupport
import XCTest

final class AutogradTests: XCTestCase {
    private func backends() throws -> [any Backend] {
        [TestDevices.reference, try TestDevices.requireOpenCL()]
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
        let loss = try w.multiplying(w).adding(w)          // w² + w
        try loss.backward()
        XCTAssertEqual(try w.gradient?.values(), [7])      // 2w + 1
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
}
