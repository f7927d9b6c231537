/// The bookkeeping of a caching allocator: segments of device memory carved into blocks,
/// a free block split to serve a smaller request and merged with its free neighbours when
/// given back, so that the bytes a network frees serve requests of any smaller size.
///
/// Best fit, as PyTorch's CUDA caching allocator: a request takes the smallest free block
/// that holds it (the lowest segment and offset among equals), split when what remains is
/// at least `minimumRemainder`. It knows nothing of OpenCL: segments are numbered, and
/// `DeviceAllocator` keeps their buffers.
struct BlockPool {
    /// A run of bytes inside a segment.
    struct Block: Equatable {
        let segment: Int
        let offset: Int
        let bytes: Int
    }

    private struct Run {
        var offset: Int
        var bytes: Int
        var isFree: Bool
    }

    /// A free block is split only when the rest is at least this many bytes; smaller rests
    /// go with the block, so that the pool does not fill with slivers no request takes.
    let minimumRemainder: Int
    /// Each segment's runs in address order, together covering it.
    private var runs: [Int: [Run]] = [:]
    private var segmentBytes: [Int: Int] = [:]
    private var nextSegment = 0

    init(minimumRemainder: Int) {
        precondition(minimumRemainder > 0)
        self.minimumRemainder = minimumRemainder
    }

    /// Bytes of all segments.
    var reservedBytes: Int { segmentBytes.values.reduce(0, +) }

    /// Bytes of the free blocks.
    var freeBytes: Int { runs.values.joined().filter(\.isFree).reduce(0) { $0 + $1.bytes } }

    /// The free blocks, largest first: what a request could be served from.
    var freeBlocks: [Block] {
        runs.flatMap { segment, runs in runs.filter(\.isFree).map { Block(segment: segment, offset: $0.offset, bytes: $0.bytes) } }
            .sorted { ($0.bytes, -$0.segment, -$0.offset) > ($1.bytes, -$1.segment, -$1.offset) }
    }

    /// Adds a segment of `bytes`, all of it free, and returns its number.
    mutating func addSegment(bytes: Int) -> Int {
        precondition(bytes > 0)
        let segment = nextSegment
        nextSegment += 1
        runs[segment] = [Run(offset: 0, bytes: bytes, isFree: true)]
        segmentBytes[segment] = bytes
        return segment
    }

    /// A block of at least `bytes` from the best-fitting free block, or nil when none holds it.
    mutating func take(_ bytes: Int) -> Block? {
        precondition(bytes > 0)
        var best: (segment: Int, index: Int, run: Run)?
        for (segment, segmentRuns) in runs {
            for (index, run) in segmentRuns.enumerated() where run.isFree && run.bytes >= bytes {
                if let current = best,
                    (run.bytes, segment, run.offset) >= (current.run.bytes, current.segment, current.run.offset)
                {
                    continue
                }
                best = (segment, index, run)
            }
        }
        guard let (segment, index, run) = best else { return nil }
        let rest = run.bytes - bytes
        if rest >= minimumRemainder {
            runs[segment]![index] = Run(offset: run.offset, bytes: bytes, isFree: false)
            runs[segment]!.insert(Run(offset: run.offset + bytes, bytes: rest, isFree: true), at: index + 1)
            return Block(segment: segment, offset: run.offset, bytes: bytes)
        }
        runs[segment]![index].isFree = false
        return Block(segment: segment, offset: run.offset, bytes: run.bytes)
    }

    /// Gives back a block `take` returned, merged with the free blocks on either side.
    mutating func give(_ block: Block) {
        guard var segmentRuns = runs[block.segment],
            let index = segmentRuns.firstIndex(where: { $0.offset == block.offset }),
            !segmentRuns[index].isFree, segmentRuns[index].bytes == block.bytes
        else {
            preconditionFailure("block \(block) was not taken from this pool")
        }
        segmentRuns[index].isFree = true
        var first = index
        if first > 0, segmentRuns[first - 1].isFree {
            segmentRuns[first - 1].bytes += segmentRuns[first].bytes
            segmentRuns.remove(at: first)
            first -= 1
        }
        if first + 1 < segmentRuns.count, segmentRuns[first + 1].isFree {
            segmentRuns[first].bytes += segmentRuns[first + 1].bytes
            segmentRuns.remove(at: first + 1)
        }
        runs[block.segment] = segmentRuns
    }

    /// The segments with nothing taken from them, smallest first, and their sizes.
    var freeSegments: [(segment: Int, bytes: Int)] {
        runs.filter { $0.value.count == 1 && $0.value[0].isFree }.map { ($0.key, $0.value[0].bytes) }
            .sorted { ($0.bytes, $0.segment) < ($1.bytes, $1.segment) }
    }

    /// Removes a segment with nothing taken from it.
    mutating func removeSegment(_ segment: Int) {
        precondition(runs[segment]?.count == 1 && runs[segment]![0].isFree, "segment \(segment) is in use")
        runs[segment] = nil
        segmentBytes[segment] = nil
    }

    /// Removes every segment with nothing taken from it, and returns their numbers and sizes.
    mutating func removeFreeSegments() -> [(segment: Int, bytes: Int)] {
        let free = freeSegments
        for (segment, _) in free { removeSegment(segment) }
        return free
    }
}
