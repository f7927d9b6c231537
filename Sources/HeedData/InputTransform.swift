import HeedOps

/// The evaluation transform of a trained model: how an image becomes the network's
/// input. The image is resized to `width × height` (bilinear, `RGBImage.resized`; a
/// no-op at that size already), or, with `resize`, its shorter side resized to `resize`
/// and the centre `width × height` cropped (``PhotoTransform/resizeCentreCrop(resize:size:)``),
/// then scaled to 0...1 and normalised per channel, exactly as the test-set loader of its
/// training run prepared each test image.
public struct InputTransform: Sendable, Equatable {
    /// The largest side a recorded transform may have: `heed train`'s largest `--image-size`.
    public static let maximumSide = 4096

    /// The training images' size, the network's input size.
    public var height: Int
    public var width: Int
    /// The shorter side before the centre crop (photos: `heed train --resize`), or nil.
    public var resize: Int?
    /// The training run's per-channel mean and standard deviation (of 0...1 values).
    public var normalization: Normalization

    public init(height: Int, width: Int, resize: Int? = nil, normalization: Normalization) {
        precondition(resize == nil || height == width, "a centre crop is square")
        self.height = height
        self.width = width
        self.resize = resize
        self.normalization = normalization
    }

    /// The transform of the loader that evaluates on `dataset`'s images.
    public init(of loader: BatchLoader) {
        var resize: Int? = nil
        if case .resizeCentreCrop(let side, _) = loader.dataset.transform { resize = side }
        self.init(height: loader.dataset.height, width: loader.dataset.width, resize: resize, normalization: loader.normalization)
    }

    /// The network's input for one image: planar 3×height×width floats.
    public func input(for image: RGBImage) -> [Float] {
        var unusedDraws = SeededGenerator(seed: 0)
        let resized =
            resize.map { PhotoTransform.resizeCentreCrop(resize: $0, size: width).apply(to: image, random: &unusedDraws) }
            ?? image.resized(width: width, height: height)
        var output = [Float](repeating: 0, count: 3 * height * width)
        // The loader's own path with no augmentation (it draws nothing from the
        // generator), so an image from a file and the same image from a dataset
        // normalise bit for bit alike.
        var unused = SeededGenerator(seed: 0)
        Augmentation.none.apply(
            resized.planar[...], channels: 3, height: height, width: width, normalization: normalization,
            random: &unused, into: &output, at: 0)
        return output
    }
}

extension InputTransform: Codable {
    private enum CodingKeys: String, CodingKey {
        case height, width, resize, mean, std
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let (mean, std) = (try container.decode([Float].self, forKey: .mean), try container.decode([Float].self, forKey: .std))
        guard !mean.isEmpty, mean.count == std.count else {
            throw DecodingError.dataCorruptedError(
                forKey: .std, in: container, debugDescription: "\(mean.count) means and \(std.count) standard deviations")
        }
        let (height, width) = (try container.decode(Int.self, forKey: .height), try container.decode(Int.self, forKey: .width))
        let resize = try container.decodeIfPresent(Int.self, forKey: .resize)
        if let resize, resize < min(height, width) || height != width || resize > InputTransform.maximumSide {
            throw DecodingError.dataCorruptedError(
                forKey: .resize, in: container, debugDescription: "resize \(resize) for a \(width)x\(height) centre crop")
        }
        self.init(height: height, width: width, resize: resize, normalization: Normalization(mean: mean, std: std))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(height, forKey: .height)
        try container.encode(width, forKey: .width)
        try container.encodeIfPresent(resize, forKey: .resize)
        try container.encode(normalization.mean, forKey: .mean)
        try container.encode(normalization.std, forKey: .std)
    }
}
