import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class OptimizerTests: XCTestCase {
    /// Plain SGD, weight decay, momentum and Nesterov (first and later steps) at sizes
    /// 1…1031, and exact dyadic cases, against the reference.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "sgd")
        XCTAssertEqual(cases.count, 26)
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
        }
    }

    /// torch.optim.SGD worked by hand: p = 1, grad = 2, lr = 0.1, momentum 0.9, wd 0.5
    /// (lr and momentum are float32 in the descriptor: 0.1 is off by 1.5e-9, hence 1e-7).
    func testReferenceFollowsTorchOptimSGD() {
        var p: [Double] = [1]
        var buffer: [Double] = [.nan]  // not read on the first step
        let first = SGDDescriptor(count: 1, learningRate: 0.1, momentum: 0.9, weightDecay: 0.5, firstStep: true)
        Reference.sgdUpdate(first, parameter: &p, gradient: [2], momentumBuffer: &buffer)
        XCTAssertEqual(buffer[0], 2.5, accuracy: 1e-7)  // g = 2 + 0.5·1
        XCTAssertEqual(p[0], 0.75, accuracy: 1e-7)  // 1 − 0.1·2.5
        var later = first
        later.firstStep = false
        Reference.sgdUpdate(later, parameter: &p, gradient: [2], momentumBuffer: &buffer)
        XCTAssertEqual(buffer[0], 4.625, accuracy: 1e-7)  // 0.9·2.5 + (2 + 0.5·0.75)
        XCTAssertEqual(p[0], 0.2875, accuracy: 1e-7)  // 0.75 − 0.1·4.625

        var q: [Double] = [1]
        var nesterovBuffer: [Double] = [0]
        var nesterov = first
        nesterov.nesterov = true
        Reference.sgdUpdate(nesterov, parameter: &q, gradient: [2], momentumBuffer: &nesterovBuffer)
        XCTAssertEqual(q[0], 0.525, accuracy: 1e-7)  // 1 − 0.1·(2.5 + 0.9·2.5)

        var plain: [Double] = [1, -2]
        var unused: [Double] = []
        Reference.sgdUpdate(
            SGDDescriptor(count: 2, learningRate: 0.5), parameter: &plain, gradient: [4, 1],
            momentumBuffer: &unused)
        XCTAssertEqual(plain, [-1, -2.5])
    }

    /// A zero-filled buffer without `firstStep` gives exactly what `firstStep` gives.
    func testZeroBufferEqualsFirstStep() throws {
        let device = try TestDevices.requireOpenCL()
        var random = SeededGenerator(seed: 5)
        let (p, grad) = (random.uniform(33), random.uniform(33))
        var results: [[Float]] = []
        for firstStep in [true, false] {
            let d = SGDDescriptor(
                count: 33, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true,
                firstStep: firstStep)
            let parameter = try device.makeBuffer(p)
            let buffer = try device.makeBuffer([Float](repeating: firstStep ? .nan : 0, count: 33))
            try device.sgdUpdate(d, parameter: parameter, gradient: device.makeBuffer(grad), momentumBuffer: buffer)
            results.append(try device.read(parameter, as: Float.self) + device.read(buffer, as: Float.self))
        }
        XCTAssertEqual(results[0], results[1])
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let five = try backend.makeBuffer(count: 5, of: Float.self)
            let three = try backend.makeBuffer(count: 3, of: Float.self)
            let d = SGDDescriptor(count: 5, learningRate: 0.1, momentum: 0.9)
            assertThrows(try backend.sgdUpdate(d, parameter: five, gradient: five, momentumBuffer: three), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "sgd",
                        "momentum buffer (5) needs 5 elements, buffer has 3, in sgd(count=5, lr=0.1, momentum=0.9, weight_decay=0.0)"))
            }
            assertThrows(try backend.sgdUpdate(d, parameter: five, gradient: five, momentumBuffer: nil), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .invalidArgument(
                        op: "sgd",
                        "momentum 0.9 needs a momentum buffer, in sgd(count=5, lr=0.1, momentum=0.9, weight_decay=0.0)"))
            }
            let nesterov = SGDDescriptor(count: 5, learningRate: 0.1, nesterov: true)
            assertThrows(
                try backend.sgdUpdate(nesterov, parameter: five, gradient: five, momentumBuffer: nil),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .invalidArgument(
                        op: "sgd",
                        "Nesterov momentum requires a momentum, in sgd(count=5, lr=0.1, momentum=0.0, weight_decay=0.0, nesterov)"))
            }
            assertThrows(
                try backend.sgdUpdate(
                    SGDDescriptor(count: 5, learningRate: 0.1), parameter: five, gradient: three,
                    momentumBuffer: nil), as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "sgd",
                        "gradient (5) needs 5 elements, buffer has 3, in sgd(count=5, lr=0.1, momentum=0.0, weight_decay=0.0)"))
            }
        }
    }
}
