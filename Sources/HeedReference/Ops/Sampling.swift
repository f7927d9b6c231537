import HeedOps

extension Reference {
    /// Centre of pixel `index` of `size` in normalised coordinates: (2·index + 1)/size − 1.
    public static func pixelCentre(_ index: Int, _ size: Int) -> Double {
        Double(2 * index + 1) / Double(size) - 1
    }

    /// Normalised coordinate → pixel coordinate along an axis of `size` pixels
    /// (align_corners = False): ((coordinate + 1)·size − 1)/2.
    public static func unnormalize(_ coordinate: Double, _ size: Int) -> Double {
        ((coordinate + 1) * Double(size) - 1) / 2
    }

    /// One of the four pixels a bilinear sample blends: its position, its weight, and
    /// the weight's derivatives with respect to the pixel coordinates ix and iy.
    public struct BilinearTap: Equatable, Sendable {
        public var x: Int
        public var y: Int
        public var weight: Double
        public var dWeightDx: Double
        public var dWeightDy: Double
    }

    /// The pixels inside a `width × height` image that a sample at pixel coordinates
    /// (ix, iy) blends. Pixels outside count as 0 (zero padding), so they are left out;
    /// a point with no pixel inside (or a NaN coordinate) has no taps. Inside the cell
    /// of north-west pixel (x0, y0), with tx = ix − x0 and ty = iy − y0, the weights are
    /// (1−tx)(1−ty), tx(1−ty), (1−tx)ty and tx·ty.
    public static func bilinearTaps(ix: Double, iy: Double, width: Int, height: Int) -> [BilinearTap] {
        guard ix > -1, ix < Double(width), iy > -1, iy < Double(height) else { return [] }
        let x0 = Int(ix.rounded(.down))
        let y0 = Int(iy.rounded(.down))
        let tx = ix - Double(x0)
        let ty = iy - Double(y0)
        let all = [
            BilinearTap(x: x0, y: y0, weight: (1 - tx) * (1 - ty), dWeightDx: -(1 - ty), dWeightDy: -(1 - tx)),
            BilinearTap(x: x0 + 1, y: y0, weight: tx * (1 - ty), dWeightDx: 1 - ty, dWeightDy: -tx),
            BilinearTap(x: x0, y: y0 + 1, weight: (1 - tx) * ty, dWeightDx: -ty, dWeightDy: 1 - tx),
            BilinearTap(x: x0 + 1, y: y0 + 1, weight: tx * ty, dWeightDx: ty, dWeightDy: tx),
        ]
        return all.filter { $0.x >= 0 && $0.x < width && $0.y >= 0 && $0.y < height }
    }

    /// The taps of grid point (n, h, w) of a `grid_sample` call, in the input image, or
    /// nil when a coordinate of the point is NaN or infinite.
    static func taps<T: BinaryFloatingPoint>(_ d: GridSampleDescriptor, grid: [T], n: Int, h: Int, w: Int) -> [BilinearTap]? {
        let point = (n * d.outputHeight + h) * d.outputWidth + w
        let (x, y) = (Double(grid[2 * point]), Double(grid[2 * point + 1]))
        guard x.isFinite && y.isFinite else { return nil }
        return bilinearTaps(
            ix: unnormalize(x, d.inputWidth), iy: unnormalize(y, d.inputHeight),
            width: d.inputWidth, height: d.inputHeight)
    }

    /// `affine_grid`: grid (N, H, W, 2) with `grid[n, i, j] = θ_n · (x_j, y_i, 1)`; θ is (N, 2, 3).
    public static func affineGridForward<T: BinaryFloatingPoint>(_ d: AffineGridDescriptor, theta: [T]) -> [T] {
        var grid = [T](repeating: 0, count: d.gridCount)
        for n in 0..<d.batch {
            for i in 0..<d.height {
                for j in 0..<d.width {
                    let base = [pixelCentre(j, d.width), pixelCentre(i, d.height), 1]
                    for r in 0..<2 {
                        let sum = (0..<3).reduce(0.0) { $0 + Double(theta[n * 6 + r * 3 + $1]) * base[$1] }
                        grid[((n * d.height + i) * d.width + j) * 2 + r] = T(sum)
                    }
                }
            }
        }
        return grid
    }

    /// The gradient of `affineGridForward` with respect to θ: `dθ[n, r] = Σ_{i,j} dgrid[n, i, j, r]·(x_j, y_i, 1)`.
    public static func affineGridBackward<T: BinaryFloatingPoint>(_ d: AffineGridDescriptor, gridGradient: [T]) -> [T] {
        var thetaGradient = [T](repeating: 0, count: d.thetaCount)
        for n in 0..<d.batch {
            for r in 0..<2 {
                var sums = [0.0, 0.0, 0.0]
                for i in 0..<d.height {
                    for j in 0..<d.width {
                        let g = Double(gridGradient[((n * d.height + i) * d.width + j) * 2 + r])
                        sums[0] += g * pixelCentre(j, d.width)
                        sums[1] += g * pixelCentre(i, d.height)
                        sums[2] += g
                    }
                }
                for c in 0..<3 { thetaGradient[n * 6 + r * 3 + c] = T(sums[c]) }
            }
        }
        return thetaGradient
    }

    /// `grid_sample`: output (N, C, H, W), each point the bilinear blend of `input`
    /// (N, C, Hin, Win) at the grid's (x, y), zero outside the image, NaN at a
    /// non-finite (x, y).
    public static func gridSampleForward<T: BinaryFloatingPoint>(_ d: GridSampleDescriptor, input: [T], grid: [T]) -> [T] {
        var output = [T](repeating: 0, count: d.outputCount)
        for n in 0..<d.batch {
            for h in 0..<d.outputHeight {
                for w in 0..<d.outputWidth {
                    let taps = taps(d, grid: grid, n: n, h: h, w: w)
                    for c in 0..<d.channels {
                        let plane = (n * d.channels + c) * d.inputHeight * d.inputWidth
                        let value = taps?.reduce(0.0) { $0 + $1.weight * Double(input[plane + $1.y * d.inputWidth + $1.x]) } ?? .nan
                        output[((n * d.channels + c) * d.outputHeight + h) * d.outputWidth + w] = T(value)
                    }
                }
            }
        }
        return output
    }

    /// The gradient of `gridSampleForward` with respect to the input: each output
    /// gradient scattered to the pixels its sample blended, with the same weights
    /// (none from a point with a non-finite coordinate).
    public static func gridSampleBackwardInput<T: BinaryFloatingPoint>(
        _ d: GridSampleDescriptor, grid: [T], outputGradient: [T]
    ) -> [T] {
        var sums = [Double](repeating: 0, count: d.inputCount)
        for n in 0..<d.batch {
            for h in 0..<d.outputHeight {
                for w in 0..<d.outputWidth {
                    let taps = taps(d, grid: grid, n: n, h: h, w: w) ?? []
                    for c in 0..<d.channels {
                        let g = Double(outputGradient[((n * d.channels + c) * d.outputHeight + h) * d.outputWidth + w])
                        let plane = (n * d.channels + c) * d.inputHeight * d.inputWidth
                        for tap in taps { sums[plane + tap.y * d.inputWidth + tap.x] += tap.weight * g }
                    }
                }
            }
        }
        return sums.map { T($0) }
    }

    /// The gradient of `gridSampleForward` with respect to the grid: for each point,
    /// Σ_c dout·∂value/∂(ix, iy) times (Win/2, Hin/2), the derivative of the unnormalisation;
    /// NaN at a point with a non-finite coordinate.
    public static func gridSampleBackwardGrid<T: BinaryFloatingPoint>(
        _ d: GridSampleDescriptor, input: [T], grid: [T], outputGradient: [T]
    ) -> [T] {
        var gridGradient = [T](repeating: 0, count: d.gridCount)
        for n in 0..<d.batch {
            for h in 0..<d.outputHeight {
                for w in 0..<d.outputWidth {
                    let point = (n * d.outputHeight + h) * d.outputWidth + w
                    guard let taps = taps(d, grid: grid, n: n, h: h, w: w) else {
                        (gridGradient[2 * point], gridGradient[2 * point + 1]) = (.nan, .nan)
                        continue
                    }
                    var (gx, gy) = (0.0, 0.0)
                    for c in 0..<d.channels {
                        let g = Double(outputGradient[((n * d.channels + c) * d.outputHeight + h) * d.outputWidth + w])
                        let plane = (n * d.channels + c) * d.inputHeight * d.inputWidth
                        for tap in taps {
                            let value = Double(input[plane + tap.y * d.inputWidth + tap.x])
                            gx += g * value * tap.dWeightDx
                            gy += g * value * tap.dWeightDy
                        }
                    }
                    gridGradient[2 * point] = T(gx * Double(d.inputWidth) / 2)
                    gridGradient[2 * point + 1] = T(gy * Double(d.inputHeight) / 2)
                }
            }
        }
        return gridGradient
    }
}

extension ReferenceBackend {
    public static let sampling = bodies(samplingBodies(Float.self), samplingBodies(Double.self))

    static func samplingBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(SamplingOps.affineGridForward) { d, b in
                b.grid[T.self] = Reference.affineGridForward(d, theta: b.theta[T.self])
            },
            ReferenceBody(SamplingOps.affineGridBackward) { d, b in
                b.thetaGradient[T.self] = Reference.affineGridBackward(d, gridGradient: b.gridGradient[T.self])
            },
            ReferenceBody(SamplingOps.gridSampleForward) { d, b in
                b.output[T.self] = Reference.gridSampleForward(d, input: b.input[T.self], grid: b.grid[T.self])
            },
            ReferenceBody(SamplingOps.gridSampleBackwardInput) { d, b in
                b.inputGradient[T.self] = Reference.gridSampleBackwardInput(
                    d, grid: b.grid[T.self], outputGradient: b.outputGradient[T.self])
            },
            ReferenceBody(SamplingOps.gridSampleBackwardGrid) { d, b in
                b.gridGradient[T.self] = Reference.gridSampleBackwardGrid(
                    d, input: b.input[T.self], grid: b.grid[T.self],
                    outputGradient: b.outputGradient[T.self])
            },
        ]
    }
}
