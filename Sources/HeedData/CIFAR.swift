import Foundation
import HeedSupport

/// CIFAR-10 and CIFAR-100 in the binary layout users download
/// (https://www.cs.toronto.edu/~kriz/cifar.html).
///
/// CIFAR-10: `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`, records of
/// 1 label byte + 3072 pixel bytes. CIFAR-100: `train.bin` and `test.bin`, records of
/// a coarse label byte, a fine label byte + 3072 pixel bytes. Pixels are 32×32 planar
/// R, G, B, rows top to bottom.
public enum CIFAR {
    public enum Variant: String, Sendable, CaseIterable {
        case cifar10
        /// CIFAR-100 with its 100 fine labels.
        case cifar100
        /// CIFAR-100 with its 20 coarse labels (super-classes).
        case cifar100Coarse = "cifar100-coarse"

        public var classCount: Int {
            switch self {
            case .cifar10: return 10
            case .cifar100: return 100
            case .cifar100Coarse: return 20
            }
        }

        var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        var recordSize: Int { labelBytes + 3072 }

        /// The binary files of `split`, by their names in the official archives.
        public func files(_ split: Split) -> [String] {
            switch (self, split) {
            case (.cifar10, .train): return (1...5).map { "data_batch_\($0).bin" }
            case (.cifar10, .test): return ["test_batch.bin"]
            case (_, .train): return ["train.bin"]
            case (_, .test): return ["test.bin"]
            }
        }
    }

    public enum Split: String, Sendable { case train, test }

    /// Records read at a time while the labels are checked (about 3 MB).
    static let chunkRecords = 1024

    /// The most records a split may have: 2^24, 280 times CIFAR-100's 60,000. Its
    /// labels and each epoch's shuffled order are held in memory (about 200 MB at the
    /// limit); a larger file is refused from its size before anything is read.
    public static let maximumRecords = 1 << 24

    /// Loads one split from `directory`, validating every file.
    ///
    /// Also looks in the sub-folders the official archives unpack to
    /// (`cifar-10-batches-bin`, `cifar-100-binary`).
    ///
    /// Each file's size is checked before anything is read; then its labels are read in
    /// chunks of records and checked. The pixels stay in the files, which stay open:
    /// the dataset reads an image when a batch needs it, so memory does not grow
    /// with the files.
    ///
    /// - Throws: `FileError` naming the file: missing folder or file, not a regular
    ///   file, a size that is not a whole number of records, more than
    ///   ``maximumRecords`` records in the split, a label out of range.
    public static func load(_ variant: Variant, split: Split, from directory: URL) throws -> ImageDataset {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw FileError(path: directory.path, problem: "no such folder (expected the CIFAR binary files there)")
        }
        let folder = resolveFolder(directory, variant: variant)
        var files: [(file: RegularFile, records: Int)] = []
        var labels: [Int32] = []
        for name in variant.files(split) {
            let url = folder.appendingPathComponent(name)
            let file: RegularFile
            do {
                file = try RegularFile(path: url.path)
            } catch let error as FileError where error.problem == "no such file" {
                throw FileError(path: url.path, problem: "missing \(variant.rawValue) file")
            }
            guard file.size > 0, file.size % variant.recordSize == 0 else {
                throw FileError(
                    path: url.path,
                    problem:
                        "truncated or not \(variant.rawValue): \(file.size) bytes is not a whole number of \(variant.recordSize)-byte records"
                )
            }
            let records = file.size / variant.recordSize
            guard records <= maximumRecords - labels.count else {
                throw FileError(
                    path: url.path,
                    problem:
                        "\(records) records make \(labels.count + records) in the \(split.rawValue) split, more than the limit of \(maximumRecords)"
                )
            }
            labels.reserveCapacity(labels.count + records)
            for first in stride(from: 0, to: records, by: chunkRecords) {
                let count = min(chunkRecords, records - first)
                let bytes = try file.read(count * variant.recordSize)
                for index in 0..<count {
                    let label = Int(bytes[index * variant.recordSize + (variant == .cifar100 ? 1 : 0)])
                    guard label < variant.classCount else {
                        throw FileError(
                            path: url.path,
                            problem:
                                "record \(first + index) has label \(label), outside 0..<\(variant.classCount) for \(variant.rawValue)")
                    }
                    labels.append(Int32(label))
                }
            }
            files.append((file, records))
        }
        let records = RecordFiles(files: files, recordSize: variant.recordSize, imageOffset: variant.labelBytes, imageSize: 3072)
        return ImageDataset(
            name: "\(variant.rawValue)/\(split.rawValue)",
            classNames: variant.classNames,
            channels: 3, height: 32, width: 32, records: records, labels: labels)
    }

    private static func resolveFolder(_ directory: URL, variant: Variant) -> URL {
        let first = variant.files(.train)[0]
        for candidate in ["", "cifar-10-batches-bin", "cifar-100-binary"] {
            let folder = candidate.isEmpty ? directory : directory.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(first).path) { return folder }
        }
        return directory
    }

    /// Writes a dataset in the CIFAR binary layout (for tests and for exporting the
    /// synthetic set). Images must be 3×32×32.
    public static func encode(_ dataset: ImageDataset, as variant: Variant) -> [UInt8] {
        precondition(dataset.channels == 3 && dataset.height == 32 && dataset.width == 32, "CIFAR images are 3×32×32")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(dataset.count * variant.recordSize)
        for index in 0..<dataset.count {
            let label = UInt8(dataset.labels[index])
            switch variant {
            case .cifar10: bytes.append(label)
            case .cifar100: bytes += [label / 5, label]  // coarse label is not known here: any value is valid
            case .cifar100Coarse: bytes += [label, 0]
            }
            bytes += dataset.image(index)
        }
        return bytes
    }
}
