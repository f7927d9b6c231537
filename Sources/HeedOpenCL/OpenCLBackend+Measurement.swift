import COpenCL
import HeedOps

/// Device memory of a backend: the bytes of buffers in use, the bytes reserved from the
/// driver (in use and kept in the caching allocator's pools, see `DeviceAllocator`), their
/// high-water marks since the last `resetPeakMemory()` (or since the backend opened), and
/// counts of the allocator's events since the backend opened.
public struct DeviceMemoryUsage: Sendable, Equatable {
    /// Bytes of the blocks in use now (each request rounded up to the allocator's granularity).
    public var liveBytes: Int = 0
    /// The most `liveBytes` there have been at once.
    public var peakBytes: Int = 0
    /// Bytes the live buffers were asked for (`liveBytes` counts each at its block's size):
    /// what the tensors and scratch alive now hold.
    public var requestedBytes: Int = 0
    /// Bytes of `liveBytes` that are the working space of an op call (`OpenCLBuffer.scratch`).
    public var scratchBytes: Int = 0
    /// `scratchBytes` when `liveBytes` last reached `peakBytes`: how much of the peak was scratch.
    public var scratchBytesAtPeak: Int = 0
    /// Bytes held from the driver: the segments, in use and pooled.
    public var reservedBytes: Int = 0
    /// The most `reservedBytes` there have been at once.
    public var peakReservedBytes: Int = 0
    /// Segments created with `clCreateBuffer`.
    public var driverAllocations: Int = 0
    /// Segments released to the driver (`releaseCachedMemory()`, or to make room).
    public var driverReleases: Int = 0
    /// Requests served from a pooled segment, with no driver call.
    public var poolHits: Int = 0
    /// Blocks given back to the pools.
    public var frees: Int = 0

    public init() {}

    /// Bytes in the pools, ready for reuse.
    public var pooledBytes: Int { reservedBytes - liveBytes }

    mutating func allocated(_ bytes: Int, requested: Int, scratch: Bool) {
        liveBytes += bytes
        requestedBytes += requested
        if scratch { scratchBytes += bytes }
        if liveBytes > peakBytes {
            peakBytes = liveBytes
            scratchBytesAtPeak = scratchBytes
        }
    }

    mutating func freed(_ bytes: Int, requested: Int, scratch: Bool) {
        liveBytes -= bytes
        requestedBytes -= requested
        if scratch { scratchBytes -= bytes }
        frees += 1
    }
}

/// What benchmarks need from an OpenCL device beyond the ops: device-side time of a
/// stretch of work, memory high-water marks, and a plain buffer copy (the device's
/// bandwidth ceiling).
extension OpenCLBackend {
    /// Seconds the device spent on the commands `body` enqueues, from the queue's
    /// profiling clock.
    ///
    /// A marker goes on the in-order queue before and after `body`; the result is the
    /// time between the two markers completing: from the end of everything issued
    /// earlier to the end of the last command of `body`, device gaps included (when the
    /// host is slower to enqueue than the device to run, that shows, as it should).
    /// Waits for the work to finish.
    public func deviceSeconds(_ body: () throws -> Void) throws -> Double {
        let start = try enqueueMarker()
        let end: cl_event
        do {
            try body()
            end = try enqueueMarker()
        } catch {
            clReleaseEvent(start)
            throw error
        }
        defer {
            clReleaseEvent(start)
            clReleaseEvent(end)
        }
        var events: [cl_event?] = [start, end]
        try check(clWaitForEvents(2, &events), "clWaitForEvents(markers)")
        return Double(try completionTime(of: end) &- completionTime(of: start)) * 1e-9
    }

    /// Bytes of this backend's buffers in use and reserved, their high-water marks, and
    /// the allocator's counts (shared with the backends `retuned(_:)` makes).
    public var memoryUsage: DeviceMemoryUsage { context.memory.statistics }

    /// Starts new high-water marks from the bytes in use and reserved now.
    public func resetPeakMemory() {
        context.memory.resetPeaks()
    }

    /// Releases the buffers kept for reuse to the driver (buffers in use stay): what a
    /// test or a benchmark calls to start from what is in use.
    public func releaseCachedMemory() {
        context.memory.releaseCachedMemory()
    }

    /// The most bytes this backend's context may hold from the driver (in use and pooled),
    /// or nil for no cap but the driver's; `HEED_MEMORY_LIMIT` when it opened. A request
    /// beyond it throws `OutOfDeviceMemory`.
    public var memoryLimit: Int? {
        get { context.memory.limit }
        set { context.memory.limit = newValue }
    }

    /// Copies all of `source` into `destination` on the device (same element type and count).
    public func copy(_ source: any DeviceBuffer, to destination: any DeviceBuffer) throws {
        let source = try own(source, "copy", "source")
        let destination = try own(destination, "copy", "destination")
        guard source.elementType == destination.elementType, source.count == destination.count else {
            throw HeedError.shapeMismatch(op: "copy", "source \(source.summary), destination \(destination.summary)")
        }
        guard source.count > 0 else { return }
        try lock.withLock {
            try check(
                clEnqueueCopyBuffer(context.queue, source.memory, destination.memory, 0, 0, source.byteCount, 0, nil, nil),
                "clEnqueueCopyBuffer(\(source.byteCount) bytes)")
        }
    }

    private func enqueueMarker() throws -> cl_event {
        try lock.withLock {
            var event: cl_event?
            try check(clEnqueueMarkerWithWaitList(context.queue, 0, nil, &event), "clEnqueueMarkerWithWaitList")
            guard let event else { throw OpenCLError(call: "clEnqueueMarkerWithWaitList (no event)", status: CL_INVALID_EVENT) }
            return event
        }
    }

    private func completionTime(of event: cl_event) throws -> cl_ulong {
        var time: cl_ulong = 0
        try check(
            clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), MemoryLayout<cl_ulong>.size, &time, nil),
            "clGetEventProfilingInfo(marker)")
        return time
    }
}
