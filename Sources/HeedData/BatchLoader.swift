import Foundation
import HeedOps

/// A batch of images ready for the device: normalised floats and labels.
public struct Batch: Sendable {
    /// N×C×H×W.
    public let images: [Float]
    public let labels: [Int32]
    public var count: Int { labels.count }
}

/// Cuts a dataset into batches: seeded shuffling, augmentation, normalisation, and
/// the next batch prepared on a background thread while the device trains.
///
/// Every batch is a pure function of (seed, epoch, batch index): the shuffle of an
/// epoch and each image's augmentation are drawn from generators seeded by those, not
/// from one stream. So a run resumed at any batch sees exactly the batches an
/// uninterrupted run would, and prefetching cannot change results.
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

    public init(
        dataset: ImageDataset, batchSize: Int, shuffle: Bool, dropLast: Bool,
        augmentation: Augmentation = .none, normalization: Normalization, seed: UInt64,
        replicas: Int = 1, rank: Int = 0
    ) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(replicas > 0 && (0..<replicas).contains(rank), "rank \(rank) of \(replicas) replicas")
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
    }

    /// Images this rank sees per epoch (the whole dataset for one replica).
    public let shareCount: Int
    /// Whether the order is padded to equal shares (training).
    private let padsShares: Bool

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? shareCount / batchSize : (shareCount + batchSize - 1) / batchSize
    }

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

    /// Batch `index` of `epoch`, computed on the calling thread.
    public func batch(epoch: Int, index: Int, order: [Int]? = nil) -> Batch {
        let order = order ?? self.order(epoch: epoch)
        let members = order[index * batchSize..<min((index + 1) * batchSize, order.count)]
        let size = dataset.imageSize
        var images = [Float](repeating: 0, count: members.count * size)
        var labels: [Int32] = []
        for (slot, item) in members.enumerated() {
            var random = SeededGenerator(seed: seed ^ UInt64(epoch) &* 0xD1B5_4A32_D192_ED03 ^ UInt64(item) &* 0x2545_F491_4F6C_DD1D)
            augmentation.apply(
                dataset.image(item), channels: dataset.channels, height: dataset.height, width: dataset.width,
                normalization: normalization, random: &random, into: &images, at: slot * size)
            labels.append(dataset.labels[item])
        }
        return Batch(images: images, labels: labels)
    }

    /// The batches of `epoch` from `start` on, each prepared on a background thread
    /// while the caller works on the previous one.
    public func batches(epoch: Int, startingAt start: Int = 0) -> AnySequence<Batch> {
        let order = self.order(epoch: epoch)
        let end = batchCount
        return AnySequence { () -> AnyIterator<Batch> in
            var next = start
            var pending: Prefetch? = start < end ? Prefetch { self.batch(epoch: epoch, index: start, order: order) } : nil
            return AnyIterator {
                guard let current = pending else { return nil }
                next += 1
                let following = next
                pending = following < end ? Prefetch { self.batch(epoch: epoch, index: following, order: order) } : nil
                return current.wait()
            }
        }
    }
}

/// One batch being prepared on a background queue.
private final class Prefetch: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Batch?

    init(_ work: @escaping @Sendable () -> Batch) {
        DispatchQueue.global(qos: .userInitiated).async {
            self.result = work()
            self.done.signal()
        }
    }

    func wait() -> Batch {
        done.wait()
        return result!
    }
}
