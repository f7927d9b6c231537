import Foundation
import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

/// A baseline WRN-10-2 built and saved by PyTorch (`Tests/Fixtures/models/generate_models.py`)
/// loads unchanged and reproduces PyTorch's evaluation output.
final class PyTorchInteropTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    /// 1e-4 absolute on log-probabilities of order 1, as the issue asks: float32 through
    /// 10 layers of sums of up to 576 terms drifts by ~1e-6.
    func testBaselineWRNReproducesPyTorch() throws {
        let weights = try SafeTensors.read(from: Self.folder.appendingPathComponent("wrn_baseline.safetensors"))
        let io = try SafeTensors.read(from: Self.folder.appendingPathComponent("wrn_baseline_io.safetensors"))
        let input = try XCTUnwrap(io.tensors["input"])
        let expected = try XCTUnwrap(io.tensors["log_probs"]).floats()
        XCTAssertEqual(weights.tensors["group_0.block_0.bn0.num_batches_tracked"]?.dtype, .i64)
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let model = try ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 2, classes: 5)))
                .makeModel(on: backend, seed: 0)
            try Checkpoint.load(weights, into: model, path: "wrn_baseline.safetensors")
            model.eval()
            let output = try Tensor.withoutGradients {
                try model.logProbabilities(images: Tensor(input.floats(), shape: input.shape, on: backend)).values()
            }
            XCTAssertEqual(output.count, expected.count)
            for (a, e) in zip(output, expected) {
                XCTAssertEqual(a, e, accuracy: 1e-4, backend.name)
            }
        }
    }
}
