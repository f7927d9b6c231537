import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import HeedTraining
import XCTest

/// A network trained by `Trainer` and loaded back from its `model.safetensors` alone
/// classifies its test images, written out as PNG files, exactly as the run's evaluation
/// (the test loader, then the network) does.
final class PredictorTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-predictor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// 8×8 synthetic images of 4 classes.
    private let data = tinyFineGrained(train: 16, test: 6, seed: 5)

    /// Trains `configuration` for two steps on `backend`; returns the test loader and the
    /// weights file.
    private func train(_ configuration: ModelConfiguration, on backend: any Backend, in folder: URL) throws -> (BatchLoader, URL) {
        let normalization = Normalization.measured(on: data.train)
        let trainLoader = BatchLoader(
            dataset: data.train, batchSize: 8, shuffle: true, dropLast: true, normalization: normalization, seed: 2)
        let testLoader = BatchLoader(
            dataset: data.test, batchSize: 4, shuffle: false, dropLast: false, normalization: normalization, seed: 2)
        let training = TrainingConfiguration(
            epochs: 1, optimizer: .init(learningRate: 0.05), schedule: .constant, outputDirectory: folder, checkpointInterval: 0,
            showProgress: false)
        let trainer = Trainer(
            model: try configuration.makeModel(on: backend, seed: 3), backend: backend, train: trainLoader, test: testLoader,
            configuration: training, options: ["dataset": "synthetic"])
        XCTAssertTrue(try trainer.run(resume: false).finished)
        return (testLoader, training.weightsURL)
    }

    /// The network, class names and transform of a weights file, from the file alone.
    private func load(_ url: URL, on backend: any Backend) throws -> (Network, [String], InputTransform) {
        let file = try SafeTensors.read(from: url)
        let network = try ModelConfiguration(metadata: file.metadata).makeModel(on: backend, seed: 0)
        try Checkpoint.load(file, into: network, path: url.path)
        let names = try DataMetadata.classNames(in: file.metadata, classes: network.classCount)
        return (network, names, try XCTUnwrap(try DataMetadata.transform(in: file.metadata)))
    }

    private func checkPredictionsMatchEvaluation(_ configuration: ModelConfiguration, on backend: any Backend) throws {
        let folder = scratch.appendingPathComponent(backend.name.filter(\.isLetter) + "\(configuration.attention?.depth ?? 0)")
        let (testLoader, weights) = try train(configuration, on: backend, in: folder)
        let (network, names, transform) = try load(weights, on: backend)
        XCTAssertEqual(names, data.test.classNames)
        XCTAssertEqual(transform, InputTransform(of: testLoader))

        // The run's evaluation: the test loader's batches through the network.
        network.eval()
        var expected: [Float] = []
        var expectedTheta: [Float] = []
        try Tensor.withoutGradients {
            for batch in testLoader.batches(epoch: 0) {
                let images = try Tensor(batch.images, shape: [batch.count, 3, 8, 8], on: backend)
                expected += try network.logProbabilities(images: images).values()
                if network.coarse2fine != nil { expectedTheta += try network.views(images).theta.values() }
            }
        }
        // The same images from PNG files, through the predictor, in the same batches.
        let files = try (0..<data.test.count).map { index in
            let url = folder.appendingPathComponent("images/\(index).png")
            try RGBImage(planar: Array(data.test.image(index)), width: 8, height: 8).writePNG(to: url)
            return url
        }
        let predictor = try Predictor(network: network, transform: transform, backend: backend)
        var predictions: [Prediction] = []
        for start in stride(from: 0, to: files.count, by: 4) {
            predictions += try predictor.predict(files[start..<min(start + 4, files.count)].map { try RGBImage.read(from: $0) })
        }

        let classes = network.classCount
        for (index, prediction) in predictions.enumerated() {
            let row = Array(expected[index * classes..<(index + 1) * classes])
            let exps = row.map { exp(Double($0)) }
            for (p, e) in zip(prediction.probabilities, exps) {
                XCTAssertEqual(p, e / exps.reduce(0, +), accuracy: 1e-6, "\(backend.name) \(configuration) image \(index)")
            }
            let argmax = row.indices.max { row[$0] < row[$1] }!
            XCTAssertEqual(prediction.top(1), [argmax], "\(backend.name) \(configuration) image \(index)")
            XCTAssertEqual(prediction.top(99).count, classes)
            if network.coarse2fine != nil {
                let zoom = try XCTUnwrap(prediction.zoom)
                XCTAssertEqual(zoom, ZoomWindow(theta: expectedTheta, item: index))
                let box = zoom.box(width: 8, height: 8)
                XCTAssertEqual(box.x1 - box.x0, Double(zoom.scale) * 8, accuracy: 1e-5)
            } else {
                XCTAssertNil(prediction.zoom)
            }
        }
    }

    private let trunk = WideResNetConfiguration(depth: 10, width: 1, classes: 4)

    func testPredictionsMatchEvaluationOnTheReference() throws {
        try checkPredictionsMatchEvaluation(
            ModelConfiguration(backbone: .wideResNet(trunk), attention: AttentionConfiguration(depth: 2, width: 2)),
            on: TestDevices.reference)
        try checkPredictionsMatchEvaluation(
            ModelConfiguration(
                backbone: .wideResNet(trunk), attention: AttentionConfiguration(depth: 1, width: 2), coarse2fine: Coarse2FineConfiguration()
            ),
            on: TestDevices.reference)
    }

    func testPredictionsMatchEvaluationOnOpenCL() throws {
        let backend = try TestDevices.requireOpenCL()
        try checkPredictionsMatchEvaluation(ModelConfiguration(backbone: .wideResNet(trunk)), on: backend)
        try checkPredictionsMatchEvaluation(
            ModelConfiguration(backbone: .wideResNet(trunk), attention: AttentionConfiguration(depth: 2, width: 2, gate: .sigmoid)),
            on: backend)
    }

    func testProbabilitiesNormaliseTheMixtureAndTopKBreaksTiesByIndex() {
        let prediction = Prediction(output: [-1, -3, -1, -2], zoom: nil)
        XCTAssertEqual(prediction.probabilities.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(prediction.probabilities[0], 1 / (2 + exp(-2) + exp(-1)), accuracy: 1e-12)
        XCTAssertEqual(prediction.top(3), [0, 2, 3])
    }
}
