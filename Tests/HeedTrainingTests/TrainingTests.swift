import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedSupport
import HeedTestSupport
import HeedTraining
import XCTest

final class TrainingTests: XCTestCase {
    /// A tiny task: 8×8 synthetic images, 4 classes.
    private func tinyData(train: Int = 32, test: Int = 16) -> (train: ImageDataset, test: ImageDataset) {
        tinyFineGrained(train: train, test: test, seed: 11)
    }

    private let tinyNetwork = WideResNetConfiguration(depth: 10, width: 1, classes: 4, dropout: 0.2)

    private func baseline(_ trunk: WideResNetConfiguration, on backend: any Backend, seed: UInt64) throws -> Network {
        try ModelConfiguration(backbone: .wideResNet(trunk)).makeModel(on: backend, seed: seed)
    }

    /// The losses of `steps` SGD steps on the same batches.
    private func losses(on backend: any Backend, steps: Int) throws -> [Float] {
        let (train, _) = tinyData()
        let model = try baseline(tinyNetwork, on: backend, seed: 5)
        let optimizer = SGD(parameters: model.namedParameters, configuration: .init(learningRate: 0.05))
        let loader = BatchLoader(
            dataset: train, batchSize: 8, shuffle: true, dropLast: true,
            augmentation: Augmentation(padding: 1, horizontalFlip: true),
            normalization: .measured(on: train), seed: 3)
        var losses: [Float] = []
        for step in 0..<steps {
            let batch = loader.batch(epoch: 0, index: step % loader.batchCount)
            let images = try Tensor(batch.images, shape: [batch.count, 3, 8, 8], on: backend)
            let (loss, _) = try model.trainingLoss(images: images, labels: backend.makeBuffer(batch.labels))
            losses.append(try loss.item())
            try loss.backward()
            try optimizer.step()
        }
        return losses
    }

    /// The same three steps (initial weights, batches, augmentation, dropout masks) give
    /// the same losses on both backends. 1e-4 relative: float32 kernels against the
    /// Double-accumulating reference drift by ~1e-6 per step through a 10-layer
    /// network and three updates; a wrong op would differ in the first digits.
    func testFirstStepsGiveTheSameLossOnOpenCLAndTheReference() throws {
        let device = try losses(on: try TestDevices.requireOpenCL(), steps: 3)
        let reference = try losses(on: TestDevices.reference, steps: 3)
        for (d, r) in zip(device, reference) {
            XCTAssertEqual(d, r, accuracy: 1e-4 * abs(r), "OpenCL \(device) vs reference \(reference)")
        }
    }

    func testLossFallsOnBothBackends() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            // Repeating the four batches: the network must fit them.
            let losses = try losses(on: backend, steps: 12)
            XCTAssertLessThan(losses.suffix(4).reduce(0, +), losses.prefix(4).reduce(0, +), "\(backend.name): \(losses)")
        }
    }

    func testCheckpointSaveAndLoadIsBitExact() throws {
        let backend = try TestDevices.requireOpenCL()
        let model = try baseline(tinyNetwork, on: backend, seed: 1)
        try XCTUnwrap(model.trunk as? WideResNet).groups[0].blocks[0].bn0.batchesTracked.value = 42
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("heed-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Checkpoint.weights(of: model, metadata: ["depth": "10"]).write(to: url)

        let other = try baseline(tinyNetwork, on: backend, seed: 2)
        try Checkpoint.load(SafeTensors.read(from: url), into: other, path: url.path)
        for ((name, a), (_, b)) in zip(model.state, other.state) {
            XCTAssertEqual(try a.values().map(\.bitPattern), try b.values().map(\.bitPattern), name)
        }
        XCTAssertEqual(try XCTUnwrap(other.trunk as? WideResNet).groups[0].blocks[0].bn0.batchesTracked.value, 42)
        // PyTorch's names, including the int64 counters.
        let names = Set(try SafeTensors.read(from: url).tensors.keys)
        XCTAssertTrue(
            names.isSuperset(of: [
                "conv0.weight", "group_1.block_0.conv_reduce.weight", "group_2.block_0.bn0.running_var",
                "group_0.block_0.bn0.num_batches_tracked", "bn.weight", "classifier.bias",
            ]))
        XCTAssertEqual(try SafeTensors.read(from: url).tensors["group_0.block_0.bn0.num_batches_tracked"]?.dtype, .i64)
    }

    func testLoadingWeightsOfAnotherShapeNamesTheTensor() throws {
        let backend = TestDevices.reference
        let small = try baseline(WideResNetConfiguration(depth: 10, width: 1, classes: 4), on: backend, seed: 1)
        let wide = try baseline(WideResNetConfiguration(depth: 10, width: 2, classes: 4), on: backend, seed: 1)
        XCTAssertThrowsError(try Checkpoint.load(Checkpoint.weights(of: small), into: wide, path: "w.safetensors")) {
            XCTAssertEqual(
                ($0 as? FileError)?.problem,
                "tensor 'group_0.block_0.conv0.weight' has shape [16, 16, 3, 3], the model needs [32, 16, 3, 3] (wrong model options?)")
        }
    }

    /// Stopping after 5 steps (a checkpoint, then exit, as a killed run leaves it) and
    /// resuming ends with the weights of a run that never stopped.
    func testResumingEndsWithTheWeightsOfAnUninterruptedRun() throws {
        let backend = try TestDevices.requireOpenCL()
        let (train, test) = tinyData()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }

        func trainer(_ name: String, stopAfter: Int?) throws -> Trainer {
            let loader = BatchLoader(
                dataset: train, batchSize: 8, shuffle: true, dropLast: true,
                augmentation: Augmentation(padding: 1, horizontalFlip: true),
                normalization: .measured(on: train), seed: 7)
            let testLoader = BatchLoader(
                dataset: test, batchSize: 8, shuffle: false, dropLast: false,
                normalization: .measured(on: train), seed: 7)
            let configuration = TrainingConfiguration(
                epochs: 3, optimizer: .init(learningRate: 0.05), schedule: .multiStep(milestones: [1, 2], factor: 0.5),
                outputDirectory: folder.appendingPathComponent(name), checkpointInterval: 3, stopAfterStep: stopAfter,
                showProgress: false)
            return Trainer(
                model: try baseline(tinyNetwork, on: backend, seed: 9), backend: backend, train: loader,
                test: testLoader, configuration: configuration, options: ["depth": "10"])
        }
        let straight = try trainer("straight", stopAfter: nil)
        let summary = try straight.run(resume: false)
        XCTAssertTrue(summary.finished)
        XCTAssertEqual(summary.steps, 12)
        XCTAssertEqual(summary.epochs.map(\.epoch), [1, 2, 3])

        let interrupted = try trainer("interrupted", stopAfter: 5)
        XCTAssertFalse(try interrupted.run(resume: false).finished)
        let resumed = try trainer("interrupted", stopAfter: nil)  // a new process: fresh weights, then the checkpoint
        let resumedSummary = try resumed.run(resume: true)
        XCTAssertEqual(resumedSummary.steps, 12)
        XCTAssertEqual(resumedSummary.epochs.map(\.epoch), [1, 2, 3])
        for ((name, a), (_, b)) in zip(straight.model.state, resumed.model.state) {
            XCTAssertEqual(try a.values().map(\.bitPattern), try b.values().map(\.bitPattern), name)
        }
    }

    /// A resumed run refuses a checkpoint of another model, naming the field that differs.
    func testResumingRefusesAnotherModel() throws {
        let backend = TestDevices.reference
        let (train, _) = tinyData(train: 8, test: 8)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        func trainer(dropout: Float) throws -> Trainer {
            let loader = BatchLoader(
                dataset: train, batchSize: 8, shuffle: false, dropLast: true, normalization: .measured(on: train), seed: 1)
            let configuration = TrainingConfiguration(
                epochs: 1, optimizer: .init(learningRate: 0.05), schedule: .constant,
                outputDirectory: folder, checkpointInterval: 0, stopAfterStep: 1, showProgress: false)
            var trunk = tinyNetwork
            trunk.dropout = dropout
            return Trainer(
                model: try baseline(trunk, on: backend, seed: 1), backend: backend, train: loader, test: loader,
                configuration: configuration, options: [:])
        }
        XCTAssertFalse(try trainer(dropout: 0.2).run(resume: false).finished)
        XCTAssertThrowsError(try trainer(dropout: 0.3).run(resume: true)) {
            XCTAssertEqual(
                "\($0)",
                "resume: invalid argument: the checkpoint was trained with backbone.dropout=0.2, this run asks for backbone.dropout=0.3")
        }
    }

    /// The training loop reads nothing back per step: each step's loss and correct count
    /// stay on the device until the epoch's end (no progress bar and no checkpoint in
    /// between here), so an epoch of three times the steps makes as many reads. The
    /// epoch's train loss and accuracy are those of the steps (a mean of 6 losses, and
    /// a whole number of the 48 images right).
    func testTheTrainingLoopDoesNotReadBackEveryStep() throws {
        let device = try TestDevices.requireOpenCL()
        func run(steps: Int) throws -> (reads: Int, epoch: EpochMetrics) {
            let (train, test) = tinyData(train: 8 * steps, test: 8)
            let backend = CountingBackend(wrapping: device)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-reads-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let trainer = Trainer(
                model: try baseline(tinyNetwork, on: backend, seed: 9), backend: backend,
                train: BatchLoader(
                    dataset: train, batchSize: 8, shuffle: true, dropLast: true, normalization: .measured(on: train), seed: 7),
                test: BatchLoader(
                    dataset: test, batchSize: 8, shuffle: false, dropLast: false, normalization: .measured(on: train), seed: 7),
                configuration: TrainingConfiguration(
                    epochs: 1, optimizer: .init(learningRate: 0.05), schedule: .constant, outputDirectory: folder,
                    checkpointInterval: 0, showProgress: false),
                options: ["depth": "10"])
            let summary = try trainer.run(resume: false)
            XCTAssertEqual(summary.steps, steps)
            return (backend.reads, try XCTUnwrap(summary.epochs.first))
        }
        let short = try run(steps: 2)
        let long = try run(steps: 6)
        XCTAssertEqual(long.reads, short.reads)
        XCTAssert(long.epoch.trainLoss.isFinite && long.epoch.trainLoss > 0, "\(long.epoch)")
        let correct = long.epoch.trainAccuracy * 48
        XCTAssertEqual(correct, correct.rounded(), "\(long.epoch)")
    }
}
