import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class LinearTests: XCTestCase {
    /// The cases `heed verify --op linear` runs: forward and the three gradients at
    /// 1×1 → 1, 3×33 → 7, 7×65 → 10 and 33×17 → 129, with and without bias.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "linear")
        XCTAssertEqual(cases.count, 32)
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
        }
    }

    /// y = x·Wᵀ + b and its gradients, worked out by hand for x (2, 3), W (2, 3).
    func testReferenceComputesKnownProducts() {
        let d = LinearDescriptor(batch: 2, inFeatures: 3, outFeatures: 2)
        let x: [Double] = [1, 2, 3, 4, 5, 6]
        let w: [Double] = [1, 0, -1, 2, 1, 0]
        XCTAssertEqual(Reference.linearForward(d, input: x, weight: w, bias: [10, 20]), [8, 24, 8, 33])
        let dy: [Double] = [1, 2, 3, -1]
        XCTAssertEqual(Reference.linearBackwardInput(d, outputGradient: dy, weight: w), [5, 2, -1, 1, -1, -3])
        XCTAssertEqual(Reference.linearBackwardWeight(d, input: x, outputGradient: dy), [13, 17, 21, -2, -1, 0])
        XCTAssertEqual(Reference.linearBackwardBias(d, outputGradient: dy), [4, 1])
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        let d = LinearDescriptor(batch: 4, inFeatures: 6, outFeatures: 3)
        let context = "in linear(input (4, 6), weight (3, 6))"
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let x = try backend.makeBuffer(count: 24, of: Float.self)
            let y = try backend.makeBuffer(count: 12, of: Float.self)
            let narrowWeight = try backend.makeBuffer(count: 15, of: Float.self)
            let mismatch = HeedError.shapeMismatch(op: "linear", "weight (3, 6) needs 18 elements, buffer has 15, \(context)")
            assertThrows(try backend.linearForward(d, input: x, weight: narrowWeight, bias: nil, output: y), as: HeedError.self) {
                XCTAssertEqual($0, mismatch)
            }
            assertThrows(
                try backend.linearBackwardInput(d, outputGradient: y, weight: narrowWeight, inputGradient: x),
                as: HeedError.self
            ) { XCTAssertEqual($0, mismatch) }
            assertThrows(
                try backend.linearBackwardWeight(d, input: x, outputGradient: y, weightGradient: narrowWeight),
                as: HeedError.self
            ) {
                XCTAssertEqual($0, .shapeMismatch(op: "linear", "weight gradient (3, 6) needs 18 elements, buffer has 15, \(context)"))
            }
            assertThrows(try backend.linearBackwardBias(d, outputGradient: x, biasGradient: y), as: HeedError.self) {
                XCTAssertEqual($0, .shapeMismatch(op: "linear", "output gradient (4, 3) needs 12 elements, buffer has 24, \(context)"))
            }
        }
        assertThrows(try LinearDescriptor(input: [4, 6], weight: [3, 5]), as: HeedError.self) {
            XCTAssertEqual(
                $0,
                .shapeMismatch(
                    op: "linear",
                    "input (4, 6) and weight (3, 5) do not fit: expected input (N, in) and weight (out, in) with the same in"))
        }
        XCTAssertEqual(try LinearDescriptor(input: [4, 6], weight: [3, 6]), d)
    }
}
