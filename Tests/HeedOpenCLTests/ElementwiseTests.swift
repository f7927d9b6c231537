import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class ElementwiseTests: XCTestCase {
    /// Every elementwise op at sizes 1…1031, out of place and with the output aliasing
    /// an input; sums and means over every subset of axes of a 4-d shape and more.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let ops = ["relu", "tanh", "sigmoid", "add", "multiply", "scale", "axpy", "sum", "mean"]
        for op in ops {
            let cases = VerificationSuite.cases(matching: op)
            XCTAssertFalse(cases.isEmpty, op)
            for check in cases {
                assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
            }
        }
    }

    /// The reference against values worked out by hand.
    func testReferenceComputesKnownValues() {
        XCTAssertEqual(Reference.relu([-2.0, 0, 3]), [0, 0, 3])
        XCTAssertEqual(Reference.reluBackward(input: [-2.0, 0, 3], outputGradient: [5, 6, 7]), [0, 0, 7])
        XCTAssertEqual(Reference.sigmoid([0.0]), [0.5])
        XCTAssertEqual(Reference.tanhBackward(output: [0.5], outputGradient: [2.0]), [1.5])
        XCTAssertEqual(Reference.sigmoidBackward(output: [0.25], outputGradient: [4.0]), [0.75])
        XCTAssertEqual(Reference.axpy(2.0, [1, 2], [10, 20]), [12, 24])
        // A (2, 3) tensor [[1, 2, 3], [4, 5, 6]].
        let x: [Double] = [1, 2, 3, 4, 5, 6]
        XCTAssertEqual(Reference.reduce(ReductionDescriptor(.sum, shape: [2, 3], axes: [0]), x), [5, 7, 9])
        XCTAssertEqual(Reference.reduce(ReductionDescriptor(.mean, shape: [2, 3], axes: [1]), x), [2, 5])
        XCTAssertEqual(Reference.reduce(ReductionDescriptor(.sum, shape: [2, 3], axes: [1, 0]), x), [21])
        XCTAssertEqual(Reference.reduce(ReductionDescriptor(.sum, shape: [2, 3], axes: []), x), x)
        XCTAssertEqual(
            Reference.reduceBackward(ReductionDescriptor(.mean, shape: [2, 3], axes: [1]), [3.0, 6]),
            [1, 1, 1, 2, 2, 2])
        // (2, 2, 2) summed over the middle axis keeps axes 0 and 2 in order.
        let cube: [Double] = [1, 2, 3, 4, 5, 6, 7, 8]
        XCTAssertEqual(Reference.reduce(ReductionDescriptor(.sum, shape: [2, 2, 2], axes: [1]), cube), [4, 6, 12, 14])
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let three = try backend.makeBuffer(count: 3, of: Float.self)
            let five = try backend.makeBuffer(count: 5, of: Float.self)
            assertThrows(try backend.reluForward(count: 5, input: three, output: five), as: HeedError.self) {
                XCTAssertEqual($0, .shapeMismatch(op: "relu", "input (5) needs 5 elements, buffer has 3, in elementwise(count=5)"))
            }
            assertThrows(
                try backend.multiplyBackward(
                    count: 5, a: five, b: five, outputGradient: five, aGradient: five,
                    bGradient: three), as: HeedError.self
            ) {
                XCTAssertEqual($0, .shapeMismatch(op: "multiply", "b gradient (5) needs 5 elements, buffer has 3, in elementwise(count=5)"))
            }
            assertThrows(try backend.axpy(count: 3, alpha: 1, x: five, y: three), as: HeedError.self) {
                XCTAssertEqual($0, .shapeMismatch(op: "axpy", "x (3) needs 3 elements, buffer has 5, in elementwise(count=3, alpha=1.0)"))
            }
            let sum = ReductionDescriptor(.sum, shape: [5, 3], axes: [1])
            assertThrows(try backend.reduceForward(sum, input: three, output: five), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "sum",
                        "input (5, 3) needs 15 elements, buffer has 3, in sum(shape [5, 3], axes [1])"))
            }
            let mean = ReductionDescriptor(.mean, shape: [5, 3], axes: [2])
            assertThrows(try backend.reduceBackward(mean, outputGradient: five, inputGradient: five), as: HeedError.self) {
                XCTAssertEqual($0, .invalidArgument(op: "mean", "axes [2] are not distinct axes of shape [5, 3]"))
            }
            let ints = try backend.makeBuffer(count: 3, of: Int32.self)
            assertThrows(try backend.add(count: 3, a: three, b: ints, output: three), as: HeedError.self) {
                XCTAssertEqual($0, .invalidArgument(op: "add", "b holds int32, expected float32"))
            }
        }
    }
}
