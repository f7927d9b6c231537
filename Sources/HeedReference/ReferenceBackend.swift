import HeedOps

/// The reference definitions of Heed's ops, generic over the floating-point type so
/// that gradient checks can run them in Double. Short loops, no cleverness; one file
/// per op family in `Ops/`.
public enum Reference {}

/// The CPU oracle: every op as short, obvious Swift loops, with sums accumulated in
/// Double. The OpenCL backend is correct when it agrees with this one.
///
/// The arithmetic lives in generic functions on `Reference` (`Reference.gemm`, …) that
/// work on plain arrays of any `BinaryFloatingPoint`; this class only adapts buffers to
/// them, in one of two precisions:
///
/// - `.single` (the default): float32 buffers hold `Float`s and every op body runs the
///   generic code at `Float` (long sums still in Double); this is the backend the OpenCL
///   one is checked against.
/// - `.double`: float32 buffers hold `Double`s and every op body runs the same generic code
///   at `Double`, so the graph layer, unchanged, runs a whole network in Double and its
///   composed gradient can be checked against central differences. Host transfers still
///   take and give `Float` (rounded on read); `readDoubles` and `write(doubles:to:)` reach
///   the Doubles. An op refuses a buffer of the other precision.
///
/// ```swift
/// let backend = ReferenceBackend(precision: .double)
/// let x = try backend.makeBuffer(count: 1, of: Float.self)
/// try backend.write(doubles: [1 + 1e-10], to: x)
/// try backend.readDoubles(x)          // [1.0000000001]
/// try backend.read(x, as: Float.self)  // [1.0]
/// ```
public final class ReferenceBackend: Backend, @unchecked Sendable {
    /// The precision float32 buffers hold and ops compute in.
    public enum Precision: String, Sendable, CustomStringConvertible {
        case single
        case double

        public var description: String { rawValue }
    }

    public let name: String
    public let precision: Precision

    public init(precision: Precision = .single) {
        self.precision = precision
        name = precision == .single ? "reference (CPU)" : "reference (CPU, double precision)"
    }

    // MARK: Buffers

    public func makeBuffer<Element: BufferElement>(count: Int, of type: Element.Type) throws -> any DeviceBuffer {
        guard count >= 0 else { throw HeedError.invalidArgument(op: "makeBuffer", "count \(count) is negative") }
        return ReferenceBuffer(count: count, elementType: Element.elementType, precision: precision)
    }

    public func write<Element: BufferElement>(_ values: [Element], to buffer: any DeviceBuffer) throws {
        let buffer = try own(buffer, "write", "destination")
        try checkTransfer(buffer, Element.self, values.count, "write")
        switch (buffer.elementType, buffer.precision) {
        case (.float32, .single): buffer.floats = values as! [Float]
        case (.float32, .double): buffer.doubles = (values as! [Float]).map(Double.init)
        case (.int32, _): buffer.ints = values as! [Int32]
        }
    }

    public func read<Element: BufferElement>(_ buffer: any DeviceBuffer, as type: Element.Type) throws -> [Element] {
        let buffer = try own(buffer, "read", "source")
        try checkTransfer(buffer, Element.self, buffer.count, "read")
        switch (buffer.elementType, buffer.precision) {
        case (.float32, .single): return buffer.floats as! [Element]
        case (.float32, .double): return buffer.doubles.map(Float.init) as! [Element]
        case (.int32, _): return buffer.ints as! [Element]
        }
    }

    public func fill<Element: BufferElement>(_ buffer: any DeviceBuffer, with value: Element) throws {
        let buffer = try own(buffer, "fill", "buffer")
        try checkTransfer(buffer, Element.self, buffer.count, "fill")
        switch (buffer.elementType, buffer.precision) {
        case (.float32, .single): buffer.floats = [Float](repeating: value as! Float, count: buffer.count)
        case (.float32, .double): buffer.doubles = [Double](repeating: Double(value as! Float), count: buffer.count)
        case (.int32, _): buffer.ints = [Int32](repeating: value as! Int32, count: buffer.count)
        }
    }

    public func synchronize() throws {}

    // MARK: Double-precision contents

    /// A float32 buffer's values in Double, as this backend holds them (widened
    /// exactly from a single-precision buffer).
    public func readDoubles(_ buffer: any DeviceBuffer) throws -> [Double] {
        let buffer = try floats(buffer, "readDoubles", "source")
        return buffer.precision == .double ? buffer.doubles : buffer.floats.map(Double.init)
    }

    /// Overwrites a double-precision float32 buffer with `values`, unrounded.
    public func write(doubles values: [Double], to buffer: any DeviceBuffer) throws {
        let buffer = try floats(buffer, "write(doubles:)", "destination")
        guard buffer.precision == .double else {
            throw HeedError.invalidArgument(op: "write(doubles:)", "destination holds single precision: Doubles would be rounded")
        }
        guard values.count == buffer.count else {
            throw HeedError.shapeMismatch(op: "write(doubles:)", "\(values.count) values for a buffer of \(buffer.summary)")
        }
        buffer.doubles = values
    }

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
