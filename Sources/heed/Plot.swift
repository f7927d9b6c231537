import ArgumentParser
import Foundation
import HeedSupport
import HeedTraining
import HeedVisualization

/// `heed plot`: the loss and accuracy curves of a run, from its metrics.jsonl.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a run's loss and accuracy per epoch (train and test) as a PNG.",
        discussion: "The picture `heed train` writes as curves.png beside metrics.jsonl, drawn from any run's metrics.jsonl.")

    @Argument(help: "A run's metrics.jsonl.")
    var metrics: String

    @Option(name: .long, help: "The PNG file to write.")
    var out: String = "curves.png"

    func run() throws {
        let url = URL(fileURLWithPath: metrics)
        guard FileManager.default.fileExists(atPath: url.path) else { throw ValidationError("\(metrics): no such file") }
        try Self.write(from: url, to: URL(fileURLWithPath: out))
        print("curves: \(out)")
    }

    /// Draws the curves of the epochs in `metrics` into `png`.
    ///
    /// - Throws: `FileError` naming a metrics file with no epoch or a bad line, or a PNG that cannot be written.
    static func write(from metrics: URL, to png: URL) throws {
        let epochs = try MetricsLog(url: metrics).read()
        guard !epochs.isEmpty else { throw FileError(path: metrics.path, problem: "holds no epoch") }
        let curves = epochs.map {
            TrainingCurves.Epoch(
                epoch: $0.epoch, trainLoss: $0.trainLoss, testLoss: $0.testLoss, trainAccuracy: $0.trainAccuracy,
                testAccuracy: $0.testAccuracy)
        }
        try TrainingCurves.draw(curves).writePNG(to: png)
    }
}
