/// Memory owned by one backend: `count` elements of one `ElementType`.
///
/// A buffer is released when its last reference goes away (ARC makes that
/// deterministic); work already queued on it still completes.
public protocol DeviceBuffer: AnyObject, Sendable {
    var count: Int { get }
    var elementType: ElementType { get }
}

/// The element types Heed's buffers hold.
public enum ElementType: String, Sendable, CustomStringConvertible {
    case float32
    case int32

    /// Bytes per element.
    public var byteSize: Int { 4 }

    public var description: String { rawValue }
}

/// A Swift type that can live in a `DeviceBuffer`.
public protocol BufferElement: Sendable {
    static var elementType: ElementType { get }
}

extension Float: BufferElement {
    public static var elementType: ElementType { .float32 }
}

extension Int32: BufferElement {
    public static var elementType: ElementType { .int32 }
}

extension DeviceBuffer {
    /// A short description for error messages, such as `float32[12]`.
    public var summary: String { "\(elementType)[\(count)]" }

    /// Throws unless the buffer holds elements of `type`.
    public func expect(_ type: ElementType, for op: String, argument: String) throws {
        guard elementType == type else {
            throw HeedError.invalidArgument(op: op, "\(argument) holds \(elementType), expected \(type)")
        }
    }
}
