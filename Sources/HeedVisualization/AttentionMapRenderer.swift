import Foundation
import HeedData

/// The attention maps of one attention module for one input.
public struct ModuleMaps: Sendable {
    /// How the module is labelled in figures, e.g. `"att2"`.
    public let name: String
    /// K masks, each `height·width` values, row-major.
    public let heads: [[Float]]
    public let height: Int
    public let width: Int
    /// The K attention-gate values g[k], one per head.
    public let gates: [Float]

    public init(name: String, heads: [[Float]], height: Int, width: Int, gates: [Float]) {
        precondition(heads.allSatisfy { $0.count == height * width }, "\(name): every head needs \(height)·\(width) values")
        precondition(gates.count == heads.count, "\(name): \(gates.count) gates for \(heads.count) heads")
        self.name = name
        self.heads = heads
        self.height = height
        self.width = width
        self.gates = gates
    }
}

/// Pictures of attention maps: a mask over its input, and a labelled grid of every head.
public enum AttentionMapRenderer {
    /// Space around the picture, and between rows, columns and the title, in pixels.
    static let margin = 12
    static let gap = 10
    /// Space between a cell and its label, in pixels.
    static let labelGap = 3
    /// Font scales: the title twice the 7-pixel font, labels and gates at its own size.
    static let titleScale = 2
    static let labelScale = 1

    /// `image` with `mask` drawn over it in viridis.
    ///
    /// The mask is normalised by its own minimum and maximum to [0, 1] (a constant mask maps
    /// to 0, the darkest colour), so the picture shows where a head looks, not how strongly;
    /// it is then upsampled bilinearly to the image size (pixel centres aligned, as PyTorch's
    /// `align_corners=False`) and alpha-blended: `(1 − opacity)·image + opacity·colour`.
    ///
    /// - Parameters:
    ///   - mask: `maskHeight·maskWidth` values, row-major.
    ///   - opacity: weight of the colour map, in [0, 1].
    /// - Returns: an image of `image`'s size.
    public static func overlay(image: RGBImage, mask: [Float], maskWidth: Int, maskHeight: Int, opacity: Float = 0.55) -> RGBImage {
        precondition(mask.count == maskWidth * maskHeight, "\(mask.count) mask values for \(maskWidth)×\(maskHeight)")
        let normalised = normalisedToUnitRange(mask)
        let scaleX = Float(maskWidth) / Float(image.width)
        let scaleY = Float(maskHeight) / Float(image.height)
        var pixels = image.pixels
        for y in 0..<image.height {
            for x in 0..<image.width {
                let value = bilinear(
                    normalised, width: maskWidth, height: maskHeight,
                    x: (Float(x) + 0.5) * scaleX - 0.5, y: (Float(y) + 0.5) * scaleY - 0.5)
                let colour = ColorMap.viridis.colour(at: value)
                let offset = (y * image.width + x) * 3
                for (c, ink) in [colour.red, colour.green, colour.blue].enumerated() {
                    let blended = (1 - opacity) * Float(pixels[offset + c]) + opacity * Float(ink)
                    pixels[offset + c] = UInt8(min(max(blended.rounded(), 0), 255))
                }
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    /// One figure for one input: title, global gates, the input (with the zoom box) and the
    /// zoomed image, then one row per module with every head's `overlay`, labelled with the
    /// module, head number (from 1) and gate, e.g. `ATT2 HEAD 1  G=0.43`. Each head is
    /// normalised on its own (see `overlay`): compare where heads look; the gates say how much
    /// each one counts.
    ///
    /// ```swift
    /// let att2 = ModuleMaps(name: "att2", heads: masks, height: 8, width: 8, gates: [0.43, 0.12])
    /// let figure = AttentionMapRenderer.grid(image: input, modules: [att2], title: "bird (p=0.92)",
    ///                                        globalGates: [0.31, 0.69], cellScale: 4)
    /// try figure.writePNG(to: url)
    /// ```
    ///
    /// Cells are the input enlarged `cellScale` times by nearest neighbour (4 makes a 32×32
    /// input readable); all columns share the width of the widest cell or label. White
    /// background, black text, red zoom box.
    ///
    /// - Parameters:
    ///   - zoomBox: corners in normalised image coordinates, −1 the left/top edge and +1 the
    ///     right/bottom edge (PyTorch's `affine_grid` with `align_corners=False`); clamped to
    ///     the image.
    ///   - zoomedImage: drawn at the largest integer scale that keeps it within an input cell
    ///     (at least 1).
    public static func grid(
        image: RGBImage, modules: [ModuleMaps], title: String, globalGates: [Float]? = nil,
        zoomBox: (x0: Float, y0: Float, x1: Float, y1: Float)? = nil,
        zoomedImage: RGBImage? = nil, cellScale: Int = 4
    ) -> RGBImage {
        precondition(cellScale >= 1, "cell scale \(cellScale)")
        let cellWidth = image.width * cellScale
        let cellHeight = image.height * cellScale
        var header = [Cell(picture: boxed(image, zoomBox: zoomBox, scale: cellScale), scale: 1, label: "input")]
        if let zoomedImage {
            let zoomScale = max(1, min(cellWidth / zoomedImage.width, cellHeight / zoomedImage.height))
            header.append(Cell(picture: zoomedImage, scale: zoomScale, label: "zoomed"))
        }
        let rows =
            [header]
            + modules.map { module in
                zip(module.heads, module.gates).enumerated().map { k, head in
                    Cell(
                        picture: overlay(image: image, mask: head.0, maskWidth: module.width, maskHeight: module.height),
                        scale: cellScale, label: "\(module.name) head \(k + 1)  g=\(twoDecimals(head.1))")
                }
            }
        let gatesLine = globalGates.map { "global gates: " + $0.map(twoDecimals).joined(separator: "  ") }

        let titleHeight = BitmapFont.size(of: title, scale: titleScale).height
        let labelHeight = BitmapFont.size(of: "", scale: labelScale).height
        let columnWidth = rows.joined().map { max($0.width, textWidth($0.label, labelScale)) }.max() ?? cellWidth
        let rowHeights = rows.map { row in (row.map(\.height).max() ?? 0) + labelGap + labelHeight }
        let columns = rows.map(\.count).max() ?? 1
        let contentWidth = max(
            columns * columnWidth + (columns - 1) * gap, textWidth(title, titleScale),
            gatesLine.map { textWidth($0, labelScale) } ?? 0)
        let headerHeight = titleHeight + gap + (gatesLine == nil ? 0 : labelHeight + gap)

        var canvas = Canvas(
            width: 2 * margin + contentWidth,
            height: 2 * margin + headerHeight + rowHeights.reduce(0, +) + (rows.count - 1) * gap)
        canvas.draw(text: title, at: (margin, margin), scale: titleScale)
        if let gatesLine {
            canvas.draw(text: gatesLine, at: (margin, margin + titleHeight + gap), scale: labelScale)
        }
        var top = margin + headerHeight
        for (row, rowHeight) in zip(rows, rowHeights) {
            for (column, cell) in row.enumerated() {
                let left = margin + column * (columnWidth + gap)
                canvas.blit(cell.picture, x: left, y: top, scale: cell.scale)
                canvas.draw(text: cell.label, at: (left, top + rowHeight - labelHeight), scale: labelScale)
            }
            top += rowHeight + gap
        }
        return canvas.image
    }

    /// `image` enlarged `scale` times by nearest neighbour, with `zoomBox` outlined in red.
    private static func boxed(_ image: RGBImage, zoomBox: (x0: Float, y0: Float, x1: Float, y1: Float)?, scale: Int) -> RGBImage {
        var canvas = Canvas(width: image.width * scale, height: image.height * scale)
        canvas.blit(image, x: 0, y: 0, scale: scale)
        if let box = zoomBox {
            func pixel(_ coordinate: Float, _ size: Int) -> Int {
                Int((min(max(coordinate, -1), 1) + 1) / 2 * Float(size)).clamped(to: 0...size)
            }
            let left = pixel(min(box.x0, box.x1), canvas.width)
            let right = pixel(max(box.x0, box.x1), canvas.width)
            let top = pixel(min(box.y0, box.y1), canvas.height)
            let bottom = pixel(max(box.y0, box.y1), canvas.height)
            canvas.strokeRectangle(
                x: left, y: top, width: max(right - left, 1), height: max(bottom - top, 1),
                thickness: max(1, scale / 2), colour: .red)
        }
        return canvas.image
    }

    private static func textWidth(_ text: String, _ scale: Int) -> Int {
        BitmapFont.size(of: text, scale: scale).width
    }

    private static func twoDecimals(_ value: Float) -> String {
        String(format: "%.2f", value)
    }

    /// `values` mapped linearly so the smallest is 0 and the largest 1; all 0 when constant.
    private static func normalisedToUnitRange(_ values: [Float]) -> [Float] {
        guard let low = values.min(), let high = values.max(), high > low else {
            return [Float](repeating: 0, count: values.count)
        }
        return values.map { ($0 - low) / (high - low) }
    }

    /// `values` (`height·width`, row-major) at (`x`, `y`) in pixel-centre coordinates,
    /// interpolated bilinearly, edges repeated outward.
    private static func bilinear(_ values: [Float], width: Int, height: Int, x: Float, y: Float) -> Float {
        func at(_ column: Int, _ row: Int) -> Float {
            values[row.clamped(to: 0...(height - 1)) * width + column.clamped(to: 0...(width - 1))]
        }
        let x0 = Int(x.rounded(.down))
        let y0 = Int(y.rounded(.down))
        let fx = x - Float(x0)
        let fy = y - Float(y0)
        let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
        let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
        return top * (1 - fy) + bottom * fy
    }
}

/// A picture in the grid, drawn enlarged `scale` times, with its label underneath.
private struct Cell {
    let picture: RGBImage
    let scale: Int
    let label: String

    var width: Int { picture.width * scale }
    var height: Int { picture.height * scale }
}

extension Int {
    fileprivate func clamped(to range: ClosedRange<Int>) -> Int { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
