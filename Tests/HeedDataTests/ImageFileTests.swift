import Foundation
import HeedData
import HeedSupport
import XCTest

final class ImageFileTests: XCTestCase {
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/images")

    /// The generator's formula: pixel (x, y) = (30x, 40y, 200 − 20x).
    private func expected(_ x: Int, _ y: Int) -> [Int] { [30 * x, 40 * y, 200 - 20 * x] }

    func testDecodesPNGExactly() throws {
        let image = try RGBImage.read(from: fixtures.appendingPathComponent("gradient.png"))
        XCTAssertEqual(image.width, 8)
        XCTAssertEqual(image.height, 6)
        for y in 0..<6 {
            for x in 0..<8 {
                XCTAssertEqual(image.pixels[(y * 8 + x) * 3..<(y * 8 + x) * 3 + 3].map(Int.init), expected(x, y), "(\(x), \(y))")
            }
        }
    }

    func testDecodesJPEGWithinItsLoss() throws {
        let image = try RGBImage.read(from: fixtures.appendingPathComponent("gradient.jpg"))
        XCTAssertEqual([image.width, image.height], [8, 6])
        // Quality 100 without chroma subsampling: the colour conversion and DCT
        // quantisation leave a few levels of error on such a smooth image.
        for y in 0..<6 {
            for x in 0..<8 {
                for c in 0..<3 {
                    XCTAssertEqual(Int(image.pixels[(y * 8 + x) * 3 + c]), expected(x, y)[c], accuracy: 6, "(\(x), \(y)) channel \(c)")
                }
            }
        }
    }

    func testAlphaIsDroppedNotCompositedOntoUninitialisedMemory() throws {
        let image = try RGBImage.read(from: fixtures.appendingPathComponent("gradient-alpha.png"))
        for y in 0..<6 {
            for x in 0..<8 {
                XCTAssertEqual(image.pixels[(y * 8 + x) * 3..<(y * 8 + x) * 3 + 3].map(Int.init), expected(x, y), "(\(x), \(y))")
            }
        }
    }

    func testGreyImagesBecomeRGB() throws {
        let image = try RGBImage.read(from: fixtures.appendingPathComponent("gradient-grey.png"))
        XCTAssertEqual(image.pixels.count, 8 * 6 * 3)
        XCTAssertEqual(image.pixels[0], image.pixels[1])
        XCTAssertEqual(image.pixels[1], image.pixels[2])
    }

    func testPNGWriteReadRoundTrip() throws {
        var random = SystemRandomNumberGenerator()
        let original = RGBImage(width: 13, height: 7, pixels: (0..<(13 * 7 * 3)).map { _ in UInt8.random(in: 0...255, using: &random) })
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("heed-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try original.writePNG(to: url)
        XCTAssertEqual(try RGBImage.read(from: url), original)
    }

    func testUnreadableImagesNameTheFileAndTheProblem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("notes.jpg")
        try Data("hello".utf8).write(to: text)
        let good = try Data(contentsOf: fixtures.appendingPathComponent("gradient.jpg"))
        let truncatedJPEG = folder.appendingPathComponent("cut.jpg")
        try good.prefix(good.count / 2).write(to: truncatedJPEG)
        let png = try Data(contentsOf: fixtures.appendingPathComponent("gradient.png"))
        let truncatedPNG = folder.appendingPathComponent("cut.png")
        try png.prefix(40).write(to: truncatedPNG)

        for (url, problem) in [
            (text, "not a JPEG or PNG file"), (truncatedJPEG, "corrupt JPEG"),
            (truncatedPNG, "corrupt PNG"), (folder.appendingPathComponent("missing.png"), "cannot open"),
        ] {
            XCTAssertThrowsError(try RGBImage.read(from: url), url.lastPathComponent) { error in
                let error = error as? FileError
                XCTAssertEqual(error?.path, url.path)
                XCTAssertTrue(error?.problem.hasPrefix(problem) ?? false, "\(String(describing: error))")
            }
        }
    }

    func testResizeKeepsFlatColoursAndShrinksByBoxAverage() {
        let flat = RGBImage(width: 5, height: 3, pixels: Array(repeating: 77, count: 45))
        XCTAssertEqual(flat.resized(width: 11, height: 7).pixels, Array(repeating: 77, count: 11 * 7 * 3))
        // 4×1 → 1×1 is a 4× shrink: the average of the four pixels.
        let row = RGBImage(width: 4, height: 1, pixels: [0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100])
        XCTAssertEqual(row.resized(width: 1, height: 1).pixels, [100, 100, 100])
        // Planar layout: all reds, then greens, then blues.
        let two = RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(two.planar, [1, 4, 2, 5, 3, 6])
    }
}
