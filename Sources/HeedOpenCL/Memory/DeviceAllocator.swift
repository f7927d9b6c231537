import COpenCL
import Foundation
import HeedOps
import HeedSupport

/// The device memory of one context: a caching allocator over `clCreateBuffer`.
///
/// Memory comes from the driver in segments, and buffers are handed out as sub-buffers
/// (`clCreateSubBuffer`) of blocks carved from them (`BlockPool`: best fit, split, merged
/// again when freed). A freed block is not released to the driver but kept for the next
/// request it can serve, so a training step that repeats the same requests allocates
/// nothing from the driver after the first; and since a block serves any request up to
/// its size, the bytes a network's early, large tensors free serve its later, smaller ones.
///
/// - Sizes: each request is rounded up to `granularity` bytes, at least 512 and the
///   device's `CL_DEVICE_MEM_BASE_ADDR_ALIGN`, which every sub-buffer's origin must respect.
/// - Two pools, as in PyTorch's allocator: requests up to 1 MiB share segments of 2 MiB;
///   larger ones come from segments of 20 MiB (under 10 MiB) or of their own size rounded
///   up to 2 MiB (`segmentBytes(serving:)`), and split only when more than 1 MiB would
///   remain. Keeping small blocks apart keeps a long-lived small tensor (a bias, a
///   statistic) from pinning the middle of a large free run.
/// - Scratch (the working space of one op call, `OpenCLBuffer.scratch`) comes from the same
///   pools; it is counted apart (`DeviceMemoryUsage.scratchBytes`) so reports can say how
///   much of a peak it was.
///
/// A block goes back to its pool when its `OpenCLBuffer` goes away, although commands
/// enqueued earlier may still use it: everything Heed runs goes through the context's one
/// in-order queue, so whatever the next owner enqueues runs after them. The segments are
/// never used directly, and live sub-buffers never overlap.
///
/// `limit` caps the bytes reserved from the driver (the segments), as Heed counts them:
/// PoCL may allocate lazily, so the driver's own failures come late or not at all. A
/// request over the limit, or one the driver refuses with `CL_MEM_OBJECT_ALLOCATION_FAILURE`
/// or `CL_OUT_OF_RESOURCES`, releases the segments with nothing in use and is tried once
/// more, then throws `OutOfDeviceMemory`.
///
/// `@unchecked Sendable`: the pools and counters are guarded by `lock`, which is held
/// only here (buffers are released from any thread, while the backend's lock may be held).
final class DeviceAllocator: @unchecked Sendable {
    /// Creates a buffer of `bytes` on `context`: `clCreateBuffer`, replaceable in tests
    /// to make the driver fail.
    typealias CreateBuffer = (_ context: cl_context, _ bytes: Int) -> (cl_mem?, cl_int)

    /// Storage handed out: a sub-buffer over one block, and the bytes it holds.
    struct Allocation {
        let memory: cl_mem
        /// The block's bytes: what the counters count as in use.
        var bytes: Int { block.bytes }
        let isScratch: Bool
        /// The bytes asked for (at most `bytes`).
        let requestedBytes: Int
        fileprivate let block: BlockPool.Block
        fileprivate let pool: PoolKind
    }

    /// Requests up to this many bytes come from the pool of small blocks.
    static let smallRequestLimit = 1 << 20

    /// Which of the two pools serves a request.
    fileprivate enum PoolKind {
        case small, large

        init(serving bytes: Int) { self = bytes <= DeviceAllocator.smallRequestLimit ? .small : .large }
    }

    /// One pool: the blocks carved from its segments, and the driver's buffer behind each segment.
    private struct SegmentPool {
        var blocks: BlockPool
        var buffers: [Int: cl_mem] = [:]

        /// Adds `memory`, a new segment of `bytes`, as one free block.
        mutating func addSegment(_ memory: cl_mem, bytes: Int) {
            buffers[blocks.addSegment(bytes: bytes)] = memory
        }

        /// Removes the segments with nothing in use: their buffers and sizes, to release.
        mutating func removeFreeSegments() -> [(memory: cl_mem, bytes: Int)] {
            blocks.removeFreeSegments().map { (buffers.removeValue(forKey: $0.segment)!, $0.bytes) }
        }
    }

    /// `bytes` rounded up to a multiple of `multiple`.
    static func roundedUp(_ bytes: Int, to multiple: Int) -> Int {
        (bytes + multiple - 1) / multiple * multiple
    }

    /// The size of the segment a request of `bytes` (rounded) that no free block holds
    /// gets, PyTorch's: 2 MiB for small requests; 20 MiB for requests under 10 MiB, which
    /// then share it; else the request rounded up to 2 MiB. Shared segments are what lets
    /// the blocks a network's middle layers free merge into runs its larger tensors fit.
    static func segmentBytes(serving bytes: Int) -> Int {
        if bytes <= smallRequestLimit { return 2 << 20 }
        if bytes < 10 << 20 { return 20 << 20 }
        return roundedUp(bytes, to: 2 << 20)
    }

    /// Bytes every request is rounded up to a multiple of (a power of two).
    let granularity: Int
    private let context: cl_context
    /// The context's queue, drained before the driver is asked again (see `createFromDriver`).
    private let queue: cl_command_queue?
    private let createBuffer: CreateBuffer
    private let lock = NSLock()
    private var pools: [PoolKind: SegmentPool]
    private var limitBytes: Int?
    private var usage = DeviceMemoryUsage()

    static func driverCreateBuffer(_ context: cl_context, _ bytes: Int) -> (cl_mem?, cl_int) {
        var status: cl_int = 0
        let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
        return (memory, status)
    }

    /// - Parameter baseAlignment: the device's `CL_DEVICE_MEM_BASE_ADDR_ALIGN` in bytes.
    init(
        context: cl_context, queue: cl_command_queue?, baseAlignment: Int = 128, limit: Int? = nil,
        createBuffer: @escaping CreateBuffer = DeviceAllocator.driverCreateBuffer
    ) {
        precondition(baseAlignment > 0 && baseAlignment & (baseAlignment - 1) == 0, "alignment \(baseAlignment) is not a power of two")
        self.context = context
        self.queue = queue
        self.granularity = max(512, baseAlignment)
        self.pools = [
            .small: SegmentPool(blocks: BlockPool(minimumRemainder: granularity)),
            .large: SegmentPool(blocks: BlockPool(minimumRemainder: Self.smallRequestLimit + 1)),
        ]
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

    /// `bytes` (at most 2^62) rounded up to a multiple of `granularity`.
    func rounded(_ bytes: Int) -> Int {
        Self.roundedUp(bytes, to: granularity)
    }

    /// Storage of at least `bytes` (which must be positive): a block of a pooled segment
    /// when one holds the request, else of a new segment from the driver.
    func allocate(bytes: Int, scratch: Bool) throws -> Allocation {
        // Refused before the rounding below could overflow: no device holds 2^62 bytes.
        guard bytes > 0, bytes <= 1 << 62 else {
            throw HeedError.invalidArgument(op: "makeBuffer", "\(bytes) bytes is not a buffer size a device can hold")
        }
        let size = rounded(bytes)
        let kind = PoolKind(serving: size)
        return try lock.withLock {
            let block: BlockPool.Block
            if let pooled = pools[kind]!.blocks.take(size) {
                usage.poolHits += 1
                block = pooled
            } else {
                let (memory, segmentBytes) = try createSegment(serving: size)
                usage.driverAllocations += 1
                usage.reservedBytes += segmentBytes
                usage.peakReservedBytes = max(usage.peakReservedBytes, usage.reservedBytes)
                pools[kind]!.addSegment(memory, bytes: segmentBytes)
                block = pools[kind]!.blocks.take(size)!
            }
            let memory: cl_mem
            do {
                memory = try subBuffer(of: block, in: kind)
            } catch {
                pools[kind]!.blocks.give(block)
                throw error
            }
            usage.allocated(block.bytes, requested: bytes, scratch: scratch)
            return Allocation(memory: memory, isScratch: scratch, requestedBytes: bytes, block: block, pool: kind)
        }
    }

    /// Takes back storage `allocate` handed out, into its pool.
    func free(_ allocation: Allocation) {
        clReleaseMemObject(allocation.memory)
        lock.withLock {
            usage.freed(allocation.bytes, requested: allocation.requestedBytes, scratch: allocation.isScratch)
            pools[allocation.pool]!.blocks.give(allocation.block)
        }
    }

    /// Releases every segment with nothing in use to the driver.
    func releaseCachedMemory() {
        lock.withLock { _ = releaseFreeSegments() }
    }

    /// Starts new high-water marks from the bytes in use and reserved now.
    func resetPeaks() {
        lock.withLock {
            usage.peakBytes = usage.liveBytes
            usage.scratchBytesAtPeak = usage.scratchBytes
            usage.peakReservedBytes = usage.reservedBytes
        }
    }

    // MARK: Under the lock

    /// A sub-buffer over `block` of its segment in pool `kind`.
    private func subBuffer(of block: BlockPool.Block, in kind: PoolKind) throws -> cl_mem {
        let segment = pools[kind]!.buffers[block.segment]!
        var region = cl_buffer_region(origin: block.offset, size: block.bytes)
        var status: cl_int = 0
        let memory = clCreateSubBuffer(
            segment, cl_mem_flags(CL_MEM_READ_WRITE), cl_buffer_create_type(CL_BUFFER_CREATE_TYPE_REGION), &region, &status)
        guard let memory, status == CL_SUCCESS else {
            if let memory { clReleaseMemObject(memory) }
            throw OpenCLError(call: "clCreateSubBuffer(\(block.bytes) bytes at \(block.offset))", status: status)
        }
        return memory
    }

    /// A new segment for a request of `bytes`: of `segmentBytes(serving:)`, or where that is
    /// more than the limit or the driver allows, of only the request rounded up to 2 MiB.
    private func createSegment(serving bytes: Int) throws -> (cl_mem, Int) {
        let preferred = Self.segmentBytes(serving: bytes)
        let least = max(Self.segmentBytes(serving: 1), Self.roundedUp(bytes, to: 2 << 20))
        do {
            return (try createFromDriver(preferred, serving: bytes), preferred)
        } catch is OutOfDeviceMemory where least < preferred {
            return (try createFromDriver(least, serving: bytes), least)
        }
    }

    /// A new segment of `bytes` from the driver for a request of `request` bytes, within the
    /// limit: on the limit or the driver's out-of-memory statuses, the free segments are
    /// released and it is tried once more.
    ///
    /// A released buffer's memory is freed only once the commands that use it are done,
    /// so after the driver's refusal the queue is drained before it is asked again.
    private func createFromDriver(_ bytes: Int, serving request: Int) throws -> cl_mem {
        var driverStatus: cl_int?
        for attempt in 0..<2 {
            if attempt == 1 {
                guard releaseFreeSegments() > 0 else { break }
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
            requestedBytes: request, inUseBytes: usage.liveBytes, reservedBytes: usage.reservedBytes, limit: limitBytes,
            driverStatus: driverStatus)
    }

    /// Releases the segments with nothing in use; returns how many.
    @discardableResult
    private func releaseFreeSegments() -> Int {
        let released = pools[.small]!.removeFreeSegments() + pools[.large]!.removeFreeSegments()
        for (memory, bytes) in released {
            clReleaseMemObject(memory)
            usage.reservedBytes -= bytes
            usage.driverReleases += 1
        }
        return released.count
    }
}
