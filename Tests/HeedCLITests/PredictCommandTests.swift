import Foundation
import HeedData
import HeedGraph
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

/// `heed predict` on image files, from a checkpoint alone: its numbers against the
/// network's output for the same test images prepared as evaluation prepares them.
final class PredictCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        _ = try TestDevices.requireOpenCL()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    private let small = ["--synthetic-train", "40", "--synthetic-test", "12", "--batch-size", "10"]

    /// A one-epoch attention network on the small synthetic set; its weights file.
    private func trainedWeights() throws -> URL {
        let run = scratch.appendingPathComponent("run")
        let trained = try runHeed(
            ["train", "--epochs", "1", "--attention-depth", "1", "--attention-width", "2", "--quiet", "--output", run.path] + small)
        XCTAssertEqual(trained.status, 0, trained.standardError)
        return run.appendingPathComponent("model.safetensors")
    }

    /// Test image i as `export-images` writes it: `<class>/<i>.png`.
    private func exportTestImages(count: Int) throws -> URL {
        let folder = scratch.appendingPathComponent("images")
        let exported = try runHeed(["export-images", "--split", "test", "--count", "\(count)", "--out", folder.path] + small)
        XCTAssertEqual(exported.status, 0, exported.standardError)
        return folder
    }

    func testPredictionsOfImageFilesMatchTheNetworkOnTheTestSet() throws {
        let weights = try trainedWeights()
        let images = try exportTestImages(count: 12)
        let json = scratch.appendingPathComponent("p.json")
        let csv = scratch.appendingPathComponent("p.csv")
        let predicted = try runHeed([
            "predict", "--checkpoint", weights.path, "--top-k", "3", "--batch-size", "5", "--json", json.path, "--csv", csv.path,
            images.path,
        ])
        XCTAssertEqual(predicted.status, 0, predicted.standardError)

        // The same images as evaluation prepares them (the training run's normalisation),
        // through `predict --input`: the network's output for each.
        var configuration = SyntheticFineGrained.Configuration()
        configuration.trainCount = 40
        configuration.testCount = 12
        configuration.decoys = 2  // `heed train`'s default
        let test = SyntheticFineGrained.make(configuration, seed: 1).test
        let transform = try XCTUnwrap(try DataMetadata.transform(in: SafeTensors.read(from: weights).metadata))
        let batch = BatchLoader(
            dataset: test, batchSize: 12, shuffle: false, dropLast: false, normalization: transform.normalization, seed: 1
        ).batch(epoch: 0, index: 0)
        let input = scratch.appendingPathComponent("input.safetensors")
        try SafeTensors(tensors: ["input": .init(shape: [12, 3, 32, 32], floats: batch.images)]).write(to: input)
        let output = scratch.appendingPathComponent("output.safetensors")
        let tensor = try runHeed(["predict", "--checkpoint", weights.path, "--input", input.path, "--output", output.path])
        XCTAssertEqual(tensor.status, 0, tensor.standardError)
        let logProbabilities = try XCTUnwrap(SafeTensors.read(from: output).tensors["log_probs"]).floats()

        let file = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        XCTAssertEqual(file["classes"] as? [String], SyntheticFineGrained.classNames(10))
        let rows = try XCTUnwrap(file["predictions"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 12)
        let lines = predicted.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 12, predicted.standardOutput)
        var correct = 0
        for (row, line) in zip(rows, lines) {
            let path = try XCTUnwrap(row["path"] as? String)
            let index = try XCTUnwrap(Int(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent))
            XCTAssertEqual(
                URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent, test.classNames[Int(test.labels[index])])
            let scores = Array(logProbabilities[index * 10..<(index + 1) * 10])
            let exps = scores.map { exp(Double($0)) }
            let expected = exps.map { $0 / exps.reduce(0, +) }
            let probabilities = try XCTUnwrap(row["probabilities"] as? [Double])
            for (p, e) in zip(probabilities, expected) { XCTAssertEqual(p, e, accuracy: 1e-6, path) }
            let top = try XCTUnwrap(row["top_k"] as? [[String: Any]])
            let order = scores.indices.sorted { scores[$0] > scores[$1] }
            XCTAssertEqual(top.compactMap { $0["index"] as? Int }, Array(order.prefix(3)), path)
            XCTAssertEqual(top.compactMap { $0["name"] as? String }, order.prefix(3).map { test.classNames[$0] }, path)
            XCTAssertEqual(line.prefix(path.count + 2 + test.classNames[order[0]].count), "\(path): \(test.classNames[order[0]])")
            correct += order[0] == Int(test.labels[index]) ? 1 : 0
        }
        // The top classes are the predictions `heed evaluate` counts.
        let evaluated = try runHeed(["evaluate", "--checkpoint", weights.path] + small)
        XCTAssertEqual(evaluated.status, 0, evaluated.standardError)
        let accuracy = String(format: "%6.2f%%", 100 * Double(correct) / 12)
        XCTAssertTrue(evaluated.standardOutput.contains("network output (gated mixture)    \(accuracy)"), evaluated.standardOutput)
        let table = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(table.count, 13)
        XCTAssertTrue(table[0].hasPrefix("path,top1_index,top1_name,top1_probability,top2_index"), String(table[0]))
        XCTAssertTrue(table[0].hasSuffix(",red,orange,yellow,green,mint,cyan,sky,blue,magenta,pink"), String(table[0]))
        XCTAssertEqual(table[1].split(separator: ",").count, 1 + 3 * 3 + 10)
    }

    /// A checkpoint from before class names and the input transform were recorded: class
    /// indices, and the normalisation keys of its options with its dataset's size.
    func testOldCheckpointsShowClassIndices() throws {
        let weights = try trainedWeights()
        let images = try exportTestImages(count: 2)
        var file = try SafeTensors.read(from: weights)
        let transform = try XCTUnwrap(try DataMetadata.transform(in: file.metadata))
        file.metadata["heed.classes"] = nil
        file.metadata["heed.input"] = nil
        file.metadata["normalization_mean"] = transform.normalization.mean.map { String($0) }.joined(separator: ",")
        file.metadata["normalization_std"] = transform.normalization.std.map { String($0) }.joined(separator: ",")
        let old = scratch.appendingPathComponent("old.safetensors")
        try file.write(to: old)
        let predicted = try runHeed(["predict", "--checkpoint", old.path, images.path])
        XCTAssertEqual(predicted.status, 0, predicted.standardError)
        let lines = predicted.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for line in lines { XCTAssertEqual(line.components(separatedBy: ", class ").count, 5, String(line)) }

        file.metadata["dataset"] = "folder"
        try file.write(to: old)
        let refused = try runHeed(["predict", "--checkpoint", old.path, images.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.standardError.split(separator: "\n").count, 1, refused.standardError)
        XCTAssertTrue(refused.standardError.contains("old.safetensors: records no image size and normalisation"), refused.standardError)
    }

    func testBadInputIsAOneLineError() throws {
        let weights = try trainedWeights()
        let images = try exportTestImages(count: 2)
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/images")
        let corrupt = scratch.appendingPathComponent("cut.jpg")
        try Data(contentsOf: fixtures.appendingPathComponent("gradient.jpg")).prefix(300).write(to: corrupt)
        let empty = scratch.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: empty.appendingPathComponent("notes.txt"))
        let missing = scratch.appendingPathComponent("missing.png")

        let cases: [([String], String)] = [
            (["--depth", "16", images.path], "model.safetensors: --depth 16 contradicts the checkpoint's depth 10"),
            (["--attention-depth", "3", images.path], "--attention-depth 3 contradicts the checkpoint's attention depth 1"),
            ([missing.path], "missing.png: no such file or folder"),
            ([corrupt.path], "cut.jpg: corrupt JPEG"),
            ([empty.path], "empty: no .jpg, .jpeg or .png files in this folder or below it"),
        ]
        for (arguments, message) in cases {
            let result = try runHeed(["predict", "--checkpoint", weights.path] + arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError)
            XCTAssertTrue(result.standardError.hasPrefix("Error: "), result.standardError)
            XCTAssertTrue(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }

        // A few hundred bytes of metadata describing a WRN-94-20 (2.3 GB of weights) are refused
        // before the network is built (scripts/hostile-inputs.sh found it building the whole network).
        var hollow = SafeTensors(metadata: ["depth": "94", "width": "20", "classes": "10"])
        hollow.metadata.merge(try SafeTensors.read(from: weights).metadata.filter { $0.key != "heed.model" }) { a, _ in a }
        let hollowURL = scratch.appendingPathComponent("hollow.safetensors")
        try hollow.write(to: hollowURL)
        let refused = try runHeed(["predict", "--checkpoint", hollowURL.path, images.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.standardError.split(separator: "\n").count, 1, refused.standardError)
        XCTAssertTrue(refused.standardError.contains("hollow.safetensors: holds 0 values, fewer than the"), refused.standardError)

        let skipping = try runHeed(["predict", "--checkpoint", weights.path, "--skip-bad-images", corrupt.path, images.path])
        XCTAssertNotEqual(skipping.status, 0)
        XCTAssertEqual(skipping.standardOutput.split(separator: "\n").count, 2, skipping.standardOutput)
        XCTAssertTrue(skipping.standardError.contains("skipped \(corrupt.path): corrupt JPEG"), skipping.standardError)
        XCTAssertTrue(skipping.standardError.contains("Error: 1 of 3 images could not be read and were skipped"), skipping.standardError)
    }
}
