import HeedOps

/// How many times a storage has been written in place (PyTorch's version counter). Tensors
/// that share a storage (a reshape, an in-place op's result) share its counter.
final class StorageVersion {
    private(set) var value = 0

    func increment() {
        value += 1
    }
}

/// The buffers one gradient rule reads in backward, and nothing else (PyTorch's saved
/// tensors). A rule declares them when its op runs; its node drops them once the rule has
/// run. Each saved tensor remembers its storage's version, so that a rule never reads a
/// value something overwrote in place after the forward pass read it.
struct SavedTensors {
    private struct Entry {
        let storage: any DeviceBuffer
        /// The storage's counter and its value when saved; nil for a buffer that is not a
        /// tensor's (labels), which the graph never writes.
        let version: (counter: StorageVersion, value: Int)?
    }

    private let entries: [Entry]

    init(tensors: [Tensor], buffers: [any DeviceBuffer] = []) {
        entries =
            tensors.map { Entry(storage: $0.storage, version: ($0.version, $0.version.value)) }
            + buffers.map { Entry(storage: $0, version: nil) }
    }

    /// The saved tensors' storages, then the saved buffers, in the order they were given;
    /// throws if one of them was modified in place since it was saved.
    func buffers(for op: String) throws -> [any DeviceBuffer] {
        try entries.enumerated().map { index, entry in
            if let (counter, value) = entry.version, counter.value != value {
                throw HeedError.invalidArgument(
                    op: "\(op) backward",
                    "saved tensor \(index) (\(entry.storage.summary)) was modified in place after it was saved "
                        + "(version \(counter.value), saved at version \(value))")
            }
            return entry.storage
        }
    }

    /// Bytes of all saved buffers (a saved parameter counts too: the rule holds it).
    var byteCount: Int {
        entries.reduce(0) { $0 + $1.storage.count * $1.storage.elementType.byteSize }
    }

    /// The saved storages themselves, for tests that compare them with an op's tensors.
    var storages: [any DeviceBuffer] { entries.map(\.storage) }
}
