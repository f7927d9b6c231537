import HeedOps

/// Host memory of the reference backend: a Swift array of the buffer's element type.
///
/// A float32 buffer holds its values in its backend's precision: `floats` on a
/// single-precision backend (the default), `doubles` on a double-precision one, whose
/// float32 buffers are float32 only to the layers above (gradient checks of whole
/// networks run the graph layer on it unchanged).
///
/// `@unchecked Sendable`: the reference backend runs ops one at a time on the
/// calling thread; sharing a buffer between threads is the caller's to order,
/// as it is on a device.
public final class ReferenceBuffer: DeviceBuffer, @unchecked Sendable {
    public let count: Int
    public let elementType: ElementType
    /// The precision of the backend that made the buffer: where a float32 buffer's values are.
    public let precision: ReferenceBackend.Precision
    /// The contents of a float32 buffer in single precision (empty otherwise).
    public var floats: [Float]
    /// The contents of a float32 buffer in double precision (empty otherwise).
    public var doubles: [Double]
    /// The contents when `elementType` is `.int32` (empty otherwise).
    public var ints: [Int32]

    init(count: Int, elementType: ElementType, precision: ReferenceBackend.Precision) {
        self.count = count
        self.elementType = elementType
        self.precision = precision
        // Undefined contents are NaN (floats) or Int32.min (ints), so reading an
        // element no op wrote shows up in results instead of passing as 0.
        let isFloat = elementType == .float32
        floats = isFloat && precision == .single ? [Float](repeating: .nan, count: count) : []
        doubles = isFloat && precision == .double ? [Double](repeating: .nan, count: count) : []
        ints = elementType == .int32 ? [Int32](repeating: .min, count: count) : []
    }

    /// A float32 buffer's contents as `T`, the precision its backend's bodies run in:
    /// `floats` for `Float`, `doubles` for `Double`.
    public subscript<T: ReferenceScalar>(_: T.Type) -> [T] {
        get { self[keyPath: T.contents] }
        set { self[keyPath: T.contents] = newValue }
    }
}

/// A precision the reference backend computes in: the element type of its float32
/// buffers' host arrays, and the type its op bodies call the generic `Reference`
/// functions with.
public protocol ReferenceScalar: BinaryFloatingPoint, Sendable {
    /// The array of a `ReferenceBuffer` that holds values of this type.
    static var contents: ReferenceWritableKeyPath<ReferenceBuffer, [Self]> { get }
}

extension Float: ReferenceScalar {
    public static var contents: ReferenceWritableKeyPath<ReferenceBuffer, [Float]> { \.floats }
}

extension Double: ReferenceScalar {
    public static var contents: ReferenceWritableKeyPath<ReferenceBuffer, [Double]> { \.doubles }
}
