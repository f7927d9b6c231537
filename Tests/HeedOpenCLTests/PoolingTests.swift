import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class PoolingTests: XCTestCase {
    /// The cases `heed verify` runs for global_average_pool, average_pool2d and max_pool2d:
    /// forward and backward, k = s = 1, 2, 3, overlapping windows, odd sizes the floor cuts,
    /// padded windows.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        var count = 0
        for op in ["global_average_pool", "average_pool2d", "max_pool2d"] {
            for check in VerificationSuite.cases(matching: op) {
                count += 1
                assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
            }
        }
        XCTAssertEqual(count, 78)
    }

    /// Pooling worked out by hand on the 3×5 plane 1…15: the floor drops the last row and
    /// column for k = 2; gradients reach only the pooled elements.
    func testReferenceComputesKnownPools() throws {
        let plane = (1...15).map(Double.init)
        let d = Pool2dDescriptor(batch: 1, channels: 1, height: 3, width: 5, kernelSize: 2)
        XCTAssertEqual(d.outputShape, [1, 1, 1, 2])
        XCTAssertEqual(Reference.averagePool2dForward(d, input: plane), [4, 6])
        XCTAssertEqual(
            Reference.averagePool2dBackward(d, outputGradient: [4, 8]),
            [1, 1, 2, 2, 0, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0])
        let (values, indices) = Reference.maxPool2dForward(d, input: plane)
        XCTAssertEqual(values, [7, 9])
        XCTAssertEqual(indices, [6, 8])
        XCTAssertEqual(
            Reference.maxPool2dBackward(d, outputGradient: [4, 8], indices: indices),
            [0, 0, 0, 0, 0, 0, 4, 0, 8, 0, 0, 0, 0, 0, 0])

        let global = GlobalPoolDescriptor(batch: 1, channels: 1, height: 3, width: 5)
        XCTAssertEqual(Reference.globalAveragePoolForward(global, input: plane), [8])
        XCTAssertEqual(Reference.globalAveragePoolBackward(global, outputGradient: [30]), [Double](repeating: 2, count: 15))
    }

    /// torchvision's stem pool (3×3, stride 2, padding 1) worked out by hand on the 2×3 plane
    /// −1…−6, on both backends: padded positions are −∞ to the maximum (all inputs are below
    /// 0, so a zero padding would win) and zeros in the average, which divides by 9.
    func testPaddedPoolsOnANegativePlane() throws {
        let d = Pool2dDescriptor(batch: 1, channels: 1, height: 2, width: 3, kernelSize: 3, stride: 2, padding: 1)
        XCTAssertEqual(d.outputShape, [1, 1, 1, 2])
        let x: [Float] = [-1, -2, -3, -4, -5, -6]
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let output = try backend.makeBuffer(count: 2, of: Float.self)
            let indices = try backend.makeBuffer(count: 2, of: Int32.self)
            try backend.maxPool2dForward(d, input: backend.makeBuffer(x), output: output, indices: indices)
            XCTAssertEqual(try backend.read(output, as: Float.self), [-1, -2], backend.name)
            XCTAssertEqual(try backend.read(indices, as: Int32.self), [0, 1], backend.name)
            let gradient = try backend.makeBuffer(count: 6, of: Float.self)
            try backend.maxPool2dBackward(
                d, outputGradient: backend.makeBuffer([3, 5] as [Float]), indices: indices, inputGradient: gradient)
            XCTAssertEqual(try backend.read(gradient, as: Float.self), [3, 5, 0, 0, 0, 0], backend.name)

            try backend.averagePool2dForward(d, input: backend.makeBuffer(x), output: output)
            // Windows {−1, −2, −4, −5} and {−2, −3, −5, −6}, each over 9 positions; OpenCL's
            // division may be 2.5 ulp off, so to 1e-6 (3 ulp at 1.8).
            let averages = try backend.read(output, as: Float.self)
            for (actual, expected) in zip(averages, [-12 / 9, -16 / 9] as [Float]) {
                XCTAssertEqual(actual, expected, accuracy: 1e-6, backend.name)
            }
            try backend.averagePool2dBackward(d, outputGradient: backend.makeBuffer([9, 18] as [Float]), inputGradient: gradient)
            XCTAssertEqual(try backend.read(gradient, as: Float.self), [1, 3, 2, 1, 3, 2], backend.name)
        }
        let tooMuch = Pool2dDescriptor(batch: 1, channels: 1, height: 4, width: 4, kernelSize: 3, stride: 2, padding: 2)
        assertThrows(try tooMuch.validate(), as: HeedError.self) {
            XCTAssertEqual(
                $0,
                .invalidArgument(
                    op: "pool2d",
                    "padding = 2 must lie in 0...1 (half the window), in pool2d(input (1, 1, 4, 4), kernel 3, stride 2, padding 2)"))
        }
    }

    /// Ties go to the first maximum in row-major order, and a NaN wins its window, on
    /// both backends (PyTorch's CPU rule). Windows of 2×2 at stride 1 overlap, so the
    /// element 5 that two windows pick receives both their gradients.
    func testMaxPoolTiesNaNAndOverlap() throws {
        let d = Pool2dDescriptor(batch: 1, channels: 1, height: 2, width: 4, kernelSize: 2, stride: 1)
        let x: [Float] = [
            1, 5, 5, 2,
            5, 0, .nan, 3,
        ]
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let output = try backend.makeBuffer(count: 3, of: Float.self)
            let indices = try backend.makeBuffer(count: 3, of: Int32.self)
            try backend.maxPool2dForward(d, input: backend.makeBuffer(x), output: output, indices: indices)
            let values = try backend.read(output, as: Float.self)
            XCTAssertEqual(values[0], 5, backend.name)
            XCTAssertTrue(values[1].isNaN && values[2].isNaN, "\(values) on \(backend.name)")
            XCTAssertEqual(try backend.read(indices, as: Int32.self), [1, 6, 6], backend.name)

            let gradient = try backend.makeBuffer(count: 8, of: Float.self)
            try backend.maxPool2dBackward(
                d, outputGradient: backend.makeBuffer([1, 2, 4] as [Float]), indices: indices,
                inputGradient: gradient)
            XCTAssertEqual(try backend.read(gradient, as: Float.self), [0, 1, 0, 0, 0, 0, 6, 0], backend.name)
        }
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        let d = Pool2dDescriptor(batch: 2, channels: 3, height: 7, width: 7, kernelSize: 2)
        let context = "in pool2d(input (2, 3, 7, 7), kernel 2, stride 2)"
        let global = GlobalPoolDescriptor(batch: 2, channels: 3, height: 7, width: 7)
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let input = try backend.makeBuffer(count: 2 * 3 * 49, of: Float.self)
            let output = try backend.makeBuffer(count: 2 * 3 * 9, of: Float.self)
            let wrong = try backend.makeBuffer(count: 2 * 3 * 16, of: Float.self)
            let indices = try backend.makeBuffer(count: 2 * 3 * 9, of: Int32.self)
            assertThrows(try backend.averagePool2dForward(d, input: input, output: wrong), as: HeedError.self) {
                XCTAssertEqual($0, .shapeMismatch(op: "average_pool2d", "output (2, 3, 3, 3) needs 54 elements, buffer has 96, \(context)"))
            }
            assertThrows(try backend.averagePool2dBackward(d, outputGradient: wrong, inputGradient: input), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "average_pool2d",
                        "output gradient (2, 3, 3, 3) needs 54 elements, buffer has 96, \(context)"))
            }
            assertThrows(try backend.maxPool2dForward(d, input: wrong, output: output, indices: indices), as: HeedError.self) {
                XCTAssertEqual($0, .shapeMismatch(op: "max_pool2d", "input (2, 3, 7, 7) needs 294 elements, buffer has 96, \(context)"))
            }
            assertThrows(
                try backend.maxPool2dBackward(d, outputGradient: output, indices: output, inputGradient: input),
                as: HeedError.self
            ) {
                XCTAssertEqual($0, .invalidArgument(op: "max_pool2d", "indices holds float32, expected int32"))
            }
            assertThrows(try backend.globalAveragePoolForward(global, input: input, output: output), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "global_average_pool",
                        "output (2, 3) needs 6 elements, buffer has 54, in global_average_pool(input (2, 3, 7, 7))"))
            }
            let tooSmall = Pool2dDescriptor(batch: 2, channels: 3, height: 7, width: 7, kernelSize: 8)
            assertThrows(try backend.maxPool2dForward(tooSmall, input: input, output: output, indices: indices), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "pool2d",
                        "a 8x8 window does not fit, in pool2d(input (2, 3, 7, 7), kernel 8, stride 8)"))
            }
        }
    }
}
