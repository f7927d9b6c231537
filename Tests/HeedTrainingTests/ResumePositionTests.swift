import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOps
import HeedSupport
import HeedTestSupport
import HeedTraining
import XCTest

/// Crafted positions in a training checkpoint (ISSUE 15): each is refused on `--resume`
/// with the key and why, instead of trapping, looping or training from nowhere.
final class ResumePositionTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-position-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private var checkpoint: URL { folder.appendingPathComponent("checkpoint.safetensors") }

    /// A run of 2 epochs of 2 batches on a WRN-10-1, reference backend.
    private func trainer() throws -> Trainer {
        var data = SyntheticFineGrained.Configuration()
        data.size = 8
        data.detailSize = 2
        data.classes = 2
        data.trainCount = 8
        data.testCount = 4
        let (train, test) = SyntheticFineGrained.make(data, seed: 1)
        let backend = TestDevices.reference
        let network = try ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 2)))
            .makeModel(on: backend, seed: 1)
        func loader(_ set: ImageDataset) -> BatchLoader {
            BatchLoader(dataset: set, batchSize: 4, shuffle: false, dropLast: true, normalization: .measured(on: train), seed: 1)
        }
        let configuration = TrainingConfiguration(
            epochs: 2, optimizer: .init(learningRate: 0.05), schedule: .constant, outputDirectory: folder,
            checkpointInterval: 0, showProgress: false)
        return Trainer(
            model: network, backend: backend, train: loader(train), test: loader(test), configuration: configuration, options: [:])
    }

    /// Writes a checkpoint of `trainer`'s model whose metadata has `changes` applied.
    private func writeCheckpoint(for trainer: Trainer, _ changes: [String: String]) throws {
        let optimizer = SGD(parameters: trainer.model.namedParameters, configuration: .init(learningRate: 0.05))
        let position = TrainingCheckpoint(
            epoch: 0, batch: 0, step: 0, seed: 1, options: try trainer.model.configuration.metadata())
        try position.save(model: trainer.model, optimizer: optimizer, to: checkpoint)
        var file = try SafeTensors.read(from: checkpoint)
        file.metadata.merge(changes) { $1 }
        try file.write(to: checkpoint)
    }

    private func resumeProblem(_ changes: [String: String]) throws -> String? {
        let trainer = try trainer()
        try writeCheckpoint(for: trainer, changes)
        do {
            _ = try trainer.run(resume: true)
            return nil
        } catch let error as FileError {
            XCTAssertEqual(error.path, checkpoint.path)
            return error.problem
        }
    }

    func testNegativeAndUnparsablePositionsAreInvalidNotMissing() throws {
        XCTAssertEqual(
            try resumeProblem(["heed.epoch": "-1"]),
            "metadata 'heed.epoch' is invalid: '-1' is not an integer from 0 to \(Int.max)")
        XCTAssertEqual(
            try resumeProblem(["heed.batch": "-3"]),
            "metadata 'heed.batch' is invalid: '-3' is not an integer from 0 to \(Int.max)")
        XCTAssertEqual(
            try resumeProblem(["heed.seed": "-1"]),
            "metadata 'heed.seed' is invalid: '-1' is not an integer from 0 to \(UInt64.max)")
        XCTAssertEqual(
            try resumeProblem(["heed.step": "99999999999999999999"]),
            "metadata 'heed.step' is invalid: '99999999999999999999' is not an integer from 0 to \(Int.max)")
    }

    func testPositionsOutsideTheRunAreRefused() throws {
        XCTAssertEqual(
            try resumeProblem(["heed.epoch": String(Int.max)]),
            "metadata 'heed.epoch' is invalid: \(Int.max) is past the run's 2 epochs")
        XCTAssertEqual(
            try resumeProblem(["heed.batch": "3"]), "metadata 'heed.batch' is invalid: 3 is past the epoch's 2 batches")
        XCTAssertEqual(
            try resumeProblem(["heed.epoch": "1", "heed.batch": "1", "heed.step": String(Int.max)]),
            "metadata 'heed.step' is invalid: \(Int.max) is more steps than epoch 1 batch 1 of 2 per epoch follow")
    }

    /// The last position a run writes (its end) resumes: nothing left to train.
    func testTheFinalPositionResumes() throws {
        XCTAssertNil(try resumeProblem(["heed.epoch": "2", "heed.batch": "0", "heed.step": "4"]))
    }
}
