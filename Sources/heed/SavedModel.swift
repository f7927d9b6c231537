import ArgumentParser
import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOps
import HeedSupport

/// A trained network from a `heed train` file (`model.safetensors` or
/// `checkpoint.safetensors`): its shape comes from the file's metadata, and any of
/// these flags overrides it (for PyTorch files, which have none).
struct SavedModelOptions: ParsableArguments {
    @Option(name: .long, help: "Weights or training checkpoint written by `heed train` (or PyTorch, with the model flags).")
    var checkpoint: String

    @Option(name: .long, help: "Override: WRN depth.") var depth: Int?
    @Option(name: .long, help: "Override: WRN width.") var width: Int?
    @Option(name: .long, help: "Override: number of classes.") var classes: Int?
    @Option(name: .long, help: "Override: attention depth (0 for the baseline).") var attentionDepth: Int?
    @Option(name: .long, help: "Override: attention width.") var attentionWidth: Int?
    @Option(name: .long, help: "Override: attention gate, softmax or sigmoid.") var attentionGate: AggregationGate?

    @Flag(name: .long, help: "Load NaN, infinite or negative-variance weights (debugging only).")
    var allowNonfinite = false

    /// The network with its weights, in evaluation mode, and the file's metadata.
    func load(on backend: any Backend) throws -> (network: Network, metadata: [String: String]) {
        let file = try SafeTensors.read(from: URL(fileURLWithPath: checkpoint))
        let overrides = ModelConfiguration.Overrides(
            depth: depth, width: width, classes: classes, attentionDepth: attentionDepth,
            attentionWidth: attentionWidth, attentionGate: attentionGate)
        let configuration: ModelConfiguration
        do {
            configuration = try ModelConfiguration(metadata: file.metadata, overrides: overrides)
        } catch let ModelMetadataError.missing(key) {
            throw ValidationError(
                "\(checkpoint) does not record '\(key)' (not written by heed train?): pass --\(key.replacingOccurrences(of: "_", with: "-"))"
            )
        } catch let error as ModelMetadataError {
            throw FileError(path: checkpoint, problem: error.description)
        }
        let network = try configuration.makeModel(on: backend, seed: 0)
        let trainingState = Set(file.tensors.keys.filter { $0.hasPrefix("optimizer.") || $0.hasPrefix("training.") })
        try Checkpoint.load(file, into: network, path: checkpoint, ignoring: trainingState, allowNonfinite: allowNonfinite)
        network.eval()
        return (network, file.metadata)
    }
}

extension DataOptions {
    /// The normalisation the model was trained with (recorded in its file), else the default for the data.
    func normalization(for train: ImageDataset, metadata: [String: String]) -> Normalization {
        func floats(_ key: String) -> [Float]? { metadata[key]?.split(separator: ",").compactMap { Float($0) } }
        if let mean = floats("normalization_mean"), let std = floats("normalization_std"), mean.count == train.channels,
            std.count == mean.count
        {
            return Normalization(mean: mean, std: std)
        }
        return normalization(for: train)
    }
}
