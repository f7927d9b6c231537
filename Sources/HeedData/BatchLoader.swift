import Foundation
import HeedOps
import HeedSupport

/// A batch of images ready for the device: normalised floats and labels.
public struct Batch: Sendable {
    /// N×C×H×W.
    public let images: [Float]
    public let labels: [Int32]
    public var count: Int { labels.count }
}

/// Cuts a dataset into batches: seeded shuffling, augmentation, normalisation, and
/// images prepared by `workers` threads a bounded number of batches (`prefetch`) ahead
/// while the device trains. Photos are decoded there, one at a time per worker, so the
/// memory a loader holds is about `(prefetch + 1) · batchSize` images, whatever the
/// dataset's size.
///
/// Every batch is a pure function of (seed, epoch, batch index): the shuffle of an
/// epoch and each image's augmentation are drawn from generators seeded by those (the
/// image's from seed, epoch and image index), not from one stream. So a run resumed at
/// any batch sees exactly the batches an uninterrupted run would, and neither prefetching
/// nor the number of workers can change results.
///
/// A photo that fails to decode stops the run: `batches` prints a line naming the file
/// and exits with status 1 on the thread that asked for the batch (between training
/// steps, never while a checkpoint is written). With `skipBadImages` it is left out of
/// its batch instead and counted (``skippedImages``).
///
/// In data-parallel training each of `replicas` ranks has a loader with its `rank`: every
/// rank draws the same shuffled order of the epoch and takes every `replicas`-th image of it
/// from its rank on, as PyTorch's `DistributedSampler`. Training pads the order with its
/// first images to a multiple of `replicas`, so that every rank runs the same number of
/// steps; evaluation does not (each image counted once). Batch b of the ranks together
/// holds the images of batch b of one loader with a `replicas` times larger batch.
public final class BatchLoader: Sendable {
    public let dataset: ImageDataset
    public let batchSize: Int
    public let shuffle: Bool
    /// Training drops a last partial batch (batch statistics of a handful of images are noise).
    public let dropLast: Bool
    public let augmentation: Augmentation
    public let normalization: Normalization
    public let seed: UInt64
    public let replicas: Int
    public let rank: Int
    /// Threads preparing images.
    public let workers: Int
    /// Batches prepared ahead of the one being used.
    public let prefetch: Int
    /// Whether a photo that fails to decode is left out (else it stops the run).
    public let skipBadImages: Bool
    private let skipped = SkippedImages()

    public init(
        dataset: ImageDataset, batchSize: Int, shuffle: Bool, dropLast: Bool,
        augmentation: Augmentation = .none, normalization: Normalization, seed: UInt64,
        replicas: Int = 1, rank: Int = 0, workers: Int = 1, prefetch: Int = 2, skipBadImages: Bool = false
    ) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(replicas > 0 && (0..<replicas).contains(rank), "rank \(rank) of \(replicas) replicas")
        precondition(workers > 0 && prefetch > 0, "\(workers) workers, \(prefetch) batches ahead")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.replicas = replicas
        self.rank = rank
        // Padding to equal shares goes with dropping the last partial batch: both are training's.
        padsShares = dropLast
        let shareCount = dropLast ? (dataset.count + replicas - 1) / replicas : (dataset.count - rank + replicas - 1) / replicas
        self.dropLast = dropLast && shareCount >= batchSize
        self.shareCount = shareCount
        self.augmentation = augmentation
        self.normalization = normalization
        self.seed = seed
        self.workers = workers
        self.prefetch = prefetch
        self.skipBadImages = skipBadImages
    }

    /// Images this rank sees per epoch (the whole dataset for one replica).
    public let shareCount: Int
    /// Whether the order is padded to equal shares (training).
    private let padsShares: Bool

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? shareCount / batchSize : (shareCount + batchSize - 1) / batchSize
    }

    /// The photos left out so far (`skipBadImages`): how many times, and the distinct files.
    public var skippedImages: (count: Int, files: [String]) { skipped.summary }

    /// The order of this rank's images in `epoch`: its share of the epoch's shuffled order.
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<dataset.count)
        if shuffle {
            var random = SeededGenerator(seed: seed ^ (UInt64(epoch) &+ 1) &* 0x9E37_79B9_7F4A_7C15)
            order.shuffle(using: &random)
        }
        guard replicas > 1 else { return order }
        if padsShares { order += order.prefix(shareCount * replicas - order.count) }
        return Array(stride(from: rank, to: order.count, by: replicas).map { order[$0] })
    }

    /// Image `item` of `epoch`: decoded if a photo, augmented, normalised, planar C×H×W.
    func prepare(_ item: Int, epoch: Int) throws -> [Float] {
        var random = SeededGenerator(seed: seed ^ UInt64(epoch) &* 0xD1B5_4A32_D192_ED03 ^ UInt64(item) &* 0x2545_F491_4F6C_DD1D)
        let image = try dataset.sample(item, random: &random)
        var output = [Float](repeating: 0, count: dataset.imageSize)
        augmentation.apply(
            image, channels: dataset.channels, height: dataset.height, width: dataset.width,
            normalization: normalization, random: &random, into: &output, at: 0)
        return output
    }

    /// The members of batch `index` in `order`.
    private func members(_ index: Int, _ order: [Int]) -> [Int] {
        Array(order[index * batchSize..<min((index + 1) * batchSize, order.count)])
    }

    /// A batch from its members' prepared images; a failed one is left out (`skipBadImages`)
    /// or is the batch's error (the first in batch order, whatever finished first).
    private func assemble(_ members: [Int], _ prepared: [Result<[Float], any Error>]) -> Result<Batch, any Error> {
        var images: [Float] = []
        images.reserveCapacity(members.count * dataset.imageSize)
        var labels: [Int32] = []
        for (item, result) in zip(members, prepared) {
            switch result {
            case .success(let pixels):
                images += pixels
                labels.append(dataset.labels[item])
            case .failure(let error):
                guard skipBadImages else { return .failure(error) }
                skipped.add(item, error)
            }
        }
        return .success(Batch(images: images, labels: labels))
    }

    /// Batch `index` of `epoch`, computed on the calling thread.
    ///
    /// - Throws: the `FileError` of its first photo that cannot be decoded (unless `skipBadImages`).
    public func checkedBatch(epoch: Int, index: Int, order: [Int]? = nil) throws -> Batch {
        let members = members(index, order ?? self.order(epoch: epoch))
        return try assemble(members, members.map { item in Result { try prepare(item, epoch: epoch) } }).get()
    }

    /// Batch `index` of `epoch`, computed on the calling thread; a photo that cannot be
    /// decoded stops the process (see the type's documentation).
    public func batch(epoch: Int, index: Int, order: [Int]? = nil) -> Batch {
        do {
            return try checkedBatch(epoch: epoch, index: index, order: order)
        } catch {
            Self.stop(error)
        }
    }

    /// The batches of `epoch` from `start` on, prepared by the workers while the caller
    /// works on earlier ones; a photo that cannot be decoded stops the process (see the
    /// type's documentation). A batch whose every image was skipped is passed over.
    public func batches(epoch: Int, startingAt start: Int = 0) -> AnySequence<Batch> {
        let checked = checkedBatches(epoch: epoch, startingAt: start)
        return AnySequence { () -> AnyIterator<Batch> in
            let iterator = checked.makeIterator()
            return AnyIterator {
                while let result = iterator.next() {
                    switch result {
                    case .success(let batch) where batch.count == 0: continue
                    case .success(let batch): return batch
                    case .failure(let error): Self.stop(error)
                    }
                }
                return nil
            }
        }
    }

    /// The batches of `epoch` from `start` on as `batches` prepares them, a photo that
    /// cannot be decoded being its batch's error rather than the end of the process.
    public func checkedBatches(epoch: Int, startingAt start: Int = 0) -> AnySequence<Result<Batch, any Error>> {
        let order = self.order(epoch: epoch)
        let end = batchCount
        return AnySequence { () -> AnyIterator<Result<Batch, any Error>> in
            let stream = BatchStream(workers: self.workers)
            var scheduled = start
            func schedule() {
                while scheduled < end && stream.pending.count < self.prefetch {
                    let members = self.members(scheduled, order)
                    let batch = PendingBatch(members: members)
                    for (slot, item) in members.enumerated() {
                        stream.pool.submit { batch.set(slot, Result { try self.prepare(item, epoch: epoch) }) }
                    }
                    stream.pending.append(batch)
                    scheduled += 1
                }
            }
            return AnyIterator {
                schedule()
                guard !stream.pending.isEmpty else { return nil }
                let current = stream.pending.removeFirst()
                schedule()
                return self.assemble(current.members, current.wait())
            }
        }
    }

    /// Prints the error and ends the process with status 1.
    private static func stop(_ error: any Error) -> Never {
        FileHandle.standardError.write(
            Data("Error: \(error) (an image that cannot be decoded stops the run; --skip-bad-images skips it)\n".utf8))
        exit(1)
    }
}

/// The workers of one pass over batches and the batches submitted to them; the workers
/// end when the pass is dropped (finished or abandoned).
private final class BatchStream {
    let pool: WorkerPool
    var pending: [PendingBatch] = []

    init(workers: Int) { pool = WorkerPool(threads: workers) }

    deinit { pool.close() }
}

/// One batch being prepared: its members' images, filled in by the workers in any order.
private final class PendingBatch: @unchecked Sendable {
    let members: [Int]
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var results: [Result<[Float], any Error>?]
    private var remaining: Int

    init(members: [Int]) {
        self.members = members
        results = Array(repeating: nil, count: members.count)
        remaining = members.count
        if members.isEmpty { done.signal() }
    }

    func set(_ slot: Int, _ result: Result<[Float], any Error>) {
        let finished = lock.withLock {
            results[slot] = result
            remaining -= 1
            return remaining == 0
        }
        if finished { done.signal() }
    }

    func wait() -> [Result<[Float], any Error>] {
        done.wait()
        return lock.withLock { results.map { $0! } }
    }
}

/// The photos a loader left out, for the count printed at the end of a run.
private final class SkippedImages: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var files: [Int: String] = [:]

    func add(_ item: Int, _ error: any Error) {
        lock.withLock {
            count += 1
            files[item] = (error as? FileError)?.path ?? "image \(item)"
        }
    }

    var summary: (count: Int, files: [String]) { lock.withLock { (count, files.values.sorted()) } }
}
