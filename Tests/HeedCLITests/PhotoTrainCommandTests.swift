import Foundation
import HeedData
import HeedGraph
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

/// `heed train` on folders of photos: train/ and test/ folders, CUB-200's list files with
/// `--val-split`, and a photo that fails to decode mid-epoch (stop, or `--skip-bad-images`).
final class PhotoTrainCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        _ = try TestDevices.requireOpenCL()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-photo-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// `count` noisy PNGs of odd sizes in `folder`, tinted by `tint` so the classes differ.
    private func writePhotos(_ folder: URL, count: Int, tint: UInt8, seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        for index in 0..<count {
            let (width, height) = (Int.random(in: 19...31, using: &random), Int.random(in: 17...27, using: &random))
            let pixels = (0..<(width * height * 3)).map { i in i % 3 == 0 ? tint : UInt8.random(in: 0...255, using: &random) }
            try RGBImage(width: width, height: height, pixels: pixels).writePNG(to: folder.appendingPathComponent("\(index).png"))
        }
    }

    private func makeTrainTestFolders() throws -> URL {
        let root = scratch.appendingPathComponent("photos")
        for (index, name) in ["cat", "dog"].enumerated() {
            try writePhotos(root.appendingPathComponent("train/\(name)"), count: 8, tint: UInt8(60 + 120 * index), seed: UInt64(index))
            try writePhotos(root.appendingPathComponent("test/\(name)"), count: 2, tint: UInt8(60 + 120 * index), seed: UInt64(10 + index))
        }
        return root
    }

    private let small = [
        "train", "--dataset", "folder", "--image-size", "16", "--batch-size", "4", "--epochs", "1", "--quiet", "--workers", "3",
    ]

    func testTrainsOnTrainAndTestFoldersOfPhotos() throws {
        let root = try makeTrainTestFolders()
        let output = scratch.appendingPathComponent("run")
        let result = try runHeed(small + ["--data-dir", root.path, "--output", output.path])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(
            result.standardOutput.contains("data: folder/train 16 images, folder/test 4 images, 2 classes, 3×16×16"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("done: 1 epochs, 4 steps"), result.standardOutput)
        // The evaluation transform is recorded with the weights, so `heed predict` prepares photos as the test loader did.
        let weights = try SafeTensors.read(from: output.appendingPathComponent("model.safetensors"))
        let transform = try XCTUnwrap(weights.metadata[DataMetadata.inputKey], "\(weights.metadata)")
        XCTAssertTrue(transform.contains("\"resize\":18"), transform)
        // The run's curves, and `heed plot` drawing them again from its metrics.
        let curves = try RGBImage.read(from: output.appendingPathComponent("curves.png"))
        XCTAssertEqual([curves.width, curves.height], [800, 280])
        let again = scratch.appendingPathComponent("again.png")
        let plot = try runHeed(["plot", output.appendingPathComponent("metrics.jsonl").path, "--out", again.path])
        XCTAssertEqual(plot.status, 0, plot.standardError)
        XCTAssertEqual(try RGBImage.read(from: again), curves)
        let empty = scratch.appendingPathComponent("empty.jsonl")
        try Data().write(to: empty)
        let refused = try runHeed(["plot", empty.path, "--out", again.path])
        XCTAssertEqual(refused.standardError, "Error: \(empty.path): holds no epoch\n")
    }

    /// A photo that fails to decode mid-epoch: one line naming it, a non-zero exit, no
    /// weights and no half-written checkpoint; with --skip-bad-images the run finishes and
    /// prints how many images it left out.
    func testABadPhotoMidEpochStopsTheRunOrIsSkipped() throws {
        let root = try makeTrainTestFolders()
        let bad = root.appendingPathComponent("train/dog/5.png")
        try Data("not a picture".utf8).write(to: bad)
        let output = scratch.appendingPathComponent("stopped")
        let stopped = try runHeed(small + ["--data-dir", root.path, "--output", output.path, "--checkpoint-every", "1"])
        XCTAssertNotEqual(stopped.status, 0)
        XCTAssertEqual(
            stopped.standardError,
            "Error: \(bad.path): not a JPEG or PNG file (an image that cannot be decoded stops the run; --skip-bad-images skips it)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.appendingPathComponent("model.safetensors").path))
        let left = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        XCTAssertFalse(left.contains { $0.contains(".tmp") }, "no temporary file left: \(left)")
        if left.contains("checkpoint.safetensors") {
            XCTAssertNoThrow(
                try SafeTensors.read(from: output.appendingPathComponent("checkpoint.safetensors")), "a checkpoint left is whole")
        }

        let skipping = try runHeed(
            small + ["--data-dir", root.path, "--output", scratch.appendingPathComponent("skipped").path, "--skip-bad-images"])
        XCTAssertEqual(skipping.status, 0, skipping.standardError)
        XCTAssertTrue(
            skipping.standardOutput.contains("skipped 1 images that failed to decode (1 files): \(bad.path)"), skipping.standardOutput)
    }

    /// CUB-200's list files, with a quarter of each class of the training split held out.
    func testTrainsOnCUBListFilesWithAHeldOutSplit() throws {
        let root = scratch.appendingPathComponent("CUB_200_2011")
        var images: [String] = []
        var labels: [String] = []
        var splits: [String] = []
        for (index, name) in ["001.Albatross", "002.Auklet"].enumerated() {
            try writePhotos(
                root.appendingPathComponent("images/\(name)"), count: 8, tint: UInt8(60 + 120 * index), seed: UInt64(20 + index))
            for image in 0..<8 {
                let id = images.count + 1
                images.append("\(id) \(name)/\(image).png")
                labels.append("\(id) \(index + 1)")
                splits.append("\(id) \(image < 6 ? 1 : 0)")
            }
        }
        for (file, lines) in [("images.txt", images), ("image_class_labels.txt", labels), ("train_test_split.txt", splits)] {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: root.appendingPathComponent(file))
        }
        let result = try runHeed(
            small + [
                "--data-dir", root.path, "--output", scratch.appendingPathComponent("cub").path, "--val-split", "0.25", "--resize", "20",
            ])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(
            result.standardOutput.contains("data: cub/train 8 images, cub/val 4 images, 2 classes, 3×16×16"), result.standardOutput)
        let refused = try runHeed(small + ["--data-dir", root.path, "--val-split", "1"])
        XCTAssertEqual(refused.standardError, "Error: --val-split must be a fraction in 0..<1, not 1.0\n")
    }
}
