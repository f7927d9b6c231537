import HeedData
import XCTest

final class BatchLoaderTests: XCTestCase {
    /// 10 images of 1×4×4 whose pixels are 10·image + position, label = image.
    private let dataset = ImageDataset(
        name: "counting", classNames: (0..<10).map { "\($0)" }, channels: 1, height: 4, width: 4,
        pixels: (0..<10).flatMap { image in (0..<16).map { UInt8(10 * image + $0) } },
        labels: (0..<10).map(Int32.init))
    private let identity = Normalization(mean: [0], std: [1.0 / 255])

    func testBatchesCoverTheEpochOnceInAShuffledReproducibleOrder() {
        let loader = BatchLoader(dataset: dataset, batchSize: 3, shuffle: true, dropLast: false, normalization: identity, seed: 5)
        XCTAssertEqual(loader.batchCount, 4)
        let labels = loader.batches(epoch: 0).flatMap(\.labels)
        XCTAssertEqual(labels.sorted(), (0..<10).map(Int32.init))
        XCTAssertNotEqual(labels, (0..<10).map(Int32.init), "shuffled")
        XCTAssertEqual(loader.batches(epoch: 0).flatMap(\.labels), labels, "same seed and epoch, same order")
        XCTAssertNotEqual(loader.batches(epoch: 1).flatMap(\.labels), labels, "another epoch, another order")
    }

    /// Three ranks of batch 2 over 10 images: the shares of one shuffled order, padded with
    /// its first images to 12 so that each rank runs 2 steps, and batch b of the ranks
    /// together is batch b of one loader of batch 6.
    func testRanksShareOneShuffledOrderPaddedToEqualSteps() {
        let whole = BatchLoader(dataset: dataset, batchSize: 6, shuffle: true, dropLast: true, normalization: identity, seed: 5)
        let ranks = (0..<3).map {
            BatchLoader(
                dataset: dataset, batchSize: 2, shuffle: true, dropLast: true, normalization: identity, seed: 5, replicas: 3, rank: $0)
        }
        let order = whole.order(epoch: 2)
        let padded = order + order.prefix(2)
        for (rank, loader) in ranks.enumerated() {
            XCTAssertEqual(loader.shareCount, 4)
            XCTAssertEqual(loader.batchCount, 2)
            XCTAssertEqual(loader.order(epoch: 2), [0, 3, 6, 9].map { padded[rank + $0] }, "rank \(rank)")
        }
        let wholeBatch = whole.batch(epoch: 2, index: 0).labels.sorted()
        XCTAssertEqual(ranks.flatMap { $0.batch(epoch: 2, index: 0).labels }.sorted(), wholeBatch)

        // Evaluation: no padding, every image once over the ranks.
        let shares = (0..<3).map {
            BatchLoader(
                dataset: dataset, batchSize: 2, shuffle: false, dropLast: false, normalization: identity, seed: 5, replicas: 3, rank: $0)
        }
        XCTAssertEqual(shares.map(\.shareCount), [4, 3, 3])
        XCTAssertEqual(shares.map(\.batchCount), [2, 2, 2])
        XCTAssertEqual(shares.flatMap { $0.batches(epoch: 0).flatMap(\.labels) }.sorted(), (0..<10).map(Int32.init))
    }

    func testResumingMidEpochGivesTheSameBatches() {
        let augmented = BatchLoader(
            dataset: dataset, batchSize: 4, shuffle: true, dropLast: true,
            augmentation: Augmentation(padding: 1, horizontalFlip: true), normalization: identity, seed: 9)
        XCTAssertEqual(augmented.batchCount, 2, "the last partial batch is dropped")
        let all = Array(augmented.batches(epoch: 3))
        let resumed = Array(augmented.batches(epoch: 3, startingAt: 1))
        XCTAssertEqual(resumed.count, 1)
        XCTAssertEqual(resumed[0].images, all[1].images)
        XCTAssertEqual(resumed[0].labels, all[1].labels)
    }

    func testNormalisationAndNoAugmentationKeepPixels() {
        let loader = BatchLoader(
            dataset: dataset, batchSize: 10, shuffle: false, dropLast: false,
            normalization: Normalization(mean: [0.5], std: [0.25]), seed: 0)
        let batch = loader.batch(epoch: 0, index: 0)
        XCTAssertEqual(batch.labels, (0..<10).map(Int32.init))
        let expected = dataset.pixels.map { (Float($0) / 255 - 0.5) / 0.25 }
        for (a, e) in zip(batch.images, expected) { XCTAssertEqual(a, e, accuracy: 1e-5) }
    }

    func testFlipAndReflectPaddedCropMoveWholeImages() {
        // Flip only: each image is its mirror or itself.
        let flips = BatchLoader(
            dataset: dataset, batchSize: 10, shuffle: false, dropLast: false,
            augmentation: Augmentation(padding: 0, horizontalFlip: true), normalization: identity, seed: 1)
        let batch = flips.batch(epoch: 0, index: 0)
        var flipped = 0
        for image in 0..<10 {
            let out = batch.images[image * 16..<(image + 1) * 16].map { Int($0.rounded()) }
            let original = (0..<16).map { 10 * image + $0 }
            let mirror = (0..<16).map { 10 * image + ($0 / 4) * 4 + 3 - $0 % 4 }
            XCTAssertTrue(out == original || out == mirror, "image \(image): \(out)")
            if out == mirror { flipped += 1 }
        }
        XCTAssertTrue((1...9).contains(flipped), "flips are random: \(flipped) of 10")

        // Crop only: every output pixel comes from the same image (reflection, not zeros).
        let crops = BatchLoader(
            dataset: dataset, batchSize: 10, shuffle: false, dropLast: false,
            augmentation: Augmentation(padding: 2, horizontalFlip: false), normalization: identity, seed: 1)
        let cropped = crops.batch(epoch: 0, index: 0)
        for image in 0..<10 {
            let values = Set(cropped.images[image * 16..<(image + 1) * 16].map { Int($0.rounded()) })
            XCTAssertTrue(values.isSubset(of: Set((0..<16).map { 10 * image + $0 })), "image \(image)")
        }
    }
}
