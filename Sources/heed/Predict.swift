import ArgumentParser
import Foundation
import HeedGraph
import HeedModels
import HeedOps

/// `heed predict`: the network's output for a tensor of images, in evaluation mode.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a trained network on images and write its log-probabilities.",
        discussion: """
            Reads tensor `input` (N, 3, H, W, float32, already normalised) from --input and writes \
            tensor `log_probs` (N, classes) to --output, both safetensors. Weights may come from \
            `heed train` (model.safetensors or checkpoint.safetensors) or from PyTorch's \
            safetensors.torch.save_file(model.state_dict()).
            """)

    @Option(name: .long, help: "Weights (safetensors).")
    var weights: String

    @Option(name: .long, help: "Input images: safetensors with tensor `input` (N, 3, H, W).")
    var input: String

    @Option(name: .long, help: "Where to write tensor `log_probs` (N, classes).")
    var output: String

    @OptionGroup(title: "Model") var model: ModelOptions

    @Option(name: .long, help: "Number of classes of the network.")
    var classes: Int

    @Flag(name: .long, help: "Load NaN, infinite or negative-variance weights (debugging only).")
    var allowNonfinite = false

    @OptionGroup var device: DeviceOptions

    func run() throws {
        let weightsFile = try SafeTensors.read(from: URL(fileURLWithPath: weights))
        let inputFile = try SafeTensors.read(from: URL(fileURLWithPath: input))
        guard let images = inputFile.tensors["input"] else {
            throw ValidationError("\(input): no tensor named `input` (has: \(inputFile.tensors.keys.sorted().joined(separator: ", ")))")
        }
        guard images.shape.count == 4, images.shape[1] == 3 else {
            throw ValidationError("\(input): tensor `input` has shape \(images.shape), expected (N, 3, H, W)")
        }
        let backend = try device.openBackend()
        let network = try model.configuration(classes: classes).makeModel(on: backend, seed: 0)
        try Checkpoint.load(
            weightsFile, into: network, path: weights,
            ignoring: Set(weightsFile.tensors.keys.filter { $0.hasPrefix("optimizer.") || $0.hasPrefix("training.") }),
            allowNonfinite: allowNonfinite)
        network.eval()
        let logProbabilities = try Tensor.withoutGradients {
            try network.logProbabilities(images: Tensor(images.floats(), shape: images.shape, on: backend))
        }
        let result = SafeTensors(tensors: ["log_probs": .init(shape: logProbabilities.shape, floats: try logProbabilities.values())])
        try result.write(to: URL(fileURLWithPath: output))
        print("wrote log_probs \(logProbabilities.shape) to \(output)")
    }
}
