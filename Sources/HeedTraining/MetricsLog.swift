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

    public init(
        epoch: Int, learningRate: Float, trainLoss: Double, trainAccuracy: Double, testLoss: Double, testAccuracy: Double,
        seconds: Double, imagesPerSecond: Double
    ) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.seconds = seconds
        self.imagesPerSecond = imagesPerSecond
    }

    /// Reads `null` (a number that was not finite) as NaN.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func number<T: BinaryFloatingPoint & Decodable>(_ key: CodingKeys) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? .nan
        }
        self.init(
            epoch: try container.decode(Int.self, forKey: .epoch), learningRate: try number(.learningRate),
            trainLoss: try number(.trainLoss), trainAccuracy: try number(.trainAccuracy), testLoss: try number(.testLoss),
            testAccuracy: try number(.testAccuracy), seconds: try number(.seconds), imagesPerSecond: try number(.imagesPerSecond))
    }

    /// Writes NaN and infinity as `null`, which JSON can hold.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        func number<T: BinaryFloatingPoint & Encodable>(_ value: T, _ key: CodingKeys) throws {
            if value.isFinite { try container.encode(value, forKey: key) } else { try container.encodeNil(forKey: key) }
        }
        try container.encode(epoch, forKey: .epoch)
        try number(learningRate, .learningRate)
        try number(trainLoss, .trainLoss)
        try number(trainAccuracy, .trainAccuracy)
        try number(testLoss, .testLoss)
        try number(testAccuracy, .testAccuracy)
        try number(seconds, .seconds)
        try number(imagesPerSecond, .imagesPerSecond)
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
        try FileError.naming(url.path, "cannot append") {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
            try handle.synchronize()
        }
    }

    /// The epochs recorded so far (a resumed run keeps earlier lines); a line that is
    /// not a record is a ``FileError`` naming it.
    public func read() throws -> [EpochMetrics] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated().map { index, line in
            do {
                return try JSONDecoder().decode(EpochMetrics.self, from: Data(line.utf8))
            } catch {
                throw FileError(path: url.path, problem: "line \(index + 1) is not a metrics record")
            }
        }
    }

    /// Removes a last line that is not a whole record (a run killed while writing it),
    /// so that appending can go on; returns how many bytes it removed (nil: none).
    public func dropDamagedLastLine() throws -> Int? {
        guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else { return nil }
        let bytes = [UInt8](data)
        let newline = UInt8(ascii: "\n")
        let end = bytes.last == newline ? bytes.count - 1 : bytes.count
        let start = bytes[..<end].lastIndex(of: newline).map { $0 + 1 } ?? 0
        if bytes.last == newline, (try? JSONDecoder().decode(EpochMetrics.self, from: Data(bytes[start..<end]))) != nil {
            return nil
        }
        try FileError.naming(url.path, "cannot remove the damaged last line") {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.truncate(atOffset: UInt64(start))
            try handle.synchronize()
        }
        return bytes.count - start
    }
}
