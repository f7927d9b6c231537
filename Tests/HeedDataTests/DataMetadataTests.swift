import Foundation
import HeedData
import HeedSupport
import XCTest

/// What a checkpoint records of its data (class names, the evaluation transform), and how
/// image files become the network's input: as the test-set loader's, bit for bit.
final class DataMetadataTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-data-metadata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    private func smallSynthetic() -> (train: ImageDataset, test: ImageDataset) {
        var configuration = SyntheticFineGrained.Configuration()
        configuration.trainCount = 20
        configuration.testCount = 7
        configuration.classes = 5
        return SyntheticFineGrained.make(configuration, seed: 3)
    }

    func testClassNamesAndTransformRoundTripExactly() throws {
        let (train, _) = smallSynthetic()
        let transform = InputTransform(height: 32, width: 32, normalization: .measured(on: train))
        let metadata = try DataMetadata.entries(classNames: train.classNames, transform: transform)
        XCTAssertEqual(Set(metadata.keys), ["heed.classes", "heed.input"])
        XCTAssertEqual(try DataMetadata.classNames(in: metadata, classes: 5), ["red", "yellow", "mint", "sky", "magenta"])
        XCTAssertEqual(try DataMetadata.transform(in: metadata), transform)
        XCTAssertEqual(try DataMetadata.normalization(in: metadata), transform.normalization)
    }

    /// Files from before `heed.classes` and `heed.input`: indices for names, and the
    /// separate normalisation keys with the dataset's known size, where it has one.
    func testOlderFilesGiveIndicesAndTheirRecordedNormalisation() throws {
        let legacy = ["dataset": "cifar10", "normalization_mean": "0.5,0.25,0.125", "normalization_std": "0.2,0.3,0.4"]
        XCTAssertEqual(try DataMetadata.classNames(in: legacy, classes: 3), ["class 0", "class 1", "class 2"])
        let normalization = Normalization(mean: [0.5, 0.25, 0.125], std: [0.2, 0.3, 0.4])
        XCTAssertEqual(try DataMetadata.transform(in: legacy), InputTransform(height: 32, width: 32, normalization: normalization))
        var folder = legacy
        folder["dataset"] = "folder"
        XCTAssertNil(try DataMetadata.transform(in: folder))
        XCTAssertEqual(try DataMetadata.normalization(in: folder), normalization)
        XCTAssertNil(try DataMetadata.transform(in: [:]))
        XCTAssertNil(try DataMetadata.normalization(in: [:]))
    }

    func testUnreadableEntriesAreNamed() throws {
        XCTAssertThrowsError(try DataMetadata.classNames(in: ["heed.classes": "[\"a\", \"b\"]"], classes: 3)) {
            XCTAssertEqual("\($0)", "metadata 'heed.classes' is unreadable: 2 names for a network of 3 classes")
        }
        XCTAssertThrowsError(try DataMetadata.transform(in: ["heed.input": #"{"height":32,"width":32,"mean":[0.5],"std":[]}"#])) {
            XCTAssertEqual("\($0)", "metadata 'heed.input' is unreadable: expected {height, width, mean, std}")
        }
    }

    /// A recorded transform no image can go through (a side that is 0, absurd or overflows
    /// once multiplied out, other than 3 channels, a standard deviation that divides by
    /// zero) is an error naming the key, before anything is resized or normalised.
    func testTransformsNoImageCanGoThroughAreErrors() {
        func problem(_ metadata: [String: String]) -> String {
            do {
                return "accepted \(String(describing: try DataMetadata.transform(in: metadata)))"
            } catch {
                return "\(error)"
            }
        }
        func input(_ height: Int, _ width: Int, mean: String = "[0.5,0.5,0.5]", std: String = "[0.2,0.2,0.2]") -> [String: String] {
            ["heed.input": #"{"height":\#(height),"width":\#(width),"mean":\#(mean),"std":\#(std)}"#]
        }
        XCTAssertEqual(problem(input(1, 4096)).prefix(8), "accepted")
        for (height, width) in [(0, 32), (32, -1), (4097, 32), (3_037_000_500, 3_037_000_500)] {
            XCTAssertEqual(
                problem(input(height, width)),
                "metadata 'heed.input' is unreadable: image size \(height)x\(width): each side must be from 1 to 4096")
        }
        XCTAssertEqual(
            problem(input(32, 32, mean: "[0.5]", std: "[0.2]")),
            "metadata 'heed.input' is unreadable: 1 means and standard deviations; images have 3 channels")
        XCTAssertEqual(
            problem(input(32, 32, std: "[0.2,0,0.2]")),
            "metadata 'heed.input' is unreadable: normalisation mean [0.5, 0.5, 0.5] and std [0.2, 0.0, 0.2]: means must be finite, stds finite and above 0"
        )
        let legacy = ["dataset": "cifar10", "normalization_mean": "0.5,0.5,0.5", "normalization_std": "0.2,0.2,0.2"]
        XCTAssertEqual(problem(legacy).prefix(8), "accepted")
        XCTAssertEqual(
            problem(legacy.merging(["normalization_mean": "nan,0.5,0.5"]) { $1 }),
            "metadata 'normalization_mean' is unreadable: normalisation mean [nan, 0.5, 0.5] and std [0.2, 0.2, 0.2]: means must be finite, stds finite and above 0"
        )
        XCTAssertEqual(
            problem(legacy.merging(["normalization_std": "0.2,-inf,0.2"]) { $1 }),
            "metadata 'normalization_mean' is unreadable: normalisation mean [0.5, 0.5, 0.5] and std [0.2, -inf, 0.2]: means must be finite, stds finite and above 0"
        )
        XCTAssertEqual(
            problem(legacy.merging(["normalization_mean": "0.5", "normalization_std": "0.2"]) { $1 }),
            "metadata 'normalization_mean' is unreadable: 1 means and standard deviations; images have 3 channels")
        XCTAssertEqual(
            problem(legacy.merging(["normalization_std": "0.2,x,0.2,0.2"]) { $1 }),
            "metadata 'normalization_mean' is unreadable: '0.5,0.5,0.5' and std '0.2,x,0.2,0.2'")
        XCTAssertThrowsError(try DataMetadata.normalization(in: legacy.merging(["normalization_std": "0,0,0"]) { $1 }))
    }

    /// PNG is lossless: a test image written out and read back becomes the very input the
    /// test-set loader gives the network.
    func testImageFilesNormaliseAsTheTestLoaderDoes() throws {
        let (train, test) = smallSynthetic()
        let loader = BatchLoader(
            dataset: test, batchSize: test.count, shuffle: false, dropLast: false, normalization: .measured(on: train), seed: 1)
        let transform = InputTransform(of: loader)
        let batch = loader.batch(epoch: 0, index: 0)
        for index in 0..<test.count {
            let url = scratch.appendingPathComponent("\(index).png")
            try RGBImage(planar: Array(test.image(index)), width: 32, height: 32).writePNG(to: url)
            let input = transform.input(for: try RGBImage.read(from: url))
            XCTAssertEqual(input, Array(batch.images[index * 3 * 32 * 32..<(index + 1) * 3 * 32 * 32]), "image \(index)")
        }
        // Another size is resized to the training size first.
        let large = RGBImage(planar: Array(test.image(0)), width: 32, height: 32).resized(width: 64, height: 48)
        XCTAssertEqual(transform.input(for: large).count, 3 * 32 * 32)
    }

    func testImageFilesAreFoundRecursivelyInSortedOrder() throws {
        let image = RGBImage(width: 2, height: 2, pixels: Array(repeating: 9, count: 12))
        for name in ["b/2.png", "b/10.PNG", "a.jpg", "c/d/e.jpeg", ".hidden/x.png", "b/._mac.png"] {
            try image.writePNG(to: scratch.appendingPathComponent(name))
        }
        try Data("notes".utf8).write(to: scratch.appendingPathComponent("b/notes.txt"))
        let root = scratch.path
        XCTAssertEqual(
            try ImageFiles.collect([root, "\(root)/b/notes.txt"]),
            ["a.jpg", "b/10.PNG", "b/2.png", "c/d/e.jpeg", "b/notes.txt"].map { "\(root)/\($0)" })

        let empty = scratch.appendingPathComponent("c/d/empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFiles.collect([empty.path])) {
            XCTAssertEqual(
                $0 as? FileError, FileError(path: empty.path, problem: "no .jpg, .jpeg or .png files in this folder or below it"))
        }
        XCTAssertThrowsError(try ImageFiles.collect(["\(root)/absent.png"])) {
            XCTAssertEqual($0 as? FileError, FileError(path: "\(root)/absent.png", problem: "no such file or folder"))
        }
    }

    func testDatasetsNameTheirClasses() {
        XCTAssertEqual(
            SyntheticFineGrained.classNames(10), ["red", "orange", "yellow", "green", "mint", "cyan", "sky", "blue", "magenta", "pink"])
        for classes in 2...12 { XCTAssertEqual(Set(SyntheticFineGrained.classNames(classes)).count, classes, "\(classes) classes") }
        XCTAssertEqual(SyntheticFineGrained.classNames(13).last, "class 12")
        XCTAssertEqual(CIFAR.Variant.cifar10.classNames.first, "airplane")
        for variant in CIFAR.Variant.allCases { XCTAssertEqual(variant.classNames.count, variant.classCount, "\(variant)") }
        XCTAssertEqual(CIFAR.Variant.cifar100.classNames[99], "worm")
        XCTAssertEqual(CIFAR.Variant.cifar100Coarse.classNames[19], "vehicles_2")
    }
}
