import Foundation
import HeedData
import HeedSupport
import XCTest

final class DatasetTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Records written byte by byte in the published layout, not with Heed's encoder.
    private func writeCIFAR10(batches: [[(label: UInt8, fill: UInt8)]], test: [(UInt8, UInt8)]) throws {
        func bytes(_ records: [(UInt8, UInt8)]) -> Data {
            var data: [UInt8] = []
            for (label, fill) in records {
                data.append(label)
                for position in 0..<3072 { data.append(UInt8(truncatingIfNeeded: Int(fill) + position / 1024)) }
            }
            return Data(data)
        }
        for (index, records) in batches.enumerated() {
            try bytes(records).write(to: scratch.appendingPathComponent("data_batch_\(index + 1).bin"))
        }
        try bytes(test).write(to: scratch.appendingPathComponent("test_batch.bin"))
    }

    func testLoadsCIFAR10InTheBinaryLayout() throws {
        let batches: [[(label: UInt8, fill: UInt8)]] = (0..<5).map { (b: Int) in
            [(label: UInt8(b), fill: UInt8(10)), (label: UInt8(9), fill: UInt8(20 + b))]
        }
        try writeCIFAR10(batches: batches, test: [(3, 7)])
        let train = try CIFAR.load(.cifar10, split: .train, from: scratch)
        XCTAssertEqual(train.count, 10)
        XCTAssertEqual(train.labels, [0, 9, 1, 9, 2, 9, 3, 9, 4, 9])
        XCTAssertEqual([train.channels, train.height, train.width], [3, 32, 32])
        // Planar channels: red plane of record 1 is 20, green 21, blue 22.
        XCTAssertEqual(train.image(1).first, 20)
        XCTAssertEqual(train.image(1)[train.image(1).startIndex + 1024], 21)
        XCTAssertEqual(train.image(1).last, 22)
        // Records 8 and 9 are in the fifth file: fill 10, then 20 + 4.
        XCTAssertEqual(Array(train.image(8)), (0..<3072).map { UInt8(10 + $0 / 1024) })
        XCTAssertEqual(Array(train.image(9)), (0..<3072).map { UInt8(24 + $0 / 1024) })
        XCTAssertEqual(train.pixels, (0..<10).flatMap { Array(train.image($0)) })
        let test = try CIFAR.load(.cifar10, split: .test, from: scratch)
        XCTAssertEqual(test.labels, [3])
        XCTAssertEqual(Array(test.image(0)), (0..<3072).map { UInt8(7 + $0 / 1024) })
    }

    /// Images read from CIFAR files on demand batch exactly as the same images held in memory.
    func testCIFARFilesBatchAsTheirImagesInMemory() throws {
        var configuration = SyntheticFineGrained.Configuration()
        configuration.trainCount = 30
        configuration.testCount = 10
        let inMemory = SyntheticFineGrained.make(configuration, seed: 2).train
        try Data(CIFAR.encode(inMemory, as: .cifar100Coarse)).write(to: scratch.appendingPathComponent("train.bin"))
        let fromFile = try CIFAR.load(.cifar100Coarse, split: .train, from: scratch)
        XCTAssertEqual(fromFile.labels, inMemory.labels)
        XCTAssertEqual(fromFile.pixels, inMemory.pixels)
        let normalization = Normalization.measured(on: inMemory)
        XCTAssertEqual(Normalization.measured(on: fromFile), normalization)
        func loader(_ dataset: ImageDataset) -> BatchLoader {
            BatchLoader(
                dataset: dataset, batchSize: 7, shuffle: true, dropLast: false, augmentation: Augmentation(),
                normalization: normalization, seed: 11)
        }
        let expected = Array(loader(inMemory).batches(epoch: 1))
        let batches = Array(loader(fromFile).batches(epoch: 1))
        XCTAssertEqual(batches.count, 5)
        XCTAssertEqual(batches.map(\.labels), expected.map(\.labels))
        XCTAssertEqual(batches.map(\.images), expected.map(\.images))
    }

    func testLoadsCIFAR100FineAndCoarseLabels() throws {
        // Records: coarse label, fine label, pixels.
        let records: [(UInt8, UInt8)] = [(19, 99), (0, 4), (7, 35)]
        let data = Data(records.flatMap { coarse, fine in [coarse, fine] + Array(repeating: 1, count: 3072) })
        try data.write(to: scratch.appendingPathComponent("train.bin"))
        try data.write(to: scratch.appendingPathComponent("test.bin"))
        XCTAssertEqual(try CIFAR.load(.cifar100, split: .train, from: scratch).labels, [99, 4, 35])
        XCTAssertEqual(try CIFAR.load(.cifar100Coarse, split: .test, from: scratch).labels, [19, 0, 7])
        XCTAssertEqual(try CIFAR.load(.cifar100, split: .train, from: scratch).classCount, 100)
    }

    func testBadCIFARFilesAreOneLineErrorsNamingTheFile() throws {
        let batches: [[(label: UInt8, fill: UInt8)]] = Array(repeating: [(label: 1, fill: 1)], count: 5)
        try writeCIFAR10(batches: batches, test: [(1, 1)])
        let damaged = scratch.appendingPathComponent("data_batch_3.bin")
        let good = try Data(contentsOf: damaged)
        try good.prefix(3000).write(to: damaged)
        assertFileError(
            try CIFAR.load(.cifar10, split: .train, from: scratch), damaged.path,
            "truncated or not cifar10: 3000 bytes is not a whole number of 3073-byte records")

        var relabelled = good
        relabelled[0] = 10
        try relabelled.write(to: damaged)
        assertFileError(
            try CIFAR.load(.cifar10, split: .train, from: scratch), damaged.path,
            "record 0 has label 10, outside 0..<10 for cifar10")

        try FileManager.default.removeItem(at: damaged)
        assertFileError(try CIFAR.load(.cifar10, split: .train, from: scratch), damaged.path, "missing cifar10 file")
        let nowhere = scratch.appendingPathComponent("nowhere")
        assertFileError(
            try CIFAR.load(.cifar10, split: .test, from: nowhere), nowhere.path,
            "no such folder (expected the CIFAR binary files there)")
    }

    func testImageFolderReadsClassesInSortedOrder() throws {
        let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/images")
        for (className, files) in [("sparrow", ["gradient.png", "gradient.jpg"]), ("albatross", ["gradient-grey.png"])] {
            let folder = scratch.appendingPathComponent(className)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for file in files {
                try FileManager.default.copyItem(at: images.appendingPathComponent(file), to: folder.appendingPathComponent(file))
            }
        }
        try Data("ignored".utf8).write(to: scratch.appendingPathComponent("sparrow/README.txt"))
        let dataset = try ImageFolder.load(from: scratch, width: 4, height: 3)
        XCTAssertEqual(dataset.classNames, ["albatross", "sparrow"])
        XCTAssertEqual(dataset.labels, [0, 1, 1])
        XCTAssertEqual([dataset.channels, dataset.height, dataset.width], [3, 3, 4])

        // Images are decoded when a batch needs them: a corrupt one is found then, not when the folder is read.
        try Data("broken".utf8).write(to: scratch.appendingPathComponent("sparrow/zz.png"))
        let broken = try ImageFolder.load(from: scratch, width: 4, height: 3)
        XCTAssertEqual(broken.labels, [0, 1, 1, 1])
        let loader = BatchLoader(dataset: broken, batchSize: 4, shuffle: false, dropLast: false, normalization: .cifar, seed: 1)
        assertFileError(
            try loader.checkedBatch(epoch: 0, index: 0),
            scratch.appendingPathComponent("sparrow/zz.png").path, "not a JPEG or PNG file")
        let missing = scratch.appendingPathComponent("missing")
        assertFileError(
            try ImageFolder.load(from: missing, width: 4, height: 3), missing.path,
            "no such folder (expected one sub-folder of images per class)")
    }

    func testSyntheticSetIsReproducibleBalancedAndLabelledByItsDetail() {
        var configuration = SyntheticFineGrained.Configuration()
        configuration.trainCount = 40
        configuration.testCount = 20
        let (train, test) = SyntheticFineGrained.make(configuration, seed: 3)
        let again = SyntheticFineGrained.make(configuration, seed: 3)
        XCTAssertEqual(train.pixels, again.train.pixels)
        XCTAssertNotEqual(train.pixels, SyntheticFineGrained.make(configuration, seed: 4).train.pixels)
        // The splits are drawn independently: image 0 of each (both class 0) differs.
        XCTAssertNotEqual(Array(train.image(0)), Array(test.image(0)))
        XCTAssertEqual(
            Dictionary(grouping: train.labels, by: { $0 }).mapValues(\.count),
            Dictionary(uniqueKeysWithValues: (0..<10).map { (Int32($0), 4) }))
        // Each image contains a detailSize² block of exactly its class colour.
        for index in 0..<train.count {
            let colour = SyntheticFineGrained.detailColour(Int(train.labels[index]), of: 10)
            XCTAssertTrue(containsBlock(train, index, colour, side: configuration.detailSize), "image \(index)")
        }
    }

    private func containsBlock(_ dataset: ImageDataset, _ index: Int, _ colour: [UInt8], side: Int) -> Bool {
        let image = Array(dataset.image(index))
        let (h, w) = (dataset.height, dataset.width)
        func matches(_ x: Int, _ y: Int) -> Bool { (0..<3).allSatisfy { image[$0 * h * w + y * w + x] == colour[$0] } }
        for y0 in 0...(h - side) {
            for x0 in 0...(w - side) {
                if (0..<side).allSatisfy({ dy in (0..<side).allSatisfy { dx in matches(x0 + dx, y0 + dy) } }) { return true }
            }
        }
        return false
    }

    private func assertFileError<T>(
        _ body: @autoclosure () throws -> T, _ path: String, _ problem: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? FileError, FileError(path: path, problem: problem), file: file, line: line)
        }
    }
}
