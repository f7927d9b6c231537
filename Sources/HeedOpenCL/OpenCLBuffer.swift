import COpenCL
import HeedOps

/// Device memory on an OpenCL context, released when the last reference goes away.
///
/// `@unchecked Sendable`: a `cl_mem` may be used from any thread; the contents are
/// ordered by the backend's single in-order queue.
public final class OpenCLBuffer: DeviceBuffer, @unchecked Sendable {
    public let count: Int
    public let elementType: ElementType
    let memory: cl_mem
    /// Bytes of device storage (at least one element's), as counted by the context's ledger.
    private let storageBytes: Int
    /// Keeps the context alive for as long as any of its buffers.
    private let context: OpenCLContext

    init(context: OpenCLContext, count: Int, elementType: ElementType) throws {
        guard count >= 0 else {
            throw HeedError.invalidArgument(op: "makeBuffer", "count \(count) is negative")
        }
        // OpenCL forbids zero-sized buffers; an empty buffer still gets one element
        // of storage so that every buffer is a valid kernel argument.
        let bytes = max(count, 1) * elementType.byteSize
        var status: cl_int = 0
        guard let memory = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status),
            status == CL_SUCCESS
        else {
            throw OpenCLError(call: "clCreateBuffer(\(bytes) bytes)", status: status)
        }
        self.count = count
        self.elementType = elementType
        self.memory = memory
        self.storageBytes = bytes
        self.context = context
        context.memory.allocated(bytes)
    }

    var byteCount: Int { count * elementType.byteSize }

    deinit {
        clReleaseMemObject(memory)
        context.memory.released(storageBytes)
    }
}
