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

    @Option(name: .long, help: "Folder with the CIFAR binary files, or with train/ and test/ image folders (one sub-folder per class).")
    var dataDir: String?

    @Option(name: .long, help: "Side length images from a folder are resized to.")
    var imageSize: Int = 64

    @Option(name: .long, help: "Images per batch.")
    var batchSize: Int = 64

    @Flag(inversion: .prefixedNo, help: "Reflect-pad-4 random crops and horizontal flips in training.")
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
        if dataset != .synthetic && dataDir == nil {
            throw OptionError("--dataset \(dataset.rawValue) needs --data-dir")
        }
        try OptionError.require("--synthetic-classes", syntheticClasses, in: 2...1000)
        try OptionError.require("--synthetic-train", syntheticTrain, in: syntheticClasses...1_000_000)
        try OptionError.require("--synthetic-test", syntheticTest, in: 1...1_000_000)
        try OptionError.require("--synthetic-detail", syntheticDetail, in: 1...8)
        try OptionError.require("--synthetic-decoys", syntheticDecoys, in: 0...16)
    }

    var augmentation: Augmentation { augment ? Augmentation(padding: 4, horizontalFlip: true) : .none }

    func load(seed: UInt64) throws -> (train: ImageDataset, test: ImageDataset) {
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
        case .folder:
            let train = try ImageFolder.load(
                from: directory.appendingPathComponent("train"), width: imageSize, height: imageSize, name: "folder/train")
            let test = try ImageFolder.load(
                from: directory.appendingPathComponent("test"), width: imageSize, height: imageSize, name: "folder/test")
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
    var options: [String: String] { ["dataset": dataset.rawValue, "batch_size": String(batchSize)] }
}
