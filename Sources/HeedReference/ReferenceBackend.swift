import HeedOps

/// The reference definitions of Heed's ops, generic over the floating-point type so
/// that gradient checks can run them in Double. Short loops, no cleverness; one file
/// per op family in `Ops/`.
public enum Reference {}

/// The CPU oracle: every op as short, obvious Swift loops, with sums accumulated in
/// Double. The OpenCL backend is correct when it agrees with this one.
///
/// The arithmetic lives in generic functions on `Reference` (`Reference.gemm`, …) that
/// work on plain arrays of any `BinaryFloatingPoint`, so gradient checks can run the
/// very same code in Double; this class only adapts buffers to them.
public final class ReferenceBackend: Backend, @unchecked Sendable {
    public let name = "reference (CPU)"

    public init() {}

    // MARK: Buffers

    public func makeBuffer<Element: BufferElement>(count: Int, of type: Element.Type) throws -> any DeviceBuffer {
        guard count >= 0 else { throw HeedError.invalidArgument(op: "makeBuffer", "count \(count) is negative") }
        return ReferenceBuffer(count: count, elementType: Element.elementType)
    }

    public func write<Element: BufferElement>(_ values: [Element], to buffer: any DeviceBuffer) throws {
        let buffer = try own(buffer, "write", "destination")
        try checkTransfer(buffer, Element.self, values.count, "write")
        switch buffer.elementType {
        case .float32: buffer.floats = values as! [Float]
        case .int32: buffer.ints = values as! [Int32]
        }
    }

    public func read<Element: BufferElement>(_ buffer: any DeviceBuffer, as type: Element.Type) throws -> [Element] {
        let buffer = try own(buffer, "read", "source")
        try checkTransfer(buffer, Element.self, buffer.count, "read")
        switch buffer.elementType {
        case .float32: return buffer.floats as! [Element]
        case .int32: return buffer.ints as! [Element]
        }
    }

    public func fill<Element: BufferElement>(_ buffer: any DeviceBuffer, with value: Element) throws {
        let buffer = try own(buffer, "fill", "buffer")
        try checkTransfer(buffer, Element.self, buffer.count, "fill")
        switch buffer.elementType {
        case .float32: buffer.floats = [Float](repeating: value as! Float, count: buffer.count)
        case .int32: buffer.ints = [Int32](repeating: value as! Int32, count: buffer.count)
        }
    }

    public func synchronize() throws {}

    // MARK: Helpers

    /// `buffer` as this backend's type, or a clear error naming the op and argument.
    public func own(_ buffer: any DeviceBuffer, _ op: String, _ argument: String) throws -> ReferenceBuffer {
        guard let buffer = buffer as? ReferenceBuffer else {
            throw HeedError.foreignBuffer(op: "\(op) (\(argument))", expected: "reference")
        }
        return buffer
    }

    /// `buffer` as a float32 buffer of this backend, or a clear error.
    public func floats(_ buffer: any DeviceBuffer, _ op: String, _ argument: String) throws -> ReferenceBuffer {
        let buffer = try own(buffer, op, argument)
        try buffer.expect(.float32, for: op, argument: argument)
        return buffer
    }

    private func checkTransfer<Element: BufferElement>(_ buffer: ReferenceBuffer, _: Element.Type, _ count: Int, _ op: String) throws {
        try buffer.expect(Element.elementType, for: op, argument: "buffer")
        guard count == buffer.count else {
            throw HeedError.shapeMismatch(op: op, "\(count) values for a buffer of \(buffer.summary)")
        }
    }
}
