import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class SoftmaxTests: XCTestCase {
    /// The cases `heed verify --op softmax` and `--op log_softmax` run: rows of 1 to 1025,
    /// inner > 1, an empty tensor, inputs of ±1e4; forward and backward.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        for op in ["softmax", "log_softmax"] {
            let cases = VerificationSuite.cases(matching: op)
            XCTAssertEqual(cases.count, 18)
            for check in cases {
                assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
            }
        }
    }

    /// Inputs of ±1e4 overflow exp without the row maximum subtracted: every output must be
    /// finite and match the reference, which works in Double.
    func testHugeInputsStayFinite() throws {
        let device = try TestDevices.requireOpenCL()
        let x: [Float] = [1e4, -1e4, 9999, 0, -1e4, -1e4, -1e4, 1e4 - 0.5]
        for kind in SoftmaxKind.allCases {
            let d = SoftmaxDescriptor(kind, outer: 2, axis: 4)
            let output = try device.makeBuffer(count: 8, of: Float.self)
            try device.softmaxForward(d, input: device.makeBuffer(x), output: output)
            let y = try device.read(output, as: Float.self)
            XCTAssert(y.allSatisfy(\.isFinite), "\(kind): \(y)")
            let expected = Reference.softmax(d, x)
            assertPassed(Comparison(actual: y, expected: expected, tolerance: SoftmaxVerification.forwardTolerance(d, x)), "\(kind)")
            // Backward from those outputs stays finite too.
            let gradient = try device.makeBuffer(count: 8, of: Float.self)
            try device.softmaxBackward(
                d, output: output, outputGradient: device.makeBuffer([Float](repeating: 1, count: 8)),
                inputGradient: gradient)
            XCTAssert(try device.read(gradient, as: Float.self).allSatisfy(\.isFinite), "\(kind) backward")
        }
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let six = try backend.makeBuffer(count: 6, of: Float.self)
            let seven = try backend.makeBuffer(count: 7, of: Float.self)
            assertThrows(
                try backend.softmaxForward(SoftmaxDescriptor(outer: 2, axis: 3), input: six, output: seven),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "softmax",
                        "output (2, 3, 1) needs 6 elements, buffer has 7, in softmax(outer 2, axis 3, inner 1)"))
            }
            assertThrows(
                try backend.softmaxBackward(
                    SoftmaxDescriptor(.logSoftmax, outer: 1, axis: 3, inner: 2), output: six,
                    outputGradient: seven, inputGradient: six), as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "log_softmax",
                        "output gradient (1, 3, 2) needs 6 elements, buffer has 7, in log_softmax(outer 1, axis 3, inner 2)"))
            }
            assertThrows(
                try backend.softmaxForward(SoftmaxDescriptor(outer: 2, axis: 0), input: six, output: six),
                as: HeedError.self
            ) {
                XCTAssertEqual($0, .invalidArgument(op: "softmax", "normalising over an empty axis in softmax(outer 2, axis 0, inner 1)"))
            }
        }
    }
}
