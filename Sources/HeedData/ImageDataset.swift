import Foundation
import HeedOps

/// Labelled images as 8-bit channels, the form every source has (CIFAR files,
/// decoded JPEG/PNG, the synthetic set); converted to normalised floats one batch at
/// a time.
///
/// The synthetic set is held in memory; CIFAR files stay on disk and each image is read
/// when a batch needs it, so a file of any size fits; photos (JPEG/PNG files) are decoded
/// and transformed (``PhotoTransform``) when a batch needs them, so memory does not grow
/// with the number of photos.
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
        /// Image i is file i, decoded and transformed on demand.
        case files([URL], PhotoTransform)
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

    /// Photos decoded from `files` when a batch needs them, each made `transform.outputSize`
    /// by `transform`; one label per file.
    public init(name: String, classNames: [String], files: [URL], labels: [Int32], transform: PhotoTransform) {
        precondition(files.count == labels.count, "\(files.count) files for \(labels.count) labels")
        let (width, height) = transform.outputSize
        self.init(
            name: name, classNames: classNames, channels: 3, height: height, width: width, storage: .files(files, transform), labels: labels
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

    /// The files of a dataset of photos (nil for the others).
    public var files: [URL]? {
        if case .files(let files, _) = storage { return files }
        return nil
    }

    /// The transform of a dataset of photos (nil for the others).
    public var transform: PhotoTransform? {
        if case .files(_, let transform) = storage { return transform }
        return nil
    }

    /// The same photos with another transform (e.g. evaluation's for a held-out part of a training set).
    public func with(transform: PhotoTransform, name: String? = nil) -> ImageDataset {
        guard case .files(let files, _) = storage else { preconditionFailure("only a dataset of photos has a transform") }
        return ImageDataset(name: name ?? self.name, classNames: classNames, files: files, labels: labels, transform: transform)
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int], name: String) -> ImageDataset {
        let labels = indices.map { self.labels[$0] }
        switch storage {
        case .files(let files, let transform):
            return ImageDataset(name: name, classNames: classNames, files: indices.map { files[$0] }, labels: labels, transform: transform)
        case .memory, .records:
            return ImageDataset(
                name: name, classNames: classNames, channels: channels, height: height, width: width,
                pixels: indices.flatMap { image($0) }, labels: labels)
        }
    }

    /// Image `index` as a batch gets it, planar C×H×W: for photos, decoded and transformed
    /// with draws from `random` (training's crop and flip); the others ignore `random`.
    ///
    /// - Throws: `FileError` naming a photo that cannot be read or decoded.
    public func sample(_ index: Int, random: inout SeededGenerator) throws -> ArraySlice<UInt8> {
        guard case .files(let files, let transform) = storage else { return image(index) }
        return transform.apply(to: try RGBImage.read(from: files[index]), random: &random).planar[...]
    }

    /// The channels of image `index`, planar C×H×W.
    ///
    /// For a dataset read from files, a file that shrank or became unreadable since it
    /// was loaded ends the process with a one-line error and exit status 1: batches are
    /// prepared on a background thread that has no caller to throw to, and a run whose
    /// data changed under it cannot go on. A photo is transformed with draws from a
    /// generator seeded by `index` (the same image every call); batches use ``sample(_:random:)``.
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        switch storage {
        case .files:
            var random = SeededGenerator(seed: UInt64(index))
            do {
                return try sample(index, random: &random)
            } catch {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                exit(1)
            }
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
        case .records, .files: return (0..<count).flatMap { image($0) }
        }
    }
}
