import COpenCL
import Foundation
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
    /// Bytes of the buffers alive on this context, and their high-water mark.
    let memory = MemoryLedger()

    init(device: OpenCLDeviceInfo) throws {
        self.device = device
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
    }

    deinit {
        clFinish(queue)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    func finish() throws {
        try check(clFinish(queue), "clFinish")
    }
}

/// Counts the bytes of live buffers and the most there have been at once.
///
/// Counted from Heed's own `clCreateBuffer` and release calls, so it is the memory Heed
/// asked for (including scratch buffers released when their call returns), not what the
/// driver reserves besides (CLBlast's temporary buffers and program binaries are not in it).
final class MemoryLedger: @unchecked Sendable {
    private let lock = NSLock()
    private var live = 0
    private var peak = 0

    func allocated(_ bytes: Int) {
        lock.withLock {
            live += bytes
            peak = max(peak, live)
        }
    }

    func released(_ bytes: Int) {
        lock.withLock { live -= bytes }
    }

    var usage: DeviceMemoryUsage {
        lock.withLock { DeviceMemoryUsage(liveBytes: live, peakBytes: peak) }
    }

    /// Starts a new high-water mark from what is live now.
    func resetPeak() {
        lock.withLock { peak = live }
    }
}
