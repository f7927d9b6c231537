import Foundation
import HeedSupport

/// One epoch's numbers, as written to `metrics.jsonl` (one JSON object per line).
public struct EpochMetrics: Codable, Sendable, Equatable {
    public var epoch: Int
    public var learningRate: Float
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var seconds: Double
    public var imagesPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case epoch
        case learningRate = "lr"
        case trainLoss = "train_loss"
        case trainAccuracy = "train_accuracy"
        case testLoss = "test_loss"
        case testAccuracy = "test_accuracy"
        case seconds
        case imagesPerSecond = "images_per_second"
    }
}

/// Appends metrics to a JSON-lines file, flushing each line so a killed run keeps them.
public struct MetricsLog {
    public let url: URL

    public init(url: URL) {
        self.url = url
    }

    public func append(_ metrics: EpochMetrics) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(metrics)
        line.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: url.path),
            !FileManager.default.createFile(atPath: url.path, contents: nil)
        {
            throw FileError(path: url.path, problem: "cannot create the metrics file")
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
        try handle.synchronize()
    }

    /// The epochs recorded so far (a resumed run keeps earlier lines).
    public func read() throws -> [EpochMetrics] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(EpochMetrics.self, from: Data($0.utf8))
        }
    }
}
