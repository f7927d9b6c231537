import COpenCL
import Foundation
import HeedOps
import HeedSupport

/// The device memory of one context: a caching allocator over `clCreateBuffer`.
///
/// A freed buffer is not released to the driver but kept in a pool, and the next request
/// it can serve takes it, so a training step that repeats the same requests allocates
/// nothing from the driver after the first.
///
/// - Tensors: pools by size class (`sizeClass(of:)`, which wastes less than 1/8 of a
///   request, 512 bytes below 4 KiB); a request takes a buffer of its class, else of the
///   smallest pooled class up to half again as large, so that a network's later, smaller
///   tensors reuse what its earlier ones freed instead of reserving more. Not larger: a
///   buffer counts as in use at its whole size, and under a memory limit (or on a full GPU)
///   the pools are emptied before a request is refused, so what decides the batch that fits
///   is the bytes in use, which serving small requests from large buffers would fill with waste.
/// - Scratch (the working space of one op call, see `OpenCLBuffer.scratch`): one pool
///   whose buffers serve any request they are large enough for (the smallest that fits),
///   so convolutions and GEMMs of every layer share the same few buffers instead of
///   keeping one per size they ever needed. A request none fits releases the pooled
///   scratch smaller than itself, so outgrown buffers are not kept.
///
/// A buffer goes back to its pool when its `OpenCLBuffer` goes away, although commands
/// enqueued earlier may still use it: everything Heed runs goes through the context's one
/// in-order queue, so whatever the next owner enqueues runs after them.
///
/// `limit` caps the bytes reserved from the driver (in use and pooled), as Heed counts
/// them: PoCL may allocate lazily, so the driver's own failures come late or not at all.
/// A request over the limit, or one the driver refuses with `CL_MEM_OBJECT_ALLOCATION_FAILURE`
/// or `CL_OUT_OF_RESOURCES`, empties the pools and is tried once more, then throws
/// `OutOfDeviceMemory`.
///
/// `@unchecked Sendable`: the pools and counters are guarded by `lock`, which is held
/// only here (buffers are released from any thread, while the backend's lock may be held).
final class DeviceAllocator: @unchecked Sendable {
    /// Creates a buffer of `bytes` on `context`: `clCreateBuffer`, replaceable in tests
    /// to make the driver fail.
    typealias CreateBuffer = (_ context: cl_context, _ bytes: Int) -> (cl_mem?, cl_int)

    /// Storage handed out: the buffer and the bytes it holds (its size class, or the
    /// scratch buffer's whole size), which are what the pools and counters count.
    struct Allocation {
        let memory: cl_mem
        let bytes: Int
        let isScratch: Bool
        /// The bytes asked for (at most `bytes`).
        let requestedBytes: Int
    }

    private let context: cl_context
    /// The context's queue, drained before the driver is asked again (see `createFromDriver`).
    private let queue: cl_command_queue?
    private let createBuffer: CreateBuffer
    private let lock = NSLock()
    private var pools: [Int: [cl_mem]] = [:]
    private var scratchPool: [(bytes: Int, memory: cl_mem)] = []
    private var limitBytes: Int?
    private var usage = DeviceMemoryUsage()

    static func driverCreateBuffer(_ context: cl_context, _ bytes: Int) -> (cl_mem?, cl_int) {
        var status: cl_int = 0
        let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
        return (memory, status)
    }

    init(
        context: cl_context, queue: cl_command_queue?, limit: Int? = nil,
        createBuffer: @escaping CreateBuffer = DeviceAllocator.driverCreateBuffer
    ) {
        self.context = context
        self.queue = queue
        self.limitBytes = limit
        self.createBuffer = createBuffer
    }

    deinit {
        releaseCachedMemory()
    }

    /// The most bytes reserved from the driver at once, or nil for no cap but the driver's.
    var limit: Int? {
        get { lock.withLock { limitBytes } }
        set { lock.withLock { limitBytes = newValue } }
    }

    var statistics: DeviceMemoryUsage {
        lock.withLock { usage }
    }

    /// The size class of a request: bytes rounded up to a multiple of 512 below 4 KiB, and
    /// above to one of 8 steps per power of two (2^k·(1 + j/8)), so that less than 1/8 of a
    /// buffer is waste while a network's few distinct tensor sizes map to few classes.
    static func sizeClass(of bytes: Int) -> Int {
        let step = bytes <= 4096 ? 512 : (1 << (Int.bitWidth - 1 - (bytes - 1).leadingZeroBitCount)) >> 3
        return max(1, (bytes + step - 1) / step) * step
    }

    /// Storage of at least `bytes` (which must be positive): a pooled buffer when one
    /// serves the request, else a new one from the driver.
    func allocate(bytes: Int, scratch: Bool) throws -> Allocation {
        // Refused before the rounding below could overflow: no device holds 2^62 bytes.
        guard bytes > 0, bytes <= 1 << 62 else {
            throw HeedError.invalidArgument(op: "makeBuffer", "\(bytes) bytes is not a buffer size a device can hold")
        }
        return try lock.withLock {
            if let pooled = takePooled(bytes: bytes, scratch: scratch) {
                usage.poolHits += 1
                usage.allocated(pooled.bytes, requested: bytes)
                return pooled
            }
            let size = Self.sizeClass(of: bytes)
            if scratch { releasePooledScratch(smallerThan: size) }
            let memory = try createFromDriver(size)
            usage.driverAllocations += 1
            usage.reservedBytes += size
            usage.peakReservedBytes = max(usage.peakReservedBytes, usage.reservedBytes)
            usage.allocated(size, requested: bytes)
            return Allocation(memory: memory, bytes: size, isScratch: scratch, requestedBytes: bytes)
        }
    }

    /// Takes back storage `allocate` handed out, into its pool.
    func free(_ allocation: Allocation) {
        lock.withLock {
            usage.liveBytes -= allocation.bytes
            usage.requestedBytes -= allocation.requestedBytes
            usage.frees += 1
            if allocation.isScratch {
                scratchPool.append((allocation.bytes, allocation.memory))
            } else {
                pools[allocation.bytes, default: []].append(allocation.memory)
            }
        }
    }

    /// Releases every pooled buffer to the driver; buffers in use are not touched.
    func releaseCachedMemory() {
        lock.withLock { releaseAllPooled() }
    }

    /// Starts new high-water marks from the bytes in use and reserved now.
    func resetPeaks() {
        lock.withLock {
            usage.peakBytes = usage.liveBytes
            usage.peakReservedBytes = usage.reservedBytes
        }
    }

    // MARK: Under the lock

    private func takePooled(bytes: Int, scratch: Bool) -> Allocation? {
        if scratch {
            let fits = scratchPool.indices.filter { scratchPool[$0].bytes >= bytes }
            guard let best = fits.min(by: { scratchPool[$0].bytes < scratchPool[$1].bytes }) else { return nil }
            let taken = scratchPool.remove(at: best)
            return Allocation(memory: taken.memory, bytes: taken.bytes, isScratch: true, requestedBytes: bytes)
        }
        let size = Self.sizeClass(of: bytes)
        let fits = pools.filter { $0.key >= size && $0.key <= size + size / 2 && !$0.value.isEmpty }.keys
        guard let best = fits.min(), let memory = pools[best]?.popLast() else { return nil }
        return Allocation(memory: memory, bytes: best, isScratch: false, requestedBytes: bytes)
    }

    /// A new buffer of `bytes` from the driver, within the limit: on the limit or the
    /// driver's out-of-memory statuses, the pools are emptied and it is tried once more.
    ///
    /// A released buffer's memory is freed only once the commands that use it are done,
    /// so after the driver's refusal the queue is drained before it is asked again.
    private func createFromDriver(_ bytes: Int) throws -> cl_mem {
        var driverStatus: cl_int?
        for attempt in 0..<2 {
            if attempt == 1 {
                guard !pools.isEmpty || !scratchPool.isEmpty else { break }
                releaseAllPooled()
                if driverStatus != nil, let queue { clFinish(queue) }
            }
            if let limitBytes, usage.reservedBytes + bytes > limitBytes {
                driverStatus = nil
                continue
            }
            let (memory, status) = createBuffer(context, bytes)
            if let memory, status == CL_SUCCESS { return memory }
            if let memory { clReleaseMemObject(memory) }
            guard status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES else {
                throw OpenCLError(call: "clCreateBuffer(\(bytes) bytes)", status: status)
            }
            driverStatus = status
        }
        throw OutOfDeviceMemory(
            requestedBytes: bytes, inUseBytes: usage.liveBytes, reservedBytes: usage.reservedBytes, limit: limitBytes,
            driverStatus: driverStatus)
    }

    private func releasePooledScratch(smallerThan bytes: Int) {
        let (outgrown, kept) = (scratchPool.filter { $0.bytes < bytes }, scratchPool.filter { $0.bytes >= bytes })
        for entry in outgrown { releaseToDriver(entry.memory, entry.bytes) }
        scratchPool = kept
    }

    private func releaseAllPooled() {
        for (bytes, memories) in pools {
            for memory in memories { releaseToDriver(memory, bytes) }
        }
        for entry in scratchPool { releaseToDriver(entry.memory, entry.bytes) }
        pools = [:]
        scratchPool = []
    }

    private func releaseToDriver(_ memory: cl_mem, _ bytes: Int) {
        clReleaseMemObject(memory)
        usage.reservedBytes -= bytes
        usage.driverReleases += 1
    }
}

/// A request for device memory that Heed could not serve: over `HEED_MEMORY_LIMIT`, or
/// refused by the driver, even after the cached buffers were released.
///
/// `description` reads like `out of device memory: 268435456 bytes (256.0 MiB) requested with
/// 402653184 (384.0 MiB) in use; the limit is 536870912 (512.0 MiB, HEED_MEMORY_LIMIT)`.
public struct OutOfDeviceMemory: Error, Equatable, CustomStringConvertible {
    /// Bytes of the buffer asked for (its size class).
    public let requestedBytes: Int
    /// Bytes of the buffers in use when it was asked for.
    public let inUseBytes: Int
    /// Bytes reserved from the driver then: in use, and any pooled that could not be released.
    public let reservedBytes: Int
    /// The cap on reserved bytes (`HEED_MEMORY_LIMIT`), or nil for none.
    public let limit: Int?
    /// What `clCreateBuffer` returned on its last try, or nil where the limit refused the
    /// request before the driver was asked.
    public let driverStatus: Int32?

    public var description: String {
        let limitText = limit.map { "the limit is \($0) (\(formatBytes($0)), HEED_MEMORY_LIMIT)" } ?? "no HEED_MEMORY_LIMIT is set"
        let cause = driverStatus.map { "; clCreateBuffer failed: \(OpenCLError(call: "", status: $0).statusName) (\($0))" } ?? ""
        return "out of device memory: \(requestedBytes) bytes (\(formatBytes(requestedBytes))) requested with "
            + "\(inUseBytes) (\(formatBytes(inUseBytes))) in use\(cause); \(limitText)"
    }
}
