import ArgumentParser
import Foundation
import HeedData
import HeedOps
import HeedGraph
import HeedModels

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

    /// The network with its weights, in evaluation mode, and the file's metadata.
    func load(on backend: any Backend) throws -> (network: WideResNet, metadata: [String: String]) {
        let file = try SafeTensors.read(from: URL(fileURLWithPath: checkpoint))
        let metadata = file.metadata
        func value(_ override: Int?, _ key: String) throws -> Int {
            if let override { return override }
            guard let text = metadata[key], let number = Int(text) else {
                throw ValidationError("\(checkpoint) does not record '\(key)' (not written by heed train?): pass --\(key.replacingOccurrences(of: "_", with: "-"))")
            }
            return number
        }
        let configuration = WideResNetConfiguration(depth: try value(depth, "depth"), width: try value(width, "width"),
                                                    classes: try value(classes, "classes"))
        let attentionDepth = try value(self.attentionDepth ?? (metadata["attention_depth"] == nil ? 0 : nil), "attention_depth")
        let network: WideResNet
        if attentionDepth > 0 {
            let gate = try attentionGate ?? metadata["attention_gate"].flatMap(AggregationGate.init(rawValue:))
                ?? { throw ValidationError("\(checkpoint) does not record 'attention_gate': pass --attention-gate") }()
            let attention = AttentionConfiguration(depth: attentionDepth, width: try value(attentionWidth, "attention_width"), gate: gate)
            if metadata["coarse2fine"] == "1" {
                let defaults = Coarse2FineConfiguration()
                let coarse2fine = Coarse2FineConfiguration(
                    fineStartEpoch: metadata["c2f_start_epoch"].flatMap(Int.init) ?? defaults.fineStartEpoch,
                    fineWeight: metadata["c2f_fine_weight"].flatMap(Float.init) ?? defaults.fineWeight,
                    minimumScale: metadata["c2f_min_scale"].flatMap(Float.init) ?? defaults.minimumScale,
                    fineGradient: metadata["c2f_fine_gradient"] != "0")
                network = try Coarse2FineNetwork(configuration, attention: attention, coarse2fine: coarse2fine, on: backend, seed: 0)
            } else {
                network = try AttentionNetwork(configuration, attention: attention, on: backend, seed: 0)
            }
        } else {
            network = try WideResNet(configuration, on: backend, seed: 0)
        }
        let trainingState = Set(file.tensors.keys.filter { $0.hasPrefix("optimizer.") || $0.hasPrefix("training.") })
        try Checkpoint.load(file, into: network, path: checkpoint, ignoring: trainingState)
        network.eval()
        return (network, metadata)
    }
}

extension DataOptions {
    /// The normalisation the model was trained with (recorded in its file), else the default for the data.
    func normalization(for train: ImageDataset, metadata: [String: String]) -> Normalization {
        func floats(_ key: String) -> [Float]? { metadata[key]?.split(separator: ",").compactMap { Float($0) } }
        if let mean = floats("normalization_mean"), let std = floats("normalization_std"), mean.count == train.channels, std.count == mean.count {
            return Normalization(mean: mean, std: std)
        }
        return normalization(for: train)
    }
}
