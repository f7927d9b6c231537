import Foundation
import HeedSupport

/// Images stored as fixed-size records in regular files (CIFAR's binary layout),
/// read one at a time at their offset, so a dataset of any size costs memory for the
/// images of a batch, not for the files.
///
/// The files stay open from loading on: the record counts were checked against their
/// sizes then, and each read is one `pread`, safe from the loader's background thread.
final class RecordFiles: Sendable {
    /// Each file with the number of records it holds, in dataset order.
    let files: [(file: RegularFile, records: Int)]
    let recordSize: Int
    /// Where a record's image starts (after its label bytes), and its length.
    let imageOffset: Int
    let imageSize: Int
    /// The index of each file's first record: `firstRecords[i] = files[0..<i].records.sum`.
    private let firstRecords: [Int]

    init(files: [(file: RegularFile, records: Int)], recordSize: Int, imageOffset: Int, imageSize: Int) {
        precondition(imageOffset + imageSize <= recordSize, "the image lies outside its \(recordSize)-byte record")
        self.files = files
        self.recordSize = recordSize
        self.imageOffset = imageOffset
        self.imageSize = imageSize
        firstRecords = files.reduce(into: [0]) { $0.append($0.last! + $1.records) }.dropLast()
    }

    var count: Int { files.reduce(0) { $0 + $1.records } }

    /// The image bytes of record `index` (counting across the files).
    ///
    /// - Throws: `FileError` naming the file when it has shrunk or cannot be read.
    func image(_ index: Int) throws -> [UInt8] {
        // The last file whose first record is at or before `index`; a handful of files, so a linear search.
        let fileIndex = firstRecords.lastIndex { $0 <= index }!
        let record = index - firstRecords[fileIndex]
        return try files[fileIndex].file.read(imageSize, at: record * recordSize + imageOffset)
    }
}
