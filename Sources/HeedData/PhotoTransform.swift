import Foundation
import HeedOps

/// How a decoded photo of any size becomes a fixed-size network input, as torchvision's
/// recipes for ImageNet-style training do it on PIL images (pixels: `pillowBilinear`):
///
/// - training: `RandomResizedCrop(size, scale, ratio)` then `RandomHorizontalFlip()`;
/// - evaluation: `Resize(resize)` (the shorter side to `resize`) then `CenterCrop(size)`;
/// - `resize`: the whole image squashed to `width × height` (Heed's older folder loader).
public enum PhotoTransform: Sendable, Equatable {
    case randomResizedCrop(size: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>, flip: Bool)
    case resizeCentreCrop(resize: Int, size: Int)
    case resize(width: Int, height: Int)

    /// torchvision's defaults: scale 0.08–1, ratio 3/4–4/3, and the flip.
    public static func randomResizedCrop(size: Int) -> PhotoTransform {
        .randomResizedCrop(size: size, scale: 0.08...1, ratio: (3.0 / 4)...(4.0 / 3), flip: true)
    }

    /// The shorter side evaluation resizes to before its centre crop of `size`:
    /// `size · 256/224` rounded down, the 256-for-224 of torchvision's ImageNet recipe
    /// as the reference scripts and timm (`floor(size / crop_pct)`, crop_pct 0.875) scale it.
    public static func defaultResize(for size: Int) -> Int { size * 256 / 224 }

    /// The output's width and height.
    public var outputSize: (width: Int, height: Int) {
        switch self {
        case .randomResizedCrop(let size, _, _, _), .resizeCentreCrop(_, let size): return (size, size)
        case .resize(let width, let height): return (width, height)
        }
    }

    /// The transformed image; the crop and the flip are drawn from `random`.
    public func apply(to image: RGBImage, random: inout SeededGenerator) -> RGBImage {
        switch self {
        case .randomResizedCrop(let size, let scale, let ratio, let flip):
            var draws = GeneratorDraws(generator: random)
            let crop = Self.randomResizedCropParameters(width: image.width, height: image.height, scale: scale, ratio: ratio, draws: &draws)
            random = draws.generator
            let output = image.cropped(x: crop.left, y: crop.top, width: crop.width, height: crop.height)
                .pillowBilinear(width: size, height: size)
            // RandomHorizontalFlip's `torch.rand(1) < 0.5`.
            return flip && Bool.random(using: &random) ? output.flippedHorizontally() : output
        case .resizeCentreCrop(let resize, let size):
            let (width, height) = Self.shorterSideResized(width: image.width, height: image.height, to: resize)
            let resized = image.pillowBilinear(width: width, height: height)
            let crop = Self.centreCrop(width: width, height: height, size: size)
            return resized.cropped(x: crop.left, y: crop.top, width: size, height: size)
        case .resize(let width, let height):
            return image.resized(width: width, height: height)
        }
    }

    /// A crop: rows `top ..< top + height`, columns `left ..< left + width`.
    public struct Crop: Equatable, Sendable {
        public var top: Int
        public var left: Int
        public var height: Int
        public var width: Int

        public init(top: Int, left: Int, height: Int, width: Int) {
            (self.top, self.left, self.height, self.width) = (top, left, height, width)
        }
    }

    /// torchvision's `RandomResizedCrop.get_params`, draw for draw: ten attempts at an
    /// area fraction uniform in `scale` and a log-uniform aspect ratio in `ratio`, the side
    /// lengths rounded half to even (Python's `round`), a position uniform over those that
    /// fit; after ten misses, the centre crop of the largest box within `ratio`. As there,
    /// the draws, the log of the ratio bounds and the exp of the drawn log ratio are float32
    /// (torch tensors), the area and the square roots Double (Python floats).
    public static func randomResizedCropParameters(
        width: Int, height: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>, draws: inout some CropDraws
    ) -> Crop {
        let area = Double(height * width)
        let logRatio = (lower: log(Float(ratio.lowerBound)), upper: log(Float(ratio.upperBound)))
        for _ in 0..<10 {
            let targetArea = area * Double(draws.uniform(Float(scale.lowerBound), Float(scale.upperBound)))
            let aspectRatio = Double(exp(draws.uniform(logRatio.lower, logRatio.upper)))
            let w = Int((targetArea * aspectRatio).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspectRatio).squareRoot().rounded(.toNearestOrEven))
            if 0 < w && w <= width && 0 < h && h <= height {
                let top = draws.integer(below: height - h + 1)
                let left = draws.integer(below: width - w + 1)
                return Crop(top: top, left: left, height: h, width: w)
            }
        }
        let inputRatio = Double(width) / Double(height)
        var (w, h) = (width, height)
        if inputRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inputRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return Crop(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// torchvision's `Resize(size)` with one number: the shorter side becomes `size`, the
    /// longer `int(size · long / short)` (rounded down).
    public static func shorterSideResized(width: Int, height: Int, to size: Int) -> (width: Int, height: Int) {
        let (short, long) = (min(width, height), max(width, height))
        let newLong = Int((Double(size * long) / Double(short)).rounded(.down))
        return width <= height ? (size, newLong) : (newLong, size)
    }

    /// torchvision's `CenterCrop(size)` offsets: `int(round((side − size) / 2))`, Python's
    /// round, so an odd margin of 2k+1 puts k or k+1 above (whichever is even).
    public static func centreCrop(width: Int, height: Int, size: Int) -> (top: Int, left: Int) {
        func offset(_ side: Int) -> Int { Int((Double(side - size) / 2).rounded(.toNearestOrEven)) }
        return (offset(height), offset(width))
    }
}

/// The random numbers `RandomResizedCrop` draws: `torch.empty(1).uniform_(a, b)` and
/// `torch.randint(0, n, (1,))`. A protocol so the fixtures' recorded draws can replay.
public protocol CropDraws {
    /// A value uniform in `lower ..< upper`.
    mutating func uniform(_ lower: Float, _ upper: Float) -> Float
    /// An integer uniform in `0 ..< upper`.
    mutating func integer(below upper: Int) -> Int
}

/// Draws from a seeded generator (training's per-image generator).
public struct GeneratorDraws: CropDraws {
    public var generator: SeededGenerator

    public init(generator: SeededGenerator) { self.generator = generator }

    public mutating func uniform(_ lower: Float, _ upper: Float) -> Float {
        lower < upper ? Float.random(in: lower..<upper, using: &generator) : lower
    }

    public mutating func integer(below upper: Int) -> Int { Int.random(in: 0..<upper, using: &generator) }
}
