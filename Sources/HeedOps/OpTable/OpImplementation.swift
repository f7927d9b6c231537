/// One backend's body of one op: what runs once `OpDefinition.bind` has checked the call.
public struct OpImplementation<Backend: OpBackend>: Sendable {
    public let op: String
    let body: @Sendable (Backend, any OpDescriptor, BoundBuffers<Backend.Buffer>) throws -> Void

    public init<Descriptor>(
        _ definition: OpDefinition<Descriptor>,
        _ body: @escaping @Sendable (Backend, Descriptor, BoundBuffers<Backend.Buffer>) throws -> Void
    ) {
        op = definition.name
        self.body = { backend, descriptor, buffers in
            // `run` looks the body up by the same definition, so the descriptor's type matches.
            try body(backend, descriptor as! Descriptor, buffers)
        }
    }
}

/// A backend whose ops are bodies registered per op of the table: `run` binds each call
/// once and dispatches to the body.
///
/// Each family's file of the backend defines the family's list of bodies (`static let
/// linear = [OpImplementation(LinearOps.forward) { … }, …]`); a new family is one more
/// requirement here and one more case in `implementations(of:)`, and the compiler then asks
/// every backend for its list. A test checks that the lists cover the table exactly.
public protocol OpBackend: Backend {
    associatedtype Buffer: DeviceBuffer
    /// The backend's name in a foreign-buffer error (`OpenCL`).
    static var bufferKind: String { get }
    /// Every body by op name, built once from `implementations(of:)`: `static let
    /// implementationTable = OpImplementationTable<Self>()`.
    static var implementationTable: OpImplementationTable<Self> { get }

    // MARK: The bodies, one list per op family

    static var gemm: [OpImplementation<Self>] { get }
    static var convolution: [OpImplementation<Self>] { get }
    static var groupedConvolution: [OpImplementation<Self>] { get }
    static var linear: [OpImplementation<Self>] { get }
    static var pooling: [OpImplementation<Self>] { get }
    static var elementwise: [OpImplementation<Self>] { get }
    static var normalization: [OpImplementation<Self>] { get }
    static var optimizer: [OpImplementation<Self>] { get }
    static var random: [OpImplementation<Self>] { get }
    static var softmax: [OpImplementation<Self>] { get }
    static var loss: [OpImplementation<Self>] { get }
    static var attention: [OpImplementation<Self>] { get }
    static var sampling: [OpImplementation<Self>] { get }
    static var layout: [OpImplementation<Self>] { get }
}

extension OpBackend {
    /// The bodies of one family's ops.
    public static func implementations(of family: OpFamily) -> [OpImplementation<Self>] {
        switch family {
        case .gemm: gemm
        case .convolution: convolution
        case .groupedConvolution: groupedConvolution
        case .linear: linear
        case .pooling: pooling
        case .elementwise: elementwise
        case .normalization: normalization
        case .optimizer: optimizer
        case .random: random
        case .softmax: softmax
        case .loss: loss
        case .attention: attention
        case .sampling: sampling
        case .layout: layout
        }
    }
}

/// A backend's bodies by op name.
public struct OpImplementationTable<Backend: OpBackend>: Sendable {
    let bodies: [String: OpImplementation<Backend>]

    public init() {
        bodies = Dictionary(OpFamily.allCases.flatMap { Backend.implementations(of: $0) }.map { ($0.op, $0) }) { first, _ in
            preconditionFailure("\(Backend.self) registers \(first.op) twice")
        }
    }

    /// The op names this backend has a body for.
    public var opNames: Set<String> { Set(bodies.keys) }
}

extension OpBackend {
    public func run<Descriptor>(
        _ op: OpDefinition<Descriptor>, _ descriptor: Descriptor,
        _ buffers: [(any DeviceBuffer)?]
    ) throws {
        let bound = try op.bind(descriptor, buffers, as: Buffer.self, backend: Self.bufferKind)
        guard let implementation = Self.implementationTable.bodies[op.name] else {
            throw HeedError.invalidArgument(op: op.name, "\(name) has no implementation of it")
        }
        try implementation.body(self, descriptor, bound)
    }
}
