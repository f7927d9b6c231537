import HeedOps

/// Per-channel normalisation `(x/255 − mean) / std`.
public struct Normalization: Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count, "mean and std need one value per channel")
        self.mean = mean
        self.std = std
    }

    /// The CIFAR statistics of the reference implementation (docs/design.md §4).
    public static let cifar = Normalization(
        mean: [125.3 / 255, 123.0 / 255, 113.9 / 255],
        std: [63.0 / 255, 62.1 / 255, 66.7 / 255])

    /// The smallest standard deviation ``measured(on:)`` gives (that of a constant channel).
    public static let minimumStd: Double = 1e-3

    /// How many photos ``measured(on:)`` decodes, evenly spread over a dataset of photos
    /// (decoding them all would be a whole extra epoch of a large set).
    public static let measuredPhotos = 512

    /// The per-channel mean and standard deviation of a dataset, for sources without
    /// published statistics (image folders, the synthetic set): of every image, or of
    /// ``measuredPhotos`` spread evenly over a dataset of photos, as its transform makes them
    /// (those that decode).
    public static func measured(on dataset: ImageDataset) -> Normalization {
        let measuredCount = dataset.files == nil ? dataset.count : min(dataset.count, measuredPhotos)
        let plane = dataset.height * dataset.width
        var sums = [Double](repeating: 0, count: dataset.channels)
        var squares = [Double](repeating: 0, count: dataset.channels)
        // Image by image, so a dataset read from files reads each image once.
        var measured = 0
        for k in 0..<measuredCount {
            // A photo that does not decode is left out here: the loader's policy (stop the run
            // or skip it) deals with it when a batch needs it.
            let index = k * dataset.count / measuredCount
            var random = SeededGenerator(seed: UInt64(index))
            guard let image = try? dataset.sample(index, random: &random) else { continue }
            measured += 1
            for c in 0..<dataset.channels {
                let start = image.startIndex + c * plane
                for value in image[start..<start + plane] {
                    let x = Double(value) / 255
                    sums[c] += x
                    squares[c] += x * x
                }
            }
        }
        let n = Double(max(measured, 1) * plane)
        var mean = [Float]()
        var std = [Float]()
        for c in 0..<dataset.channels {
            let m = sums[c] / n
            mean.append(Float(m))
            // Rounding can make a constant channel's variance slightly negative.
            let variance = max(squares[c] / n - m * m, 0)
            std.append(Float(max(variance.squareRoot(), Normalization.minimumStd)))
        }
        return Normalization(mean: mean, std: std)
    }
}

/// Training-time augmentation of the reference recipe: reflect-pad, random crop back
/// to the original size, random horizontal flip.
public struct Augmentation: Sendable, Equatable {
    /// Pixels of reflection padding on each side before the random crop (0: no crop).
    public var padding: Int
    public var horizontalFlip: Bool

    public init(padding: Int = 4, horizontalFlip: Bool = true) {
        self.padding = padding
        self.horizontalFlip = horizontalFlip
    }

    public static let none = Augmentation(padding: 0, horizontalFlip: false)

    /// Writes one augmented, normalised image (planar C×H×W) into `output`.
    ///
    /// The crop offset and the flip are drawn from `random`, so the same generator
    /// state gives the same image.
    func apply(
        _ image: ArraySlice<UInt8>, channels: Int, height: Int, width: Int,
        normalization: Normalization, random: inout SeededGenerator,
        into output: inout [Float], at offset: Int
    ) {
        let dx = padding > 0 ? Int.random(in: -padding...padding, using: &random) : 0
        let dy = padding > 0 ? Int.random(in: -padding...padding, using: &random) : 0
        let flip = horizontalFlip && Bool.random(using: &random)
        let base = image.startIndex
        for c in 0..<channels {
            let scale = 1 / (255 * normalization.std[c])
            let shift = normalization.mean[c] / normalization.std[c]
            for y in 0..<height {
                let sourceY = reflect(y + dy, height)
                for x in 0..<width {
                    let sourceX = reflect((flip ? width - 1 - x : x) + dx, width)
                    let value = Float(image[base + (c * height + sourceY) * width + sourceX])
                    output[offset + (c * height + y) * width + x] = value * scale - shift
                }
            }
        }
    }

    /// Reflection without repeating the edge (NumPy/PyTorch "reflect"): −1 → 1, n → n − 2.
    private func reflect(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        var i = i
        while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
        return i
    }
}
