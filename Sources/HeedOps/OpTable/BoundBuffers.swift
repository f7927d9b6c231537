/// The buffers of one call, checked once against the op's declaration and handed to a
/// backend's body as that backend's own buffer type, by declared name.
///
/// ```swift
/// b.output[T.self] = Reference.linearForward(d, input: b.input[T.self], weight: b.weight[T.self],
///                                            bias: b.optional("bias")?[T.self])
/// ```
@dynamicMemberLookup
public struct BoundBuffers<Buffer: DeviceBuffer> {
    private let buffers: [String: Buffer]
    private let op: String

    init(_ buffers: [String: Buffer], op: String) {
        self.buffers = buffers
        self.op = op
    }

    /// The declared buffer `name`, which the call must have passed.
    public subscript(dynamicMember name: String) -> Buffer {
        guard let buffer = buffers[name] else {
            preconditionFailure("\(op) declares no required buffer '\(name)'")
        }
        return buffer
    }

    /// The optional buffer `name`, nil when the call left it out.
    public func optional(_ name: String) -> Buffer? {
        buffers[name]
    }
}

extension OpDefinition {
    /// Checks a call once and hands back its buffers as `Buffer`: each is this
    /// backend's and of its declared element type, the descriptor is valid, and each
    /// holds exactly its declared shape.
    ///
    /// - Parameters:
    ///   - buffers: the call's buffers in declared order, nil for a left-out optional one.
    ///   - backend: the backend's name in a foreign-buffer error (`OpenCL`).
    public func bind<Buffer: DeviceBuffer>(
        _ descriptor: Descriptor, _ buffers: [(any DeviceBuffer)?],
        as _: Buffer.Type, backend: String
    ) throws -> BoundBuffers<Buffer> {
        let declarations = self.buffers(descriptor)
        precondition(
            declarations.count == buffers.count,
            "\(name) declares \(declarations.count) buffers, the call passed \(buffers.count)")
        var bound: [String: Buffer] = [:]
        for (declaration, buffer) in zip(declarations, buffers) {
            guard let buffer else {
                precondition(declaration.isOptional, "\(name): '\(declaration.name)' is not optional")
                continue
            }
            guard let own = buffer as? Buffer else {
                throw HeedError.foreignBuffer(op: "\(errorName) (\(declaration.label))", expected: backend)
            }
            try own.expect(declaration.elementType, for: errorName, argument: declaration.label)
            bound[declaration.name] = own
        }
        try descriptor.validate()
        try check?(descriptor, buffers.map { $0?.count })
        for (declaration, buffer) in zip(declarations, buffers) {
            guard let buffer, let shape = declaration.shape else { continue }
            guard let needed = declaration.count else {
                throw HeedError.invalidArgument(
                    op: errorName, "\(declaration.label) \(ShapeText.format(shape)) has more elements than an Int holds, in \(descriptor)")
            }
            guard buffer.count != needed else { continue }
            throw HeedError.shapeMismatch(
                op: errorName,
                "\(declaration.label) \(ShapeText.format(shape)) needs \(needed) elements, buffer has \(buffer.count), in \(descriptor)")
        }
        return BoundBuffers(bound, op: name)
    }
}

/// Shapes as PyTorch prints a size: `(2, 3, 7, 7)`.
public enum ShapeText {
    public static func format(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}
