import HeedData
import HeedVisualization
import XCTest

final class CanvasTests: XCTestCase {
    private func colour(_ canvas: Canvas, _ x: Int, _ y: Int) -> Colour {
        let offset = (y * canvas.width + x) * 3
        return Colour(red: canvas.pixels[offset], green: canvas.pixels[offset + 1], blue: canvas.pixels[offset + 2])
    }

    func testBlitRepeatsEachPixelAsAScaleByScaleBlock() {
        // 2×1 image: red then blue.
        let image = RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 0, 0, 255])
        var canvas = Canvas(width: 8, height: 5)
        canvas.blit(image, x: 1, y: 2, scale: 3)
        XCTAssertEqual(colour(canvas, 0, 2), .white)
        for y in 2..<5 {
            for x in 1..<4 { XCTAssertEqual(colour(canvas, x, y), .red) }
            for x in 4..<7 { XCTAssertEqual(colour(canvas, x, y), Colour(red: 0, green: 0, blue: 255)) }
        }
        XCTAssertEqual(colour(canvas, 7, 3), .white)
        XCTAssertEqual(colour(canvas, 2, 1), .white)
    }

    func testRectangleOutlineIsHollowAndClippedAtTheEdges() {
        var canvas = Canvas(width: 10, height: 10)
        canvas.strokeRectangle(x: 2, y: 2, width: 6, height: 5, thickness: 1, colour: .black)
        XCTAssertEqual(colour(canvas, 2, 2), .black)
        XCTAssertEqual(colour(canvas, 7, 6), .black)
        XCTAssertEqual(colour(canvas, 4, 4), .white, "inside")
        XCTAssertEqual(colour(canvas, 8, 4), .white, "outside")

        canvas.strokeRectangle(x: -3, y: 5, width: 20, height: 20, colour: .red)
        XCTAssertEqual(colour(canvas, 0, 5), .red, "top edge, clipped on the left")
        XCTAssertEqual(colour(canvas, 5, 9), .white, "bottom edge lies outside the canvas")
    }
}
