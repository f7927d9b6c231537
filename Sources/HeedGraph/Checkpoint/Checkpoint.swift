import Foundation
import HeedOps
import HeedSupport

/// Model weights as safetensors, named as PyTorch names them (docs/design.md §6): a
/// `state_dict` saved by `safetensors.torch.save_file` loads unchanged, and a Heed
/// file loads in PyTorch.
public enum Checkpoint {
    /// The model's parameters and buffers (F32) and persistent counters (I64,
    /// PyTorch's `num_batches_tracked`), with `metadata` in the header.
    public static func weights(of model: Module, metadata: [String: String] = [:]) throws -> SafeTensors {
        var file = SafeTensors(metadata: metadata)
        for (name, tensor) in model.state {
            file.tensors[name] = .init(shape: tensor.shape, floats: try tensor.values())
        }
        for (name, counter) in model.namedCounters() {
            file.tensors[name] = .init(shape: [], int64s: [counter.value])
        }
        for (name, constant) in model.namedConstants where constant.isStored {
            file.tensors[name] = .init(shape: constant.shape, floats: constant.values)
        }
        return file
    }

    /// Copies the tensors of `file` into `model`.
    ///
    /// Every parameter and buffer must be present with its exact shape (a file for
    /// another depth or width is refused, naming the first tensor that differs) and,
    /// unless `allowNonfinite`, hold only finite values, running variances none below
    /// zero. Counters (`num_batches_tracked`) are optional, and must hold an integer.
    /// Constant buffers (`Module.register(constant:as:)`) are optional, must hold exactly
    /// their value, and are marked stored when present.
    /// Entries the model does not have are an error unless listed in `ignoring`.
    ///
    /// - Parameters:
    ///   - path: names the file in errors.
    ///   - allowNonfinite: loads NaN, infinite and negative-variance values as they are (for debugging).
    public static func load(
        _ file: SafeTensors, into model: Module, path: String, ignoring extra: Set<String> = [], allowNonfinite: Bool = false
    ) throws {
        var unused = Set(file.tensors.keys)
        for (name, tensor) in model.state {
            guard let entry = file.tensors[name] else {
                throw FileError(path: path, problem: "missing tensor '\(name)' of shape \(tensor.shape) (wrong model options?)")
            }
            guard entry.shape == tensor.shape else {
                throw FileError(
                    path: path, problem: "tensor '\(name)' has shape \(entry.shape), the model needs \(tensor.shape) (wrong model options?)"
                )
            }
            try tensor.assign(try checkedValues(entry, name: name, path: path, allowNonfinite: allowNonfinite))
            unused.remove(name)
        }
        for (name, counter) in model.namedCounters(includingTransient: true) {
            if let entry = file.tensors[name], !entry.bytes.isEmpty {
                counter.value = try checkedCounter(entry, name: name, path: path)
            }
            unused.remove(name)
        }
        for (name, constant) in model.namedConstants {
            constant.isStored = try checkedConstant(file.tensors[name], constant, name: name, path: path)
            unused.remove(name)
        }
        let unexpected = unused.subtracting(extra).sorted()
        if !unexpected.isEmpty {
            throw FileError(
                path: path,
                problem:
                    "tensors the model does not have: \(unexpected.prefix(5).joined(separator: ", "))\(unexpected.count > 5 ? ", ..." : "") (wrong model options?)"
            )
        }
    }

    /// The values of tensor `name`, refused when one is NaN or infinite, or, for a
    /// BatchNorm running variance, below zero: such weights would otherwise load and
    /// make every output NaN or meaningless.
    static func checkedValues(_ entry: SafeTensors.Entry, name: String, path: String, allowNonfinite: Bool) throws -> [Float] {
        let values = entry.floats()
        guard !allowNonfinite else { return values }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw FileError(
                path: path, problem: "tensor '\(name)' holds \(values[index]) at element \(index) (--allow-nonfinite loads it anyway)")
        }
        if name.hasSuffix("running_var"), let index = values.firstIndex(where: { $0 < 0 }) {
            throw FileError(
                path: path,
                problem:
                    "tensor '\(name)' holds the negative variance \(values[index]) at element \(index) (--allow-nonfinite loads it anyway)")
        }
        return values
    }

    /// Whether the file holds constant buffer `name` (nil: it does not); refused unless it
    /// holds exactly the constant's shape and values.
    static func checkedConstant(_ entry: SafeTensors.Entry?, _ constant: ConstantBuffer, name: String, path: String) throws -> Bool {
        guard let entry else { return false }
        guard entry.shape == constant.shape else {
            throw FileError(
                path: path, problem: "tensor '\(name)' has shape \(entry.shape), it must be \(constant.meaning) of shape \(constant.shape)")
        }
        let values = entry.floats()
        if let index = values.indices.first(where: { values[$0] != constant.values[$0] }) {
            throw FileError(
                path: path,
                problem:
                    "tensor '\(name)' must be \(constant.meaning), but holds \(values[index]) at element \(index), not \(constant.values[index])"
            )
        }
        return true
    }

    /// The first value of counter tensor `name`, refused when it is not an integer
    /// Int64 can hold (a float NaN or 1e300 would trap on conversion).
    static func checkedCounter(_ entry: SafeTensors.Entry, name: String, path: String) throws -> Int64 {
        guard let value = entry.int64s()?.first else {
            throw FileError(path: path, problem: "counter '\(name)' holds \(entry.floats()[0]), not a 64-bit integer")
        }
        return value
    }
}

/// Everything a training run needs to continue exactly where it stopped: weights,
/// every counter, the optimizer's momentum buffers, the position (epoch, batch) and
/// the seed all randomness is derived from. One safetensors file, written atomically.
public struct TrainingCheckpoint {
    /// Prefix of the momentum-buffer tensors in the file.
    public static let momentumPrefix = "optimizer.momentum_buffer."
    /// Prefix of the counters that are not part of the weights (dropout draws).
    public static let counterPrefix = "training.counter."
    /// The metadata of the position; the rest of the metadata is `options`.
    private static let positionKeys: Set<String> = ["heed.epoch", "heed.batch", "heed.step", "heed.seed"]

    /// Epoch to resume in (0-based) and the first batch of it not yet trained.
    public var epoch: Int
    public var batch: Int
    /// Optimizer steps taken so far.
    public var step: Int
    public var seed: UInt64
    /// The run's metadata as `key=value` strings (the model's configuration and the
    /// recipe), so a resumed run can refuse a mismatch and `heed evaluate` can rebuild
    /// the model.
    public var options: [String: String]

    public init(epoch: Int, batch: Int, step: Int, seed: UInt64, options: [String: String]) {
        self.epoch = epoch
        self.batch = batch
        self.step = step
        self.seed = seed
        self.options = options
    }

    /// Writes the model, optimizer state and position to `url`, atomically; throws
    /// ``NonFiniteTensorError`` instead, leaving `url` as it was, when a tensor is not finite.
    public func save(model: Module, optimizer: SGD, to url: URL) throws {
        var metadata = options
        metadata["heed.epoch"] = String(epoch)
        metadata["heed.batch"] = String(batch)
        metadata["heed.step"] = String(step)
        metadata["heed.seed"] = String(seed)
        var file = try Checkpoint.weights(of: model, metadata: metadata)
        for (name, buffer) in optimizer.momentumBuffers {
            file.tensors[Self.momentumPrefix + name] = .init(shape: buffer.shape, floats: try buffer.values())
        }
        let persistent = Set(model.namedCounters().map(\.name))
        for (name, counter) in model.namedCounters(includingTransient: true) where !persistent.contains(name) {
            file.tensors[Self.counterPrefix + name] = .init(shape: [], int64s: [counter.value])
        }
        try file.requireFinite(path: url.path)
        try file.write(to: url)
    }

    /// Reads a training checkpoint into `model` and `optimizer` and returns the position.
    ///
    /// The position's keys must be present and hold non-negative integers (the seed an
    /// unsigned 64-bit one); whether they fit the run is for the caller to check
    /// (`check(epochs:batchesPerEpoch:path:)`). Weights and momentum buffers are checked
    /// as `Checkpoint.load` checks them.
    public static func restore(
        from url: URL, model: Module, optimizer: SGD, allowNonfinite: Bool = false
    ) throws -> TrainingCheckpoint {
        let file = try SafeTensors.read(from: url)
        let path = url.path
        func number<T: FixedWidthInteger>(_ key: String) throws -> T {
            guard let text = file.metadata[key] else {
                throw FileError(path: path, problem: "not a training checkpoint: metadata '\(key)' is missing (a weights-only file?)")
            }
            guard let value = T(text), value >= 0 else {
                throw FileError(
                    path: path, problem: "metadata '\(key)' is invalid: '\(text.prefix(40))' is not an integer from 0 to \(T.max)")
            }
            return value
        }
        let position = TrainingCheckpoint(
            epoch: try number("heed.epoch"), batch: try number("heed.batch"),
            step: try number("heed.step"), seed: try number("heed.seed"),
            options: file.metadata.filter { !positionKeys.contains($0.key) })
        let extra = Set(file.tensors.keys.filter { $0.hasPrefix(momentumPrefix) || $0.hasPrefix(counterPrefix) })
        try Checkpoint.load(file, into: model, path: path, ignoring: extra, allowNonfinite: allowNonfinite)
        var momentum: [String: [Float]] = [:]
        for name in extra where name.hasPrefix(momentumPrefix) {
            momentum[String(name.dropFirst(momentumPrefix.count))] = try Checkpoint.checkedValues(
                file.tensors[name]!, name: name, path: path, allowNonfinite: allowNonfinite)
        }
        try optimizer.loadMomentumBuffers(momentum)
        let counters = Dictionary(uniqueKeysWithValues: model.namedCounters(includingTransient: true).map { ($0.name, $0.counter) })
        for name in extra where name.hasPrefix(counterPrefix) {
            let entry = file.tensors[name]!
            counters[String(name.dropFirst(counterPrefix.count))]?.value =
                entry.bytes.isEmpty ? 0 : try Checkpoint.checkedCounter(entry, name: name, path: path)
        }
        return position
    }

    /// Refuses a position outside the run it resumes: an epoch past `epochs`, a batch
    /// past `batchesPerEpoch`, or more steps than the epochs before it and its batches
    /// hold. A finished epoch saved before its evaluation resumes at its last batch.
    ///
    /// - Parameter path: the checkpoint, named in errors.
    public func check(epochs: Int, batchesPerEpoch: Int, path: String) throws {
        func fail(_ key: String, _ value: Int, _ problem: String) -> FileError {
            FileError(path: path, problem: "metadata '\(key)' is invalid: \(value) \(problem)")
        }
        guard epoch <= epochs else { throw fail("heed.epoch", epoch, "is past the run's \(epochs) epochs") }
        guard batch <= batchesPerEpoch else { throw fail("heed.batch", batch, "is past the epoch's \(batchesPerEpoch) batches") }
        let (before, overflow) = epoch.multipliedReportingOverflow(by: batchesPerEpoch)
        guard !overflow, step <= before + batch else {
            throw fail("heed.step", step, "is more steps than epoch \(epoch) batch \(batch) of \(batchesPerEpoch) per epoch follow")
        }
    }
}
