import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

/// `heed train` data-parallel under `mpirun -np 2` on loopback (docs/distributed.md):
/// equivalence with one rank of the doubled batch, gradient averaging, resume after a
/// killed rank, a failing rank, and rank 0 alone writing files. Tiny runs: a WRN-10-1 on
/// 80 synthetic 32x32 images of 2 classes, 5 steps an epoch of a global batch of 16, with
/// no dropout and no augmentation, so that every rank's work is deterministic.
final class DistributedTrainCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        _ = try TestDevices.requireOpenCL()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-mpi-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    private func run(_ name: String, extra: [String] = []) -> [String] {
        [
            "train", "--synthetic-train", "80", "--synthetic-test", "10", "--synthetic-classes", "2", "--epochs", "1",
            "--no-augment", "--schedule", "constant", "--quiet", "--output", scratch.appendingPathComponent(name).path,
        ] + extra
    }

    private func weights(_ name: String, file: String = "model.safetensors") throws -> SafeTensors {
        try SafeTensors.read(from: scratch.appendingPathComponent(name).appendingPathComponent(file))
    }

    /// Every tensor of `actual` within `tolerance` of `expected`'s largest element, the
    /// parameters and the running statistics alike; the counters equal.
    private func assertClose(
        _ actual: SafeTensors, _ expected: SafeTensors, tolerance: Float, _ label: String, line: UInt = #line
    ) {
        XCTAssertEqual(Set(actual.tensors.keys), Set(expected.tensors.keys), label, line: line)
        for (name, entry) in expected.tensors {
            guard let other = actual.tensors[name] else { continue }
            guard entry.dtype == .f32 else {
                XCTAssertEqual(other.int64s(), entry.int64s(), "\(label): \(name)", line: line)
                continue
            }
            let (a, e) = (other.floats(), entry.floats())
            let scale = e.map(abs).max() ?? 0
            let error = zip(a, e).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(error, tolerance * max(scale, .leastNormalMagnitude), "\(label): \(name)", line: line)
        }
    }

    /// 2 ranks x batch 8 with --sync-bn against 1 rank x batch 16 after 5 SGD steps:
    /// every parameter and running statistic within 1e-5 of its tensor's largest element.
    ///
    /// The one rank runs under `mpirun -np 1 --sync-bn`, so both sides normalise with the
    /// same composed op: plain batch norm's kernel rounds otherwise, and a ReLU after batch
    /// norm turns a rounding-level difference at an output within rounding of 0 into a
    /// whole gradient term (a 2e-3 difference on one bias after one step, with the weights'
    /// gradients agreeing to 1e-5). The composed op is checked against the kernel by
    /// SyncBatchNormTests and SyncBatchNormOpenCLTests. Rank 1 gets an output folder of its
    /// own, which must stay absent: rank 0 alone writes files.
    func testTwoRanksWithSyncBNMatchOneRankOfTheDoubledBatch() throws {
        let one = try MPIJob(ranks: 1, run("one", extra: ["--batch-size", "16", "--sync-bn"])).wait(timeout: 300)
        XCTAssertEqual(one.status, 0, one.standardError)
        let rankOneFolder = scratch.appendingPathComponent("rank-1-output")
        // Small buckets: their allreduces run on the communication thread while backward's
        // batch-norm allreduces run on the training thread.
        let options = ["--batch-size", "8", "--sync-bn", "--allreduce-bucket", "5000"]
        let two = try MPIJob([(1, run("two", extra: options), [:]), (1, run("rank-1-output", extra: options), [:])]).wait(timeout: 300)
        XCTAssertEqual(two.status, 0, two.standardError)
        XCTAssertTrue(two.standardOutput.contains("data-parallel: 2 ranks x batch 8 = global batch 16"), two.standardOutput)
        XCTAssertTrue(two.standardOutput.contains("done: 1 epochs, 5 steps"), two.standardOutput)
        XCTAssertEqual(two.standardOutput.components(separatedBy: "heed train: ").count, 2, "rank 0 alone prints: \(two.standardOutput)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: rankOneFolder.path), "rank 1 wrote its output folder")
        try assertClose(weights("two"), weights("one"), tolerance: 1e-5, "2 x 8 against 1 x 16")
        XCTAssertEqual(try weights("two").metadata["ranks"], "2")

        // The metrics: training's summed over the ranks, evaluation sharded (5 test images
        // each) and summed, against one rank's over all 10. Weights within 1e-5 give losses
        // within ~1e-5; 1e-4 leaves room for the 10 log-probabilities' rounding.
        let (shared, whole) = (try metrics("two"), try metrics("one"))
        for key in ["train_loss", "test_loss"] {
            XCTAssertEqual(try XCTUnwrap(shared[key] as? Double), try XCTUnwrap(whole[key] as? Double), accuracy: 1e-4, key)
        }
        for key in ["train_accuracy", "test_accuracy"] {
            XCTAssertEqual(try XCTUnwrap(shared[key] as? Double), try XCTUnwrap(whole[key] as? Double), key)
        }
    }

    private func metrics(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: scratch.appendingPathComponent(name).appendingPathComponent("metrics.jsonl"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Without --sync-bn each rank normalises its own 8 images, so no single-process run
    /// of 16 matches, and the network has no option without batch norm. The honest
    /// equivalent: the same 5 steps emulated in this process, each step's gradient the
    /// mean of the gradients of rank 0's and rank 1's batches, each with its own batch
    /// statistics, and each rank's running statistics averaged as the ranks' are.
    /// --lr 0.01: at 0.1 five steps amplify rounding differences (as between GEMM
    /// engines) past 1e-3; at 0.01 those stay near 1e-5 of the largest element.
    /// Buckets of 5000 values split the 77k gradients into many, most sent during backward.
    func testGradientAveragingWithoutSyncBNMatchesTwoBatchesAveragedInOneProcess() throws {
        let result = try MPIJob(ranks: 2, run("plain", extra: ["--batch-size", "8", "--lr", "0.01", "--allreduce-bucket", "5000"]))
            .wait(timeout: 300)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("batch norm per rank"), result.standardOutput)
        let buckets = try XCTUnwrap(
            result.standardOutput.firstMatch(of: /gradient allreduce: [0-9.]+ ms per step in (\d+) buckets/), result.standardOutput)
        XCTAssertGreaterThanOrEqual(Int(buckets.1) ?? 0, 5)
        let emulated = try emulateTwoRanks(learningRate: 0.01, steps: 5)
        XCTAssertEqual(emulated.withoutGradient, [])
        try assertClose(weights("plain"), emulated.weights, tolerance: 1e-5, "MPI against emulation")
    }

    /// The same with Coarse2Fine in its coarse stage (epoch 1 of --c2f-start-epoch 1): the
    /// zoom's parameters get no gradient, on every rank alike, and their buckets go out
    /// without them; attention modules on top.
    func testGradientAveragingSkipsParametersWithoutAGradient() throws {
        let result = try MPIJob(
            ranks: 2, run("coarse", extra: ["--batch-size", "8", "--lr", "0.01", "--allreduce-bucket", "5000", "--coarse2fine"])
        ).wait(timeout: 300)
        XCTAssertEqual(result.status, 0, result.standardError)
        var model = ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 2)))
        model.attention = AttentionConfiguration(depth: 3, width: 4, orthogonalInitialization: true)
        model.coarse2fine = Coarse2FineConfiguration(fineStartEpoch: 1)
        let emulated = try emulateTwoRanks(learningRate: 0.01, steps: 5, model: model)
        XCTAssertTrue(emulated.withoutGradient.contains { $0.hasPrefix("inverse_mapping.") }, "\(emulated.withoutGradient)")
        try assertClose(weights("coarse"), emulated.weights, tolerance: 1e-5, "MPI against emulation, Coarse2Fine coarse stage")
    }

    private func emulateTwoRanks(
        learningRate: Float, steps: Int,
        model configuration: ModelConfiguration = ModelConfiguration(
            backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 2)))
    ) throws -> (weights: SafeTensors, withoutGradient: [String]) {
        let backend = try TestDevices.requireOpenCL()
        var data = SyntheticFineGrained.Configuration()
        (data.trainCount, data.testCount, data.classes, data.decoys) = (80, 10, 2, 2)
        let (train, _) = SyntheticFineGrained.make(data, seed: 1)
        let loaders = (0..<2).map {
            BatchLoader(
                dataset: train, batchSize: 8, shuffle: true, dropLast: true, normalization: .measured(on: train), seed: 1,
                replicas: 2, rank: $0)
        }
        let model = try configuration.makeModel(on: backend, seed: 1)
        let optimizer = SGD(parameters: model.namedParameters, configuration: SGD.Configuration(learningRate: learningRate))
        model.train()
        model.startEpoch(0)
        let buffers = model.namedBuffers.map(\.tensor)
        let counters = model.namedCounters(includingTransient: true).map(\.counter)
        var withoutGradient: [String] = []
        for step in 0..<steps {
            let (before, counted) = (try buffers.map { try $0.values() }, counters.map(\.value))
            var after: [[[Float]]] = []
            for loader in loaders {
                for (buffer, values) in zip(buffers, before) { try buffer.assign(values) }
                for (counter, value) in zip(counters, counted) { counter.value = value }
                let batch = loader.batch(epoch: 0, index: step)
                let images = try Tensor(batch.images, shape: [batch.count, 3, 32, 32], on: backend)
                try model.trainingLoss(images: images, labels: backend.makeBuffer(batch.labels)).loss.backward()
                after.append(try buffers.map { try $0.values() })
            }
            for (index, buffer) in buffers.enumerated() {
                try buffer.assign(zip(after[0][index], after[1][index]).map { ($0 + $1) / 2 })
            }
            for (_, parameter) in model.namedParameters {
                guard let gradient = parameter.gradient else { continue }  // none reached it: SGD skips it
                try parameter.replaceGradient(with: gradient.values().map { $0 * 0.5 })
            }
            withoutGradient = model.namedParameters.filter { $0.tensor.gradient == nil }.map(\.name)
            try optimizer.step()
        }
        return (try Checkpoint.weights(of: model), withoutGradient)
    }

    /// A 2-rank run whose rank 1 is killed mid-epoch: every rank gone and mpirun non-zero
    /// within 10 s, the checkpoint whole; resumed with 2 ranks it ends bit-identical to an
    /// uninterrupted 2-rank run (a checkpoint every step, so the kill may fall anywhere).
    func testAKilledRankEndsTheJobAndTheResumedRunIsBitIdentical() throws {
        let options = ["--batch-size", "8", "--epochs", "4", "--checkpoint-every", "1"]
        let uninterrupted = try MPIJob(ranks: 2, run("uninterrupted", extra: options)).wait(timeout: 300)
        XCTAssertEqual(uninterrupted.status, 0, uninterrupted.standardError)

        let job = try MPIJob(ranks: 2, run("killed", extra: options))
        let checkpoint = scratch.appendingPathComponent("killed/checkpoint.safetensors")
        let deadline = Date().addingTimeInterval(300)
        while job.process.isRunning && Date() < deadline {
            if let step = (try? SafeTensors.read(from: checkpoint))?.metadata["heed.step"].flatMap({ Int($0) }), step >= 2 { break }
            usleep(20_000)
        }
        let ranks = job.rankProcessIDs
        XCTAssertEqual(ranks.count, 2, "both ranks running when rank 1 is killed")
        guard ranks.count == 2 else { return }
        let killed = Date()
        kill(ranks[1], SIGKILL)
        let ended = try job.wait(timeout: 60)
        XCTAssertLessThanOrEqual(Date().timeIntervalSince(killed), 10, "mpirun ended \(Date().timeIntervalSince(killed)) s after the kill")
        XCTAssertNotEqual(ended.status, 0)
        for rank in ranks { XCTAssertFalse(MPIJob.isAlive(rank), "rank process \(rank) still alive") }

        let saved = try SafeTensors.read(from: checkpoint)
        let step = try XCTUnwrap(saved.metadata["heed.step"].flatMap { Int($0) })
        XCTAssertLessThan(step, 20, "killed before the end")
        for (name, entry) in saved.tensors where entry.dtype == .f32 { XCTAssertTrue(entry.floats().allSatisfy(\.isFinite), name) }

        let resumed = try MPIJob(ranks: 2, run("killed", extra: options + ["--resume"])).wait(timeout: 300)
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertTrue(resumed.standardOutput.contains("done: 4 epochs, 20 steps"), resumed.standardOutput)
        let (a, b) = (try weights("killed"), try weights("uninterrupted"))
        XCTAssertEqual(Set(a.tensors.keys), Set(b.tensors.keys))
        for (name, entry) in b.tensors where entry.dtype == .f32 {
            XCTAssertEqual(a.tensors[name]?.floats(), entry.floats(), "\(name) after resuming at step \(step)")
        }
        XCTAssertEqual(
            try String(contentsOf: scratch.appendingPathComponent("killed/metrics.jsonl"), encoding: .utf8).split(separator: "\n").count, 4)

        // Batch b of an epoch means other images with another rank count: refused.
        let alone = try runHeed(run("killed", extra: options + ["--resume"]))
        XCTAssertNotEqual(alone.status, 0)
        XCTAssertTrue(
            alone.standardError.contains("the checkpoint was written by a run of 2 ranks, this run has 1: resume with 2"),
            alone.standardError)
    }

    /// A rank that fails (here: rank 1 cannot open its device) prints a line naming itself
    /// and the cause, then MPI_Abort ends every rank non-zero within 10 s.
    func testAFailingRankNamesItselfAndEndsEveryRank() throws {
        let started = Date()
        let result = try MPIJob([
            (1, run("fail", extra: ["--batch-size", "8"]), [:]),
            (1, run("fail", extra: ["--batch-size", "8"]), ["HEED_DEVICE": "9:9"]),
        ]).wait(timeout: 60)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThanOrEqual(Date().timeIntervalSince(started), 10, "every rank ended within 10 s")
        XCTAssertTrue(
            result.standardError.contains("Error: rank 1 of 2 failed: no OpenCL device 9:9"), result.standardError)
    }

    func testDistributedAndSyncBNOutsideMPIRunAreOneLineErrors() throws {
        let distributed = try runHeed(run("alone", extra: ["--distributed"]))
        XCTAssertNotEqual(distributed.status, 0)
        XCTAssertEqual(
            distributed.standardError,
            "Error: --distributed needs a launch by mpirun (no OMPI_COMM_WORLD_SIZE or PMIX_RANK in the environment): "
                + "mpirun -np N heed train ...\n")
        let syncBN = try runHeed(run("alone", extra: ["--sync-bn"]))
        XCTAssertNotEqual(syncBN.status, 0)
        XCTAssertEqual(syncBN.standardError, "Error: --sync-bn needs a data-parallel run: mpirun -np N heed train --sync-bn ...\n")
    }
}
