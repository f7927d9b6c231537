import HeedData

/// An 8-bit RGB colour.
public struct Colour: Sendable, Equatable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let white = Colour(red: 255, green: 255, blue: 255)
    public static let black = Colour(red: 0, green: 0, blue: 0)
    /// Pure red: stands out on natural images and on viridis (which has no red).
    public static let red = Colour(red: 255, green: 0, blue: 0)
}

/// A mutable RGB picture to compose figures on; drawing outside it is clipped.
///
/// ```swift
/// var canvas = Canvas(width: 200, height: 100)
/// canvas.blit(image, x: 4, y: 4, scale: 2)
/// canvas.draw(text: "INPUT", at: (4, 80))
/// try canvas.image.writePNG(to: url)
/// ```
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    /// `height·width·3` bytes, interleaved RGB, rows top to bottom (as in `RGBImage`).
    public private(set) var pixels: [UInt8]

    /// A canvas filled with `background`.
    public init(width: Int, height: Int, background: Colour = .white) {
        precondition(width > 0 && height > 0, "a \(width)×\(height) canvas")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, colour: background)
    }

    /// The canvas as an image.
    public var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    /// Paints the rectangle with top-left corner (`x`, `y`).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, colour: Colour) {
        for row in clipped(y, h, to: height) {
            for column in clipped(x, w, to: width) {
                let offset = (row * width + column) * 3
                pixels[offset] = colour.red
                pixels[offset + 1] = colour.green
                pixels[offset + 2] = colour.blue
            }
        }
    }

    /// Copies `image` with its top-left corner at (`x`, `y`), each pixel repeated as a
    /// `scale × scale` block (nearest neighbour, so small inputs stay sharp when enlarged).
    public mutating func blit(_ image: RGBImage, x: Int, y: Int, scale: Int = 1) {
        precondition(scale >= 1, "scale \(scale)")
        for sourceY in 0..<image.height {
            for sourceX in 0..<image.width {
                let offset = (sourceY * image.width + sourceX) * 3
                let colour = Colour(red: image.pixels[offset], green: image.pixels[offset + 1], blue: image.pixels[offset + 2])
                fill(x: x + sourceX * scale, y: y + sourceY * scale, width: scale, height: scale, colour: colour)
            }
        }
    }

    /// Draws the outline of the rectangle with top-left corner (`x`, `y`), `thickness`
    /// pixels wide inside its bounds (e.g. the zoom box on an input).
    public mutating func strokeRectangle(x: Int, y: Int, width w: Int, height h: Int, thickness: Int = 1, colour: Colour) {
        let t = min(thickness, w, h)
        fill(x: x, y: y, width: w, height: t, colour: colour)
        fill(x: x, y: y + h - t, width: w, height: t, colour: colour)
        fill(x: x, y: y, width: t, height: h, colour: colour)
        fill(x: x + w - t, y: y, width: t, height: h, colour: colour)
    }
}

/// The part of `start..<start + length` inside `0..<limit` (empty when none is).
private func clipped(_ start: Int, _ length: Int, to limit: Int) -> Range<Int> {
    let lower = min(max(start, 0), limit)
    return lower..<min(max(start + length, lower), limit)
}
