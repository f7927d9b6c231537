import ArgumentParser
import Foundation
import HeedData
import HeedGraph
import HeedOps
import HeedSupport
import HeedTraining

/// `heed predict`: the classes a trained network sees in image files, or its output for
/// a tensor of normalised images.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify image files with a trained network.",
        discussion: """
            Decodes each JPEG or PNG file (a folder: every .jpg, .jpeg and .png file in it and below it, \
            hidden ones excepted, in sorted order of their paths), resizes it to the training images' \
            size (bilinear) when it has another, normalises it as in training (both recorded in the \
            checkpoint) and prints one line per image: its path and the --top-k classes with their \
            probabilities, and for Coarse2Fine networks the zoom (s, and the box it covers in the image's \
            pixels). The probability is exp of the network's output normalised over the classes: the \
            softmax of the logits for the baseline; attention networks output a gated mixture of \
            log-probabilities, which exp alone would not make sum to 1. The most probable class is the \
            prediction `heed evaluate` counts. --json and --csv write the same with every class's \
            probability.

            With --input X --output Y instead: reads tensor `input` (N, 3, H, W, float32, already \
            normalised) and writes the network's output as tensor `log_probs` (N, classes), both \
            safetensors. The weights may come from `heed train` or, with the model flags, from \
            PyTorch's safetensors.torch.save_file(model.state_dict()).
            """)

    @OptionGroup(title: "Model") var saved: SavedModelOptions

    @Argument(help: "JPEG or PNG files, or folders of them.")
    var images: [String] = []

    @Option(name: .long, help: "Classes to print per image, most probable first (at most all).")
    var topK: Int = 5

    @Option(name: .long, help: "Images per batch.")
    var batchSize: Int = 64

    @Option(name: .long, help: "Also write every image's probabilities to this JSON file.")
    var json: String?

    @Option(name: .long, help: "Also write every image's probabilities to this CSV file.")
    var csv: String?

    @Flag(name: .long, help: "Report images that cannot be read and go on; exit non-zero at the end if any was skipped.")
    var skipBadImages = false

    @Option(name: .long, help: "Instead of images: safetensors with tensor `input` (N, 3, H, W), normalised.")
    var input: String?

    @Option(name: .long, help: "With --input: where to write tensor `log_probs` (N, classes).")
    var output: String?

    @OptionGroup var device: DeviceOptions

    func validate() throws {
        guard images.isEmpty != (input == nil) else { throw ValidationError("give image files or folders, or --input FILE, not both") }
        guard (input == nil) == (output == nil) else { throw ValidationError("--input and --output go together") }
        if input != nil && (json != nil || csv != nil || skipBadImages) {
            throw ValidationError("--json, --csv and --skip-bad-images apply to image files, not to --input")
        }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let backend = try device.openBackend()
        let model = try saved.load(on: backend)
        if let input, let output {
            return try predictTensor(model, input: input, output: output, on: backend)
        }
        let predictor = try Predictor(network: model.network, transform: try model.transform(), backend: backend)
        var report = PredictionReport(classNames: try model.classNames(), topK: topK)
        let files = try ImageFiles.collect(images)
        var skipped = 0
        for start in stride(from: 0, to: files.count, by: batchSize) {
            var decoded: [(path: String, image: RGBImage)] = []
            for path in files[start..<min(start + batchSize, files.count)] {
                do {
                    decoded.append((path, try Self.decode(path)))
                } catch let error as FileError where skipBadImages {
                    FileHandle.standardError.write(Data("skipped \(error)\n".utf8))
                    skipped += 1
                }
            }
            for (item, prediction) in zip(decoded, try predictor.predict(decoded.map(\.image))) {
                print(report.add(path: item.path, width: item.image.width, height: item.image.height, prediction))
            }
            fflush(nil)
        }
        if let json { try report.writeJSON(to: URL(fileURLWithPath: json)) }
        if let csv { try report.writeCSV(to: URL(fileURLWithPath: csv)) }
        if skipped > 0 {
            FileHandle.standardError.write(Data("Error: \(skipped) of \(files.count) images could not be read and were skipped\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The image at `path`; errors name the path as given.
    private static func decode(_ path: String) throws -> RGBImage {
        do {
            return try RGBImage.read(from: URL(fileURLWithPath: path))
        } catch let error as FileError {
            throw FileError(path: path, problem: error.problem)
        }
    }

    /// The scripted form: the network's output for a tensor of normalised images.
    private func predictTensor(_ model: SavedModel, input: String, output: String, on backend: any Backend) throws {
        let inputFile = try SafeTensors.read(from: URL(fileURLWithPath: input))
        guard let images = inputFile.tensors["input"] else {
            throw FileError(
                path: input, problem: "no tensor named `input` (has: \(inputFile.tensors.keys.sorted().joined(separator: ", ")))")
        }
        guard images.shape.count == 4, images.shape[1] == 3 else {
            throw FileError(path: input, problem: "tensor `input` has shape \(images.shape), expected (N, 3, H, W)")
        }
        let logProbabilities = try Tensor.withoutGradients {
            try model.network.logProbabilities(images: Tensor(images.floats(), shape: images.shape, on: backend))
        }
        let result = SafeTensors(tensors: ["log_probs": .init(shape: logProbabilities.shape, floats: try logProbabilities.values())])
        try result.write(to: URL(fileURLWithPath: output))
        print("wrote log_probs \(logProbabilities.shape) to \(output)")
    }
}
