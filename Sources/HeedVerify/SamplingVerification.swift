import HeedOps
import HeedReference

/// Affine grid and grid sampling cases: odd sizes, batches of 1 to 3, grids that reach
/// past the image (zero padding), and for the grid gradient, points kept away from the
/// integer pixel coordinates where that gradient jumps.
enum SamplingVerification {
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

    /// `affine_grid` forward; tolerance from `SamplingBounds`.
    static func affineGridForward(_ d: AffineGridDescriptor) -> VerificationCase {
        VerificationCase(op: SamplingOps.affineGridForward.name, shape: "N=\(d.batch) \(d.height)×\(d.width)") { device, reference in
            var random = SeededGenerator(seed: seed(1, d.batch, d.height, d.width))
            let theta = random.uniform(d.thetaCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(theta)],
                outputs: [.floats(d.gridCount)]
            ) { backend, inputs, outputs in
                try backend.affineGridForward(d, theta: inputs[0], grid: outputs[0])
            }
            let bound = SamplingBounds.affineGridForward(d, theta: theta)
            return Comparison(actual: actual[0], expected: expected[0], tolerance: bound.tolerance, scale: bound.scale)
        }
    }

    /// `affine_grid` backward; tolerance from `SamplingBounds`.
    static func affineGridBackward(_ d: AffineGridDescriptor) -> VerificationCase {
        VerificationCase(op: SamplingOps.affineGridBackward.name, shape: "N=\(d.batch) \(d.height)×\(d.width)") { device, reference in
            var random = SeededGenerator(seed: seed(2, d.batch, d.height, d.width))
            let gridGradient = random.uniform(d.gridCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(gridGradient)],
                outputs: [.floats(d.thetaCount)]
            ) { backend, inputs, outputs in
                try backend.affineGridBackward(d, gridGradient: inputs[0], thetaGradient: outputs[0])
            }
            let bound = SamplingBounds.affineGridBackward(d, gridGradient: gridGradient)
            return Comparison(actual: actual[0], expected: expected[0], tolerance: bound.tolerance, scale: bound.scale)
        }
    }

    static func shape(_ d: GridSampleDescriptor) -> String {
        "\(d.batch)×\(d.channels)×\(d.inputHeight)×\(d.inputWidth) → \(d.outputHeight)×\(d.outputWidth)"
    }

    /// `grid_sample` forward on a grid reaching past the image; tolerance from `SamplingBounds`.
    static func gridSampleForward(_ d: GridSampleDescriptor) -> VerificationCase {
        VerificationCase(op: SamplingOps.gridSampleForward.name, shape: shape(d)) { device, reference in
            var random = SeededGenerator(seed: seed(3, d.batch, d.channels, d.inputHeight, d.inputWidth, d.outputWidth))
            let input = random.uniform(d.inputCount)
            let grid = randomGrid(d.gridCount / 2, &random)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(input), .floats(grid)],
                outputs: [.floats(d.outputCount)]
            ) { backend, inputs, outputs in
                try backend.gridSampleForward(d, input: inputs[0], grid: inputs[1], output: outputs[0])
            }
            let bound = SamplingBounds.gridSampleForward(d, input: input)
            return Comparison(actual: actual[0], expected: expected[0], tolerance: bound.tolerance, scale: bound.scale)
        }
    }

    /// `grid_sample` input gradient (atomic adds on OpenCL); tolerance from `SamplingBounds`.
    static func gridSampleBackwardInput(_ d: GridSampleDescriptor) -> VerificationCase {
        VerificationCase(op: SamplingOps.gridSampleBackwardInput.name, shape: shape(d)) { device, reference in
            var random = SeededGenerator(seed: seed(4, d.batch, d.channels, d.inputHeight, d.inputWidth, d.outputWidth))
            let grid = randomGrid(d.gridCount / 2, &random)
            let outputGradient = random.uniform(d.outputCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(grid), .floats(outputGradient)],
                outputs: [.floats(d.inputCount)]
            ) { backend, inputs, outputs in
                try backend.gridSampleBackwardInput(d, grid: inputs[0], outputGradient: inputs[1], inputGradient: outputs[0])
            }
            let bound = SamplingBounds.gridSampleBackwardInput(d, grid: grid, outputGradient: outputGradient)
            return Comparison(actual: actual[0], expected: expected[0], tolerance: bound.tolerance, scale: bound.scale)
        }
    }

    /// `grid_sample` grid gradient at points away from integer pixel coordinates;
    /// tolerance from `SamplingBounds`.
    static func gridSampleBackwardGrid(_ d: GridSampleDescriptor) -> VerificationCase {
        VerificationCase(op: SamplingOps.gridSampleBackwardGrid.name, shape: shape(d)) { device, reference in
            var random = SeededGenerator(seed: seed(5, d.batch, d.channels, d.inputHeight, d.inputWidth, d.outputWidth))
            let input = random.uniform(d.inputCount)
            let grid = gridAwayFromPixels(d, &random)
            let outputGradient = random.uniform(d.outputCount)
            let (actual, expected) = try OpHarness.run(
                on: device, and: reference, inputs: [.floats(input), .floats(grid), .floats(outputGradient)],
                outputs: [.floats(d.gridCount)]
            ) { backend, inputs, outputs in
                try backend.gridSampleBackwardGrid(
                    d, input: inputs[0], grid: inputs[1], outputGradient: inputs[2],
                    gridGradient: outputs[0])
            }
            let bound = SamplingBounds.gridSampleBackwardGrid(d, input: input, outputGradient: outputGradient)
            return Comparison(actual: actual[0], expected: expected[0], tolerance: bound.tolerance, scale: bound.scale)
        }
    }
}
