import COpenCL
import HeedOps

/// Device memory on an OpenCL context, given back to the context's caching allocator
/// (`DeviceAllocator`) when the last reference goes away.
///
/// Its contents are undefined until written: storage from the pools holds whatever its
/// last owner left there.
///
/// `@unchecked Sendable`: a `cl_mem` may be used from any thread; the contents are
/// ordered by the backend's single in-order queue.
public final class OpenCLBuffer: DeviceBuffer, @unchecked Sendable {
    public let count: Int
    public let elementType: ElementType
    /// The storage and its size as the allocator counts it (at least one element's).
    private let allocation: DeviceAllocator.Allocation
    /// Keeps the context alive for as long as any of its buffers.
    private let context: OpenCLContext

    var memory: cl_mem { allocation.memory }

    /// A buffer of `count` elements: a block of one of the allocator's segments.
    convenience init(context: OpenCLContext, count: Int, elementType: ElementType) throws {
        try self.init(context: context, count: count, elementType: elementType, scratch: false)
    }

    /// Working space of one op call, released when the call returns: a block like any
    /// other, counted apart as scratch (see `DeviceAllocator`).
    static func scratch(context: OpenCLContext, floats count: Int) throws -> OpenCLBuffer {
        try OpenCLBuffer(context: context, count: count, elementType: .float32, scratch: true)
    }

    private init(context: OpenCLContext, count: Int, elementType: ElementType, scratch: Bool) throws {
        guard count >= 0 else {
            throw HeedError.invalidArgument(op: "makeBuffer", "count \(count) is negative")
        }
        // OpenCL forbids zero-sized buffers; an empty buffer still gets one element
        // of storage so that every buffer is a valid kernel argument.
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: elementType.byteSize)
        guard !overflow else {
            throw HeedError.invalidArgument(op: "makeBuffer", "\(count) elements of \(elementType) exceed any device's memory")
        }
        self.count = count
        self.elementType = elementType
        self.allocation = try context.memory.allocate(bytes: bytes, scratch: scratch)
        self.context = context
    }

    var byteCount: Int { count * elementType.byteSize }

    deinit {
        context.memory.free(allocation)
    }
}
