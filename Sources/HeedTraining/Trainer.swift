import Foundation
import HeedData
import HeedDistributed
import HeedGraph
import HeedModels
import HeedOps
import HeedSupport

/// The optimisation recipe and where a run keeps its files.
public struct TrainingConfiguration: Sendable {
    public var epochs: Int
    public var optimizer: SGD.Configuration
    public var schedule: LearningRateSchedule
    /// Folder for `checkpoint.safetensors`, `model.safetensors` and `metrics.jsonl`.
    public var outputDirectory: URL
    /// Also checkpoint every this many steps (0: at the end of each epoch only).
    public var checkpointInterval: Int
    /// Stop (after checkpointing) once this many steps are done: an interruption on purpose.
    public var stopAfterStep: Int?
    public var showProgress: Bool
    /// Resume from a checkpoint holding NaN, infinite or negative-variance values (for debugging).
    public var allowNonfinite: Bool
    /// Learning-rate scales by parameter name (a fine-tuned backbone's): SGD parameter
    /// groups, each parameter's rate the schedule's times its scale, 1 when not listed.
    public var learningRateScales: [String: Float] = [:]
    /// Called (on rank 0) after each epoch's line is appended to `metrics.jsonl`: `heed train`
    /// redraws its curves there, so a stopped or diverged run keeps the picture of its epochs.
    public var epochEnded: (@Sendable () throws -> Void)?

    public init(
        epochs: Int, optimizer: SGD.Configuration, schedule: LearningRateSchedule, outputDirectory: URL,
        checkpointInterval: Int = 50, stopAfterStep: Int? = nil, showProgress: Bool = true, allowNonfinite: Bool = false
    ) {
        self.epochs = epochs
        self.optimizer = optimizer
        self.schedule = schedule
        self.outputDirectory = outputDirectory
        self.checkpointInterval = checkpointInterval
        self.stopAfterStep = stopAfterStep
        self.showProgress = showProgress
        self.allowNonfinite = allowNonfinite
    }

    public var checkpointURL: URL { outputDirectory.appendingPathComponent("checkpoint.safetensors") }
    public var weightsURL: URL { outputDirectory.appendingPathComponent("model.safetensors") }
    public var metricsURL: URL { outputDirectory.appendingPathComponent("metrics.jsonl") }
}

/// What a run achieved.
public struct TrainingSummary: Sendable {
    public var epochs: [EpochMetrics]
    public var steps: Int
    /// False when the run stopped early (`stopAfterStep`).
    public var finished: Bool
    public var seconds: Double
}

/// Runs the training loop: batches, loss, backward, SGD, evaluation every epoch,
/// metrics, progress and checkpoints; resumes exactly from a checkpoint.
///
/// Data-parallel under `mpirun` (with a `group`, docs/distributed.md): every rank trains
/// a replica on its share of each batch (its loaders' `rank`); rank 0's state is broadcast
/// at the start and after a resume, gradients are averaged over the ranks during backward
/// (`GradientAverager`), batch-norm running statistics before evaluation and checkpoints,
/// metrics after each epoch. Rank 0 alone reads and writes files and prints.
public final class Trainer {
    public let model: any ClassificationModel
    public let backend: any Backend
    public let train: BatchLoader
    public let test: BatchLoader
    public let configuration: TrainingConfiguration
    /// The run's other options (data, recipe), stored in every checkpoint beside the
    /// model's configuration, the class names and the evaluation transform (`DataMetadata`).
    public let options: [String: String]
    /// The ranks of a data-parallel run; nil for one process.
    public let group: ProcessGroup?
    /// Gradient values per allreduce bucket (`GradientAverager`).
    public let bucketCapacity: Int
    private var isRoot: Bool { group?.isRoot ?? true }
    /// Allreduce times of the run's steps (data-parallel runs only).
    public private(set) var communicationTiming: GradientAverager.Timing?

    public init(
        model: any ClassificationModel, backend: any Backend, train: BatchLoader, test: BatchLoader,
        configuration: TrainingConfiguration, options: [String: String], group: ProcessGroup? = nil,
        bucketCapacity: Int = 1 << 20
    ) {
        self.model = model
        self.backend = backend
        self.train = train
        self.test = test
        self.configuration = configuration
        self.options = options
        self.group = group
        self.bucketCapacity = bucketCapacity
    }

    /// Trains from scratch, or with `resume` from `checkpoint.safetensors` in the output folder.
    public func run(resume: Bool) throws -> TrainingSummary {
        let started = Date()
        let folder = configuration.outputDirectory
        if isRoot {
            try FileError.naming(folder.path, "cannot create the output folder") {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
            AtomicFile.removeAbandonedTemporaries(of: configuration.checkpointURL)
            AtomicFile.removeAbandonedTemporaries(of: configuration.weightsURL)
        }
        let optimizer = SGD(groups: parameterGroups(), configuration: configuration.optimizer)
        let metrics = MetricsLog(url: configuration.metricsURL)
        // What prediction needs besides the weights: the model's configuration, the class
        // names and the evaluation transform (the test loader's: no augmentation).
        let recorded = try model.configuration.metadata().merging(
            DataMetadata.entries(classNames: test.dataset.classNames, transform: InputTransform(of: test))
        ) { $1 }
        let ranks = String(group?.size ?? 1)
        let metadata = options.merging(recorded) { $1 }.merging([Self.ranksKey: ranks]) { $1 }
        var position = TrainingCheckpoint(epoch: 0, batch: 0, step: 0, seed: train.seed, options: metadata)
        var lastCheckpoint: String? = resume ? configuration.checkpointURL.path : nil
        // Saves the position unless a tensor is not finite, which stops the run instead.
        // Collective in a data-parallel run: the ranks' running statistics are averaged first.
        func checkpoint(epoch: Int) throws {
            try group?.averageBuffers(of: model)
            guard isRoot else { return }
            do {
                try position.save(model: model, optimizer: optimizer, to: configuration.checkpointURL)
            } catch let error as NonFiniteTensorError {
                throw TrainingDiverged(
                    epoch: epoch + 1, step: position.step, reason: "tensor '\(error.tensor)' is not finite", lastCheckpoint: lastCheckpoint)
            }
            lastCheckpoint = configuration.checkpointURL.path
        }
        if resume && isRoot {
            position = try TrainingCheckpoint.restore(
                from: configuration.checkpointURL, model: model, optimizer: optimizer, allowNonfinite: configuration.allowNonfinite)
            try position.check(epochs: configuration.epochs, batchesPerEpoch: train.batchCount, path: configuration.checkpointURL.path)
            try checkModelMatches(position.options)
            let saved = position.options[Self.ranksKey] ?? "1"
            guard saved == ranks else {
                // Batch b of an epoch means other images with another rank count.
                throw HeedError.invalidArgument(
                    op: "resume", "the checkpoint was written by a run of \(saved) ranks, this run has \(ranks): resume with \(saved)")
            }
            // Checkpoints from before `heed.model`, `heed.classes` and `heed.input` carry on in their form.
            position.options.merge(recorded) { $1 }
            if let dropped = try metrics.dropDamagedLastLine() {
                warn("\(configuration.metricsURL.path): removed a damaged last line (\(dropped) bytes, from an interrupted run)")
            }
            log("resuming at epoch \(position.epoch + 1), batch \(position.batch), step \(position.step)")
        } else if isRoot && !resume && FileManager.default.fileExists(atPath: configuration.metricsURL.path) {
            try FileError.naming(configuration.metricsURL.path, "cannot remove the old metrics") {
                try FileManager.default.removeItem(at: configuration.metricsURL)
            }
        }
        var averager: GradientAverager?
        if let group {
            var place = [Int64(position.epoch), Int64(position.batch), Int64(position.step)]
            try group.broadcast(&place)
            (position.epoch, position.batch, position.step) = (Int(place[0]), Int(place[1]), Int(place[2]))
            try group.broadcastState(of: model, optimizer: optimizer)
            averager = GradientAverager(parameters: model.namedParameters.map(\.tensor), group: group, bucketCapacity: bucketCapacity)
        }
        defer { communicationTiming = averager?.timing }

        // Each step's loss and correct count stay on the device until a progress update,
        // a checkpoint or the epoch's end reads them back together (`StepTallies`).
        let tallies = try StepTallies(backend: backend)
        while position.epoch < configuration.epochs {
            let epoch = position.epoch
            let epochStart = Date()
            optimizer.configuration.learningRate = configuration.schedule.rate(base: configuration.optimizer.learningRate, epoch: epoch)
            model.train()
            model.startEpoch(epoch)
            let progress =
                configuration.showProgress && isRoot
                ? ProgressBar(label: "epoch \(epoch + 1)/\(configuration.epochs)", total: train.batchCount) : nil
            var totals = RunningTotals()
            let rankCount = group?.size ?? 1
            // Adds the steps tallied so far to the totals; a loss that is not finite stops
            // the run at the step it appeared, before any later checkpoint is written.
            func readTallies() throws {
                for step in try tallies.drain() {
                    guard step.loss.isFinite else {
                        throw TrainingDiverged(
                            epoch: epoch + 1, step: step.step, reason: "loss \(step.loss)", lastCheckpoint: lastCheckpoint)
                    }
                    totals.add(loss: Double(step.loss), correct: step.correct, images: step.items)
                }
            }
            for batch in train.batches(epoch: epoch, startingAt: position.batch) {
                let images = try Tensor(
                    batch.images, shape: [batch.count, train.dataset.channels, train.dataset.height, train.dataset.width], on: backend)
                let labels = try backend.makeBuffer(batch.labels)
                let (loss, logp) = try model.trainingLoss(images: images, labels: labels)
                if let averager {
                    try loss.backward(leafGradientIsFinal: averager.gradientIsFinal)
                    try averager.finish()
                } else {
                    try loss.backward()
                }
                try optimizer.step()
                position.step += 1
                position.batch += 1
                try tallies.record(step: position.step, loss: loss, logProbabilities: logp, labels: labels, items: batch.count)
                let showsProgress = progress?.isDue ?? false
                if showsProgress || tallies.isFull { try readTallies() }
                if showsProgress {
                    progress?.update(
                        position.batch, metrics: totals.summary(elapsed: Date().timeIntervalSince(epochStart), ranks: rankCount))
                }
                if let stop = configuration.stopAfterStep, position.step >= stop {
                    try readTallies()
                    try checkpoint(epoch: epoch)
                    return TrainingSummary(
                        epochs: isRoot ? try metrics.read() : [], steps: position.step, finished: false,
                        seconds: Date().timeIntervalSince(started))
                }
                if configuration.checkpointInterval > 0, position.step % configuration.checkpointInterval == 0 {
                    try readTallies()
                    try checkpoint(epoch: epoch)
                }
            }
            try readTallies()
            progress?.update(
                position.batch, metrics: totals.summary(elapsed: Date().timeIntervalSince(epochStart), ranks: rankCount), final: true)
            if let group { try totals.sum(over: group) }

            try group?.averageBuffers(of: model)
            let (testLoss, testAccuracy) = try evaluate(test)
            let seconds = Date().timeIntervalSince(epochStart)
            let record = EpochMetrics(
                epoch: epoch + 1, learningRate: optimizer.configuration.learningRate,
                trainLoss: totals.meanLoss, trainAccuracy: totals.accuracy,
                testLoss: testLoss, testAccuracy: testAccuracy, seconds: seconds,
                imagesPerSecond: Double(totals.images) / seconds)
            if isRoot {
                try metrics.append(record)
                try configuration.epochEnded?()
            }
            log(
                String(
                    format: "epoch %d/%d: train loss %.4f, accuracy %.2f%% | test loss %.4f, accuracy %.2f%% | %.0f images/s",
                    epoch + 1, configuration.epochs, record.trainLoss, 100 * record.trainAccuracy,
                    testLoss, 100 * testAccuracy, record.imagesPerSecond))
            position.epoch += 1
            position.batch = 0
            try checkpoint(epoch: epoch)
        }
        guard isRoot else {
            return TrainingSummary(epochs: [], steps: position.step, finished: true, seconds: Date().timeIntervalSince(started))
        }
        let weights = try Checkpoint.weights(of: model, metadata: metadata)
        do {
            try weights.requireFinite(path: configuration.weightsURL.path)
        } catch let error as NonFiniteTensorError {
            throw TrainingDiverged(
                epoch: position.epoch, step: position.step, reason: "tensor '\(error.tensor)' is not finite", lastCheckpoint: lastCheckpoint
            )
        }
        try weights.write(to: configuration.weightsURL)
        return TrainingSummary(
            epochs: try metrics.read(), steps: position.step, finished: true,
            seconds: Date().timeIntervalSince(started))
    }

    /// Mean loss (over images) and accuracy of the model over a loader, in evaluation mode;
    /// in a data-parallel run over the ranks' shares together (collective).
    ///
    /// Each batch's mean NLL and correct count stay on the device (`StepTallies`) until
    /// `tallyCapacity` batches are tallied, and the rest until the end: one blocking read
    /// per `tallyCapacity` batches and one at the end, not one per batch. The loss per
    /// image is each batch's mean NLL as nll_loss.forward rounds it in float32, times its
    /// images, summed over the batches in Double: the batch means' rounding is the only one
    /// of float32 size.
    public func evaluate(_ loader: BatchLoader, tallyCapacity: Int = 256) throws -> (loss: Double, accuracy: Double) {
        model.eval()
        defer { model.train() }
        var totals = RunningTotals()
        let tallies = try StepTallies(backend: backend, capacity: tallyCapacity)
        func readTallies() throws {
            for batch in try tallies.drain() {
                totals.add(loss: Double(batch.loss) * Double(batch.items), correct: batch.correct, images: batch.items)
            }
        }
        try Tensor.withoutGradients {
            for (index, batch) in loader.batches(epoch: 0).enumerated() {
                let images = try Tensor(
                    batch.images, shape: [batch.count, loader.dataset.channels, loader.dataset.height, loader.dataset.width], on: backend)
                let labels = try backend.makeBuffer(batch.labels)
                let logp = try model.logProbabilities(images: images)
                try tallies.record(
                    step: index + 1, loss: logp.nllLoss(labels: labels), logProbabilities: logp, labels: labels, items: batch.count)
                if tallies.isFull { try readTallies() }
            }
        }
        try readTallies()
        if let group { try totals.sum(over: group) }
        return (totals.lossPerImage, totals.accuracy)
    }

    /// The model's parameters grouped by learning-rate scale: the unscaled ones first, then
    /// one group per scale (in increasing order); one group when nothing is scaled.
    private func parameterGroups() -> [SGD.ParameterGroup] {
        let parameters = model.namedParameters
        let scaleOf = { (name: String) in self.configuration.learningRateScales[name] ?? 1 }
        let scales = [1] + Set(parameters.map { scaleOf($0.name) }).subtracting([1]).sorted()
        return scales.map { scale in
            SGD.ParameterGroup(parameters: parameters.filter { scaleOf($0.name) == scale }, learningRateScale: scale)
        }.filter { !$0.parameters.isEmpty }
    }

    /// A resumed run must build the network it continues: the checkpoint's model
    /// configuration and this run's must agree in every field.
    private func checkModelMatches(_ saved: [String: String]) throws {
        let recorded: ModelConfiguration
        do {
            recorded = try ModelConfiguration(metadata: saved)
        } catch let error as ModelMetadataError {
            throw FileError(path: configuration.checkpointURL.path, problem: "no model configuration: \(error)")
        }
        guard recorded != model.configuration else { return }
        let (was, asked) = (try recorded.codedFields(), try model.configuration.codedFields())
        let field = Set(was.keys).union(asked.keys).sorted().first { was[$0] != asked[$0] } ?? ModelConfiguration.metadataKey
        throw HeedError.invalidArgument(
            op: "resume",
            "the checkpoint was trained with \(field)=\(was[field] ?? "none"), this run asks for \(field)=\(asked[field] ?? "none")")
    }

    /// The option recording the rank count a checkpoint was written with.
    static let ranksKey = "ranks"

    private func log(_ line: String) {
        guard configuration.showProgress && isRoot else { return }
        warn(line)
    }

    /// Writes to standard error even in a quiet run.
    private func warn(_ line: String) {
        fflush(nil)
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }
}

/// Loss and accuracy accumulated over batches.
struct RunningTotals {
    private(set) var images = 0
    private var lossSum = 0.0
    private var batches = 0
    private var correct = 0

    var meanLoss: Double { batches == 0 ? .nan : lossSum / Double(batches) }
    /// The loss summed per batch over the images: for totals of per-image sums.
    var lossPerImage: Double { images == 0 ? .nan : lossSum / Double(images) }
    var accuracy: Double { images == 0 ? .nan : Double(correct) / Double(images) }

    /// A batch's loss (its mean, or its sum over the images in evaluation) and the
    /// images whose first largest log-probability is at their label.
    mutating func add(loss: Double, correct: Int, images count: Int) {
        lossSum += loss
        batches += 1
        self.correct += correct
        images += count
    }

    /// The totals of every rank together (collective).
    mutating func sum(over group: ProcessGroup) throws {
        var values = [lossSum, Double(batches), Double(images), Double(correct)]
        try group.allreduceSum(&values)
        (lossSum, batches, images, correct) = (values[0], Int(values[1]), Int(values[2]), Int(values[3]))
    }

    /// The progress bar's line: loss and accuracy of these totals (rank 0's share in data-parallel
    /// training, summed over the ranks only at the epoch's end), images/s of all `ranks`
    /// (every rank runs as many steps of as many images).
    func summary(elapsed: TimeInterval, ranks: Int = 1) -> String {
        String(
            format: "loss %.4f  acc %5.1f%%  %.0f img/s", meanLoss, 100 * accuracy, Double(images * ranks) / max(elapsed, 1e-9))
    }
}
