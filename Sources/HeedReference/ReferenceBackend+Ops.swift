import HeedOps

/// The bodies of every op of the table on this backend: one list per family, each defined
/// in the family's file (`OpBackend` requires them); a test checks that they cover `OpTable`.
extension ReferenceBackend: OpBackend {
    public typealias Buffer = ReferenceBuffer
    public static let bufferKind = "reference"
    public static let implementationTable = OpImplementationTable<ReferenceBackend>()
}

/// One op's reference body at precision `T`: it reads and writes its float32 buffers as
/// `[T]` (`b.output[T.self] = Reference.relu(b.input[T.self])`).
///
/// A family's file writes its bodies once, in a function generic over `T`, and registers
/// that function's lists for `Float` and for `Double` with `ReferenceBackend.bodies`, so
/// the two precisions run the very same code.
struct ReferenceBody<T: ReferenceScalar>: Sendable {
    typealias Run = @Sendable (ReferenceBackend, any OpDescriptor, BoundBuffers<ReferenceBuffer>) throws -> Void

    let op: String
    let run: @Sendable (any OpDescriptor, BoundBuffers<ReferenceBuffer>) throws -> Void
    /// The op's `OpImplementation`, whose body first checks that every float32 buffer
    /// holds the backend's precision and then calls `dispatch`.
    let implementation: @Sendable (_ dispatch: @escaping Run) -> OpImplementation<ReferenceBackend>

    init<Descriptor>(
        _ definition: OpDefinition<Descriptor>,
        _ body: @escaping @Sendable (Descriptor, BoundBuffers<ReferenceBuffer>) throws -> Void
    ) {
        op = definition.name
        // `implementation` passes the descriptor of `definition`'s own call, so the cast holds.
        run = { descriptor, buffers in try body(descriptor as! Descriptor, buffers) }
        implementation = { dispatch in
            OpImplementation(definition) { backend, descriptor, buffers in
                try backend.checkPrecision(of: buffers, as: definition.buffers(descriptor), in: definition.errorName)
                try dispatch(backend, descriptor, buffers)
            }
        }
    }
}

extension ReferenceBackend {
    /// A family's bodies, given as the same generic list made for each precision: each
    /// op runs the list's body of the calling backend's precision.
    static func bodies(_ single: [ReferenceBody<Float>], _ double: [ReferenceBody<Double>]) -> [OpImplementation<ReferenceBackend>] {
        precondition(single.map(\.op) == double.map(\.op), "the two precisions' bodies must list the same ops")
        return zip(single, double).map { single, double in
            single.implementation { backend, descriptor, buffers in
                switch backend.precision {
                case .single: try single.run(descriptor, buffers)
                case .double: try double.run(descriptor, buffers)
                }
            }
        }
    }

    /// Throws unless every float32 buffer of a call holds this backend's precision (a
    /// buffer of a reference backend of the other precision).
    func checkPrecision(of buffers: BoundBuffers<ReferenceBuffer>, as declarations: [BufferDeclaration], in op: String) throws {
        for declaration in declarations where declaration.elementType == .float32 {
            guard let buffer = buffers.optional(declaration.name), buffer.precision != precision else { continue }
            throw HeedError.invalidArgument(
                op: op, "\(declaration.label) holds \(buffer.precision) precision, the backend computes in \(precision)")
        }
    }
}
