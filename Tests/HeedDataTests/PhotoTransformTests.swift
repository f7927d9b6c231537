import Foundation
import HeedOps
import XCTest

@testable import HeedData

/// RandomResizedCrop and Resize + CenterCrop against torchvision on PIL images
/// (Tests/Fixtures/images/crops.json from generate_crops.py).
final class PhotoTransformTests: XCTestCase {
    private struct Fixture: Decodable {
        struct Geometry: Decodable {
            var width: Int
            var height: Int
            var scale: [Double]
            var ratio: [Double]
            var uniforms: [Float]
            var integers: [Int]
            var crop: [Int]
        }
        struct Image: Decodable {
            var width: Int
            var height: Int
            var pixels: String
        }
        struct CropCase: Decodable {
            var image: Int
            var crop: [Int]
            var size: Int
            var output: String
        }
        struct EvaluationCase: Decodable {
            var image: Int
            var resize: Int
            var size: Int
            var output: String
        }
        var geometry: [Geometry]
        var images: [Image]
        var crops: [CropCase]
        var evaluations: [EvaluationCase]
    }

    /// Replays the draws torchvision made, in order; running out or drawing the wrong kind fails.
    private struct RecordedDraws: CropDraws {
        var uniforms: [Float]
        var integers: [Int]

        mutating func uniform(_ lower: Float, _ upper: Float) -> Float {
            guard !uniforms.isEmpty else {
                XCTFail("more uniform draws than torchvision made")
                return lower
            }
            let value = uniforms.removeFirst()
            XCTAssert(lower <= value && value < upper, "recorded draw \(value) outside \(lower)..<\(upper)")
            return value
        }

        mutating func integer(below upper: Int) -> Int {
            guard !integers.isEmpty else {
                XCTFail("more integer draws than torchvision made")
                return 0
            }
            let value = integers.removeFirst()
            XCTAssert((0..<upper).contains(value), "recorded draw \(value) outside 0..<\(upper)")
            return value
        }
    }

    private func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/images/crops.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    private func bytes(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64)!) }

    /// Same draws, same crop: the formula, the rounding and the centre-crop fallback
    /// (the fixture has cases where all ten attempts miss), with every draw consumed.
    func testCropGeometryMatchesTorchvisionForTheSameDraws() throws {
        let cases = try fixture().geometry
        XCTAssertGreaterThan(cases.filter { $0.uniforms.count == 20 }.count, 0, "the fixture exercises the fallback")
        for item in cases {
            var draws = RecordedDraws(uniforms: item.uniforms, integers: item.integers)
            let crop = PhotoTransform.randomResizedCropParameters(
                width: item.width, height: item.height, scale: item.scale[0]...item.scale[1], ratio: item.ratio[0]...item.ratio[1],
                draws: &draws)
            XCTAssertEqual(
                [crop.top, crop.left, crop.height, crop.width], item.crop, "\(item.width)x\(item.height) \(item.scale) \(item.ratio)")
            XCTAssertTrue(draws.uniforms.isEmpty && draws.integers.isEmpty, "every draw torchvision made is used")
        }
    }

    /// Pillow's fixed-point filter reproduced: the bytes are equal (tolerance 0 levels of
    /// 255), shrinking (antialiased) and enlarging alike.
    func testResizedCropPixelsMatchTorchvision() throws {
        let fixture = try fixture()
        for item in fixture.crops {
            let source = fixture.images[item.image]
            let image = RGBImage(width: source.width, height: source.height, pixels: bytes(source.pixels))
            let output = image.cropped(x: item.crop[1], y: item.crop[0], width: item.crop[3], height: item.crop[2])
                .pillowBilinear(width: item.size, height: item.size)
            assertEqualPixels(output.pixels, bytes(item.output), "crop \(item.crop) to \(item.size)")
        }
    }

    func testResizeAndCentreCropPixelsMatchTorchvision() throws {
        let fixture = try fixture()
        var unused = SeededGenerator(seed: 0)
        for item in fixture.evaluations {
            let source = fixture.images[item.image]
            let image = RGBImage(width: source.width, height: source.height, pixels: bytes(source.pixels))
            let output = PhotoTransform.resizeCentreCrop(resize: item.resize, size: item.size).apply(to: image, random: &unused)
            XCTAssertEqual([output.width, output.height], [item.size, item.size])
            assertEqualPixels(output.pixels, bytes(item.output), "resize \(item.resize), crop \(item.size)")
        }
        XCTAssertEqual(unused, SeededGenerator(seed: 0), "evaluation draws nothing")
    }

    /// torchvision's Resize and CenterCrop rounding: `int(size · long / short)` and
    /// Python's round half to even of the margin.
    func testResizeAndCentreCropGeometry() {
        XCTAssertEqual(PhotoTransform.shorterSideResized(width: 500, height: 375, to: 256).width, 341)
        XCTAssertEqual(PhotoTransform.shorterSideResized(width: 375, height: 500, to: 256).height, 341)
        XCTAssertEqual(PhotoTransform.centreCrop(width: 257, height: 259, size: 224).left, 16, "16.5 rounds to 16")
        XCTAssertEqual(PhotoTransform.centreCrop(width: 257, height: 259, size: 224).top, 18, "17.5 rounds to 18")
        XCTAssertEqual(PhotoTransform.defaultResize(for: 224), 256)
        XCTAssertEqual(PhotoTransform.defaultResize(for: 112), 128)
    }

    /// The training transform: same generator state, same image; the output is the crop's
    /// size; the generator advances, so the next image gets other draws.
    func testRandomResizedCropIsAFunctionOfTheGenerator() throws {
        let fixture = try fixture()
        let source = fixture.images[0]
        let image = RGBImage(width: source.width, height: source.height, pixels: bytes(source.pixels))
        let transform = PhotoTransform.randomResizedCrop(size: 24)
        var first = SeededGenerator(seed: 7)
        var second = SeededGenerator(seed: 7)
        let a = transform.apply(to: image, random: &first)
        XCTAssertEqual(a, transform.apply(to: image, random: &second))
        XCTAssertEqual([a.width, a.height], [24, 24])
        let outputs = Set(
            (0..<20).map { seed -> [UInt8] in
                var random = SeededGenerator(seed: UInt64(seed))
                return transform.apply(to: image, random: &random).pixels
            })
        XCTAssertGreaterThan(outputs.count, 15, "different draws give different crops")
    }

    private func assertEqualPixels(_ actual: [UInt8], _ expected: [UInt8], _ message: String, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, message, line: line)
        let differing = zip(actual, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        XCTAssertTrue(
            differing.isEmpty,
            "\(message): \(differing.count) of \(expected.count) bytes differ, first at \(differing.first.map { "\($0.offset): \($0.element)" } ?? "")",
            line: line)
    }
}
