import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

final class SamplingTests: XCTestCase {
    private var backends: [any Backend] {
        get throws { [TestDevices.reference, try TestDevices.requireOpenCL()] }
    }

    /// The cases `heed verify --op affine_grid` and `--op grid_sample` run: odd sizes,
    /// batches of 1 to 3, grids reaching past the image, a zoom whose input-gradient
    /// adds collide; tolerances derived in `SamplingVerification`.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "affine_grid") + VerificationSuite.cases(matching: "grid_sample")
        XCTAssertEqual(cases.count, 18)
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
        }
    }

    /// Values worked out by hand (and confirmed with PyTorch 2.15 in float64).
    func testReferenceComputesKnownSamples() {
        // θ = [[2, 0, 0.5], [0, 1, −0.25]] on a 1×2 grid: x = ∓0.5, y = 0.
        let theta: [Double] = [2, 0, 0.5, 0, 1, -0.25]
        XCTAssertEqual(
            Reference.affineGridForward(AffineGridDescriptor(batch: 1, height: 1, width: 2), theta: theta),
            [-0.5, -0.25, 1.5, -0.25])

        // Image [[1, 2], [3, 4]]: its centre is the mean; x = −1 (the left edge) at
        // y = 0 blends half of the left column with a zero column; far out is 0.
        let image: [Double] = [1, 2, 3, 4]
        let d = GridSampleDescriptor(batch: 1, channels: 1, inputHeight: 2, inputWidth: 2, outputHeight: 1, outputWidth: 3)
        XCTAssertEqual(Reference.gridSampleForward(d, input: image, grid: [0, 0, -1, 0, 5, 5]), [2.5, 1, 0])

        // Row [1, 3] sampled at its centre: value 2; ∂/∂x = (3 − 1)·W/2 = 2. iy = 0 is an
        // integer; the cell below (outside, zeros) gives ∂/∂iy = −2, so ∂/∂y = −2·H/2 = −1.
        // The input gradient splits the output gradient in halves.
        let row = GridSampleDescriptor(batch: 1, channels: 1, inputHeight: 1, inputWidth: 2, outputHeight: 1, outputWidth: 1)
        XCTAssertEqual(Reference.gridSampleForward(row, input: [1, 3] as [Double], grid: [0, 0]), [2])
        XCTAssertEqual(
            Reference.gridSampleBackwardGrid(row, input: [1, 3] as [Double], grid: [0, 0], outputGradient: [1]),
            [2, -1])
        XCTAssertEqual(Reference.gridSampleBackwardInput(row, grid: [0, 0] as [Double], outputGradient: [1]), [0.5, 0.5])
        // dθ from dgrid = (1, 2) at the single point (x, y) = (0, 0): rows (0, 0, 1) and (0, 0, 2).
        XCTAssertEqual(
            Reference.affineGridBackward(AffineGridDescriptor(batch: 1, height: 1, width: 1), gridGradient: [1, 2] as [Double]),
            [0, 0, 1, 0, 0, 2])
    }

    /// With align_corners False the identity θ puts every grid point on a pixel centre,
    /// so sampling returns the image. At power-of-two sizes every coordinate is a
    /// dyadic fraction and the whole computation is exact; at odd sizes the rounded
    /// pixel centres move points by a few ulp of the size, within the forward bound of
    /// `SamplingBounds`.
    func testIdentityThetaReproducesTheImage() throws {
        for backend in try backends {
            for (height, width, exact) in [(8, 16, true), (7, 33, false), (1, 1, true)] {
                let (batch, channels) = (2, 3)
                var random = SeededGenerator(seed: UInt64(height * 100 + width))
                let image = random.uniform(batch * channels * height * width)
                let affine = AffineGridDescriptor(batch: batch, height: height, width: width)
                let theta = try backend.makeBuffer([Float]([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0]))
                let grid = try backend.makeBuffer([Float](repeating: .nan, count: affine.gridCount))
                try backend.affineGridForward(affine, theta: theta, grid: grid)
                let d = GridSampleDescriptor(
                    batch: batch, channels: channels, inputHeight: height, inputWidth: width,
                    outputHeight: height, outputWidth: width)
                let output = try backend.makeBuffer([Float](repeating: .nan, count: d.outputCount))
                try backend.gridSampleForward(d, input: try backend.makeBuffer(image), grid: grid, output: output)
                let actual = try backend.read(output, as: Float.self)
                let bound = SamplingBounds.gridSampleForward(d, input: image)
                assertPassed(
                    exact
                        ? Comparison(actual: actual, expected: image, tolerance: .exact)
                        : Comparison(actual: actual, expected: image, tolerance: bound.tolerance, scale: bound.scale),
                    "\(backend.name) identity \(height)×\(width)")
            }
        }
    }

    /// NaN and infinite coordinates sample NaN and have a NaN grid gradient, and add
    /// nothing to the input gradient, on both backends (PyTorch's CPU kernel agrees).
    func testNonFiniteCoordinates() throws {
        let d = GridSampleDescriptor(batch: 1, channels: 2, inputHeight: 2, inputWidth: 3, outputHeight: 1, outputWidth: 3)
        let grid: [Float] = [.nan, 0.2, 0.1, .infinity, 0.3, -0.4]
        let input: [Float] = [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6]
        let outputGradient: [Float] = [1, 1, 1, 1, 1, 1]
        for backend in try backends {
            let (inputBuffer, gridBuffer) = (try backend.makeBuffer(input), try backend.makeBuffer(grid))
            let output = try backend.makeBuffer(count: d.outputCount, of: Float.self)
            try backend.gridSampleForward(d, input: inputBuffer, grid: gridBuffer, output: output)
            let values = try backend.read(output, as: Float.self)
            XCTAssertEqual(values.map(\.isNaN), [true, true, false, true, true, false], backend.name)

            let gridGradient = try backend.makeBuffer(count: d.gridCount, of: Float.self)
            try backend.gridSampleBackwardGrid(
                d, input: inputBuffer, grid: gridBuffer,
                outputGradient: try backend.makeBuffer(outputGradient), gridGradient: gridGradient)
            XCTAssertEqual(
                try backend.read(gridGradient, as: Float.self).map(\.isNaN), [true, true, true, true, false, false],
                backend.name)

            let inputGradient = try backend.makeBuffer([Float](repeating: .nan, count: d.inputCount))
            try backend.gridSampleBackwardInput(
                d, grid: gridBuffer, outputGradient: try backend.makeBuffer(outputGradient),
                inputGradient: inputGradient)
            // As if the two non-finite points were far outside.
            let finiteGrid: [Float] = [5, 5, 5, 5, 0.3, -0.4]
            let finiteOnly = Reference.gridSampleBackwardInput(d, grid: finiteGrid, outputGradient: outputGradient)
            let bound = SamplingBounds.gridSampleBackwardInput(d, grid: finiteGrid, outputGradient: outputGradient)
            assertPassed(
                Comparison(
                    actual: try backend.read(inputGradient, as: Float.self), expected: finiteOnly,
                    tolerance: bound.tolerance, scale: bound.scale), "\(backend.name) input gradient")
        }
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in try backends {
            let small = try backend.makeBuffer(count: 5, of: Float.self)
            let big = try backend.makeBuffer(count: 100, of: Float.self)
            let affine = AffineGridDescriptor(batch: 2, height: 3, width: 4)
            assertThrows(try backend.affineGridForward(affine, theta: small, grid: big), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "affine_grid",
                        "theta (2, 2, 3) needs 12 elements, buffer has 5, in affine_grid(N=2, H=3, W=4)"))
            }
            let theta = try backend.makeBuffer(count: 12, of: Float.self)
            assertThrows(try backend.affineGridBackward(affine, gridGradient: big, thetaGradient: theta), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "affine_grid",
                        "grid gradient (2, 3, 4, 2) needs 48 elements, buffer has 100, in affine_grid(N=2, H=3, W=4)"))
            }

            let d = GridSampleDescriptor(batch: 1, channels: 2, inputHeight: 3, inputWidth: 4, outputHeight: 2, outputWidth: 5)
            let input = try backend.makeBuffer(count: 24, of: Float.self)
            let grid = try backend.makeBuffer(count: 20, of: Float.self)
            let output = try backend.makeBuffer(count: 20, of: Float.self)
            let context = "in grid_sample(input (1, 2, 3, 4), grid (1, 2, 5, 2))"
            assertThrows(try backend.gridSampleForward(d, input: small, grid: grid, output: output), as: HeedError.self) {
                XCTAssertEqual($0, .shapeMismatch(op: "grid_sample", "input (1, 2, 3, 4) needs 24 elements, buffer has 5, \(context)"))
            }
            assertThrows(
                try backend.gridSampleBackwardInput(d, grid: grid, outputGradient: output, inputGradient: big),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "grid_sample",
                        "input gradient (1, 2, 3, 4) needs 24 elements, buffer has 100, \(context)"))
            }
            assertThrows(
                try backend.gridSampleBackwardGrid(d, input: input, grid: grid, outputGradient: output, gridGradient: small),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0, .shapeMismatch(op: "grid_sample", "grid gradient (1, 2, 5, 2) needs 20 elements, buffer has 5, \(context)"))
            }
            let empty = GridSampleDescriptor(batch: 1, channels: 1, inputHeight: 0, inputWidth: 4, outputHeight: 1, outputWidth: 1)
            assertThrows(try backend.gridSampleForward(empty, input: small, grid: small, output: small), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .invalidArgument(
                        op: "grid_sample",
                        "the input image is empty (0x4) in grid_sample(input (1, 1, 0, 4), grid (1, 1, 1, 2))"))
            }
            let ints = try backend.makeBuffer(count: 20, of: Int32.self)
            assertThrows(try backend.gridSampleForward(d, input: input, grid: ints, output: output), as: HeedError.self) {
                XCTAssertEqual($0, .invalidArgument(op: "grid_sample", "grid holds int32, expected float32"))
            }
        }
    }
}
