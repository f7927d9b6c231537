import HeedOps
import HeedVerify
import XCTest

/// One case of `Tests/Fixtures/pytorch/grid_sample.json` on one backend: affine_grid and
/// grid_sample, forward and every gradient, each from PyTorch's own float32 inputs and
/// within the bounds of `SamplingBounds`. HeedReferenceTests runs it on the reference,
/// HeedOpenCLTests on OpenCL.
public enum SamplingGolden {
    /// The fixture's cases: a Coarse2Fine zoom, a general θ reaching past the image, and an
    /// identity θ that upsamples.
    public static func cases() throws -> [PyTorchFixture.Case] {
        let fixture = try PyTorchFixture.load("grid_sample")
        XCTAssertEqual(fixture.cases.map(\.name), ["zoom", "general", "upsample"])
        return fixture.cases
    }

    public static func check(_ item: PyTorchFixture.Case, on backend: any Backend) throws {
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
