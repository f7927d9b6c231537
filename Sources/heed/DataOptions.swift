import ArgumentParser
import Foundation
import HeedData
import HeedGraph

/// Where training data comes from and how it is batched.
struct DataOptions: ParsableArguments {
    enum Source: String, ExpressibleByArgument, CaseIterable {
        case synthetic, cifar10, cifar100
        case cifar100Coarse = "cifar100-coarse"
        case folder
    }

    @Option(name: .long, help: "synthetic (embedded, no download), cifar10, cifar100, cifar100-coarse, or folder.")
    var dataset: Source = .synthetic

    @Option(
        name: .long,
        help: """
            Folder with the CIFAR binary files; for --dataset folder, one with train/ and test/ image folders \
            (one sub-folder per class), or CUB-200's list files (images.txt, image_class_labels.txt, \
            train_test_split.txt, images under images/).
            """)
    var dataDir: String?

    @Option(name: .long, help: "Side of the square network input photos are made (training's random crops, evaluation's centre crop).")
    var imageSize: Int = 64

    @Option(name: .long, help: "Evaluation: the shorter side photos are resized to before the centre crop (default image-size * 256/224).")
    var resize: Int?

    @Option(name: .long, help: "Hold out this fraction of each class of the training set and evaluate on it instead of the test set.")
    var valSplit: Double = 0

    @Option(name: .long, help: "Threads decoding and augmenting images while the device trains (default: the CPU count).")
    var workers: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .long, help: "Leave out photos that fail to decode (counted at the end) instead of stopping the run.")
    var skipBadImages = false

    @Option(name: .long, help: "Images per batch.")
    var batchSize: Int = 64

    @Flag(
        inversion: .prefixedNo,
        help: "Training augmentation: reflect-pad-4 random crops and flips; for photos torchvision's RandomResizedCrop and flips.")
    var augment = true

    @Option(name: .long, help: "Synthetic set: training images.")
    var syntheticTrain: Int = 3000

    @Option(name: .long, help: "Synthetic set: test images.")
    var syntheticTest: Int = 1000

    @Option(name: .long, help: "Synthetic set: classes.")
    var syntheticClasses: Int = 10

    @Option(name: .long, help: "Synthetic set: side in pixels of the class-specific detail.")
    var syntheticDetail: Int = 4

    @Option(name: .long, help: "Synthetic set: decoy details (other classes' colours) off the object in each image.")
    var syntheticDecoys: Int = 2

    func validate() throws {
        // Bounds keep every product of them (pixels per batch, bytes per set) far from overflow.
        try OptionError.require("--batch-size", batchSize, in: 2...65_536)
        try OptionError.require("--image-size", imageSize, in: 8...4096)
        if let resize { try OptionError.require("--resize", resize, in: imageSize...4096) }
        try OptionError.require("--workers", workers, in: 1...256)
        guard (0..<1).contains(valSplit) else { throw OptionError("--val-split must be a fraction in 0..<1, not \(valSplit)") }
        if dataset != .synthetic && dataDir == nil {
            throw OptionError("--dataset \(dataset.rawValue) needs --data-dir")
        }
        try OptionError.require("--synthetic-classes", syntheticClasses, in: 2...1000)
        try OptionError.require("--synthetic-train", syntheticTrain, in: syntheticClasses...1_000_000)
        try OptionError.require("--synthetic-test", syntheticTest, in: 1...1_000_000)
        try OptionError.require("--synthetic-detail", syntheticDetail, in: 1...8)
        try OptionError.require("--synthetic-decoys", syntheticDecoys, in: 0...16)
    }

    /// The augmentation of in-memory images; photos are augmented by their transform.
    var augmentation: Augmentation { augment && dataset != .folder ? Augmentation(padding: 4, horizontalFlip: true) : .none }

    /// Photos for training: torchvision's RandomResizedCrop and flip, or evaluation's transform without --augment.
    var trainingTransform: PhotoTransform { augment ? .randomResizedCrop(size: imageSize) : evaluationTransform }

    /// Photos for evaluation: the shorter side to --resize, the centre --image-size.
    var evaluationTransform: PhotoTransform {
        .resizeCentreCrop(resize: resize ?? PhotoTransform.defaultResize(for: imageSize), size: imageSize)
    }

    /// A loader of `dataset` with these options' workers and bad-image policy.
    func loader(
        _ dataset: ImageDataset, training: Bool, normalization: Normalization, seed: UInt64, replicas: Int = 1, rank: Int = 0
    ) -> BatchLoader {
        BatchLoader(
            dataset: dataset, batchSize: batchSize, shuffle: training, dropLast: training, augmentation: training ? augmentation : .none,
            normalization: normalization, seed: seed, replicas: replicas, rank: rank, workers: workers, skipBadImages: skipBadImages)
    }

    /// The training set and the set evaluated on: the test set, or with --val-split the
    /// part of the training set held out.
    func load(seed: UInt64) throws -> (train: ImageDataset, test: ImageDataset) {
        let (train, test) = try loadSplits(seed: seed)
        guard valSplit > 0 else { return (train, test) }
        let (kept, heldOut) = ValidationSplit.split(labels: train.labels, fraction: valSplit)
        guard !heldOut.isEmpty else { throw OptionError("--val-split \(valSplit) holds out no image of \(train.count)") }
        var validation = train.subset(heldOut, name: train.name.replacingOccurrences(of: "/train", with: "") + "/val")
        if dataset == .folder { validation = validation.with(transform: evaluationTransform) }
        return (train.subset(kept, name: train.name), validation)
    }

    private func loadSplits(seed: UInt64) throws -> (train: ImageDataset, test: ImageDataset) {
        let directory = URL(fileURLWithPath: dataDir ?? ".")
        switch dataset {
        case .synthetic:
            var configuration = SyntheticFineGrained.Configuration()
            configuration.trainCount = syntheticTrain
            configuration.testCount = syntheticTest
            configuration.classes = syntheticClasses
            configuration.detailSize = syntheticDetail
            configuration.decoys = syntheticDecoys
            return SyntheticFineGrained.make(configuration, seed: seed)
        case .cifar10, .cifar100, .cifar100Coarse:
            let variant = CIFAR.Variant(rawValue: dataset.rawValue)!
            return (try CIFAR.load(variant, split: .train, from: directory), try CIFAR.load(variant, split: .test, from: directory))
        case .folder where CUBLists.holdsLists(directory):
            let (classNames, train, test) = try CUBLists.scan(directory)
            return (
                ImageDataset(
                    name: "cub/train", classNames: classNames, files: train.files, labels: train.labels, transform: trainingTransform),
                ImageDataset(
                    name: "cub/test", classNames: classNames, files: test.files, labels: test.labels, transform: evaluationTransform)
            )
        case .folder:
            let train = try ImageFolder.dataset(
                from: directory.appendingPathComponent("train"), transform: trainingTransform, name: "folder/train")
            let test = try ImageFolder.dataset(
                from: directory.appendingPathComponent("test"), transform: evaluationTransform, name: "folder/test")
            guard train.classNames == test.classNames else {
                throw ValidationError("train/ and test/ in \(directory.path) have different class folders")
            }
            return (train, test)
        }
    }

    /// CIFAR's published statistics for CIFAR, measured on the training set otherwise.
    func normalization(for train: ImageDataset) -> Normalization {
        switch dataset {
        case .cifar10, .cifar100, .cifar100Coarse: return .cifar
        case .synthetic, .folder: return .measured(on: train)
        }
    }

    /// The data options a checkpoint records (the trainer adds the class names and the
    /// evaluation transform itself).
    var options: [String: String] {
        var options = ["dataset": dataset.rawValue, "batch_size": String(batchSize)]
        if valSplit > 0 { options["val_split"] = String(valSplit) }
        return options
    }
}
