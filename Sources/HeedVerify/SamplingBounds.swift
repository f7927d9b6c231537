import HeedOps
import HeedReference

/// How far a float32 affine_grid or grid_sample may be from the exact result rounded
/// once (what the reference backend and the PyTorch fixtures hold): a tolerance and
/// its per-element scale, derived here once for the verification cases and the golden
/// tests alike.
public enum SamplingBounds {
    /// A tolerance `rtol·scale[i]` for each element.
    public typealias Bound = (tolerance: Tolerance, scale: [Double])

    /// Unit roundoff of float32.
    static let u = 0x1p-24

    static func relative(_ rtol: Double, _ scale: [Double]) -> Bound {
        (Tolerance(atol: 0, rtol: rtol, relativeToTerms: true), scale)
    }

    /// `affine_grid` forward. Each grid value is θ_r·(x, y, 1) with |x|, |y| ≤ 1; the
    /// kernel's x and y are off by up to 3u (a rounded division and subtraction), its
    /// products and two additions add 3u, the final rounding u: within 8u·Σ|θ_r|.
    public static func affineGridForward(_ d: AffineGridDescriptor, theta: [Float]) -> Bound {
        let scale = (0..<d.gridCount).map { index -> Double in
            let (n, r) = (index / (2 * d.height * d.width), index % 2)
            return (0..<3).reduce(0) { $0 + abs(Double(theta[n * 6 + r * 3 + $1])) }
        }
        return relative(8 * u, scale)
    }

    /// `affine_grid` backward: sums of H·W terms g·x, within the sum bound of
    /// `SamplingOps.affineGridBackward` of Σ|g|.
    public static func affineGridBackward(_ d: AffineGridDescriptor, gridGradient: [Float]) -> Bound {
        let points = d.height * d.width
        let scale = (0..<d.thetaCount).map { index -> Double in
            let (n, r) = (index / 6, index % 6 / 3)
            return (0..<points).reduce(0) { $0 + abs(Double(gridGradient[(n * points + $1) * 2 + r])) }
        }
        return (.ofSums(SamplingOps.affineGridBackward, d), scale)
    }

    /// Largest |value| of each (n, c) plane of the input.
    static func planeMaxima(_ d: GridSampleDescriptor, _ input: [Float]) -> [Double] {
        let plane = d.inputHeight * d.inputWidth
        return (0..<(d.batch * d.channels)).map { p in
            input[(p * plane)..<((p + 1) * plane)].reduce(0) { max($0, abs(Double($1))) }
        }
    }

    /// `grid_sample` forward, against max|v| of the sampled plane. A point with a pixel
    /// inside the image has |x + 1| ≤ 2 + 1/Win, and the kernel's ix = ((x + 1)·Win − 1)/2,
    /// rounded three times, is then off by at most 1.5u·Win·|x + 1| ≤ (3Win + 1.5)u
    /// (likewise iy); points farther out sample 0 on every side. Bilinear sampling is
    /// continuous with slope at most 2·max|v| in ix and in iy, even across cells and the
    /// image border, so that moves a sample by (6(Win + Hin) + 6)u·max|v|; the weights,
    /// the 4-term sum and the final rounding add at most 8u·max|v|.
    public static func gridSampleForward(_ d: GridSampleDescriptor, input: [Float]) -> Bound {
        let maxima = planeMaxima(d, input)
        let scale = (0..<d.outputCount).map { maxima[$0 / (d.outputHeight * d.outputWidth)] }
        return relative(u * Double(8 * (d.inputWidth + d.inputHeight) + 24), scale)
    }

    /// `grid_sample` input gradient. Pixel p receives w_p(ix, iy)·g from each point,
    /// w_p = hat(ix − px)·hat(iy − py) with slope at most 1 in each coordinate, so with
    /// the coordinate errors of `gridSampleForward` and 4u of arithmetic each term moves
    /// by at most (3(Win + Hin) + 7)u·|g|; the atomic sum of at most H·W terms in any
    /// order adds γ_{HW}, the final rounding u. Scale: Σ|g| over the points within 2
    /// pixels of p (every point that gives p a term on either side).
    public static func gridSampleBackwardInput(_ d: GridSampleDescriptor, grid: [Float], outputGradient: [Float]) -> Bound {
        var sums = [Double](repeating: 0, count: d.inputCount)
        let points = d.outputHeight * d.outputWidth
        for n in 0..<d.batch {
            for point in 0..<points {
                let index = n * points + point
                let ix = Reference.unnormalize(Double(grid[2 * index]), d.inputWidth)
                let iy = Reference.unnormalize(Double(grid[2 * index + 1]), d.inputHeight)
                for py in 0..<d.inputHeight where abs(iy - Double(py)) < 2 {
                    for px in 0..<d.inputWidth where abs(ix - Double(px)) < 2 {
                        for c in 0..<d.channels {
                            let g = abs(Double(outputGradient[(n * d.channels + c) * points + point]))
                            sums[((n * d.channels + c) * d.inputHeight + py) * d.inputWidth + px] += g
                        }
                    }
                }
            }
        }
        return relative(u * Double(8 * (d.inputWidth + d.inputHeight) + 16 + points), sums)
    }

    /// `grid_sample` grid gradient, at points away from integer pixel coordinates
    /// (where it jumps), so both sides use the same cell. Per channel the x-derivative
    /// is g·((ne − nw)(1 − ty) + (se − sw)·ty), at most 2|g|·max|v|, with slope at most
    /// 4|g|·max|v| in ty; the error (3Hin + 1.5)u of ty moves it by (12Hin + 6)u·|g|·max|v|,
    /// its arithmetic by 12u·|g|·max|v|, and the sum over C channels by 2Cu·|g|·max|v|,
    /// all times Win/2 (likewise y, with the error of tx and Hin/2). Scale:
    /// (Win/2 or Hin/2)·Σ_c |g_c|·max|v_c|; 16(Win + Hin) + 16 exceeds 12·max(Win, Hin) + 19.
    public static func gridSampleBackwardGrid(_ d: GridSampleDescriptor, input: [Float], outputGradient: [Float]) -> Bound {
        let maxima = planeMaxima(d, input)
        let points = d.outputHeight * d.outputWidth
        let scale = (0..<d.gridCount).map { index -> Double in
            let (n, point, axis) = (index / 2 / points, index / 2 % points, index % 2)
            let terms = (0..<d.channels).reduce(0.0) {
                $0 + abs(Double(outputGradient[(n * d.channels + $1) * points + point])) * maxima[n * d.channels + $1]
            }
            return terms * Double(axis == 0 ? d.inputWidth : d.inputHeight) / 2
        }
        return relative(u * Double(16 * (d.inputWidth + d.inputHeight) + 16 + 2 * d.channels), scale)
    }
}
