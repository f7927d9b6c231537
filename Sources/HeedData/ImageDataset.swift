/// Labelled images held in memory as 8-bit channels, the form every source has
/// (CIFAR files, decoded JPEG/PNG, the synthetic set); converted to normalised
/// floats one batch at a time.
public struct ImageDataset: Sendable {
    /// A short name for logs, e.g. `cifar10/train`.
    public let name: String
    /// Class names, indexed by label.
    public let classNames: [String]
    public let channels: Int
    public let height: Int
    public let width: Int
    /// Image i is `pixels[i·C·H·W ..< (i+1)·C·H·W]`, planar C×H×W (CIFAR's own layout).
    public let pixels: [UInt8]
    /// Labels in `0..<classNames.count`.
    public let labels: [Int32]

    public init(
        name: String, classNames: [String], channels: Int, height: Int, width: Int,
        pixels: [UInt8], labels: [Int32]
    ) {
        precondition(
            pixels.count == labels.count * channels * height * width,
            "\(pixels.count) pixel bytes for \(labels.count) images of \(channels)x\(height)x\(width)")
        self.name = name
        self.classNames = classNames
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
    }

    public var count: Int { labels.count }
    public var classCount: Int { classNames.count }
    public var imageSize: Int { channels * height * width }

    /// The channels of image `index`, planar.
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        pixels[index * imageSize..<(index + 1) * imageSize]
    }
}
