import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import HeedVerify
import XCTest

/// Both backends against PyTorch's affine_grid and grid_sample (align_corners False,
/// bilinear, zeros), from `Tests/Fixtures/pytorch/grid_sample.json`: a Coarse2Fine
/// zoom, a general θ reaching past the image, and an identity θ that upsamples.
///
/// Each op starts from PyTorch's own (float32) inputs, intermediates included, and
/// the fixture holds the exact results of those rounded once, like the reference
/// backend, so the tolerances are those of `SamplingBounds`. No grid point lies
/// within 1e-3 pixel of an integer coordinate, where the grid gradient jumps.
final class SamplingGoldenTests: XCTestCase {
    func testBothBackendsReproducePyTorch() throws {
        let fixture = try PyTorchFixture.load("grid_sample")
        XCTAssertEqual(fixture.cases.map(\.name), ["zoom", "general", "upsample"])
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            for item in fixture.cases {
                try check(item, on: backend)
            }
        }
    }

    private func check(_ item: PyTorchFixture.Case, on backend: any Backend) throws {
        XCTAssertEqual(try item.intSetting("align_corners"), 0)
        let theta = try item.tensor("theta")
        let input = try item.tensor("input")
        let grid = try item.tensor("grid").values
        let gradOutput = try item.tensor("grad_output").values
        let gradGrid = try item.tensor("grad_grid").values
        let (height, width) = (try item.intSetting("out_height"), try item.intSetting("out_width"))
        let (batch, channels) = (input.shape[0], input.shape[1])
        let affine = AffineGridDescriptor(batch: batch, height: height, width: width)
        let d = GridSampleDescriptor(
            batch: batch, channels: channels, inputHeight: input.shape[2],
            inputWidth: input.shape[3], outputHeight: height, outputWidth: width)
        XCTAssertEqual(theta.shape, [batch, 2, 3])
        XCTAssertEqual(try item.tensor("grid").shape, [batch, height, width, 2])
        XCTAssertEqual(try item.tensor("output").shape, [batch, channels, height, width])
        let label = "\(backend.name) \(item.name)"

        func run(_ outputCount: Int, _ body: (any DeviceBuffer) throws -> Void) throws -> [Float] {
            let output = try backend.makeBuffer([Float](repeating: .nan, count: outputCount))
            try body(output)
            return try backend.read(output, as: Float.self)
        }
        func compare(_ actual: [Float], _ name: String, _ bound: SamplingBounds.Bound) throws {
            assertPassed(
                Comparison(
                    actual: actual, expected: try item.tensor(name).values,
                    tolerance: bound.tolerance, scale: bound.scale), "\(label) \(name)")
        }

        let gridOut = try run(affine.gridCount) {
            try backend.affineGridForward(affine, theta: backend.makeBuffer(theta.values), grid: $0)
        }
        try compare(gridOut, "grid", SamplingBounds.affineGridForward(affine, theta: theta.values))

        let output = try run(d.outputCount) {
            try backend.gridSampleForward(d, input: backend.makeBuffer(input.values), grid: backend.makeBuffer(grid), output: $0)
        }
        try compare(output, "output", SamplingBounds.gridSampleForward(d, input: input.values))

        let gradInput = try run(d.inputCount) {
            try backend.gridSampleBackwardInput(
                d, grid: backend.makeBuffer(grid), outputGradient: backend.makeBuffer(gradOutput),
                inputGradient: $0)
        }
        try compare(gradInput, "grad_input", SamplingBounds.gridSampleBackwardInput(d, grid: grid, outputGradient: gradOutput))

        let gridGradient = try run(d.gridCount) {
            try backend.gridSampleBackwardGrid(
                d, input: backend.makeBuffer(input.values), grid: backend.makeBuffer(grid),
                outputGradient: backend.makeBuffer(gradOutput), gridGradient: $0)
        }
        try compare(
            gridGradient, "grad_grid",
            SamplingBounds.gridSampleBackwardGrid(d, input: input.values, outputGradient: gradOutput))

        let thetaGradient = try run(affine.thetaCount) {
            try backend.affineGridBackward(affine, gridGradient: backend.makeBuffer(gradGrid), thetaGradient: $0)
        }
        try compare(thetaGradient, "grad_theta", SamplingBounds.affineGridBackward(affine, gridGradient: gradGrid))
    }
}
