import Foundation
import HeedOps
import HeedSupport
import XCTest

@testable import HeedData

/// Photos decoded while batches are made: worker counts, bad images, CUB-200's list
/// files and the held-out split, on crafted folders of small PNGs.
final class PhotoDatasetTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-photos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// `count` noisy photos of odd sizes per class under `root/<class>/`.
    private func makeFolder(_ root: URL, classes: [String], count: Int, seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        for name in classes {
            for index in 0..<count {
                let (width, height) = (Int.random(in: 11...29, using: &random), Int.random(in: 9...23, using: &random))
                let pixels = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &random) }
                try RGBImage(width: width, height: height, pixels: pixels)
                    .writePNG(to: root.appendingPathComponent(name).appendingPathComponent("\(index).png"))
            }
        }
    }

    private func loader(_ dataset: ImageDataset, workers: Int, prefetch: Int, skip: Bool = false) -> BatchLoader {
        BatchLoader(
            dataset: dataset, batchSize: 5, shuffle: true, dropLast: true, normalization: .cifar, seed: 9, workers: workers,
            prefetch: prefetch, skipBadImages: skip)
    }

    /// Each image's crop and flip come from its own generator (seed, epoch, image): any
    /// number of workers and any prefetch depth give the batches of the calling-thread path.
    func testBatchesDoNotDependOnWorkersOrPrefetch() throws {
        try makeFolder(scratch, classes: ["a", "b", "c"], count: 6, seed: 1)
        let dataset = try ImageFolder.dataset(from: scratch, transform: .randomResizedCrop(size: 8))
        XCTAssertEqual([dataset.count, dataset.width, dataset.height], [18, 8, 8])
        let serial = loader(dataset, workers: 1, prefetch: 1)
        let expected = try (0..<serial.batchCount).map { try serial.checkedBatch(epoch: 2, index: $0) }
        XCTAssertEqual(expected.count, 3)
        for (workers, prefetch) in [(1, 1), (3, 1), (4, 3), (7, 2)] {
            let batches = try Array(loader(dataset, workers: workers, prefetch: prefetch).checkedBatches(epoch: 2)).map { try $0.get() }
            XCTAssertEqual(batches.map(\.images), expected.map(\.images), "\(workers) workers, \(prefetch) ahead")
            XCTAssertEqual(batches.map(\.labels), expected.map(\.labels))
        }
        let nextEpoch = try serial.checkedBatch(epoch: 3, index: 0)
        XCTAssertNotEqual(nextEpoch.images, expected[0].images, "another epoch, other crops")
        let resumed = try Array(loader(dataset, workers: 2, prefetch: 2).checkedBatches(epoch: 2, startingAt: 1)).map { try $0.get() }
        XCTAssertEqual(resumed.map(\.images), Array(expected.dropFirst()).map(\.images))
    }

    /// A photo that cannot be decoded is its batch's error naming the file; with
    /// `skipBadImages` it is left out and counted, the other images kept.
    func testABadPhotoIsAnErrorNamingItOrIsSkippedAndCounted() throws {
        try makeFolder(scratch, classes: ["a", "b"], count: 5, seed: 2)
        let bad = scratch.appendingPathComponent("b/3.png")
        try Data("not a picture".utf8).write(to: bad)
        let dataset = try ImageFolder.dataset(from: scratch, transform: .resizeCentreCrop(resize: 9, size: 8))
        let stopping = BatchLoader(
            dataset: dataset, batchSize: 5, shuffle: false, dropLast: false, normalization: .cifar, seed: 1, workers: 3)
        let results = Array(stopping.checkedBatches(epoch: 0))
        XCTAssertNoThrow(try results[0].get())
        XCTAssertThrowsError(try results[1].get()) { error in
            XCTAssertEqual(error as? FileError, FileError(path: bad.path, problem: "not a JPEG or PNG file"))
        }
        let skipping = BatchLoader(
            dataset: dataset, batchSize: 5, shuffle: false, dropLast: false, normalization: .cifar, seed: 1, workers: 3, skipBadImages: true
        )
        let batches = Array(skipping.batches(epoch: 0))
        XCTAssertEqual(batches.map(\.count), [5, 4])
        XCTAssertEqual(batches.flatMap(\.labels), [0, 0, 0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(skipping.skippedImages.count, 1)
        XCTAssertEqual(skipping.skippedImages.files, [bad.path])
    }

    /// CUB-200's list files: ids in any order, classes from classes.txt, the split from
    /// train_test_split.txt; bad lists are errors naming the file.
    func testCUBListFilesGiveClassesAndSplits() throws {
        let images = scratch.appendingPathComponent("images")
        try makeFolder(images, classes: ["001.Albatross", "002.Auklet"], count: 3, seed: 3)
        func write(_ name: String, _ lines: [String]) throws {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: scratch.appendingPathComponent(name))
        }
        let paths = [
            "001.Albatross/0.png", "001.Albatross/1.png", "001.Albatross/2.png", "002.Auklet/0.png", "002.Auklet/1.png", "002.Auklet/2.png",
        ]
        try write("images.txt", paths.enumerated().map { "\($0.offset + 1) \($0.element)" }.reversed())
        try write("image_class_labels.txt", ["1 1", "2 1", "3 1", "4 2", "5 2", "6 2"])
        try write("train_test_split.txt", ["1 1", "2 0", "3 1", "4 1", "5 1", "6 0"])
        XCTAssertTrue(CUBLists.holdsLists(scratch))
        var (classNames, train, test) = try CUBLists.scan(scratch)
        XCTAssertEqual(classNames, ["001.Albatross", "002.Auklet"], "named after their folders without classes.txt")
        XCTAssertEqual(train.files.map(\.lastPathComponent), ["0.png", "2.png", "0.png", "1.png"])
        XCTAssertEqual(train.labels, [0, 0, 1, 1])
        XCTAssertEqual(
            test.files.map { $0.deletingLastPathComponent().lastPathComponent + "/" + $0.lastPathComponent }, [paths[1], paths[5]])
        XCTAssertEqual(test.labels, [0, 1])

        try write("classes.txt", ["1 Black_footed_Albatross", "2 Least_Auklet"])
        (classNames, train, test) = try CUBLists.scan(scratch)
        XCTAssertEqual(classNames, ["Black_footed_Albatross", "Least_Auklet"])

        let labelsFile = scratch.appendingPathComponent("image_class_labels.txt").path
        try write("image_class_labels.txt", ["1 1", "2 1", "3 1", "4 2", "5 2"])
        XCTAssertThrowsError(try CUBLists.scan(scratch)) { error in
            XCTAssertEqual(error as? FileError, FileError(path: labelsFile, problem: "no class for image 6"))
        }
        try write("image_class_labels.txt", ["1 1", "2 1", "3 1", "4 2", "5 2", "6"])
        XCTAssertThrowsError(try CUBLists.scan(scratch)) { error in
            XCTAssertEqual(error as? FileError, FileError(path: labelsFile, problem: "line 6: expected '<id> <value>'"))
        }
        try write("image_class_labels.txt", ["1 1", "2 1", "3 1", "4 2", "5 2", "6 3"])
        XCTAssertThrowsError(try CUBLists.scan(scratch)) { error in
            XCTAssertEqual(
                error as? FileError,
                FileError(path: scratch.appendingPathComponent("classes.txt").path, problem: "does not name classes 1...3"))
        }
        try write("image_class_labels.txt", ["1 1", "2 1", "3 1", "4 2", "5 2", "6 2"])
        try FileManager.default.removeItem(at: images.appendingPathComponent("002.Auklet/2.png"))
        XCTAssertThrowsError(try CUBLists.scan(scratch)) { error in
            XCTAssertEqual((error as? FileError)?.path, images.appendingPathComponent("002.Auklet/2.png").path)
        }
        try FileManager.default.removeItem(at: scratch.appendingPathComponent("train_test_split.txt"))
        XCTAssertThrowsError(try CUBLists.scan(scratch)) { error in
            XCTAssertEqual((error as? FileError)?.path, scratch.appendingPathComponent("train_test_split.txt").path)
        }
    }

    /// The held-out part: the fraction of each class (rounded, at least one image kept
    /// for training), disjoint from the rest, the same on every call.
    func testValidationSplitIsStratifiedDisjointAndFixed() {
        let labels: [Int32] = Array(repeating: 0, count: 10) + Array(repeating: 1, count: 20) + [2] + Array(repeating: 3, count: 3)
        let (train, heldOut) = ValidationSplit.split(labels: labels, fraction: 0.3)
        XCTAssertEqual(Set(train).union(heldOut), Set(labels.indices))
        XCTAssertTrue(Set(train).isDisjoint(with: heldOut))
        XCTAssertEqual(train, train.sorted())
        let heldPerClass = (0...3).map { label in heldOut.filter { labels[$0] == Int32(label) }.count }
        XCTAssertEqual(heldPerClass, [3, 6, 0, 1], "30% of 10, 20, 1 (kept for training), 3 (0.9 rounds to 1)")
        XCTAssertEqual(ValidationSplit.split(labels: labels, fraction: 0.3).heldOut, heldOut)
        XCTAssertNotEqual(heldOut.filter { labels[$0] == 1 }, Array(10..<16), "chosen by a shuffle, not the first images")
    }

    /// `heed predict`'s transform of a model trained on photos (recorded with its weights)
    /// prepares a photo bit for bit as the test loader did: shorter side resized, centre crop.
    func testPredictionInputIsTheTestLoadersImage() throws {
        try makeFolder(scratch, classes: ["a"], count: 2, seed: 5)
        let dataset = try ImageFolder.dataset(from: scratch, transform: .resizeCentreCrop(resize: 10, size: 8))
        let loader = BatchLoader(dataset: dataset, batchSize: 2, shuffle: false, dropLast: false, normalization: .cifar, seed: 1)
        let transform = InputTransform(of: loader)
        XCTAssertEqual(transform.resize, 10)
        let batch = try loader.checkedBatch(epoch: 0, index: 0)
        let photo = try RGBImage.read(from: try XCTUnwrap(dataset.files)[1])
        XCTAssertEqual(transform.input(for: photo), Array(batch.images[(3 * 8 * 8)...]))
        XCTAssertEqual(try JSONDecoder().decode(InputTransform.self, from: JSONEncoder().encode(transform)), transform)
    }

    /// Measuring the normalisation of a large set of photos decodes a bounded sample of it.
    func testMeasuringPhotosDecodesABoundedSample() throws {
        try makeFolder(scratch, classes: ["a"], count: 3, seed: 4)
        let (classNames, files, labels) = try ImageFolder.scan(scratch)
        // Many entries, two in three of them a white photo that only decoding every entry would measure.
        let white = scratch.appendingPathComponent("white.png")
        try RGBImage(width: 7, height: 5, pixels: Array(repeating: 255, count: 7 * 5 * 3)).writePNG(to: white)
        var many = Array(repeating: white, count: 3 * Normalization.measuredPhotos)
        for k in 0..<Normalization.measuredPhotos { many[k * many.count / Normalization.measuredPhotos] = files[k % 3] }
        let dataset = ImageDataset(
            name: "many", classNames: classNames, files: many, labels: Array(repeating: labels[0], count: many.count),
            transform: .resize(width: 6, height: 5))
        let measured = Normalization.measured(on: dataset)
        XCTAssertEqual(measured.mean.count, 3)
        XCTAssert(measured.mean.allSatisfy { (0.3...0.7).contains($0) }, "noise averages about 0.5 (all entries: 0.83): \(measured.mean)")
    }
}
