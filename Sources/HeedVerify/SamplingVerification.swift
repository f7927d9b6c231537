import HeedDevice
import HeedReference

/// Affine grid and grid sampling cases: odd sizes, batches of 1 to 3, grids that reach
/// past the image (zero padding), and for the grid gradient, points kept away from the
/// integer pixel coordinates where that gradient jumps.
enum SamplingVerification {
    /// Unit roundoff of float32.
    static let u = 0x1p-24

    static let cases: [VerificationCase] = {
        var cases: [VerificationCase] = []
        for (n, h, w) in [(1, 1, 1), (3, 7, 33), (2, 33, 5)] {
            let d = AffineGridDescriptor(batch: n, height: h, width: w)
            cases.append(affineGridForward(d))
            cases.append(affineGridBackward(d))
        }
        let sampled = [
            GridSampleDescriptor(batch: 1, channels: 1, inputHeight: 1, inputWidth: 1, outputHeight: 1, outputWidth: 1),
            GridSampleDescriptor(batch: 2, channels: 3, inputHeight: 7, inputWidth: 33, outputHeight: 5, outputWidth: 9),
            GridSampleDescriptor(batch: 3, channels: 2, inputHeight: 33, inputWidth: 7, outputHeight: 33, outputWidth: 17),
            // Zoomed in: many output points per input pixel, so the atomic adds of the
            // input gradient collide.
            GridSampleDescriptor(batch: 1, channels: 3, inputHeight: 3, inputWidth: 5, outputHeight: 31, outputWidth: 33),
        ]
        for d in sampled {
            cases.append(gridSampleForward(d))
            cases.append(gridSampleBackwardInput(d))
            cases.append(gridSampleBackwardGrid(d))
        }
        return cases
    }()

    static func seed(_ values: Int...) -> UInt64 {
        UInt64(bitPattern: Int64(values.reduce(17) { $0 &* 1_000_003 &+ $1 }))
    }

    /// Points (x, y) uniform over [−1.15, 1.15]², so some fall outside the image.
    static func randomGrid(_ count: Int, _ random: inout SeededGenerator) -> [Float] {
        random.uniform(2 * count, in: -1.15...1.15)
    }

    /// Points whose pixel coordinates are at least 0.1 from any integer (where the grid
    /// gradient of bilinear sampling jumps): mostly in the cells touching the image,
    /// border cells included, and one in ten well outside it.
    static func gridAwayFromPixels(_ d: GridSampleDescriptor, _ random: inout SeededGenerator) -> [Float] {
        func coordinate(_ size: Int) -> Float {
            let pixel: Double
            if Int.random(in: 0..<10, using: &random) == 0 {
                pixel = Bool.random(using: &random) ? -2.5 : Double(size) + 0.5
            } else {
                pixel = Double(Int.random(in: -1...(size - 1), using: &random)) + Double.random(in: 0.1...0.9, using: &random)
            }
            return Float((2 * pixel + 1) / Double(size) - 1)
        }
        return (0..<(d.gridCount / 2)).flatMap { _ in [coordinate(d.inputWidth), coordinate(d.inputHeight)] }
    }

    /// `affine_grid` forward. Each grid value is θ_r·(x, y, 1) with |x|, |y| ≤ 1; the
    /// kernel's x and y are off by up to 3u (a rounded division and subtraction), its
    /// products and two additions add 3u: within 8u·Σ|θ_r|.
    static func affineGridForward(_ d: AffineGridDescriptor) -> VerificationCase {
        VerificationCase(op: "affine_grid.forward", shape: "N=\(d.batch) \(d.height)×\(d.width)") { device, reference in
            var random = SeededGenerator(seed: seed(1, d.batch, d.height, d.width))
            let theta = random.uniform(d.thetaCount)
            let (actual, expected) = try OpHarness.run(on: device, and: reference, inputs: [.floats(theta)],
                                                       outputs: [.floats(d.gridCount)]) { backend, inputs, outputs in
                try backend.affineGridForward(d, theta: inputs[0], grid: outputs[0])
            }
            let scale = (0..<d.gridCount).map { index -> Double in
                let (n, r) = (index / (2 * d.height * d.width), index % 2)
                return (0..<3).reduce(0) { $0 + abs(Double(theta[n * 6 + r * 3 + $1])) }
            }
            return Comparison(actual: actual[0], expected: expected[0],
                              tolerance: Tolerance(atol: 0, rtol: 8 * u, relativeToTerms: true), scale: scale)
        }
    }

    /// `affine_grid` backward: sums of H·W terms g·x with |x| ≤ 1. Summation in any
    /// order (γ_{HW}), plus 3u from x and u from each product: float32Sum(HW + 4) of Σ|g|.
    static func affineGridBackward(_ d: AffineGridDescriptor) -> VerificationCase {
        VerificationCase(op: "affine_grid.backward", shape: "N=\(d.batch) \(d.height)×\(d.width)") { device, reference in
            var random = SeededGenerator(seed: seed(2, d.batch, d.height, d.width))
            let gridGradient = random.uniform(d.gridCount)
            let (actual, expected) = try OpHarness.run(on: device, and: reference, inputs: [.floats(gridGradient)],
                                                       outputs: [.floats(d.thetaCount)]) { backend, inputs, outputs in
                try backend.affineGridBackward(d, gridGradient: inputs[0], thetaGradient: outputs[0])
            }
            let points = d.height * d.width
            let scale = (0..<d.thetaCount).map { index -> Double in
                let (n, r) = (index / 6, index % 6 / 3)
                return (0..<points).reduce(0) { $0 + abs(Double(gridGradient[(n * points + $1) * 2 + r])) }
            }
            return Comparison(actual: actual[0], expected: expected[0],
                              tolerance: .float32Sum(terms: points + 4), scale: scale)
        }
    }

    static func shape(_ d: GridSampleDescriptor) -> String {
        "\(d.batch)×\(d.channels)×\(d.inputHeight)×\(d.inputWidth) → \(d.outputHeight)×\(d.outputWidth)"
    }

    /// Largest |value| of each (n, c) plane of the input.
    static func planeMaxima(_ d: GridSampleDescriptor, _ input: [Float]) -> [Double] {
        let plane = d.inputHeight * d.inputWidth
        return (0..<(d.batch * d.channels)).map { p in
            input[(p * plane)..<((p + 1) * plane)].reduce(0) { max($0, abs(Double($1))) }
        }
    }

    /// How far the kernel's pixel coordinates may be from the exact ones:
    /// ix = ((x + 1)·Win − 1)/2 rounded three times with |x + 1| ≤ 2.15 is off by at
    /// most 3.3u·Win (likewise iy). Bilinear sampling is continuous with slope at most
    /// 2·max|v| in ix and in iy, even across cells and the image border, so that moves a
    /// sample by 6.6u·(Win + Hin)·max|v|; the weights and the 4-term sum round by 15u·max|v|.
    static func forwardRtol(_ d: GridSampleDescriptor) -> Double {
        u * Double(8 * (d.inputWidth + d.inputHeight) + 16)
    }

    /// `grid_sample` forward, against max|v| of the sampled plane (see `forwardRtol`).
    static func gridSampleForward(_ d: GridSampleDescriptor) -> VerificationCase {
        VerificationCase(op: "grid_sample.forward", shape: shape(d)) { device, reference in
            var random = SeededGenerator(seed: seed(3, d.batch, d.channels, d.inputHeight, d.inputWidth, d.outputWidth))
            let input = random.uniform(d.inputCount)
            let grid = randomGrid(d.gridCount / 2, &random)
            let (actual, expected) = try OpHarness.run(on: device, and: reference, inputs: [.floats(input), .floats(grid)],
                                                       outputs: [.floats(d.outputCount)]) { backend, inputs, outputs in
                try backend.gridSampleForward(d, input: inputs[0], grid: inputs[1], output: outputs[0])
            }
            let maxima = planeMaxima(d, input)
            let scale = (0..<d.outputCount).map { maxima[$0 / (d.outputHeight * d.outputWidth)] }
            return Comparison(actual: actual[0], expected: expected[0],
                              tolerance: Tolerance(atol: 0, rtol: forwardRtol(d), relativeToTerms: true), scale: scale)
        }
    }

    /// `grid_sample` input gradient. Pixel p receives w_p(ix, iy)·g from each point,
    /// w_p = hat(ix − px)·hat(iy − py) with slope at most 1, so each term moves by at
    /// most (3.3u·(Win + Hin) + 4u)·|g|; the atomic sum of at most H·W terms in any
    /// order adds γ_{HW}. Scale: Σ|g| over the points within 2 pixels of p.
    static func gridSampleBackwardInput(_ d: GridSampleDescriptor) -> VerificationCase {
        VerificationCase(op: "grid_sample.backward_input", shape: shape(d)) { device, reference in
            var random = SeededGenerator(seed: seed(4, d.batch, d.channels, d.inputHeight, d.inputWidth, d.outputWidth))
            let grid = randomGrid(d.gridCount / 2, &random)
            let outputGradient = random.uniform(d.outputCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(grid), .floats(outputGradient)],
                outputs: [.floats(d.inputCount)]
            ) { backend, inputs, outputs in
                try backend.gridSampleBackwardInput(d, grid: inputs[0], outputGradient: inputs[1], inputGradient: outputs[0])
            }
            let scale = neighbourhoodGradientSums(d, grid: grid, outputGradient: outputGradient)
            let rtol = u * Double(8 * (d.inputWidth + d.inputHeight) + 16 + d.outputHeight * d.outputWidth)
            return Comparison(actual: actual[0], expected: expected[0],
                              tolerance: Tolerance(atol: 0, rtol: rtol, relativeToTerms: true), scale: scale)
        }
    }

    /// For each input pixel, Σ|output gradient| over the grid points within 2 pixels of it.
    static func neighbourhoodGradientSums(_ d: GridSampleDescriptor, grid: [Float], outputGradient: [Float]) -> [Double] {
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
        return sums
    }

    /// `grid_sample` grid gradient, at points away from integer pixel coordinates.
    /// Per channel the derivative is g·((ne − nw)(1 − ty) + (se − sw)·ty), at most
    /// 2|g|·max|v|; an error of 3.3u·Hin in ty moves it by 13.2u·Hin·|g|·max|v|, its
    /// arithmetic by 10u, and the sum over C channels by 2C·u, all times Win/2 (likewise
    /// for y). Scale: (Win/2 or Hin/2)·Σ_c |g_c|·max|v_c|.
    static func gridSampleBackwardGrid(_ d: GridSampleDescriptor) -> VerificationCase {
        VerificationCase(op: "grid_sample.backward_grid", shape: shape(d)) { device, reference in
            var random = SeededGenerator(seed: seed(5, d.batch, d.channels, d.inputHeight, d.inputWidth, d.outputWidth))
            let input = random.uniform(d.inputCount)
            let grid = gridAwayFromPixels(d, &random)
            let outputGradient = random.uniform(d.outputCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(input), .floats(grid), .floats(outputGradient)],
                outputs: [.floats(d.gridCount)]
            ) { backend, inputs, outputs in
                try backend.gridSampleBackwardGrid(d, input: inputs[0], grid: inputs[1], outputGradient: inputs[2],
                                                   gridGradient: outputs[0])
            }
            let maxima = planeMaxima(d, input)
            let points = d.outputHeight * d.outputWidth
            let scale = (0..<d.gridCount).map { index -> Double in
                let (n, point, axis) = (index / 2 / points, index / 2 % points, index % 2)
                let terms = (0..<d.channels).reduce(0.0) {
                    $0 + abs(Double(outputGradient[(n * d.channels + $1) * points + point])) * maxima[n * d.channels + $1]
                }
                return terms * Double(axis == 0 ? d.inputWidth : d.inputHeight) / 2
            }
            let rtol = u * Double(16 * (d.inputWidth + d.inputHeight) + 16 + 2 * d.channels)
            return Comparison(actual: actual[0], expected: expected[0],
                              tolerance: Tolerance(atol: 0, rtol: rtol, relativeToTerms: true), scale: scale)
        }
    }
}
