import Foundation
import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import HeedVerify
import XCTest

/// The attention network against PyTorch (`Tests/Fixtures/models/generate_attention.py`,
/// docs/design.md §4 to the letter): weights saved by PyTorch load unchanged and give PyTorch's
/// evaluation output, and one training step gives its loss and every gradient.
final class AttentionInteropTests: XCTestCase {
    private let folder = PyTorchInteropTests.folder
    private let trunk = WideResNetConfiguration(depth: 10, width: 1, classes: 3)

    private func model(
        _ depth: Int, _ width: Int, _ gate: AggregationGate, regularizer: Float = 0.001,
        on backend: any Backend
    ) throws -> Network {
        let attention = AttentionConfiguration(depth: depth, width: width, gate: gate, regularizerWeight: regularizer)
        let network = try ModelConfiguration(backbone: .wideResNet(trunk), attention: attention).makeModel(on: backend, seed: 0)
        let path = folder.appendingPathComponent("attention_ad\(depth)_aw\(width).safetensors")
        try Checkpoint.load(SafeTensors.read(from: path), into: network, path: path.path)
        return network
    }

    /// Every attention depth (1–3), width (1–4) and both gates: evaluation output within 1e-4.
    func testEvaluationOutputMatchesPyTorch() throws {
        let combinations = [(1, 4), (2, 1), (3, 2), (3, 3), (3, 4)]
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            for (depth, width) in combinations {
                for gate in AggregationGate.allCases {
                    let io = try SafeTensors.read(
                        from: folder.appendingPathComponent("attention_ad\(depth)_aw\(width)_eval_\(gate.rawValue)_io.safetensors"))
                    let network = try model(depth, width, gate, on: backend)
                    network.eval()
                    let input = try XCTUnwrap(io.tensors["input"])
                    let analysis = try Tensor.withoutGradients {
                        try network.analyse(Tensor(input.floats(), shape: input.shape, on: backend))
                    }
                    let label = "\(backend.name) AD \(depth) AW \(width) \(gate)"
                    assertClose(try analysis.sources.values(), try XCTUnwrap(io.tensors["stack"]).floats(), 1e-4, "\(label) sources")
                    assertClose(try analysis.globalGates.values(), try XCTUnwrap(io.tensors["gates"]).floats(), 1e-4, "\(label) gates")
                    assertClose(try analysis.output.values(), try XCTUnwrap(io.tensors["log_probs"]).floats(), 1e-4, "\(label) output")
                }
            }
        }
    }

    /// One training-mode forward and backward from the same weights and batch: the loss
    /// and every parameter's gradient within 1e-4 relative to the gradient's largest
    /// element (float32 against PyTorch's float64 through ~20 layers), and the running
    /// statistics after the forward. The sigmoid case uses a large regulariser weight so
    /// that the regulariser's gradient is a visible part of the attention heads'.
    func testTrainingStepMatchesPyTorch() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            for gate in AggregationGate.allCases {
                let io = try SafeTensors.read(
                    from: folder.appendingPathComponent("attention_ad3_aw2_train_\(gate.rawValue)_io.safetensors"))
                let regularizer = try XCTUnwrap(Float(io.metadata["reg_weight"] ?? ""))
                let network = try model(3, 2, gate, regularizer: regularizer, on: backend)
                network.train()
                let input = try XCTUnwrap(io.tensors["input"])
                let labels = try XCTUnwrap(io.tensors["labels"]).int64s()?.map { Int32($0) } ?? []
                let (loss, _) = try network.trainingLoss(
                    images: Tensor(input.floats(), shape: input.shape, on: backend),
                    labels: backend.makeBuffer(labels))
                let label = "\(backend.name) \(gate)"
                XCTAssertEqual(
                    try loss.item(), try XCTUnwrap(io.tensors["loss"]).floats()[0],
                    accuracy: 1e-4 * abs(try XCTUnwrap(io.tensors["loss"]).floats()[0]), "\(label) loss")
                try loss.backward()
                var checked = 0
                for (name, parameter) in network.namedParameters {
                    let expected = try XCTUnwrap(io.tensors["grad.\(name)"], "\(label): no gradient for \(name) in the fixture").floats()
                    let actual = try XCTUnwrap(parameter.gradient, "\(label): no gradient reached \(name)").values()
                    let scale = expected.map(abs).maxPropagatingNaN() ?? 0
                    assertClose(actual, expected, 1e-4 * scale, "\(label) ∂loss/∂\(name)")
                    checked += 1
                }
                XCTAssertEqual(checked, io.tensors.keys.filter { $0.hasPrefix("grad.") }.count, "every parameter's gradient")
                for (name, buffer) in network.namedBuffers {
                    guard let expected = io.tensors["after.\(name)"] else { continue }
                    assertClose(try buffer.values(), expected.floats(), 1e-5, "\(label) \(name) after the step")
                }
            }
        }
    }

    private func assertClose(
        _ actual: [Float], _ expected: [Float], _ tolerance: Float, _ label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.count, expected.count, label, file: file, line: line)
        var worst: (Int, Float) = (0, 0)
        for (index, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= worst.1) {
            worst = (index, abs(a - e))
        }
        XCTAssertLessThanOrEqual(worst.1, tolerance, "\(label): element \(worst.0) off by \(worst.1)", file: file, line: line)
    }
}
