import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The backward functions of affine_grid and grid_sample against central differences
/// of their forwards, in Double. Bilinear sampling has kinks where a pixel coordinate
/// is an integer, so every grid here keeps its points at least 0.05 pixel away from
/// one (the differences step by 1e-6·W/2 pixel).
final class SamplingGradientTests: XCTestCase {
    private let d = GridSampleDescriptor(batch: 2, channels: 3, inputHeight: 5, inputWidth: 7, outputHeight: 3, outputWidth: 4)

    /// Grid points whose pixel coordinates are k + f with f ∈ [0.05, 0.95], over the
    /// cells touching the image (border cells, half outside, included).
    private func gridAwayFromPixels(seed: UInt64) -> [Double] {
        var random = SeededGenerator(seed: seed)
        func coordinate(_ size: Int) -> Double {
            let pixel = Double(Int.random(in: -1...(size - 1), using: &random)) + Double.random(in: 0.05...0.95, using: &random)
            return (2 * pixel + 1) / Double(size) - 1
        }
        return (0..<(d.gridCount / 2)).flatMap { _ in [coordinate(d.inputWidth), coordinate(d.inputHeight)] }
    }

    /// Distance of the nearest pixel coordinate of `grid` to an integer.
    private func distanceToKinks(_ grid: [Double], width: Int, height: Int) -> Double {
        grid.indices.map { index in
            let pixel = Reference.unnormalize(grid[index], index % 2 == 0 ? width : height)
            return abs(pixel - pixel.rounded())
        }.min() ?? 1
    }

    func testAffineGridBackward() throws {
        let affine = AffineGridDescriptor(batch: 2, height: 3, width: 5)
        try assertGradientMatches(
            at: randomDoubles(affine.thetaCount, seed: 1),
            forward: { Reference.affineGridForward(affine, theta: $0) },
            backward: { Reference.affineGridBackward(affine, gridGradient: $0) }, "∂L/∂θ")
    }

    func testGridSampleBackwardInput() throws {
        let grid = randomDoubles(d.gridCount, in: -1.2...1.2, seed: 2)
        try assertGradientMatches(
            at: randomDoubles(d.inputCount, seed: 3),
            forward: { Reference.gridSampleForward(self.d, input: $0, grid: grid) },
            backward: { Reference.gridSampleBackwardInput(self.d, grid: grid, outputGradient: $0) },
            "∂L/∂input")
    }

    func testGridSampleBackwardGrid() throws {
        let input = randomDoubles(d.inputCount, seed: 4)
        let grid = gridAwayFromPixels(seed: 5)
        XCTAssertGreaterThan(distanceToKinks(grid, width: d.inputWidth, height: d.inputHeight), 0.04)
        try assertGradientMatches(
            at: grid,
            forward: { Reference.gridSampleForward(self.d, input: input, grid: $0) },
            backward: { Reference.gridSampleBackwardGrid(self.d, input: input, grid: grid, outputGradient: $0) },
            "∂L/∂grid")
    }

    /// The zoom of Coarse2Fine end to end: θ = [[s, 0, tx], [0, s, ty]] plus a small
    /// shear, grid from θ, sample; ∂L/∂θ = affineGridBackward(gridSampleBackwardGrid(…)).
    func testZoomGradientReachesTheta() throws {
        let affine = AffineGridDescriptor(batch: d.batch, height: d.outputHeight, width: d.outputWidth)
        let theta: [Double] = [
            0.61, 0.07, 0.13, -0.05, 0.58, -0.21,
            0.83, -0.11, -0.09, 0.04, 0.79, 0.17,
        ]
        let input = randomDoubles(d.inputCount, seed: 6)
        XCTAssertGreaterThan(
            distanceToKinks(
                Reference.affineGridForward(affine, theta: theta),
                width: d.inputWidth, height: d.inputHeight), 0.01)
        try assertGradientMatches(
            at: theta,
            forward: {
                Reference.gridSampleForward(self.d, input: input, grid: Reference.affineGridForward(affine, theta: $0))
            },
            backward: { upstream in
                let grid = Reference.affineGridForward(affine, theta: theta)
                let gridGradient = Reference.gridSampleBackwardGrid(self.d, input: input, grid: grid, outputGradient: upstream)
                return Reference.affineGridBackward(affine, gridGradient: gridGradient)
            }, "∂L/∂θ through the sample")
    }
}
