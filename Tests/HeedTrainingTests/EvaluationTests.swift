import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import HeedTraining
import XCTest

/// `Trainer.evaluate`: its loss and accuracy tallied on the device (`StepTallies`) against
/// the same log-probabilities read back and summed on the host, and its blocking reads counted.
final class EvaluationTests: XCTestCase {
    /// 14 test images in batches of 3: four full batches and a last one of 2.
    private let testImages = 14
    private let batchSize = 3

    private func data() -> (train: ImageDataset, test: ImageDataset) {
        tinyFineGrained(train: 16, test: testImages, seed: 13)
    }

    private func trainer(_ model: any ClassificationModel, on backend: any Backend) -> (Trainer, BatchLoader) {
        let (train, test) = data()
        let loader = BatchLoader(
            dataset: test, batchSize: batchSize, shuffle: false, dropLast: false, normalization: .measured(on: train), seed: 7)
        let trainer = Trainer(
            model: model, backend: backend,
            train: BatchLoader(dataset: train, batchSize: 8, shuffle: true, dropLast: true, normalization: .measured(on: train), seed: 7),
            test: loader,
            configuration: TrainingConfiguration(
                epochs: 1, optimizer: .init(learningRate: 0.05), schedule: .constant,
                outputDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("heed-eval-\(UUID().uuidString)"),
                checkpointInterval: 0, showProgress: false),
            options: [:])
        return (trainer, loader)
    }

    private func network(on backend: any Backend) throws -> Network {
        try ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 4, dropout: 0.2)))
            .makeModel(on: backend, seed: 9)
    }

    /// Five batches: a tally of 2 slots is read when full (twice) and at the end, one of
    /// 256 at the end only; a read per batch (five) would exceed both bounds.
    func testEvaluationReadsOncePerFullTallyAndAtTheEnd() throws {
        let backend = CountingBackend(wrapping: try TestDevices.requireOpenCL())
        let (trainer, loader) = trainer(try network(on: backend), on: backend)
        XCTAssertEqual(loader.batchCount, 5)
        for capacity in [2, 256] {
            let before = backend.reads
            let (loss, accuracy) = try trainer.evaluate(loader, tallyCapacity: capacity)
            let reads = backend.reads - before
            let bound = (loader.batchCount + capacity - 1) / capacity + 1
            XCTAssertLessThanOrEqual(reads, bound, "capacity \(capacity)")
            XCTAssertGreaterThanOrEqual(reads, 1, "capacity \(capacity)")
            XCTAssert(loss.isFinite && loss > 0, "capacity \(capacity): loss \(loss)")
            XCTAssert((0...1).contains(accuracy), "capacity \(capacity): accuracy \(accuracy)")
        }
    }

    /// The evaluated loss and accuracy equal the host's from the very log-probabilities
    /// the model returned (kept by `RecordingModel` and read back here), on both backends
    /// and with a tally drained mid-run. Accuracy exactly: the kernel's argmax is the host's
    /// first largest element. Loss: each batch's mean is nll_loss.forward's float32 result,
    /// within its stated γ_{N+6}·Σ|logp[n, label]|/N of the exact mean; times N and summed in
    /// Double (rounding 2⁻⁵³ each) that is γ_{N+6}·Σ|logp[n, label]| over all images, divided
    /// by the image count as both sides are. The host side sums the same floats in Double.
    func testEvaluatedLossAndAccuracyEqualTheHostsFromTheLogProbabilities() throws {
        for device in [TestDevices.reference as any Backend, try TestDevices.requireOpenCL()] {
            let model = RecordingModel(try network(on: device))
            let (trainer, loader) = trainer(model, on: device)
            let (loss, accuracy) = try trainer.evaluate(loader, tallyCapacity: 2)
            XCTAssertTrue(model.isTraining, "\(device.name): evaluation leaves the model in training mode")

            let batches = Array(loader.batches(epoch: 0))
            XCTAssertEqual(model.outputs.count, batches.count, device.name)
            var (lossSum, absoluteSum, correct, images) = (0.0, 0.0, 0, 0)
            for (output, batch) in zip(model.outputs, batches) {
                let logp = try output.values()
                let classes = logp.count / batch.count
                for (n, label) in batch.labels.enumerated() {
                    let row = logp[n * classes..<(n + 1) * classes]
                    lossSum -= Double(row[row.startIndex + Int(label)])
                    absoluteSum += abs(Double(row[row.startIndex + Int(label)]))
                    let best = row.indices.max { row[$0] < row[$1] }! - row.startIndex
                    correct += best == Int(label) ? 1 : 0
                }
                images += batch.count
            }
            XCTAssertEqual(images, testImages)
            XCTAssertEqual(accuracy, Double(correct) / Double(images), device.name)
            let u = 0x1p-24
            let n = Double(batchSize + 6)
            let tolerance = n * u / (1 - n * u) * absoluteSum / Double(images)
            XCTAssertEqual(loss, lossSum / Double(images), accuracy: tolerance, device.name)
            XCTAssertGreaterThan(loss, 0, device.name)
        }
    }
}

/// A network that keeps every output it returns in evaluation, so that a test can read
/// back the very log-probabilities `Trainer.evaluate` tallied.
private final class RecordingModel: Module, ClassificationModel {
    let network: Network
    private(set) var outputs: [Tensor] = []

    init(_ network: Network) {
        self.network = network
        super.init()
        register(flattened: network)
    }

    var configuration: ModelConfiguration { network.configuration }
    var classCount: Int { network.classCount }

    func trainingLoss(images: Tensor, labels: any DeviceBuffer) throws -> (loss: Tensor, logProbabilities: Tensor) {
        try network.trainingLoss(images: images, labels: labels)
    }

    func logProbabilities(images: Tensor) throws -> Tensor {
        let output = try network.logProbabilities(images: images)
        outputs.append(output)
        return output
    }

    func startEpoch(_ epoch: Int) {
        network.startEpoch(epoch)
    }
}
