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
public protocol OpBackend: Backend {
    associatedtype Buffer: DeviceBuffer
    /// The backend's name in a foreign-buffer error (`OpenCL`).
    static var bufferKind: String { get }
    /// The bodies of one family's ops.
    static func implementations(of family: OpFamily) -> [OpImplementation<Self>]
    /// Every body by op name, built once from `implementations(of:)`: `static let
    /// implementationTable = OpImplementationTable<Self>()`.
    static var implementationTable: OpImplementationTable<Self> { get }
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
