import HeedOps

/// A building block of a network: it owns named parameters (learnable tensors),
/// named buffers (state such as running statistics) and named child modules.
///
/// Names compose with dots, as PyTorch's `state_dict` does, so that
/// `group_1.block_0.conv0.weight` means the same tensor here and there.
/// Registration is explicit (no reflection): a layer calls `register` in its
/// initialiser for each parameter, buffer and child, in PyTorch's order.
///
/// ```swift
/// final class TwoLayers: Module {
///     let first: Linear, second: Linear
///     init(on backend: any Backend, random: inout SeededGenerator) throws {
///         first = try Linear(4, 8, on: backend, random: &random)
///         second = try Linear(8, 2, on: backend, random: &random)
///         super.init()
///         register(child: first, as: "first")
///         register(child: second, as: "second")
///     }
/// }
/// ```
open class Module {
    private var parameterEntries: [(name: String, tensor: Tensor)] = []
    private var bufferEntries: [(name: String, tensor: Tensor)] = []
    private var childEntries: [(name: String, module: Module)] = []
    private var counterEntries: [(name: String, counter: Counter, persistent: Bool)] = []
    private var constantEntries: [(name: String, constant: ConstantBuffer)] = []
    /// Training mode (batch statistics, dropout) or evaluation mode (running statistics).
    public private(set) var isTraining = true

    public init() {}

    public func register(parameter tensor: Tensor, as name: String) {
        parameterEntries.append((name, tensor))
    }

    public func register(buffer tensor: Tensor, as name: String) {
        bufferEntries.append((name, tensor))
    }

    public func register(child module: Module, as name: String) {
        childEntries.append((name, module))
    }

    /// Registers a child whose entries keep their own names, without a prefix: a
    /// network composed of parts (trunk, attention, zoom) names its tensors as the one
    /// flat PyTorch module does (`conv0.weight`, `att2.att_head.conv.weight`).
    public func register(flattened module: Module) {
        childEntries.append(("", module))
    }

    /// An integer state value kept on the host. Persistent counters belong to the
    /// weights (PyTorch's int64 `num_batches_tracked`); the others only to training
    /// checkpoints (a dropout layer's draw counter), so weight files stay loadable
    /// by PyTorch's strict `load_state_dict`.
    public func register(counter: Counter, as name: String, persistent: Bool = true) {
        counterEntries.append((name, counter, persistent))
    }

    /// A buffer whose value the model's definition fixes, which a file may or may not
    /// carry (the authors' `att_head.diag`, 1 - I): a loaded file's copy must equal it, and
    /// is written back only if the file had it (`Checkpoint`), so weights from either
    /// PyTorch definition load in Heed and return to the one they came from.
    public func register(constant: ConstantBuffer, as name: String) {
        constantEntries.append((name, constant))
    }

    /// Every learnable tensor with its full dotted name, in registration order.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        parameterEntries
            + childEntries.flatMap { child in
                child.module.namedParameters.map { (Module.qualified(child.name, $0.name), $0.tensor) }
            }
    }

    /// Every non-learnable state tensor (running statistics, counters) with its full name.
    public var namedBuffers: [(name: String, tensor: Tensor)] {
        bufferEntries
            + childEntries.flatMap { child in
                child.module.namedBuffers.map { (Module.qualified(child.name, $0.name), $0.tensor) }
            }
    }

    /// Integer state values with their full names: the persistent ones, or all.
    public func namedCounters(includingTransient: Bool = false) -> [(name: String, counter: Counter)] {
        counterEntries.filter { $0.persistent || includingTransient }.map { ($0.name, $0.counter) }
            + childEntries.flatMap { child in
                child.module.namedCounters(includingTransient: includingTransient).map {
                    (Module.qualified(child.name, $0.name), $0.counter)
                }
            }
    }

    /// The constant buffers with their full names.
    public var namedConstants: [(name: String, constant: ConstantBuffer)] {
        constantEntries
            + childEntries.flatMap { child in
                child.module.namedConstants.map { (Module.qualified(child.name, $0.name), $0.constant) }
            }
    }

    /// `child.name`, or `name` alone for a flattened child.
    private static func qualified(_ child: String, _ name: String) -> String {
        child.isEmpty ? name : "\(child).\(name)"
    }

    /// Parameters and buffers together: the float tensors a checkpoint stores.
    public var state: [(name: String, tensor: Tensor)] { namedParameters + namedBuffers }

    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.tensor.count } }

    /// This module and every module below it, depth first.
    public var moduleTree: [Module] { [self] + childEntries.flatMap { $0.module.moduleTree } }

    /// Switches this module and all its children to training or evaluation mode.
    public func train(_ training: Bool = true) {
        isTraining = training
        for child in childEntries { child.module.train(training) }
    }

    public func eval() { train(false) }

    /// Clears the accumulated gradient of every parameter.
    public func zeroGradients() {
        for (_, tensor) in namedParameters { tensor.zeroGradient() }
    }
}

/// A host-side integer that belongs to a module's state (saved in checkpoints as int64).
public final class Counter {
    public var value: Int64

    public init(_ value: Int64 = 0) {
        self.value = value
    }
}

/// A float tensor fixed by a model's definition and kept on the host (Heed's ops compute
/// it themselves): `Module.register(constant:as:)`.
public final class ConstantBuffer {
    public let shape: [Int]
    public let values: [Float]
    /// What the values are, for errors ("1 - identity").
    public let meaning: String
    /// Whether the file the module was loaded from carried this buffer, so that the
    /// module's own files carry it too.
    public var isStored = false

    public init(shape: [Int], values: [Float], meaning: String) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
        self.meaning = meaning
    }

    /// (1, n, n) holding 1 - I: the mask of the off-diagonal entries of an n x n matrix.
    public static func offDiagonalMask(_ n: Int) -> ConstantBuffer {
        let values = (0..<n * n).map { $0 / n == $0 % n ? Float(0) : 1 }
        return ConstantBuffer(shape: [1, n, n], values: values, meaning: "1 - identity")
    }
}
