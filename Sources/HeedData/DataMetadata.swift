import Foundation

/// Why a file's metadata gives no class names or input transform.
public struct DataMetadataError: Error, Equatable, CustomStringConvertible {
    public let key: String
    public let detail: String

    public var description: String { "metadata '\(key)' is unreadable: \(detail)" }
}

/// What `heed train` records about its data in a checkpoint's metadata, beside the
/// model's configuration, so that the checkpoint alone classifies new images:
///
/// - `heed.classes`: the class names in label order, a JSON array;
/// - `heed.input`: the evaluation transform, JSON `{"height", "width", "mean", "std"}` (and `"resize"` for photos)
///   (`InputTransform`).
///
/// Files written before these keys still load: they show class indices, and carry the
/// normalisation as the separate keys `normalization_mean` and `normalization_std`.
public enum DataMetadata {
    public static let classNamesKey = "heed.classes"
    public static let inputKey = "heed.input"

    /// The entries for a model trained on images of `classNames` through `transform`.
    public static func entries(classNames: [String], transform: InputTransform) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return [
            classNamesKey: String(decoding: try encoder.encode(classNames), as: UTF8.self),
            inputKey: String(decoding: try encoder.encode(transform), as: UTF8.self),
        ]
    }

    /// The recorded class names of a network of `classes` classes; `class 0`, `class 1`,
    /// ... for a file that records none.
    public static func classNames(in metadata: [String: String], classes: Int) throws -> [String] {
        guard let json = metadata[classNamesKey] else { return (0..<classes).map { "class \($0)" } }
        let names = try decode([String].self, key: classNamesKey, expected: "a JSON array of names", from: json)
        guard names.count == classes else {
            throw DataMetadataError(key: classNamesKey, detail: "\(names.count) names for a network of \(classes) classes")
        }
        return names
    }

    /// The recorded evaluation transform. For files from before `heed.input`: their
    /// normalisation with the size of the dataset named by `dataset` (the synthetic set
    /// and CIFAR are 32×32; an image folder's size was not recorded). Nil when unknown.
    public static func transform(in metadata: [String: String]) throws -> InputTransform? {
        if let json = metadata[inputKey] {
            let transform = try decode(InputTransform.self, key: inputKey, expected: "{height, width, mean, std}", from: json)
            let sides = 1...InputTransform.maximumSide
            guard sides.contains(transform.height), sides.contains(transform.width) else {
                throw DataMetadataError(
                    key: inputKey,
                    detail: "image size \(transform.height)x\(transform.width): each side must be from 1 to \(sides.upperBound)")
            }
            try check(transform.normalization, key: inputKey)
            return transform
        }
        guard let normalization = try legacyNormalization(metadata),
            let dataset = metadata["dataset"], ["synthetic", "cifar10", "cifar100", "cifar100-coarse"].contains(dataset)
        else { return nil }
        return InputTransform(height: 32, width: 32, normalization: normalization)
    }

    /// The recorded normalisation (also of files from before `heed.input`); nil when none.
    public static func normalization(in metadata: [String: String]) throws -> Normalization? {
        if metadata[inputKey] != nil { return try transform(in: metadata)?.normalization }
        return try legacyNormalization(metadata)
    }

    /// `normalization_mean` and `normalization_std`: comma-separated floats, one per channel.
    private static func legacyNormalization(_ metadata: [String: String]) throws -> Normalization? {
        guard let meanText = metadata["normalization_mean"], let stdText = metadata["normalization_std"] else { return nil }
        let mean = meanText.split(separator: ",").compactMap { Float($0) }
        let std = stdText.split(separator: ",").compactMap { Float($0) }
        guard !mean.isEmpty, mean.count == std.count, mean.count == meanText.split(separator: ",").count,
            std.count == stdText.split(separator: ",").count
        else {
            throw DataMetadataError(key: "normalization_mean", detail: "'\(meanText.prefix(80))' and std '\(stdText.prefix(80))'")
        }
        let normalization = Normalization(mean: mean, std: std)
        try check(normalization, key: "normalization_mean")
        return normalization
    }

    /// Refuses a recorded normalisation that images cannot go through: one mean and
    /// standard deviation for each of the 3 colour channels, every mean finite and
    /// every standard deviation finite and above zero (it divides).
    private static func check(_ normalization: Normalization, key: String) throws {
        guard normalization.mean.count == 3 else {
            throw DataMetadataError(key: key, detail: "\(normalization.mean.count) means and standard deviations; images have 3 channels")
        }
        guard normalization.mean.allSatisfy(\.isFinite), normalization.std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw DataMetadataError(
                key: key,
                detail:
                    "normalisation mean \(normalization.mean) and std \(normalization.std): means must be finite, stds finite and above 0")
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, key: String, expected: String, from json: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(json.utf8))
        } catch {
            throw DataMetadataError(key: key, detail: "expected \(expected)")
        }
    }
}
