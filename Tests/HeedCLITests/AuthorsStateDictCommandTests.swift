import Foundation
import HeedGraph
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

/// `heed predict` on a state_dict in the form the paper authors' code saves it
/// (prlz77/attend-and-rectify): every `att{g}.att_head.diag` buffer (1, K, K) = 1 - I
/// beside the weights, no Heed metadata (docs/design.md §9).
final class AuthorsStateDictCommandTests: XCTestCase {
    private var scratch: URL!
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    override func setUpWithError() throws {
        _ = try TestDevices.requireOpenCL()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-authors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// The PyTorch fixture `attention_ad{depth}_aw{width}` with the authors' `diag` buffers
    /// added (`diag(g)` gives each one's values) and the metadata removed, as their
    /// `torch.save(model.state_dict())` converted to safetensors holds it.
    private func authorsStateDict(depth: Int, width: Int, diag: (Int) -> [Float]) throws -> URL {
        var file = try SafeTensors.read(from: fixtures.appendingPathComponent("attention_ad\(depth)_aw\(width).safetensors"))
        file.metadata = [:]
        for group in [2, 1, 0].prefix(depth) {
            file.tensors["att\(group).att_head.diag"] = .init(shape: [1, width, width], floats: diag(group))
        }
        let url = scratch.appendingPathComponent("authors_ad\(depth)_aw\(width).safetensors")
        try file.write(to: url)
        return url
    }

    private static func offDiagonal(_ n: Int) -> [Float] { (0..<n * n).map { $0 / n == $0 % n ? 0 : 1 } }

    private func modelFlags(depth: Int, width: Int, gate: String) -> [String] {
        [
            "--depth", "10", "--width", "1", "--classes", "3", "--attention-depth", "\(depth)",
            "--attention-width", "\(width)", "--attention-gate", gate,
        ]
    }

    /// Their state_dict gives their model's output (the fixture's PyTorch log-probabilities,
    /// computed in float64 from the float32 weights) within 1e-4, as AttentionInteropTests
    /// allows the same network loaded without the buffers.
    func testTheAuthorsStateDictPredictsTheirModelsOutput() throws {
        for (depth, width) in [(3, 2), (1, 4)] {
            let weights = try authorsStateDict(depth: depth, width: width) { _ in Self.offDiagonal(width) }
            for gate in ["softmax", "sigmoid"] {
                let io = fixtures.appendingPathComponent("attention_ad\(depth)_aw\(width)_eval_\(gate)_io.safetensors")
                let output = scratch.appendingPathComponent("out_\(depth)_\(width)_\(gate).safetensors")
                let result = try runHeed(
                    ["predict", "--weights", weights.path, "--input", io.path, "--output", output.path]
                        + modelFlags(depth: depth, width: width, gate: gate))
                XCTAssertEqual(result.status, 0, result.standardError)
                let actual = try XCTUnwrap(SafeTensors.read(from: output).tensors["log_probs"]).floats()
                let expected = try XCTUnwrap(SafeTensors.read(from: io).tensors["log_probs"]).floats()
                XCTAssertEqual(actual.count, expected.count)
                for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: 1e-4, "AD \(depth) AW \(width) \(gate)") }
            }
        }
    }

    /// A `diag` that is not 1 - I (here I, and a (2, 2) buffer where the model has (1, 2, 2)) is
    /// refused in one line naming the tensor.
    func testAWrongDiagIsAOneLineErrorNamingIt() throws {
        let input = fixtures.appendingPathComponent("attention_ad3_aw2_eval_softmax_io.safetensors")
        let identity = try authorsStateDict(depth: 3, width: 2) { group in group == 1 ? [1, 0, 0, 1] : Self.offDiagonal(2) }
        var flat = try SafeTensors.read(from: identity)
        flat.tensors["att1.att_head.diag"] = .init(shape: [2, 2], floats: Self.offDiagonal(2))
        let flatURL = scratch.appendingPathComponent("flat.safetensors")
        try flat.write(to: flatURL)
        let cases = [
            (identity, "tensor 'att1.att_head.diag' must be 1 - identity, but holds 1.0 at element 0, not 0.0"),
            (flatURL, "tensor 'att1.att_head.diag' has shape [2, 2], it must be 1 - identity of shape [1, 2, 2]"),
        ]
        for (weights, message) in cases {
            let result = try runHeed(
                ["predict", "--weights", weights.path, "--input", input.path, "--output", scratch.appendingPathComponent("o").path]
                    + modelFlags(depth: 3, width: 2, gate: "softmax"))
            XCTAssertNotEqual(result.status, 0)
            XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError)
            XCTAssertTrue(result.standardError.contains(message), result.standardError)
        }
    }
}
