import COpenCL
import HeedOps

/// Device memory in use: the buffers alive now and the most alive at once since the
/// last `resetPeakMemory()` (or since the backend opened).
public struct DeviceMemoryUsage: Sendable, Equatable {
    public var liveBytes: Int
    public var peakBytes: Int

    public init(liveBytes: Int, peakBytes: Int) {
        self.liveBytes = liveBytes
        self.peakBytes = peakBytes
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

    /// Bytes of this backend's buffers alive now and their high-water mark.
    public var memoryUsage: DeviceMemoryUsage { context.memory.usage }

    /// Starts a new high-water mark from the bytes alive now.
    public func resetPeakMemory() {
        context.memory.resetPeak()
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
