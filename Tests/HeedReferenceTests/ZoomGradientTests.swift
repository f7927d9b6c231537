import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

/// The Coarse2Fine zoom path in Double (docs/design.md §5): pooled features f (B, C) → inverse
/// mapping a = f·Wᵀ + b → s = s_min + (1 − s_min)·σ(a₀), tx = (1 − s)·tanh(a₁),
/// ty = (1 − s)·tanh(a₂) → θ = [[s, 0, tx], [0, s, ty]] → affine grid → bilinear
/// sampling of a fixed image. Central differences against a backward chained here by hand
/// from the reference backwards of sampling, grid and linear and the chain rule of the
/// scalar maps, for ∂L/∂W and ∂L/∂f. The graph layer's own composition of the whole loss is
/// checked in HeedModelsTests (`NetworkGradientTests`).
final class ZoomGradientTests: XCTestCase {
    let (batch, features, channels, height, width) = (2, 5, 3, 6, 7)
    let minimumScale = 0.4

    private var linear: LinearDescriptor { LinearDescriptor(batch: batch, inFeatures: features, outFeatures: 3) }
    private var grid: AffineGridDescriptor { AffineGridDescriptor(batch: batch, height: height, width: width) }
    private var sample: GridSampleDescriptor {
        GridSampleDescriptor(
            batch: batch, channels: channels, inputHeight: height, inputWidth: width, outputHeight: height, outputWidth: width)
    }
    private let image = randomDoubles(2 * 3 * 6 * 7, seed: 9)
    private let bias = [0.3, -0.2, 0.5]

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    private func theta(_ f: [Double], _ w: [Double]) -> [Double] {
        let a = Reference.linearForward(linear, input: f, weight: w, bias: bias)
        return (0..<batch).flatMap { b -> [Double] in
            let s = minimumScale + (1 - minimumScale) * sigmoid(a[b * 3])
            return [s, 0, (1 - s) * tanh(a[b * 3 + 1]), 0, s, (1 - s) * tanh(a[b * 3 + 2])]
        }
    }

    private func forward(_ f: [Double], _ w: [Double]) -> [Double] {
        Reference.gridSampleForward(sample, input: image, grid: Reference.affineGridForward(grid, theta: theta(f, w)))
    }

    private func backward(_ f: [Double], _ w: [Double], _ upstream: [Double]) -> (f: [Double], w: [Double]) {
        let t = theta(f, w)
        let dGrid = Reference.gridSampleBackwardGrid(
            sample, input: image, grid: Reference.affineGridForward(grid, theta: t),
            outputGradient: upstream)
        let dTheta = Reference.affineGridBackward(grid, gridGradient: dGrid)
        let a = Reference.linearForward(linear, input: f, weight: w, bias: bias)
        var da = [Double](repeating: 0, count: batch * 3)
        for b in 0..<batch {
            let (ds, dtx, dty) = (dTheta[b * 6] + dTheta[b * 6 + 4], dTheta[b * 6 + 2], dTheta[b * 6 + 5])
            let sig = sigmoid(a[b * 3])
            let s = minimumScale + (1 - minimumScale) * sig
            let (tanhX, tanhY) = (tanh(a[b * 3 + 1]), tanh(a[b * 3 + 2]))
            // tx = (1 − s)·tanh(a₁): ∂/∂s = −tanh(a₁); likewise ty.
            let dsTotal = ds - dtx * tanhX - dty * tanhY
            da[b * 3] = dsTotal * (1 - minimumScale) * sig * (1 - sig)
            da[b * 3 + 1] = dtx * (1 - s) * (1 - tanhX * tanhX)
            da[b * 3 + 2] = dty * (1 - s) * (1 - tanhY * tanhY)
        }
        return (
            Reference.linearBackwardInput(linear, outputGradient: da, weight: w),
            Reference.linearBackwardWeight(linear, input: f, outputGradient: da)
        )
    }

    func testGradientsThroughTheInverseMappingAndTheSampler() throws {
        let f = randomDoubles(batch * features, seed: 1)
        let w = randomDoubles(3 * features, in: -0.5...0.5, seed: 2)
        // No sample point may sit on a pixel boundary, where bilinear weights have kinks.
        let coordinates = Reference.affineGridForward(grid, theta: theta(f, w))
        for (index, c) in coordinates.enumerated() {
            let pixel = Reference.unnormalize(c, index % 2 == 0 ? width : height)
            XCTAssertGreaterThan(abs(pixel - pixel.rounded()), 1e-4, "sample \(index) at pixel coordinate \(pixel)")
        }
        try assertGradientMatches(at: w, forward: { forward(f, $0) }, backward: { backward(f, w, $0).w }, "∂L/∂W")
        try assertGradientMatches(at: f, forward: { forward($0, w) }, backward: { backward(f, w, $0).f }, "∂L/∂f")
    }
}
