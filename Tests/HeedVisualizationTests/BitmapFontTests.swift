import HeedVisualization
import XCTest

final class BitmapFontTests: XCTestCase {
    /// Whether the canvas pixel at (`x`, `y`) is ink (dark) on the white background.
    private func isInk(_ canvas: Canvas, _ x: Int, _ y: Int) -> Bool {
        canvas.pixels[(y * canvas.width + x) * 3] < 128
    }

    func testOneIsAVerticalStroke() {
        var canvas = Canvas(width: 12, height: 12)
        canvas.draw(text: "1", at: (x: 3, y: 2))
        for y in 2..<9 { XCTAssertTrue(isInk(canvas, 5, y), "centre column, row \(y)") }
        for y in 0..<12 {
            XCTAssertFalse(isInk(canvas, 3, y), "left column, row \(y)")
            XCTAssertFalse(isInk(canvas, 7, y), "right column, row \(y)")
        }
        XCTAssertFalse(isInk(canvas, 5, 1), "nothing above the glyph")
        XCTAssertFalse(isInk(canvas, 5, 9), "nothing below the glyph")
    }

    func testScaleEnlargesEachFontPixelToABlock() {
        var small = Canvas(width: 8, height: 9)
        var large = Canvas(width: 16, height: 18)
        small.draw(text: "4", at: (x: 1, y: 1))
        large.draw(text: "4", at: (x: 2, y: 2), scale: 2)
        for y in 0..<18 {
            for x in 0..<16 { XCTAssertEqual(isInk(large, x, y), isInk(small, x / 2, y / 2), "(\(x), \(y))") }
        }
    }

    func testLowerCaseIsDrawnAsUpperCaseAndUnknownCharactersAsABox() {
        var lower = Canvas(width: 40, height: 9)
        var upper = Canvas(width: 40, height: 9)
        lower.draw(text: "head", at: (x: 1, y: 1))
        upper.draw(text: "HEAD", at: (x: 1, y: 1))
        XCTAssertEqual(lower.pixels, upper.pixels)

        var unknown = Canvas(width: 7, height: 9)
        unknown.draw(text: "@", at: (x: 1, y: 1))
        for y in 1..<8 { XCTAssertTrue(isInk(unknown, 1, y) && isInk(unknown, 5, y), "box sides, row \(y)") }
        XCTAssertFalse(isInk(unknown, 3, 4), "box is hollow")
    }

    func testSizeCountsGlyphsAndSpacing() {
        XCTAssertEqual(BitmapFont.size(of: "g=0.43").width, 6 * 6 - 1)
        XCTAssertEqual(BitmapFont.size(of: "g=0.43", scale: 3).width, 3 * (6 * 6 - 1))
        XCTAssertEqual(BitmapFont.size(of: "att", scale: 2).height, 14)
        XCTAssertEqual(BitmapFont.size(of: "").width, 0)
    }
}
