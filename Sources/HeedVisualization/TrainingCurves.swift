import Foundation
import HeedData

/// The picture of a training run: loss per epoch (left) and accuracy per epoch (right),
/// training in blue and test in orange, each panel's vertical range from its own values.
/// `heed train` writes it as `curves.png` beside `metrics.jsonl`; `heed plot` draws it
/// from any run's metrics.
public enum TrainingCurves {
    /// One epoch's four numbers (accuracies as fractions, 0...1).
    public struct Epoch: Sendable, Equatable {
        public var epoch: Int
        public var trainLoss: Double
        public var testLoss: Double
        public var trainAccuracy: Double
        public var testAccuracy: Double

        public init(epoch: Int, trainLoss: Double, testLoss: Double, trainAccuracy: Double, testAccuracy: Double) {
            (self.epoch, self.trainLoss, self.testLoss, self.trainAccuracy, self.testAccuracy) =
                (epoch, trainLoss, testLoss, trainAccuracy, testAccuracy)
        }
    }

    public static let trainColour = Colour(red: 31, green: 119, blue: 180)
    public static let testColour = Colour(red: 255, green: 127, blue: 14)
    static let panelWidth = 400
    static let panelHeight = 280
    /// Space left of a panel's plot area for the axis labels, and around it.
    static let margin = (left: 56, right: 16, top: 34, bottom: 34)

    /// The two panels side by side (800×280 pixels). Values that are not finite (a
    /// diverged epoch) are left out of the lines.
    public static func draw(_ epochs: [Epoch]) -> RGBImage {
        precondition(!epochs.isEmpty, "curves of no epoch")
        var canvas = Canvas(width: 2 * panelWidth, height: panelHeight)
        panel(
            &canvas, left: 0, title: "LOSS", epochs: epochs.map(\.epoch),
            series: [(epochs.map(\.trainLoss), trainColour), (epochs.map(\.testLoss), testColour)], format: "%.3f")
        panel(
            &canvas, left: panelWidth, title: "ACCURACY %", epochs: epochs.map(\.epoch),
            series: [(epochs.map { 100 * $0.trainAccuracy }, trainColour), (epochs.map { 100 * $0.testAccuracy }, testColour)],
            format: "%.1f")
        let legend = (x: 2 * panelWidth - 150, y: 10)
        canvas.fill(x: legend.x, y: legend.y, width: 14, height: 7, colour: trainColour)
        canvas.draw(text: "TRAIN", at: (legend.x + 18, legend.y))
        canvas.fill(x: legend.x + 64, y: legend.y, width: 14, height: 7, colour: testColour)
        canvas.draw(text: "TEST", at: (legend.x + 82, legend.y))
        return canvas.image
    }

    private static func panel(
        _ canvas: inout Canvas, left: Int, title: String, epochs: [Int], series: [([Double], Colour)], format: String
    ) {
        let plot = (
            x: left + margin.left, y: margin.top, width: panelWidth - margin.left - margin.right,
            height: panelHeight - margin.top - margin.bottom
        )
        canvas.draw(text: title, at: (left + margin.left, 12), scale: 2)
        canvas.strokeRectangle(x: plot.x, y: plot.y, width: plot.width, height: plot.height, colour: .black)
        let values = series.flatMap(\.0).filter(\.isFinite)
        var (low, high) = (values.min() ?? 0, values.max() ?? 1)
        if high - low < 1e-9 { (low, high) = (low - 0.5, high + 0.5) }
        let (first, last) = (epochs.first!, max(epochs.last!, epochs.first! + 1))
        func point(_ epoch: Int, _ value: Double) -> (x: Int, y: Int) {
            let x = plot.x + 4 + Int(Double(epoch - first) / Double(last - first) * Double(plot.width - 8))
            let y = plot.y + 4 + Int((high - value) / (high - low) * Double(plot.height - 8))
            return (x, y)
        }
        for (value, y) in [(high, plot.y), (low, plot.y + plot.height - 7)] {
            let label = String(format: format, value)
            canvas.draw(text: label, at: (plot.x - 4 - BitmapFont.size(of: label).width, y))
        }
        let grey = Colour(red: 220, green: 220, blue: 220)
        canvas.fill(x: plot.x + 1, y: point(first, (low + high) / 2).y, width: plot.width - 2, height: 1, colour: grey)
        canvas.draw(text: "EPOCH \(first)", at: (plot.x, plot.y + plot.height + 6))
        let lastLabel = "\(epochs.last!)"
        canvas.draw(text: lastLabel, at: (plot.x + plot.width - BitmapFont.size(of: lastLabel).width, plot.y + plot.height + 6))
        for (values, colour) in series {
            var previous: (x: Int, y: Int)?
            for (epoch, value) in zip(epochs, values) {
                guard value.isFinite else {
                    previous = nil
                    continue
                }
                let current = point(epoch, value)
                if let previous { line(&canvas, from: previous, to: current, colour: colour) }
                canvas.fill(x: current.x - 2, y: current.y - 2, width: 5, height: 5, colour: colour)
                previous = current
            }
        }
    }

    /// A two-pixel-thick straight line (Bresenham's, each step a 2×2 block).
    private static func line(_ canvas: inout Canvas, from start: (x: Int, y: Int), to end: (x: Int, y: Int), colour: Colour) {
        let (dx, dy) = (abs(end.x - start.x), -abs(end.y - start.y))
        let (stepX, stepY) = (start.x < end.x ? 1 : -1, start.y < end.y ? 1 : -1)
        var (x, y, error) = (start.x, start.y, dx + dy)
        while true {
            canvas.fill(x: x, y: y, width: 2, height: 2, colour: colour)
            if x == end.x && y == end.y { break }
            let twice = 2 * error
            if twice >= dy {
                error += dy
                x += stepX
            }
            if twice <= dx {
                error += dx
                y += stepY
            }
        }
    }
}
