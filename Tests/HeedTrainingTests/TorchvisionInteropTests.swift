import Foundation
import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

/// torchvision's ResNet-18, ResNet-50 and ResNeXt-50 32×4d against Heed's `ResNet`
/// (`Tests/Fixtures/models/generate_torchvision.py`, docs/design.md §9): the same
/// state_dict names in the same order, and the same evaluation output for weights both
/// sides fill from one formula (`TorchvisionWeights`).
final class TorchvisionInteropTests: XCTestCase {
    private let folder = PyTorchInteropTests.folder
    static let archs = ["resnet18", "resnet50", "resnext50_32x4d"]

    private func fixture(_ arch: String) throws -> SafeTensors {
        try SafeTensors.read(from: folder.appendingPathComponent("torchvision_\(arch)_io.safetensors"))
    }

    /// The network of `arch` for the fixture's classes, every tensor filled by the formula.
    private func network(_ arch: String, classes: Int, on backend: any Backend) throws -> Network {
        let network = try ModelConfiguration(backbone: .resNet(ResNetConfiguration(arch: arch, classes: classes)))
            .makeModel(on: backend, seed: 0)
        for (name, tensor) in network.state {
            try tensor.assign(TorchvisionWeights.values(name: name, shape: tensor.shape))
        }
        return network
    }

    /// For each model on OpenCL: torchvision's state_dict keys, in its order, are Heed's
    /// parameters, then its buffers, then its counters (torchvision interleaves them per
    /// module; each kind keeps its order); the filled weights are the generator's (per
    /// tensor, the sum of the values and of their magnitudes agree to 1e-9 of the
    /// magnitudes' sum: the orders of summation differ); and the evaluation-mode
    /// log-probabilities of the 64×64 batch of 2 are within 1e-4 of torchvision's, computed
    /// in float64 from the same float32 weights (float32 through 18 to 50 layers with batch
    /// norm from running statistics, the stem's padded max-pool and, for ResNeXt, 32-group
    /// convolutions).
    func testNamesWeightsAndEvaluationOutputMatchTorchvisionOnOpenCL() throws {
        let backend = try TestDevices.requireOpenCL()
        for arch in Self.archs {
            let io = try fixture(arch)
            let names = try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(io.metadata["state_dict_names"]).utf8))
            let expected = try XCTUnwrap(io.tensors["log_probs"])
            let network = try network(arch, classes: expected.shape[1], on: backend)

            let isBuffer = { (name: String) in name.hasSuffix("running_mean") || name.hasSuffix("running_var") }
            XCTAssertEqual(
                network.namedParameters.map(\.name), names.filter { !isBuffer($0) && !$0.hasSuffix("num_batches_tracked") }, arch)
            XCTAssertEqual(network.namedBuffers.map(\.name), names.filter(isBuffer), arch)
            XCTAssertEqual(network.namedCounters().map(\.name), names.filter { $0.hasSuffix("num_batches_tracked") }, arch)

            let checksums = try XCTUnwrap(io.tensors["checksums"])
            XCTAssertEqual(checksums.dtype, .f64)
            let sums = checksums.bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            XCTAssertEqual(sums.count, 2 * names.count, arch)
            let state = Dictionary(uniqueKeysWithValues: network.state.map { ($0.name, $0.tensor) })
            for (index, name) in names.enumerated() where !name.hasSuffix("num_batches_tracked") {
                let values = try XCTUnwrap(state[name], "\(arch): Heed has no \(name)").values()
                var (sum, magnitude) = (0.0, 0.0)
                for value in values {
                    sum += Double(value)
                    magnitude += Double(abs(value))
                }
                XCTAssertEqual(sum, sums[2 * index], accuracy: 1e-9 * magnitude, "\(arch) \(name)")
                XCTAssertEqual(magnitude, sums[2 * index + 1], accuracy: 1e-9 * magnitude, "\(arch) \(name)")
            }

            try assertEvaluationOutput(of: network, on: backend, io, input: "input", expected: "log_probs", "\(backend.name) \(arch)")
        }
    }

    /// The same models on the reference backend, at the fixtures' 32×32 image (1 image;
    /// layer4's map is a single position): the reference's plain loops in a debug build
    /// would take many minutes at 64×64 for three models.
    func testEvaluationOutputMatchesTorchvisionOnTheReference() throws {
        for arch in Self.archs {
            let io = try fixture(arch)
            let network = try network(arch, classes: try XCTUnwrap(io.tensors["log_probs_small"]).shape[1], on: TestDevices.reference)
            try assertEvaluationOutput(
                of: network, on: TestDevices.reference, io, input: "input_small", expected: "log_probs_small", "reference \(arch)")
        }
    }

    /// Evaluation-mode log-probabilities within 1e-4 of the fixture's.
    private func assertEvaluationOutput(
        of network: Network, on backend: any Backend, _ io: SafeTensors, input: String, expected: String, _ label: String
    ) throws {
        network.eval()
        let images = try XCTUnwrap(io.tensors[input])
        let wanted = try XCTUnwrap(io.tensors[expected])
        let output = try Tensor.withoutGradients {
            try network.logProbabilities(images: Tensor(images.floats(), shape: images.shape, on: backend))
                .values()
        }
        XCTAssertEqual(output.count, wanted.elementCount, label)
        for (index, (actual, value)) in zip(output, wanted.floats()).enumerated() {
            XCTAssertEqual(actual, value, accuracy: 1e-4, "\(label) element \(index)")
        }
    }

    /// One training-mode step of ResNet-18 with attention at layer4 and layer3 (2 heads,
    /// a large regulariser weight so that its gradient is a visible part of the heads')
    /// against a PyTorch definition written from docs/design.md §4: the loss within 1e-4
    /// relative, each parameter's sampled gradient elements within 1e-4 of that gradient's
    /// largest element (float32 against float64 through 20 layers and back), and every
    /// batch norm's running statistics after the forward, for a batch of 4 (with 2, the
    /// output gate's batch norm gives ±1 whatever its input, and the gate weights' gradient
    /// is rounding noise). On OpenCL: layer4 needs a 64×64 image to be 2×2 (the regulariser
    /// pools 2×2), and a forward and backward of that on the reference's debug-build loops
    /// takes minutes; every op it runs is checked against the reference by `heed verify`'s cases.
    func testAttentionTrainingStepMatchesPyTorch() throws {
        let io = try fixture("resnet18_attention_train")
        let regularizer = try XCTUnwrap(Float(io.metadata["reg_weight"] ?? ""))
        let taps = try XCTUnwrap(io.metadata["attention_taps"]).split(separator: ",").map(String.init)
        let heads = try XCTUnwrap(Int(io.metadata["attention_width"] ?? ""))
        let names = try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(io.metadata["state_dict_names"]).utf8))
        do {
            let backend = try TestDevices.requireOpenCL()
            let network = try ModelConfiguration(
                backbone: .resNet(ResNetConfiguration(arch: "resnet18", classes: 10)),
                attention: AttentionConfiguration(depth: taps.count, width: heads, regularizerWeight: regularizer, taps: taps)
            ).makeModel(on: backend, seed: 0)
            XCTAssertEqual(Set(network.state.map(\.name)).union(network.namedCounters().map(\.name)), Set(names))
            for (name, tensor) in network.state {
                try tensor.assign(TorchvisionWeights.values(name: name, shape: tensor.shape))
            }
            network.train()
            let input = try XCTUnwrap(io.tensors["input"])
            let labels = try XCTUnwrap(io.tensors["labels"]?.int64s()).map { Int32($0) }
            let (loss, _) = try network.trainingLoss(
                images: Tensor(input.floats(), shape: input.shape, on: backend), labels: backend.makeBuffer(labels))
            let expectedLoss = try XCTUnwrap(io.tensors["loss"]).floats()[0]
            XCTAssertEqual(try loss.item(), expectedLoss, accuracy: 1e-4 * abs(expectedLoss), "\(backend.name) loss")
            try loss.backward()
            for (name, parameter) in network.namedParameters {
                let indices = try XCTUnwrap(io.tensors["index.\(name)"]?.int64s(), "no gradient for \(name) in the fixture")
                let expected = try XCTUnwrap(io.tensors["grad.\(name)"]).floats()
                let scale = try XCTUnwrap(io.tensors["gradmax.\(name)"]).floats()[0]
                let actual = try XCTUnwrap(parameter.gradient, "\(backend.name): no gradient reached \(name)").values()
                for (index, wanted) in zip(indices, expected) {
                    XCTAssertEqual(actual[Int(index)], wanted, accuracy: 1e-4 * scale, "\(backend.name) ∂loss/∂\(name)[\(index)]")
                }
            }
            var statistics = 0
            for (name, buffer) in network.namedBuffers {
                let expected = try XCTUnwrap(io.tensors["after.\(name)"], "no \(name) in the fixture").floats()
                for (actual, wanted) in zip(try buffer.values(), expected) {
                    XCTAssertEqual(actual, wanted, accuracy: 1e-4 * max(1, abs(wanted)), "\(backend.name) \(name)")
                }
                statistics += 1
            }
            XCTAssertEqual(statistics, names.filter { $0.hasSuffix("running_mean") || $0.hasSuffix("running_var") }.count)
        }
    }
}
