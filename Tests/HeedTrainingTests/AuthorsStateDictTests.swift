import Foundation
import HeedGraph
import HeedModels
import HeedTestSupport
import XCTest

/// The authors' `att{g}.att_head.diag` buffers (docs/design.md §9) survive a load and a save,
/// and a state_dict without them (PyTorch fixtures of docs/design.md §4, Heed's own files) is
/// written back without them: either PyTorch definition's strict `load_state_dict` takes the file.
final class AuthorsStateDictTests: XCTestCase {
    private let fixture = PyTorchInteropTests.folder.appendingPathComponent("attention_ad3_aw2.safetensors")

    private func network() throws -> Network {
        let attention = AttentionConfiguration(depth: 3, width: 2)
        return try ModelConfiguration(backbone: .wideResNet(WideResNetConfiguration(depth: 10, width: 1, classes: 3)), attention: attention)
            .makeModel(on: TestDevices.reference, seed: 0)
    }

    func testTheDiagBuffersAreWrittenBackOnlyWhenLoaded() throws {
        let plain = try SafeTensors.read(from: fixture)
        var authors = plain
        let diag: [Float] = [0, 1, 1, 0]
        for group in [2, 1, 0] { authors.tensors["att\(group).att_head.diag"] = .init(shape: [1, 2, 2], floats: diag) }

        let fromAuthors = try network()
        try Checkpoint.load(authors, into: fromAuthors, path: "authors")
        let written = try Checkpoint.weights(of: fromAuthors)
        XCTAssertEqual(Set(written.tensors.keys), Set(authors.tensors.keys))
        for group in [2, 1, 0] {
            let entry = try XCTUnwrap(written.tensors["att\(group).att_head.diag"])
            XCTAssertEqual(entry.shape, [1, 2, 2])
            XCTAssertEqual(entry.floats(), diag)
        }

        let fromPlain = try network()
        try Checkpoint.load(plain, into: fromPlain, path: "plain")
        XCTAssertEqual(Set(try Checkpoint.weights(of: fromPlain).tensors.keys), Set(plain.tensors.keys))
        XCTAssertEqual(Set(try Checkpoint.weights(of: network()).tensors.keys), Set(plain.tensors.keys), "a fresh network")
    }
}
