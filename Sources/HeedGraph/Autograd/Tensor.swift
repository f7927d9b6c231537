import HeedOps

/// An n-dimensional float32 array on a backend, with reverse-mode autograd.
///
/// A tensor produced by an op on tensors that require gradients has a `node` (PyTorch's
/// `grad_fn`): the op's gradient rule, the tensors that rule saved, and edges to its
/// inputs' nodes, but not the inputs themselves, so an intermediate no rule saved is
/// freed as soon as the forward pass drops it. `backward()` on a scalar walks the nodes
/// in reverse, frees each node's saved tensors once its rule has run, and accumulates
/// `gradient` on every leaf that requires one (parameters). Inside
/// `Tensor.withoutGradients { … }` nothing is recorded (evaluation).
///
/// ```swift
/// let w = try Tensor(parameter: [1, 2, 3, 4], shape: [2, 2], on: backend)
/// let x = try Tensor([1, 1], shape: [1, 2], on: backend)
/// let loss = try x.linear(weight: w, bias: nil).sum()   // x·wᵀ, summed
/// try loss.backward()
/// try w.gradient!.values()          // [1, 1, 1, 1]
/// ```
///
/// `@unchecked Sendable`: a tensor belongs to one training loop at a time; its
/// buffer's contents are ordered by the backend's queue.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    /// Settable only so that backward can ask whether it holds the only reference (`accumulate`).
    public internal(set) var storage: any DeviceBuffer
    public let backend: any Backend
    /// Whether gradients flow to this tensor (parameters, and results computed from them).
    public let requiresGradient: Bool
    /// The accumulated ∂loss/∂self, for tensors that require gradients and are leaves
    /// (parameters). `zeroGradient()` clears it.
    public internal(set) var gradient: Tensor?
    /// How this tensor was computed, when recorded for backward (nil for leaves and constants).
    let node: Node?
    /// Writes in place to `storage` so far, shared with every tensor on the same storage.
    let version: StorageVersion

    init(
        shape: [Int], storage: any DeviceBuffer, backend: any Backend, requiresGradient: Bool, node: Node?,
        version: StorageVersion = StorageVersion()
    ) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) for \(storage.count) elements")
        self.shape = shape
        self.storage = storage
        self.backend = backend
        self.requiresGradient = requiresGradient
        self.node = node
        self.version = version
    }

    /// A constant tensor (no gradient) holding `values`.
    public convenience init(_ values: [Float], shape: [Int], on backend: any Backend) throws {
        try Self.checkShape(shape, count: values.count)
        self.init(shape: shape, storage: try backend.makeBuffer(values), backend: backend, requiresGradient: false, node: nil)
    }

    /// A leaf that accumulates gradients: a learnable parameter.
    public convenience init(parameter values: [Float], shape: [Int], on backend: any Backend) throws {
        try Self.checkShape(shape, count: values.count)
        self.init(shape: shape, storage: try backend.makeBuffer(values), backend: backend, requiresGradient: true, node: nil)
    }

    /// A constant tensor of `shape` filled with `value`.
    public static func filled(_ value: Float, shape: [Int], on backend: any Backend) throws -> Tensor {
        let tensor = try uninitialized(shape: shape, on: backend)
        try backend.fill(tensor.storage, with: value)
        return tensor
    }

    /// A constant tensor whose contents are about to be written by an op.
    static func uninitialized(shape: [Int], on backend: any Backend) throws -> Tensor {
        Tensor(
            shape: shape, storage: try backend.makeBuffer(count: shape.reduce(1, *), of: Float.self),
            backend: backend, requiresGradient: false, node: nil)
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// The contents, copied to the host (waits for pending work).
    public func values() throws -> [Float] {
        try backend.read(storage, as: Float.self)
    }

    /// The single value of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else { throw HeedError.shapeMismatch(op: "item", "tensor of shape \(shape) is not a scalar") }
        return try values()[0]
    }

    /// Overwrites the contents (for loading weights); shape and element count must match.
    public func assign(_ values: [Float]) throws {
        try backend.write(values, to: storage)
        version.increment()
    }

    /// The same storage viewed with another shape of the same element count (no copy).
    /// Gradients flow through unchanged in layout.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count else {
            throw HeedError.shapeMismatch(op: "reshape", "\(shape) (\(count) elements) cannot become \(newShape)")
        }
        let view = Tensor(shape: newShape, storage: storage, backend: backend, requiresGradient: false, node: nil, version: version)
        let oldShape = shape
        return Tensor.result(op: "reshape", output: view, inputs: [self]) { gradient, _ in
            [try gradient.reshaped(oldShape)]
        }
    }

    public func zeroGradient() {
        gradient = nil
    }

    public var description: String { "Tensor(\(shape.map(String.init).joined(separator: "x")))" }

    static func checkShape(_ shape: [Int], count: Int) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw HeedError.shapeMismatch(op: "tensor", "\(count) values for shape \(shape)")
        }
    }
}
