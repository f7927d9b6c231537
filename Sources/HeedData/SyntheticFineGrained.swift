import HeedOps

/// The embedded default dataset: fine-grained recognition in miniature, generated from
/// a seed, so `heed train` works with no download.
///
/// Every image shows the same kind of object, an ellipse in a jittered common colour,
/// on a noisy background among clutter (small grey rectangles). The classes differ
/// only in a small local detail: a `detailSize`² spot of a class-specific colour,
/// drawn at a random place on the object. Nothing else in the image carries the
/// label, so a network must find the detail: attention has something to attend to.
/// Optional decoys (spots of other classes' colours off the object) make the task
/// harder: only the spot on the object counts.
public enum SyntheticFineGrained {
    public struct Configuration: Sendable, Equatable {
        public var classes = 10
        public var trainCount = 5000
        public var testCount = 1000
        /// Image side in pixels.
        public var size = 32
        /// Side of the class-specific spot in pixels.
        public var detailSize = 4
        /// Grey rectangles of clutter per image.
        public var clutter = 4
        /// Spots in other classes' colours placed off the object.
        public var decoys = 0

        public init() {}
    }

    /// The train and test splits for `seed`: the same seed gives the same images.
    public static func make(_ configuration: Configuration = Configuration(), seed: UInt64) -> (train: ImageDataset, test: ImageDataset) {
        (
            split(configuration, count: configuration.trainCount, seed: seed, salt: 1, name: "synthetic/train"),
            split(configuration, count: configuration.testCount, seed: seed, salt: 2, name: "synthetic/test")
        )
    }

    /// The colour of class `label`'s detail: hues spread evenly round the colour
    /// wheel at full saturation, so no two classes share one.
    public static func detailColour(_ label: Int, of classes: Int) -> [UInt8] {
        let hue = Double(label) / Double(classes) * 6
        let sector = Int(hue) % 6
        let f = hue - Double(Int(hue))
        let (r, g, b): (Double, Double, Double)
        switch sector {
        case 0: (r, g, b) = (1, f, 0)
        case 1: (r, g, b) = (1 - f, 1, 0)
        case 2: (r, g, b) = (0, 1, f)
        case 3: (r, g, b) = (0, 1 - f, 1)
        case 4: (r, g, b) = (f, 0, 1)
        default: (r, g, b) = (1, 0, 1 - f)
        }
        return [r, g, b].map { UInt8(40 + 215 * $0) }
    }

    /// The class names of a set of `classes` classes: the colour of each class's detail,
    /// the hue name nearest to it on a wheel of twelve, for up to twelve classes (their
    /// hues are then at least 30 degrees apart, so no two share a name); `class 0`,
    /// `class 1`, ... for more.
    public static func classNames(_ classes: Int) -> [String] {
        let hues = ["red", "orange", "yellow", "lime", "green", "mint", "cyan", "sky", "blue", "violet", "magenta", "pink"]
        guard classes <= hues.count else { return (0..<classes).map { "class \($0)" } }
        return (0..<classes).map { hues[Int((Double($0) / Double(classes) * 12).rounded()) % 12] }
    }

    private static func split(_ c: Configuration, count: Int, seed: UInt64, salt: UInt64, name: String) -> ImageDataset {
        let side = c.size
        var pixels = [UInt8](repeating: 0, count: count * 3 * side * side)
        var labels = [Int32](repeating: 0, count: count)
        for index in 0..<count {
            // One generator per image: an image depends on (seed, split, index) only.
            var random = SeededGenerator(seed: seed &* 0x9E37_79B9 ^ salt &* 0xD1B5_4A32_D192_ED03 ^ UInt64(index) &* 0x2545_F491_4F6C_DD1D)
            let label = index % c.classes
            labels[index] = Int32(label)
            var canvas = Canvas(side: side)
            canvas.drawImage(label: label, configuration: c, random: &random)
            pixels.replaceSubrange(index * canvas.planes.count..<(index + 1) * canvas.planes.count, with: canvas.planes)
        }
        return ImageDataset(
            name: name, classNames: classNames(c.classes),
            channels: 3, height: side, width: side, pixels: pixels, labels: labels)
    }

    /// A planar RGB image being drawn.
    private struct Canvas {
        let side: Int
        var planes: [UInt8]

        init(side: Int) {
            self.side = side
            planes = [UInt8](repeating: 0, count: 3 * side * side)
        }

        mutating func set(_ x: Int, _ y: Int, _ colour: [UInt8]) {
            guard x >= 0, y >= 0, x < side, y < side else { return }
            for c in 0..<3 { planes[c * side * side + y * side + x] = colour[c] }
        }

        mutating func rectangle(_ x0: Int, _ y0: Int, _ w: Int, _ h: Int, _ colour: [UInt8]) {
            for y in y0..<y0 + h { for x in x0..<x0 + w { set(x, y, colour) } }
        }

        mutating func drawImage(label: Int, configuration c: Configuration, random: inout SeededGenerator) {
            let s = Double(side)
            // Background: a dark random tone with per-pixel noise.
            let base = (0..<3).map { _ in Int.random(in: 20...90, using: &random) }
            for y in 0..<side {
                for x in 0..<side {
                    set(x, y, base.map { UInt8(clamping: $0 + Int.random(in: -12...12, using: &random)) })
                }
            }
            // Clutter: grey rectangles, never saturated, so they never look like a detail.
            for _ in 0..<c.clutter {
                let grey = Int.random(in: 60...200, using: &random)
                let w = Int.random(in: 2...max(2, side / 6), using: &random)
                let h = Int.random(in: 2...max(2, side / 6), using: &random)
                rectangle(
                    Int.random(in: 0..<side, using: &random), Int.random(in: 0..<side, using: &random), w, h,
                    [grey, grey + Int.random(in: -10...10, using: &random), grey].map { UInt8(clamping: $0) })
            }
            // The object: an ellipse in a jittered brown, at a random place and size.
            let rx = Double.random(in: 0.22...0.34, using: &random) * s
            let ry = Double.random(in: 0.18...0.3, using: &random) * s
            let cx = Double.random(in: rx...(s - rx), using: &random)
            let cy = Double.random(in: ry...(s - ry), using: &random)
            let body = [150, 110, 70].map { UInt8(clamping: $0 + Int.random(in: -20...20, using: &random)) }
            var inside: [(Int, Int)] = []
            for y in 0..<side {
                for x in 0..<side {
                    let dx = (Double(x) + 0.5 - cx) / rx
                    let dy = (Double(y) + 0.5 - cy) / ry
                    if dx * dx + dy * dy <= 1 {
                        set(x, y, body)
                        inside.append((x, y))
                    }
                }
            }
            // The detail: a spot in the class colour, wholly on the object.
            let d = c.detailSize
            let fits = inside.filter { x, y in
                let dx = (Double(x + d) - cx) / rx
                let dy = (Double(y + d) - cy) / ry
                let ex = (Double(x) - cx) / rx
                let ey = (Double(y) - cy) / ry
                return dx * dx + dy * dy <= 1 && ex * ex + ey * ey <= 1 && dx * dx + ey * ey <= 1 && ex * ex + dy * dy <= 1
            }
            let (x0, y0) = (fits.isEmpty ? inside : fits).randomElement(using: &random)!
            rectangle(x0, y0, d, d, SyntheticFineGrained.detailColour(label, of: c.classes))
            // Decoys: other classes' colours, off the object.
            for _ in 0..<c.decoys {
                let other = (label + Int.random(in: 1..<max(2, c.classes), using: &random)) % c.classes
                for _ in 0..<20 {
                    let x = Int.random(in: 0...(side - d), using: &random)
                    let y = Int.random(in: 0...(side - d), using: &random)
                    let dx = (Double(x) + Double(d) / 2 - cx) / rx
                    let dy = (Double(y) + Double(d) / 2 - cy) / ry
                    if dx * dx + dy * dy > 1.6 {
                        rectangle(x, y, d, d, SyntheticFineGrained.detailColour(other, of: c.classes))
                        break
                    }
                }
            }
        }
    }
}
