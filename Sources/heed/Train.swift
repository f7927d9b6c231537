import ArgumentParser
import Foundation
import HeedData
import HeedDistributed
import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOps
import HeedTraining

/// `heed train`: trains a Wide ResNet on the synthetic default, CIFAR or an image folder.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a network on an OpenCL device.",
        discussion: """
            With no arguments: a WRN-10-1 on the embedded synthetic fine-grained dataset (no download), \
            a few minutes on a CPU. Writes checkpoint.safetensors (to resume), model.safetensors (weights, \
            loadable in PyTorch), metrics.jsonl and curves.png into --output. Under `mpirun -np N` it trains data-parallel: \
            N ranks, each on its own device with --batch-size images, a global batch of N x --batch-size \
            (see docs/distributed.md).
            """)

    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Optimisation") var optimisation: OptimisationOptions
    @OptionGroup(title: "Fine-tuning") var fineTuning: FineTuningOptions
    @OptionGroup var device: DeviceOptions

    @Option(name: .long, help: "Folder for checkpoints and metrics.")
    var output: String = "runs/latest"

    @Option(name: .long, help: "Seed of every random choice: weights, shuffling, augmentation, dropout, synthetic data.")
    var seed: UInt64 = 1

    @Flag(name: .long, help: "Continue from checkpoint.safetensors in --output, exactly where it stopped.")
    var resume = false

    @Flag(name: .long, help: "With --resume: load NaN, infinite or negative-variance values (debugging only).")
    var allowNonfinite = false

    @Option(name: .long, help: "Also write the checkpoint every N steps (0: only at the end of each epoch).")
    var checkpointEvery: Int = 50

    @Option(name: .long, help: ArgumentHelp("Stop after N steps (after checkpointing), as if interrupted.", visibility: .hidden))
    var stopAfterStep: Int?

    @Flag(name: .long, help: "No progress bar or per-epoch lines (the summary is still printed).")
    var quiet = false

    @Flag(name: .long, help: "Time every kernel on the device and print where the time went (slows training down).")
    var profile = false

    @Flag(name: .long, help: "Train data-parallel under mpirun (detected without it); an error when not launched by mpirun.")
    var distributed = false

    @Flag(name: .long, help: "Data-parallel: batch-norm statistics over the global batch, as torch.nn.SyncBatchNorm.")
    var syncBn = false

    @Option(name: .long, help: "Data-parallel: gradient values per allreduce bucket (smaller: more overlap with backward, more calls).")
    var allreduceBucket: Int = 1 << 20

    func validate() throws {
        try optimisation.validate()
        try OptionError.require(
            !(resume && fineTuning.pretrained != nil),
            "--pretrained and --resume exclude each other (the checkpoint records the fine-tuning)")
        try OptionError.require("--checkpoint-every", checkpointEvery, in: 0...Int(Int32.max))
        if let stopAfterStep { try OptionError.require("--stop-after-step", stopAfterStep, in: 1...Int(Int32.max)) }
        try OptionError.require("--allreduce-bucket", allreduceBucket, in: 1...Int(Int32.max))
    }

    func run() throws {
        guard let group = try ProcessGroup.start(environment: ProcessInfo.processInfo.environment, required: distributed) else {
            guard !syncBn else { throw OptionError("--sync-bn needs a data-parallel run: mpirun -np N heed train --sync-bn ...") }
            return try train(group: nil)
        }
        do {
            try train(group: group)
            try group.finalize()
        } catch {
            // The message first, then MPI_Abort: the other ranks may wait in a collective for ever.
            FileHandle.standardError.write(Data("Error: rank \(group.rank) of \(group.size) failed: \(error)\n".utf8))
            group.abort()
        }
    }

    private func train(group: ProcessGroup?) throws {
        let isRoot = group?.isRoot ?? true
        let backend = try device.openBackend(localRank: group?.localRank)
        if profile { backend.profile = KernelProfile() }
        let (train, test) = try data.load(seed: seed)
        let network = try model.configuration(classes: train.classCount).makeModel(on: backend, seed: seed)
        let outputURL = URL(fileURLWithPath: output)
        let fineTuningPlan = try fineTuning.plan(
            for: network, resumingFrom: resume ? outputURL.appendingPathComponent("checkpoint.safetensors") : nil)
        fineTuningPlan?.apply(to: network)
        let normalization = fineTuningPlan?.normalization(else: data.normalization(for: train)) ?? data.normalization(for: train)
        let (replicas, rank) = (group?.size ?? 1, group?.rank ?? 0)
        let trainLoader = data.loader(train, training: true, normalization: normalization, seed: seed, replicas: replicas, rank: rank)
        let testLoader = data.loader(test, training: false, normalization: normalization, seed: seed, replicas: replicas, rank: rank)
        if let group, syncBn {
            let reduction = MPIReplicaReduction(group: group)
            for case let layer as BatchNorm in network.moduleTree { layer.replicaReduction = reduction }
        }
        var configuration = TrainingConfiguration(
            epochs: optimisation.epochs, optimizer: optimisation.sgd, schedule: try optimisation.learningRateSchedule(),
            outputDirectory: outputURL, checkpointInterval: checkpointEvery, stopAfterStep: stopAfterStep, showProgress: !quiet && isRoot,
            allowNonfinite: allowNonfinite)
        configuration.learningRateScales = fineTuningPlan?.learningRateScales ?? [:]
        let curves = outputURL.appendingPathComponent("curves.png")
        configuration.epochEnded = { [metrics = configuration.metricsURL] in try Plot.write(from: metrics, to: curves) }
        let options = data.options.merging(["seed": String(seed), "sync_bn": String(syncBn)]) { $1 }
            .merging(fineTuningPlan?.options ?? [:]) { $1 }
        let trainer = Trainer(
            model: network, backend: backend, train: trainLoader, test: testLoader,
            configuration: configuration, options: options, group: group, bucketCapacity: allreduceBucket)
        guard isRoot else {
            _ = try trainer.run(resume: resume)
            return
        }

        print("heed train: \(network.configuration) (\(network.parameterCount) parameters) on \(backend.name)")
        print(backend.tuning.summary(gemmEngine: backend.gemmEngine))
        print(
            "data: \(train.name) \(train.count) images, \(test.name) \(test.count) images, \(train.classCount) classes, "
                + "\(train.channels)×\(train.height)×\(train.width)")
        for line in fineTuningPlan?.summary ?? [] { print(line) }
        if let group {
            print(
                "data-parallel: \(group.size == 1 ? "1 rank" : "\(group.size) ranks") x batch \(data.batchSize) = global batch \(group.size * data.batchSize)"
                    + (syncBn ? ", batch norm synchronised" : ", batch norm per rank"))
        }
        let summary = try trainer.run(resume: resume)
        if let timing = trainer.communicationTiming, timing.steps > 0, timing.allreduceSeconds > 0 {
            let hidden = max(0, 1 - timing.exposedSeconds / timing.allreduceSeconds)
            let buckets = timing.buckets == 1 ? "1 bucket" : "\(timing.buckets) buckets"
            let perStep = String(format: "%.2f ms", 1000 * timing.allreduceSeconds / Double(timing.steps))
            let hiddenShare = String(format: "%.0f%%", 100 * hidden)
            print("gradient allreduce: \(perStep) per step in \(buckets), \(hiddenShare) of it hidden behind backward (rank 0)")
        }
        if let profile = backend.profile { print(profile.report) }
        if data.skipBadImages {
            let skipped = [trainLoader, testLoader].map(\.skippedImages)
            let files = Set(skipped.flatMap(\.files)).sorted()
            print(
                "skipped \(skipped.map(\.count).reduce(0, +)) images that failed to decode (\(files.count) files)"
                    + (files.isEmpty ? "" : ": " + files.prefix(5).joined(separator: ", ") + (files.count > 5 ? ", ..." : "")))
        }
        guard summary.finished else {
            print("stopped after step \(summary.steps); continue with --resume (checkpoint: \(configuration.checkpointURL.path))")
            return
        }
        if let last = summary.epochs.last {
            let best = summary.epochs.map(\.testAccuracy).max() ?? last.testAccuracy
            print(
                String(
                    format: "done: %d epochs, %d steps in %@; test accuracy %.2f%% (best %.2f%%, chance %.1f%%)",
                    last.epoch, summary.steps, ProgressBar.duration(summary.seconds), 100 * last.testAccuracy,
                    100 * best, 100.0 / Double(train.classCount)))
        }
        print("weights: \(configuration.weightsURL.path)")
        print("checkpoint: \(configuration.checkpointURL.path)")
        print("metrics: \(configuration.metricsURL.path)")
        print("curves: \(curves.path)")
    }
}
