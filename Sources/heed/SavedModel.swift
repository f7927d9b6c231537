import ArgumentParser
import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOps
import HeedSupport

/// A trained network from a file: `heed train`'s `model.safetensors` or
/// `checkpoint.safetensors`, whose metadata gives the network's shape, or a PyTorch
/// `state_dict`, whose shape these flags give. A flag given for a file that records its
/// value must agree with it.
struct SavedModelOptions: ParsableArguments {
    @Option(
        name: [.customLong("checkpoint"), .customLong("weights")],
        help: "Weights or training checkpoint written by `heed train` (or a PyTorch state_dict, with the model flags).")
    var checkpoint: String

    @Option(
        name: .long,
        help:
            "For files without heed metadata: the backbone, wrn (the default) or a torchvision constructor name (resnet18, resnet50, resnext50_32x4d, ...)."
    )
    var arch: String?
    @Option(name: .long, help: "For files without heed metadata: WRN depth.") var depth: Int?
    @Option(name: .long, help: "For files without heed metadata: WRN width.") var width: Int?
    @Option(name: .long, help: "For files without heed metadata: number of classes.") var classes: Int?
    @Option(name: .long, help: "For files without heed metadata: attention depth (0 for the baseline).") var attentionDepth: Int?
    @Option(name: .long, help: "For files without heed metadata: attention width.") var attentionWidth: Int?
    @Option(name: .long, help: "For files without heed metadata: attention gate, softmax or sigmoid.")
    var attentionGate: AggregationGate?

    @Flag(name: .long, help: "Load NaN, infinite or negative-variance weights (debugging only).")
    var allowNonfinite = false

    /// The network with its weights, in evaluation mode, and the file's metadata.
    func load(on backend: any Backend) throws -> SavedModel {
        let file = try SafeTensors.read(from: URL(fileURLWithPath: checkpoint))
        // A plain torchvision state_dict says its class count in fc.weight's rows.
        let fcRows = arch.flatMap { $0 == "wrn" ? nil : file.tensors["fc.weight"]?.shape.first }
        let flags = ModelConfiguration.Flags(
            arch: arch, depth: depth, width: width, classes: classes ?? fcRows, attentionDepth: attentionDepth,
            attentionWidth: attentionWidth, attentionGate: attentionGate)
        let configuration: ModelConfiguration
        do {
            configuration = try ModelConfiguration(metadata: file.metadata, flags: flags)
        } catch let ModelMetadataError.missing(key) {
            let alternative = ["depth", "width"].contains(key) ? " (a Wide ResNet), or --arch for a torchvision ResNet" : ""
            throw FileError(path: checkpoint, problem: "records no '\(key)' (not written by heed train?): pass \(flag(key))\(alternative)")
        } catch let ModelMetadataError.contradiction(key, given, recorded) {
            throw FileError(
                path: checkpoint,
                problem: "\(flag(key)) \(given) contradicts the checkpoint's \(key.replacingOccurrences(of: "_", with: " ")) \(recorded)")
        } catch let error as ModelMetadataError {
            throw FileError(path: checkpoint, problem: error.description)
        }
        // Metadata of a few bytes (or the flags) can describe any network up to
        // ModelConfiguration.maximumWeights (8 GiB of float32); a file holding fewer values than
        // that network's weights cannot fill it, so it is refused before the network is built.
        let stored = file.tensors.values.reduce(0) { $0 + $1.elementCount }
        if let needed = configuration.weightCount, stored < needed {
            throw FileError(
                path: checkpoint,
                problem:
                    "holds \(stored) values, fewer than the \(needed) weights of the \(configuration) its metadata or the model flags describe (wrong metadata or flags?)"
            )
        }
        let network = try configuration.makeModel(on: backend, seed: 0)
        let trainingState = Set(file.tensors.keys.filter { $0.hasPrefix("optimizer.") || $0.hasPrefix("training.") })
        try Checkpoint.load(file, into: network, path: checkpoint, ignoring: trainingState, allowNonfinite: allowNonfinite)
        network.eval()
        return SavedModel(network: network, metadata: file.metadata, path: checkpoint)
    }

    /// `attention_depth` → `--attention-depth`.
    private func flag(_ key: String) -> String { "--" + key.replacingOccurrences(of: "_", with: "-") }
}

/// A loaded network and what its file records about the data it was trained on.
struct SavedModel {
    let network: Network
    let metadata: [String: String]
    let path: String

    /// The training run's seed (of the synthetic set), if recorded.
    var seed: UInt64? { metadata["seed"].flatMap(UInt64.init) }

    /// The class names; `class 0`, `class 1`, ... for files that record none.
    func classNames() throws -> [String] {
        try recorded { try DataMetadata.classNames(in: metadata, classes: network.classCount) }
    }

    /// The evaluation transform the network was trained with, or an error saying it is not recorded.
    func transform() throws -> InputTransform {
        guard let transform = try recorded({ try DataMetadata.transform(in: metadata) }) else {
            throw FileError(
                path: path,
                problem:
                    "records no image size and normalisation (metadata '\(DataMetadata.inputKey)'; a PyTorch file, or trained on a folder before heed recorded them): predict normalised tensors with --input"
            )
        }
        return transform
    }

    /// The normalisation the network was trained with, else `fallback` (the data's default).
    func normalization(else fallback: @autoclosure () -> Normalization) throws -> Normalization {
        try recorded { try DataMetadata.normalization(in: metadata) } ?? fallback()
    }

    private func recorded<T>(_ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch let error as DataMetadataError {
            throw FileError(path: path, problem: error.description)
        }
    }
}
