import Foundation
import HeedGraph
import HeedSupport
import XCTest

final class SafeTensorsTests: XCTestCase {
    private let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/safetensors/reference.safetensors")

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// The file written by the safetensors library (see generate.py beside it).
    func testReadsAFileWrittenByTheSafetensorsLibrary() throws {
        let file = try SafeTensors.read(from: fixture)
        XCTAssertEqual(file.metadata, ["depth": "16", "width": "4"])
        XCTAssertEqual(Set(file.tensors.keys), ["conv0.weight", "bn.running_var", "bn.num_batches_tracked", "scalar.f64"])
        let weight = try XCTUnwrap(file.tensors["conv0.weight"])
        XCTAssertEqual(weight.shape, [2, 3, 2, 2])
        XCTAssertEqual(weight.floats(), (0..<24).map { Float($0) / 8 - 1 })
        XCTAssertEqual(file.tensors["bn.running_var"]?.floats(), [0.5, 1.25, 3.0])
        XCTAssertEqual(file.tensors["bn.num_batches_tracked"]?.shape, [])
        XCTAssertEqual(file.tensors["bn.num_batches_tracked"]?.int64s(), [7])
        XCTAssertEqual(file.tensors["scalar.f64"]?.floats(), [Float(1.0 / 3.0)])
    }

    func testWriteThenReadIsBitExact() throws {
        var random = SystemRandomNumberGenerator()
        let values = (0..<1000).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &random)) }
        let original = SafeTensors(
            tensors: [
                "a.weight": .init(shape: [10, 100], floats: values),
                "a.count": .init(shape: [], int64s: [123_456_789_012]),
                "empty": .init(shape: [0, 3], floats: []),
            ],
            metadata: ["model": "wrn", "depth": "28"])
        let url = scratch.appendingPathComponent("model.safetensors")
        try original.write(to: url)
        let back = try SafeTensors.read(from: url)
        XCTAssertEqual(back, original)
        XCTAssertEqual(back.tensors["a.weight"]!.floats().map(\.bitPattern), values.map(\.bitPattern))
        // The header is padded to 8 bytes, so the data section is aligned.
        let bytes = try [UInt8](Data(contentsOf: url))
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0)
        // Nothing but the file is left in the folder.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), ["model.safetensors"])
    }

    func testOverwriteReplacesTheWholeFile() throws {
        let url = scratch.appendingPathComponent("m.safetensors")
        try SafeTensors(tensors: ["x": .init(shape: [1000], floats: Array(repeating: 1, count: 1000))]).write(to: url)
        let small = SafeTensors(tensors: ["y": .init(shape: [1], floats: [2])])
        try small.write(to: url)
        XCTAssertEqual(try SafeTensors.read(from: url), small)
    }

    func testDamagedFilesAreErrorsNamingTheFileAndTheProblem() throws {
        let good = try [UInt8](Data(contentsOf: fixture))
        func problem(_ bytes: [UInt8]) -> String? {
            do {
                _ = try SafeTensors.decode(bytes, path: "m.safetensors")
                return nil
            } catch let error as FileError {
                XCTAssertEqual(error.path, "m.safetensors")
                return error.problem
            } catch {
                return "unexpected \(error)"
            }
        }
        XCTAssertEqual(problem([1, 2, 3]), "not a safetensors file: 3 bytes, shorter than the 8-byte header length")
        XCTAssertTrue(problem(Array(good.prefix(100)))?.contains("truncated") ?? false)
        XCTAssertTrue(problem(Array(good.dropLast(4)))?.contains("truncated file?") ?? false)
        var badJSON = good
        badJSON[8] = UInt8(ascii: "[")
        XCTAssertEqual(problem(badJSON), "corrupt header: expected ',' or ']' at byte 16")
        XCTAssertEqual(problem([2, 0, 0, 0, 0, 0, 0, 0] + Array("[]".utf8)), "corrupt header: not a JSON object")
        let wrongSize = try SafeTensors.decode(good, path: "x").encoded()
        // Rewrite a shape so it no longer matches its byte range.
        let text = String(decoding: wrongSize, as: UTF8.self).replacingOccurrences(of: "[2,3,2,2]", with: "[2,3,2,3]")
        XCTAssertTrue(problem(Array(text.utf8))?.contains("needs 144 bytes, header gives 96") ?? false)
        XCTAssertThrowsError(try SafeTensors.read(from: scratch.appendingPathComponent("missing.safetensors"))) {
            XCTAssertEqual(($0 as? FileError)?.problem, "no such file")
        }
    }
}
