import COpenCL
import Foundation

/// Pinned host memory that uploads are copied into, so `OpenCLBackend.write` returns as
/// soon as the copy is queued instead of waiting for the device.
///
/// A blocking write on an in-order queue waits for every command before it: the
/// training loop's upload of a batch would wait for the previous step to finish, and
/// the host could not prepare the next step while the device runs this one. Here the
/// values are copied into a staging block (allocated with `CL_MEM_ALLOC_HOST_PTR` and
/// mapped once, the form GPU drivers copy from by DMA) and the write is queued
/// without blocking; the block is reused once its write's event has completed.
///
/// The blocks in flight are bounded by `inFlightLimit` bytes: past it, `stage` waits for
/// the oldest uploads, so a host that runs far ahead of the device holds bounded memory.
/// A queued write that fails is reported by the next `stage` or `drain`.
final class UploadStaging: @unchecked Sendable {
    private struct Block {
        let memory: cl_mem
        let pointer: UnsafeMutableRawPointer
        let byteCount: Int
        /// The queued write still reading the block; nil when the block is free.
        var pending: cl_event?
    }

    private let context: cl_context
    private let queue: cl_command_queue
    let inFlightLimit: Int
    private var blocks: [Block] = []
    private let lock = NSLock()

    init(context: cl_context, queue: cl_command_queue, inFlightLimit: Int = 256 << 20) {
        self.context = context
        self.queue = queue
        self.inFlightLimit = inFlightLimit
    }

    /// Releases every block; the context calls it after finishing its queue, before
    /// releasing the queue, so no write still reads a block.
    func releaseAll() {
        lock.withLock {
            for index in blocks.indices.reversed() { release(index) }
            clFinish(queue)
        }
    }

    /// Pinned bytes held, free or in flight.
    var reservedBytes: Int { lock.withLock { blocks.reduce(0) { $0 + $1.byteCount } } }

    /// Queues a copy of `bytes` into `destination` (from offset 0) and returns without waiting.
    func stage(_ bytes: UnsafeRawBufferPointer, into destination: cl_mem) throws {
        try lock.withLock {
            try recycleCompleted()
            let index = try freeBlock(holding: bytes.count)
            blocks[index].pointer.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            var event: cl_event?
            try check(
                clEnqueueWriteBuffer(queue, destination, cl_bool(CL_FALSE), 0, bytes.count, blocks[index].pointer, 0, nil, &event),
                "clEnqueueWriteBuffer(\(bytes.count) bytes)")
            blocks[index].pending = event
        }
    }

    /// Waits for every queued upload and reports one that failed.
    func drain() throws {
        try lock.withLock {
            for index in blocks.indices where blocks[index].pending != nil { try wait(for: index) }
        }
    }

    /// Frees the blocks whose writes are done.
    private func recycleCompleted() throws {
        for index in blocks.indices {
            guard let event = blocks[index].pending else { continue }
            var status: cl_int = 0
            try check(
                clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size, &status, nil),
                "clGetEventInfo(upload)")
            if status <= CL_COMPLETE { try finish(index, status: status) }
        }
    }

    /// A free block of at least `byteCount` bytes (and at most twice that, so a small
    /// upload does not pin a large block), waiting for uploads in flight when more would
    /// pass the limit.
    private func freeBlock(holding byteCount: Int) throws -> Int {
        let fitting = blocks.indices.filter {
            blocks[$0].pending == nil && blocks[$0].byteCount >= byteCount && blocks[$0].byteCount <= 2 * max(byteCount, 4096)
        }
        if let best = fitting.min(by: { blocks[$0].byteCount < blocks[$1].byteCount }) { return best }
        let size = max(byteCount, 4096)
        // Past the limit, free blocks that do not fit go first, then the oldest uploads are waited for.
        while blocks.reduce(0, { $0 + $1.byteCount }) + size > inFlightLimit {
            if let free = blocks.indices.last(where: { blocks[$0].pending == nil }) {
                release(free)
            } else if let oldest = blocks.indices.first(where: { blocks[$0].pending != nil }) {
                try wait(for: oldest)
            } else {
                break  // one upload larger than the limit: it gets its own block
            }
        }
        return try allocate(size)
    }

    private func release(_ index: Int) {
        if let event = blocks[index].pending { clReleaseEvent(event) }
        clEnqueueUnmapMemObject(queue, blocks[index].memory, blocks[index].pointer, 0, nil, nil)
        clReleaseMemObject(blocks[index].memory)
        blocks.remove(at: index)
    }

    private func allocate(_ byteCount: Int) throws -> Int {
        var status: cl_int = 0
        let flags = cl_mem_flags(CL_MEM_ALLOC_HOST_PTR) | cl_mem_flags(CL_MEM_READ_WRITE)
        guard let memory = clCreateBuffer(context, flags, byteCount, nil, &status), status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateBuffer(\(byteCount) bytes of pinned upload staging)", status: status)
        }
        let pointer = clEnqueueMapBuffer(queue, memory, cl_bool(CL_TRUE), cl_map_flags(CL_MAP_WRITE), 0, byteCount, 0, nil, nil, &status)
        guard let pointer, status == CL_SUCCESS else {
            clReleaseMemObject(memory)
            throw OpenCLError(call: "clEnqueueMapBuffer(\(byteCount) bytes of pinned upload staging)", status: status)
        }
        blocks.append(Block(memory: memory, pointer: pointer, byteCount: byteCount, pending: nil))
        return blocks.count - 1
    }

    private func wait(for index: Int) throws {
        guard let event = blocks[index].pending else { return }
        var events: [cl_event?] = [event]
        let waited = clWaitForEvents(1, &events)
        var status: cl_int = 0
        clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size, &status, nil)
        try finish(index, status: waited == CL_SUCCESS ? status : waited)
    }

    private func finish(_ index: Int, status: cl_int) throws {
        if let event = blocks[index].pending { clReleaseEvent(event) }
        blocks[index].pending = nil
        if status < 0 { throw OpenCLError(call: "clEnqueueWriteBuffer (queued upload)", status: status) }
    }
}
