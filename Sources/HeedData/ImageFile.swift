import CImageCodecs
import Foundation
import HeedSupport

/// An 8-bit RGB image, interleaved, rows top to bottom.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `height·width·3` bytes.
    public let pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "\(pixels.count) bytes for a \(width)×\(height) RGB image")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The variable that sets ``maximumPixels``.
    public static let maximumPixelsVariable = "HEED_MAX_IMAGE_PIXELS"
    /// Pillow's `MAX_IMAGE_PIXELS` default: a 1 MB PNG can otherwise decode to gigabytes.
    public static let defaultMaximumPixels = 89_478_485
    /// The largest limit `HEED_MAX_IMAGE_PIXELS` may set: 2^32 pixels, 12 GiB of RGB,
    /// about the largest JPEG (65535×65535); a larger value is a typo, not a limit.
    public static let largestMaximumPixels = 1 << 32

    private static let configuredMaximumPixels = Result {
        try EnvironmentSetting.integer(maximumPixelsVariable, in: 1...largestMaximumPixels, default: defaultMaximumPixels)
    }

    /// The most pixels an image may have, checked from its header before it is decoded:
    /// `HEED_MAX_IMAGE_PIXELS` when set, else ``defaultMaximumPixels``.
    ///
    /// - Throws: `EnvironmentError` naming the variable and its value when it is set to
    ///   anything but a whole number from 1 to ``largestMaximumPixels``.
    public static var maximumPixels: Int {
        get throws { try configuredMaximumPixels.get() }
    }

    /// Decodes a JPEG or PNG file (told apart by signature, not by name).
    ///
    /// - Parameter maximumPixels: the pixel limit; ``maximumPixels`` when nil.
    /// - Throws: `FileError` naming the file: missing, not a regular file, unreadable,
    ///   not an image, more than the limit of pixels, corrupt; `EnvironmentError` for a
    ///   bad `HEED_MAX_IMAGE_PIXELS`.
    public static func read(from url: URL, maximumPixels: Int? = nil) throws -> RGBImage {
        let limit = try maximumPixels ?? Self.maximumPixels
        var image = heed_image()
        var message = [CChar](repeating: 0, count: 512)
        guard heed_image_read(url.path, max(0, limit), &image, &message, message.count) == 0 else {
            throw FileError(path: url.path, problem: cText(message))
        }
        defer { heed_image_free(&image) }
        let count = Int(image.width) * Int(image.height) * 3
        return RGBImage(
            width: Int(image.width), height: Int(image.height),
            pixels: Array(UnsafeBufferPointer(start: image.pixels, count: count)))
    }

    /// Writes the image as a PNG file (atomically: a reader never sees half a picture).
    public func writePNG(to url: URL) throws {
        try writeAtomically(to: url) { path, message in
            heed_png_write_rgb(path, Int32(width), Int32(height), pixels, &message, message.count)
        }
    }

    /// Writes the image as a baseline JPEG file of `quality` (1...100), atomically.
    public func writeJPEG(to url: URL, quality: Int = 90) throws {
        precondition((1...100).contains(quality), "JPEG quality \(quality)")
        try writeAtomically(to: url) { path, message in
            heed_jpeg_write_rgb(path, Int32(width), Int32(height), pixels, Int32(quality), &message, message.count)
        }
    }

    private func writeAtomically(to url: URL, _ write: (String, inout [CChar]) -> Int32) throws {
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        var message = [CChar](repeating: 0, count: 512)
        guard write(temporary.path, &message) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw FileError(path: url.path, problem: cText(message))
        }
        guard rename(temporary.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw FileError(path: url.path, problem: "cannot replace: \(String(cString: strerror(errno)))")
        }
    }

    /// The image resampled to `width × height` by bilinear interpolation between pixel
    /// centres (the convention of PIL and of PyTorch's `align_corners=False`); when
    /// shrinking by more than 2×, each output pixel averages the box it covers instead,
    /// so small details are not skipped (aliasing).
    public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
        if newWidth == width && newHeight == height { return self }
        var output = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        let scaleX = Double(width) / Double(newWidth)
        let scaleY = Double(height) / Double(newHeight)
        for y in 0..<newHeight {
            for x in 0..<newWidth {
                for c in 0..<3 {
                    let value =
                        scaleX > 2 || scaleY > 2
                        ? boxAverage(
                            x0: Double(x) * scaleX, x1: Double(x + 1) * scaleX,
                            y0: Double(y) * scaleY, y1: Double(y + 1) * scaleY, channel: c)
                        : bilinear(x: (Double(x) + 0.5) * scaleX - 0.5, y: (Double(y) + 0.5) * scaleY - 0.5, channel: c)
                    output[(y * newWidth + x) * 3 + c] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: output)
    }

    /// An image from planar channels (3×H×W, the layout of `ImageDataset`).
    public init(planar planes: [UInt8], width: Int, height: Int) {
        let plane = width * height
        self.init(width: width, height: height, pixels: (0..<(plane * 3)).map { planes[($0 % 3) * plane + $0 / 3] })
    }

    /// The image as planar channels (C×H×W), the layout of `ImageDataset`.
    public var planar: [UInt8] {
        var planes = [UInt8](repeating: 0, count: pixels.count)
        for i in 0..<(width * height) {
            for c in 0..<3 { planes[c * width * height + i] = pixels[i * 3 + c] }
        }
        return planes
    }

    private func pixel(_ x: Int, _ y: Int, _ c: Int) -> Double {
        Double(pixels[(min(max(y, 0), height - 1) * width + min(max(x, 0), width - 1)) * 3 + c])
    }

    private func bilinear(x: Double, y: Double, channel c: Int) -> Double {
        let x0 = Int(x.rounded(.down))
        let y0 = Int(y.rounded(.down))
        let fx = x - Double(x0)
        let fy = y - Double(y0)
        let top = pixel(x0, y0, c) * (1 - fx) + pixel(x0 + 1, y0, c) * fx
        let bottom = pixel(x0, y0 + 1, c) * (1 - fx) + pixel(x0 + 1, y0 + 1, c) * fx
        return top * (1 - fy) + bottom * fy
    }

    private func boxAverage(x0: Double, x1: Double, y0: Double, y1: Double, channel c: Int) -> Double {
        var sum = 0.0
        var count = 0.0
        for y in Int(y0)..<max(Int(y0) + 1, Int(y1.rounded(.up))) {
            for x in Int(x0)..<max(Int(x0) + 1, Int(x1.rounded(.up))) {
                sum += pixel(x, y, c)
                count += 1
            }
        }
        return sum / count
    }
}

/// The text of a NUL-terminated C buffer.
private func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
