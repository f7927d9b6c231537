import HeedOps

/// Host memory of the reference backend: a Swift array of the buffer's element type.
///
/// `@unchecked Sendable`: the reference backend runs ops one at a time on the
/// calling thread; sharing a buffer between threads is the caller's to order,
/// as it is on a device.
public final class ReferenceBuffer: DeviceBuffer, @unchecked Sendable {
    public let count: Int
    public let elementType: ElementType
    /// The contents when `elementType` is `.float32` (empty otherwise).
    public var floats: [Float]
    /// The contents when `elementType` is `.int32` (empty otherwise).
    public var ints: [Int32]

    init(count: Int, elementType: ElementType) {
        self.count = count
        self.elementType = elementType
        // Undefined contents are NaN (floats) or Int32.min (ints), so reading an
        // element no op wrote shows up in results instead of passing as 0.
        floats = elementType == .float32 ? [Float](repeating: .nan, count: count) : []
        ints = elementType == .int32 ? [Int32](repeating: .min, count: count) : []
    }
}
