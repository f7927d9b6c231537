import ArgumentParser
import Foundation
import HeedData
import HeedGraph
import HeedSupport

/// `heed train --pretrained`: fine-tuning from weights trained elsewhere (a torchvision or
/// the authors' state_dict converted by scripts/convert_pytorch.py, or a Heed file).
struct FineTuningOptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            Fine-tune from these weights (safetensors; scripts/convert_pytorch.py converts a .pth): every tensor \
            the model has with the same name and shape is loaded, the rest initialised.
            """)
    var pretrained: String?

    @Option(name: .long, help: "With --pretrained: the loaded (backbone) parameters learn at --lr times this.")
    var backboneLrScale: Float = 1

    @Flag(
        name: .long,
        help:
            "With --pretrained: the backbone's batch norms use and keep their running statistics in training too (weight and bias still learn)."
    )
    var freezeBn = false

    enum PretrainedNormalization: String, ExpressibleByArgument, CaseIterable {
        case auto, imagenet, dataset
    }

    @Option(
        name: .long,
        help: """
            With --pretrained: the input normalisation. auto: the one a Heed file records, else ImageNet's (torchvision's \
            weights); imagenet; dataset: as training from scratch would.
            """)
    var pretrainedNormalization: PretrainedNormalization = .auto

    /// torchvision's ImageNet statistics, which its pretrained weights expect.
    static let imagenet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// The checkpoint options of a fine-tuning run (`recorded(in:)` reads them back on --resume).
    private enum Key {
        static let backbone = "fine_tuning.backbone"
        static let learningRateScale = "fine_tuning.backbone_lr_scale"
        static let freezeBatchNorm = "fine_tuning.freeze_bn"
        static let normalization = "fine_tuning.normalization"
    }

    func validate() throws {
        try OptionError.require(
            backboneLrScale.isFinite && backboneLrScale >= 0,
            "--backbone-lr-scale must be a finite number, 0 or more, not \(backboneLrScale)")
        if pretrained == nil {
            try OptionError.require(backboneLrScale == 1, "--backbone-lr-scale needs --pretrained (the backbone is what it loads)")
            try OptionError.require(!freezeBn, "--freeze-bn needs --pretrained (the backbone is what it loads)")
            try OptionError.require(pretrainedNormalization == .auto, "--pretrained-normalization needs --pretrained")
        }
    }

    /// What fine-tuning changes in a run: which parameters are the backbone, their learning
    /// rate, frozen batch norms, the normalisation.
    struct Plan {
        /// Names of the backbone's tensors: those loaded from the pretrained file.
        var backbone: Set<String>
        var learningRateScale: Float
        var freezeBatchNorm: Bool
        /// The inputs' normalisation; nil: the dataset's, as training from scratch.
        var normalization: Normalization?
        /// Where it comes from, for the summary ("ImageNet", "the pretrained file's").
        var normalizationSource: String
        /// The load's report (nil on --resume, which loads no pretrained file).
        var report: PretrainedWeights.Report?

        /// The checkpoint options that let --resume continue the same fine-tuning.
        var options: [String: String] {
            let names = (try? String(decoding: JSONEncoder().encode(backbone.sorted()), as: UTF8.self)) ?? "[]"
            return [
                Key.backbone: names, Key.learningRateScale: String(learningRateScale), Key.freezeBatchNorm: String(freezeBatchNorm),
                Key.normalization: normalization.map { FineTuningOptions.encoded($0) } ?? "dataset",
            ]
        }

        /// --backbone-lr-scale as SGD groups: the backbone's parameters at the scale.
        var learningRateScales: [String: Float] {
            learningRateScale == 1 ? [:] : Dictionary(uniqueKeysWithValues: backbone.map { ($0, learningRateScale) })
        }

        /// Freezes (--freeze-bn) every batch norm of `model` whose running statistics are the backbone's.
        func apply(to model: Module) {
            guard freezeBatchNorm else { return }
            let buffers = Dictionary(uniqueKeysWithValues: model.namedBuffers.map { (ObjectIdentifier($0.tensor), $0.name) })
            for case let layer as BatchNorm in model.moduleTree {
                if let name = buffers[ObjectIdentifier(layer.runningMean)], backbone.contains(name) { layer.isFrozen = true }
            }
        }

        /// The chosen normalisation, or `dataset`'s default. (The one place fine-tuning chooses a
        /// run's normalisation: a data option that sets one explicitly should be passed as `dataset`.)
        func normalization(else dataset: @autoclosure () -> Normalization) -> Normalization {
            normalization ?? dataset()
        }

        /// The lines `heed train` prints: counts, then the names grouped by their first component.
        var summary: [String] {
            guard let report else {
                return ["fine-tuning (resumed): \(backbone.count) backbone tensors\(settings)"]
            }
            var lines = [
                "pretrained: \(report.loaded.count) tensors loaded, \(report.initialised.count + report.reinitialised.count) initialised"
                    + ", \(report.ignored.count) in the file ignored\(settings)",
                "  loaded: \(Self.grouped(report.loaded))",
            ]
            if !report.initialised.isEmpty { lines.append("  initialised: \(Self.grouped(report.initialised))") }
            for mismatch in report.reinitialised {
                lines.append("  re-initialised (another class count): \(mismatch.description)")
            }
            if !report.ignored.isEmpty { lines.append("  ignored: \(Self.grouped(report.ignored))") }
            return lines
        }

        private var settings: String {
            "; backbone lr x \(learningRateScale)" + (freezeBatchNorm ? ", batch norms frozen" : "")
                + ", \(normalizationSource) normalisation"
        }

        /// `layer1 (30), fc (2)`: names counted by their part before the first dot, in first-seen order.
        static func grouped(_ names: [String]) -> String {
            var order: [String] = []
            var counts: [String: Int] = [:]
            for name in names {
                let prefix = String(name.prefix { $0 != "." })
                if counts[prefix] == nil { order.append(prefix) }
                counts[prefix, default: 0] += 1
            }
            return order.map { "\($0) (\(counts[$0]!))" }.joined(separator: ", ")
        }
    }

    /// A classifier (`fc.*`, the WRN's `classifier.*`) whose output count differs and whose
    /// other dimensions fit: fine-tuning for a new class count initialises it instead.
    static func isClassifierForOtherClasses(_ mismatch: PretrainedWeights.Mismatch) -> Bool {
        let classifier = mismatch.name.hasPrefix("fc.") || mismatch.name.hasPrefix("classifier.")
        return classifier && mismatch.fileShape.count == mismatch.modelShape.count && mismatch.fileShape.first != mismatch.modelShape.first
            && mismatch.fileShape.dropFirst() == mismatch.modelShape.dropFirst()
    }

    /// Loads --pretrained into `model` (a fresh run), or reads back the fine-tuning a checkpoint
    /// records (--resume); nil when the run fine-tunes nothing. The caller applies the plan.
    func plan(for model: Module, resumingFrom checkpoint: URL?) throws -> Plan? {
        if let checkpoint { return try Self.recorded(in: checkpoint) }
        guard let pretrained else { return nil }
        let file = try SafeTensors.read(from: URL(fileURLWithPath: pretrained))
        let report = try PretrainedWeights.load(file, into: model, path: pretrained, reinitialisable: Self.isClassifierForOtherClasses)
        guard !report.loaded.isEmpty else {
            throw FileError(path: pretrained, problem: "holds no tensor the model has (another architecture?)")
        }
        let recorded: Normalization?
        do {
            recorded = try DataMetadata.normalization(in: file.metadata)
        } catch let error as DataMetadataError {
            throw FileError(path: pretrained, problem: error.description)
        }
        let (normalization, source): (Normalization?, String) =
            switch pretrainedNormalization {
            case .auto: recorded.map { ($0, "the pretrained file's") } ?? (Self.imagenet, "ImageNet")
            case .imagenet: (Self.imagenet, "ImageNet")
            case .dataset: (nil, "the dataset's")
            }
        return Plan(
            backbone: Set(report.loaded), learningRateScale: backboneLrScale, freezeBatchNorm: freezeBn,
            normalization: normalization, normalizationSource: source, report: report)
    }

    /// The fine-tuning a training checkpoint records, nil for a run that fine-tuned nothing.
    private static func recorded(in checkpoint: URL) throws -> Plan? {
        let metadata = try SafeTensors.read(from: checkpoint).metadata
        guard let names = metadata[Key.backbone] else { return nil }
        func invalid(_ key: String) -> FileError {
            FileError(path: checkpoint.path, problem: "metadata '\(key)' is invalid: '\((metadata[key] ?? "").prefix(40))'")
        }
        guard let backbone = try? JSONDecoder().decode([String].self, from: Data(names.utf8)) else { throw invalid(Key.backbone) }
        guard let scale = metadata[Key.learningRateScale].flatMap(Float.init), scale.isFinite, scale >= 0 else {
            throw invalid(Key.learningRateScale)
        }
        guard let freeze = metadata[Key.freezeBatchNorm].flatMap(Bool.init) else { throw invalid(Key.freezeBatchNorm) }
        let normalization: Normalization?
        switch metadata[Key.normalization] {
        case "dataset": normalization = nil
        case let text?:
            guard let decoded = decoded(text) else { throw invalid(Key.normalization) }
            normalization = decoded
        case nil: throw invalid(Key.normalization)
        }
        return Plan(
            backbone: Set(backbone), learningRateScale: scale, freezeBatchNorm: freeze, normalization: normalization,
            normalizationSource: "the recorded", report: nil)
    }

    /// `{"mean": [...], "std": [...]}`.
    fileprivate static func encoded(_ normalization: Normalization) -> String {
        let object = ["mean": normalization.mean, "std": normalization.std]
        return (try? String(decoding: JSONEncoder().encode(object), as: UTF8.self)) ?? ""
    }

    private static func decoded(_ text: String) -> Normalization? {
        guard let object = try? JSONDecoder().decode([String: [Float]].self, from: Data(text.utf8)),
            let mean = object["mean"], let std = object["std"], !mean.isEmpty, mean.count == std.count
        else { return nil }
        return Normalization(mean: mean, std: std)
    }
}
