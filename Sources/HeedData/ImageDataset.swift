import Foundation

/// Labelled images as 8-bit channels, the form every source has (CIFAR files,
/// decoded JPEG/PNG, the synthetic set); converted to normalised floats one batch at
/// a time.
///
/// Decoded images and the synthetic set are held in memory; CIFAR files stay on disk
/// and each image is read when a batch needs it, so a file of any size fits.
public struct ImageDataset: Sendable {
    /// A short name for logs, e.g. `cifar10/train`.
    public let name: String
    /// Class names, indexed by label.
    public let classNames: [String]
    public let channels: Int
    public let height: Int
    public let width: Int
    /// Labels in `0..<classNames.count`.
    public let labels: [Int32]
    private let storage: Storage

    private enum Storage: Sendable {
        /// Image i is `pixels[i·C·H·W ..< (i+1)·C·H·W]`, planar C×H×W (CIFAR's own layout).
        case memory([UInt8])
        /// Image i is record i, read on demand.
        case records(RecordFiles)
    }

    public init(
        name: String, classNames: [String], channels: Int, height: Int, width: Int,
        pixels: [UInt8], labels: [Int32]
    ) {
        precondition(
            pixels.count == labels.count * channels * height * width,
            "\(pixels.count) pixel bytes for \(labels.count) images of \(channels)x\(height)x\(width)")
        self.init(
            name: name, classNames: classNames, channels: channels, height: height, width: width, storage: .memory(pixels), labels: labels)
    }

    /// Images read from `records` when needed, one per label.
    init(name: String, classNames: [String], channels: Int, height: Int, width: Int, records: RecordFiles, labels: [Int32]) {
        precondition(
            records.count == labels.count && records.imageSize == channels * height * width, "one record per label, one image per record")
        self.init(
            name: name, classNames: classNames, channels: channels, height: height, width: width, storage: .records(records), labels: labels
        )
    }

    private init(name: String, classNames: [String], channels: Int, height: Int, width: Int, storage: Storage, labels: [Int32]) {
        self.name = name
        self.classNames = classNames
        self.channels = channels
        self.height = height
        self.width = width
        self.storage = storage
        self.labels = labels
    }

    public var count: Int { labels.count }
    public var classCount: Int { classNames.count }
    public var imageSize: Int { channels * height * width }

    /// The channels of image `index`, planar C×H×W.
    ///
    /// For a dataset read from files, a file that shrank or became unreadable since it
    /// was loaded ends the process with a one-line error and exit status 1: batches are
    /// prepared on a background thread that has no caller to throw to, and a run whose
    /// data changed under it cannot go on.
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        switch storage {
        case .memory(let pixels):
            return pixels[index * imageSize..<(index + 1) * imageSize]
        case .records(let records):
            do {
                return try records.image(index)[...]
            } catch {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                exit(1)
            }
        }
    }

    /// Every image's channels, image after image (`image(i)` is the i-th `imageSize` bytes).
    ///
    /// A dataset read from files reads all of its images here: loops over images should
    /// call `image(_:)`.
    public var pixels: [UInt8] {
        switch storage {
        case .memory(let pixels): return pixels
        case .records: return (0..<count).flatMap { image($0) }
        }
    }
}
