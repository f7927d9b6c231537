import Foundation
import HeedData
import XCTest

@testable import HeedVisualization

final class AttentionMapRendererTests: XCTestCase {
    private func grey(width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height, pixels: [UInt8](repeating: 128, count: width * height * 3))
    }

    /// `opacity·colour + (1 − opacity)·128`, the overlay of `colour` on mid grey, as floats.
    private func onGrey(_ colour: Colour, opacity: Float = 0.55) -> [Float] {
        [colour.red, colour.green, colour.blue].map { opacity * Float($0) + (1 - opacity) * 128 }
    }

    private func distance(_ image: RGBImage, _ x: Int, _ y: Int, to target: [Float]) -> Float {
        (0..<3).map { c in pow(Float(image.pixels[(y * image.width + x) * 3 + c]) - target[c], 2) }.reduce(0, +).squareRoot()
    }

    func testMaskHotInOneQuadrantColoursThatQuadrantHot() {
        // 4×4 mask, hot in its top-left 2×2, over a 16×16 image: each quadrant is 8×8.
        let mask: [Float] = [
            5, 5, 1, 1,
            5, 5, 1, 1,
            1, 1, 1, 1,
            1, 1, 1, 1,
        ]
        let image = AttentionMapRenderer.overlay(image: grey(width: 16, height: 16), mask: mask, maskWidth: 4, maskHeight: 4)
        let hot = onGrey(ColorMap.viridis.colour(at: 1))
        let cold = onGrey(ColorMap.viridis.colour(at: 0))
        func meanDistanceToHot(_ qx: Int, _ qy: Int) -> Float {
            (0..<64).map { distance(image, qx * 8 + $0 % 8, qy * 8 + $0 / 8, to: hot) }.reduce(0, +) / 64
        }
        for y in 0..<8 {
            for x in 0..<8 {
                // Bilinear upsampling blends the quadrant's last row and column with the cold side.
                if x < 7 && y < 7 {
                    XCTAssertLessThan(distance(image, x, y, to: hot), distance(image, x, y, to: cold), "hot quadrant (\(x), \(y))")
                }
                XCTAssertLessThan(
                    distance(image, 8 + x, 8 + y, to: cold), distance(image, 8 + x, 8 + y, to: hot),
                    "opposite quadrant (\(8 + x), \(8 + y))")
            }
        }
        XCTAssertLessThan(meanDistanceToHot(0, 0), meanDistanceToHot(1, 0))
        XCTAssertLessThan(meanDistanceToHot(0, 0), meanDistanceToHot(0, 1))
        XCTAssertLessThan(meanDistanceToHot(0, 0), meanDistanceToHot(1, 1))
        XCTAssertEqual(distance(image, 0, 0, to: hot), 0, accuracy: 1, "the corner is fully hot")
    }

    func testConstantMaskMapsToTheColdEndAndZeroOpacityKeepsTheImage() {
        let image = grey(width: 6, height: 4)
        let constant = AttentionMapRenderer.overlay(image: image, mask: [Float](repeating: 0.3, count: 6), maskWidth: 3, maskHeight: 2)
        let cold = onGrey(ColorMap.viridis.colour(at: 0)).map { UInt8($0.rounded()) }
        XCTAssertEqual(constant.pixels, Array((0..<24).map { _ in cold }.joined()))
        let unchanged = AttentionMapRenderer.overlay(image: image, mask: [0, 1, 2, 3, 4, 5], maskWidth: 3, maskHeight: 2, opacity: 0)
        XCTAssertEqual(unchanged, image)
    }

    private func modules() -> [ModuleMaps] {
        (1...2).map { m in
            ModuleMaps(
                name: "att\(m)", heads: (0..<3).map { k in (0..<64).map { Float(($0 + k * m) % 7) } },
                height: 8, width: 8, gates: [0.43, 0.1, -0.25])
        }
    }

    func testGridDimensionsFollowFromTheInputs() {
        let image = grey(width: 32, height: 32)
        let grid = AttentionMapRenderer.grid(
            image: image, modules: modules(), title: "cat (class 3)", globalGates: [0.2, 0.8],
            zoomBox: (-0.5, -0.5, 0.5, 0.5), zoomedImage: image, cellScale: 4)
        let (margin, gap) = (AttentionMapRenderer.margin, AttentionMapRenderer.gap)
        let cell = 32 * 4
        let labelledCell = 128 + AttentionMapRenderer.labelGap + 7
        XCTAssertEqual(grid.width, 2 * margin + 3 * cell + 2 * gap, "three heads per row, the widest row")
        XCTAssertEqual(
            grid.height, 2 * margin + (14 + gap) + (7 + gap) + 3 * labelledCell + 2 * gap,
            "title, gates line, input row and one row per module")

        let bare = AttentionMapRenderer.grid(
            image: image, modules: [], title: "x", globalGates: nil, zoomBox: nil,
            zoomedImage: nil, cellScale: 2)
        XCTAssertEqual(bare.width, 2 * margin + 64)
        XCTAssertEqual(bare.height, 2 * margin + (14 + gap) + 64 + AttentionMapRenderer.labelGap + 7)

        let longTitle = String(repeating: "w", count: 80)
        let wide = AttentionMapRenderer.grid(image: image, modules: [], title: longTitle, cellScale: 1)
        XCTAssertEqual(wide.width, 2 * margin + BitmapFont.size(of: longTitle, scale: 2).width, "the title never overflows")
    }

    func testGridCellsHoldTheEnlargedOverlaysAndTheZoomBox() {
        var pixels = [UInt8](repeating: 0, count: 32 * 32 * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i * 7) }
        let image = RGBImage(width: 32, height: 32, pixels: pixels)
        let maps = modules()
        let grid = AttentionMapRenderer.grid(
            image: image, modules: maps, title: "t", globalGates: nil,
            zoomBox: (0, 0, 1, 1), zoomedImage: nil, cellScale: 2)
        let (margin, gap) = (AttentionMapRenderer.margin, AttentionMapRenderer.gap)
        let top = margin + 14 + gap
        let rowStep = 64 + AttentionMapRenderer.labelGap + 7 + gap
        // Labels are wider than 64-pixel cells, so the longest sets the column width.
        let columnStep = BitmapFont.size(of: "att2 head 3  g=-0.25").width + gap
        func pixel(_ picture: RGBImage, _ x: Int, _ y: Int) -> [UInt8] {
            Array(picture.pixels[((y * picture.width + x) * 3)..<((y * picture.width + x) * 3 + 3)])
        }
        // Second module, third head: its overlay pixel (5, 9) fills a 2×2 block.
        let overlay = AttentionMapRenderer.overlay(image: image, mask: maps[1].heads[2], maskWidth: 8, maskHeight: 8)
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            XCTAssertEqual(pixel(grid, margin + 2 * columnStep + 10 + dx, top + 2 * rowStep + 18 + dy), pixel(overlay, 5, 9))
        }
        // The input cell: the box spans the lower-right quarter, outlined 1 pixel wide.
        XCTAssertEqual(pixel(grid, margin + 32, top + 40), [255, 0, 0], "left edge")
        XCTAssertEqual(pixel(grid, margin + 63, top + 63), [255, 0, 0], "bottom-right corner")
        XCTAssertEqual(pixel(grid, margin + 10, top + 3), pixel(image, 5, 1), "outside the box")
    }

    func testGridSurvivesAPNGRoundTrip() throws {
        let image = grey(width: 16, height: 16)
        let grid = AttentionMapRenderer.grid(
            image: image, modules: modules(), title: "round trip", globalGates: [0.5],
            zoomBox: (-1, -1, 0, 0), zoomedImage: grey(width: 8, height: 8), cellScale: 3)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("heed-grid-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try grid.writePNG(to: url)
        XCTAssertEqual(try RGBImage.read(from: url), grid)
    }
}
