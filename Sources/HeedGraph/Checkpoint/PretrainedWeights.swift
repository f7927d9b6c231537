import HeedSupport

/// Weights to fine-tune from (`heed train --pretrained`): the tensors of a file that a
/// model has under the same name and shape, keyed by name only, so that any backbone whose
/// names follow its PyTorch definition takes them (docs/design.md §6, §9).
public struct PretrainedWeights {
    /// A tensor of the file with a model's name and another shape.
    public struct Mismatch: Equatable, Sendable {
        public let name: String
        public let fileShape: [Int]
        public let modelShape: [Int]

        public init(name: String, fileShape: [Int], modelShape: [Int]) {
            self.name = name
            self.fileShape = fileShape
            self.modelShape = modelShape
        }

        public var description: String { "\(name) \(fileShape) in the file, \(modelShape) in the model" }
    }

    /// What a load did, by tensor name (parameters, buffers, counters and constants alike).
    public struct Report: Equatable, Sendable {
        /// The model's tensors that now hold the file's values.
        public var loaded: [String] = []
        /// The model's tensors the file does not hold: they keep their initialisation.
        public var initialised: [String] = []
        /// The model's tensors the file holds with another shape that may be initialised
        /// instead (a classifier for another class count).
        public var reinitialised: [Mismatch] = []
        /// The file's tensors the model has no use for.
        public var ignored: [String] = []
    }

    /// Loads into `model` every tensor of `file` it has with the same name and shape, after
    /// checking them all: a tensor with a model's name and another shape is an error listing
    /// every such tensor and both shapes, unless `reinitialisable(mismatch)` (it keeps its
    /// initialisation, and is reported). Values must be finite, running variances not below
    /// zero, counters integers, constant buffers their value (`Checkpoint.load`'s checks).
    ///
    /// - Parameter path: names the file in errors.
    public static func load(
        _ file: SafeTensors, into model: Module, path: String, reinitialisable: (Mismatch) -> Bool
    ) throws -> Report {
        let floats = model.state.map { (name: $0.name, shape: $0.tensor.shape) }
        let counters = model.namedCounters().map(\.name)
        let constants = model.namedConstants
        var report = Report()
        var mismatches: [Mismatch] = []
        for (name, shape) in floats + constants.map({ ($0.name, $0.constant.shape) }) {
            guard let entry = file.tensors[name] else { continue }
            guard entry.shape != shape else { continue }
            let mismatch = Mismatch(name: name, fileShape: entry.shape, modelShape: shape)
            if reinitialisable(mismatch) { report.reinitialised.append(mismatch) } else { mismatches.append(mismatch) }
        }
        if !mismatches.isEmpty {
            let listed = mismatches.prefix(8).map(\.description).joined(separator: "; ")
            let more = mismatches.count > 8 ? "; ... (\(mismatches.count) in all)" : ""
            throw FileError(path: path, problem: "tensors that do not fit the model: \(listed)\(more) (another architecture or --classes?)")
        }
        let skipped = Set(report.reinitialised.map(\.name))
        // Every value is checked before any is assigned, so a refused file leaves the model as it was.
        var values: [(tensor: Tensor, values: [Float])] = []
        for (name, tensor) in model.state where !skipped.contains(name) {
            guard let entry = file.tensors[name] else {
                report.initialised.append(name)
                continue
            }
            values.append((tensor, try Checkpoint.checkedValues(entry, name: name, path: path, allowNonfinite: false)))
            report.loaded.append(name)
        }
        var counterValues: [(counter: Counter, value: Int64)] = []
        for (name, counter) in model.namedCounters() {
            guard let entry = file.tensors[name], !entry.bytes.isEmpty else {
                report.initialised.append(name)
                continue
            }
            counterValues.append((counter, try Checkpoint.checkedCounter(entry, name: name, path: path)))
            report.loaded.append(name)
        }
        var stored: [ConstantBuffer] = []
        for (name, constant) in constants where !skipped.contains(name) {
            if try Checkpoint.checkedConstant(file.tensors[name], constant, name: name, path: path) {
                stored.append(constant)
                report.loaded.append(name)
            }
        }
        for (tensor, contents) in values { try tensor.assign(contents) }
        for (counter, value) in counterValues { counter.value = value }
        for constant in stored { constant.isStored = true }
        let known = Set(floats.map(\.name) + counters + constants.map(\.name))
        report.ignored = file.tensors.keys.filter { !known.contains($0) }.sorted()
        return report
    }
}
