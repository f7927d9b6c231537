import COpenCL
import HeedOps

/// A context on one OpenCL device and its single in-order, profiling command queue.
///
/// Everything Heed enqueues on a device (its own kernels and CLBlast's) goes through
/// this one queue, so commands run in the order they were issued: CLBlast takes no
/// wait lists, and an in-order queue is what makes its results visible to the next
/// kernel without events.
///
/// `@unchecked Sendable`: OpenCL contexts and queues are thread-safe objects.
final class OpenCLContext: @unchecked Sendable {
    let device: OpenCLDeviceInfo
    let context: cl_context
    let queue: cl_command_queue
    /// The caching allocator of every buffer on this context, with its counts.
    let memory: DeviceAllocator
    /// Pinned host blocks that uploads are copied into, so writes do not wait for the device.
    let uploads: UploadStaging

    /// - Parameter memoryLimit: the most bytes the allocator may reserve (`HEED_MEMORY_LIMIT`).
    init(device: OpenCLDeviceInfo, memoryLimit: Int? = nil) throws {
        self.device = device
        // Every sub-buffer's origin (see DeviceAllocator) must be a multiple of this, in bits.
        let alignmentBits: cl_uint = try OpenCLPlatforms.deviceValue(device.id, CL_DEVICE_MEM_BASE_ADDR_ALIGN)
        guard alignmentBits >= 8, alignmentBits.nonzeroBitCount == 1 else {
            throw OpenCLError(
                call: "clGetDeviceInfo(CL_DEVICE_MEM_BASE_ADDR_ALIGN): \(alignmentBits) bits is not a power of two bytes",
                status: CL_INVALID_VALUE)
        }
        var status: cl_int = 0
        var deviceID: cl_device_id? = device.id
        guard let context = clCreateContext(nil, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateContext(\(device.name))", status: status)
        }
        let properties = cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE)
        guard let queue = clCreateCommandQueue(context, device.id, properties, &status), status == CL_SUCCESS else {
            clReleaseContext(context)
            throw OpenCLError(call: "clCreateCommandQueue(\(device.name))", status: status)
        }
        self.context = context
        self.queue = queue
        self.memory = DeviceAllocator(context: context, queue: queue, baseAlignment: Int(alignmentBits) / 8, limit: memoryLimit)
        self.uploads = UploadStaging(context: context, queue: queue)
    }

    deinit {
        clFinish(queue)
        uploads.releaseAll()
        memory.releaseCachedMemory()
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    func finish() throws {
        try check(clFinish(queue), "clFinish")
    }
}
