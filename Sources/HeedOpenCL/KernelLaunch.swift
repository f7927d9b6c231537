import COpenCL
import HeedOps

/// One argument of an OpenCL kernel, in the kernel's parameter order.
public enum KernelArgument {
    /// A `__global` pointer: a buffer of this backend.
    case buffer(any DeviceBuffer)
    /// An `int` (32-bit; sizes and offsets are checked to fit before launch).
    case int(Int32)
    case float(Float)
    /// A `__local` array of this many bytes.
    case local(bytes: Int)

    /// An `int` from a Swift `Int`, which must fit in 32 bits.
    public static func int(_ value: Int, _ name: @autoclosure () -> String) throws -> KernelArgument {
        guard let narrow = Int32(exactly: value) else {
            throw HeedError.invalidArgument(op: name(), "\(value) does not fit a 32-bit kernel index")
        }
        return .int(narrow)
    }
}

/// One kernel of a built program, resolved once: what a launch needs besides its
/// arguments and work sizes.
///
/// `OpenCLBackend.kernel(family:kernel:defines:)` gives the handle of a family's kernel
/// (`launch(family:…)` looks the same one up each time); `launch(_:global:…)` enqueues
/// it without any lookup. A handle belongs to the backend that made it.
///
/// `@unchecked Sendable`: a handle may be passed between threads, but its kernel's
/// arguments (state of the `cl_kernel` object, which `clSetKernelArg` does not guard)
/// are set and the kernel enqueued only under the backend's lock, so launches of one
/// handle from several threads run one after another.
public final class KernelHandle: @unchecked Sendable {
    /// The kernel's name in its `.cl` file.
    public let name: String
    let kernel: cl_kernel
    /// The context the kernel was built on: launches check that it is the backend's.
    let context: OpenCLContext
    /// The parameters the kernel declares, checked against the arguments of each launch.
    let parameterCount: Int

    /// Takes ownership of `kernel`.
    init(kernel: cl_kernel, name: String, context: OpenCLContext) throws {
        var declared: cl_uint = 0
        let status = clGetKernelInfo(kernel, cl_kernel_info(CL_KERNEL_NUM_ARGS), MemoryLayout<cl_uint>.size, &declared, nil)
        guard status == CL_SUCCESS else {
            clReleaseKernel(kernel)
            throw OpenCLError(call: "clGetKernelInfo(\(name))", status: status)
        }
        self.kernel = kernel
        self.name = name
        self.context = context
        self.parameterCount = Int(declared)
    }

    deinit {
        clReleaseKernel(kernel)
    }

    /// Sets `arguments` and enqueues the kernel on `queue`. Call under the backend's lock.
    ///
    /// `global` is rounded up to a multiple of `local` in each dimension, so kernels
    /// must bounds-check their ids. Returns the event of the launch when `wantEvent`.
    func enqueue(
        on queue: cl_command_queue,
        global: [Int], local: [Int]?, arguments: [KernelArgument], wantEvent: Bool
    ) throws -> cl_event? {
        guard parameterCount == arguments.count else {
            throw HeedError.invalidArgument(op: name, "kernel takes \(parameterCount) arguments, \(arguments.count) given")
        }
        for (index, argument) in arguments.enumerated() {
            let status: cl_int
            switch argument {
            case .buffer(let buffer):
                guard let buffer = buffer as? OpenCLBuffer else {
                    throw HeedError.foreignBuffer(op: name, expected: "OpenCL")
                }
                var memory: cl_mem? = buffer.memory
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem?>.size, &memory)
            case .int(var value):
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<Int32>.size, &value)
            case .float(var value):
                status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<Float>.size, &value)
            case .local(let bytes):
                status = clSetKernelArg(kernel, cl_uint(index), bytes, nil)
            }
            try check(status, "clSetKernelArg(\(name), argument \(index))")
        }

        guard !global.isEmpty, global.count <= 3, local == nil || local!.count == global.count else {
            throw HeedError.invalidArgument(op: name, "work sizes global \(global), local \(local.map { "\($0)" } ?? "auto")")
        }
        // An empty range is a legal no-op for Heed, though OpenCL rejects it.
        if global.contains(0) { return nil }
        var globalSize = global
        if let local {
            for d in global.indices { globalSize[d] = (global[d] + local[d] - 1) / local[d] * local[d] }
        }
        var localSize = local ?? []
        var event: cl_event?
        let status = globalSize.withUnsafeBufferPointer { globalPointer in
            localSize.withUnsafeMutableBufferPointer { localPointer in
                withUnsafeMutablePointer(to: &event) { eventPointer in
                    clEnqueueNDRangeKernel(
                        queue, kernel, cl_uint(global.count), nil, globalPointer.baseAddress,
                        local == nil ? nil : localPointer.baseAddress, 0, nil,
                        wantEvent ? eventPointer : nil)
                }
            }
        }
        try check(status, "clEnqueueNDRangeKernel(\(name), global \(globalSize)\(local.map { ", local \($0)" } ?? ""))")
        return event
    }
}

/// Seconds between the start and end of a profiled command, after it finished.
func elapsedSeconds(of event: cl_event, call: String) throws -> Double {
    defer { clReleaseEvent(event) }
    var eventPointer: cl_event? = event
    try check(clWaitForEvents(1, &eventPointer), "clWaitForEvents(\(call))")
    var start: cl_ulong = 0
    var end: cl_ulong = 0
    try check(
        clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), MemoryLayout<cl_ulong>.size, &start, nil),
        "clGetEventProfilingInfo(\(call))")
    try check(
        clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), MemoryLayout<cl_ulong>.size, &end, nil),
        "clGetEventProfilingInfo(\(call))")
    return Double(end &- start) * 1e-9
}
