import Foundation
import HeedGraph
import HeedOps
import HeedSupport
import HeedTestSupport
import XCTest

/// Crafted safetensors files and checkpoints (ISSUE 15): each must be a one-line error
/// naming the file and the problem, found before anything large is allocated.
final class CraftedFileTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-crafted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// A file of `header` (JSON text) followed by `dataBytes` zero bytes.
    private func file(_ header: String, dataBytes: Int = 0) -> [UInt8] {
        let json = Array(header.utf8)
        return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * $0)) } + json + [UInt8](repeating: 0, count: dataBytes)
    }

    /// The problem `decode` reports, or nil when it accepts the bytes.
    private func problem(_ header: String, dataBytes: Int = 0) -> String? {
        do {
            _ = try SafeTensors.decode(file(header, dataBytes: dataBytes), path: "m.safetensors")
            return nil
        } catch let error as FileError {
            XCTAssertEqual(error.path, "m.safetensors")
            XCTAssertFalse(error.description.contains("\n"))
            return error.problem
        } catch {
            return "unexpected \(error)"
        }
    }

    func testShapeProductsThatOverflowAreErrors() {
        for shape in ["[1099511627776,1099511627776]", "[4611686018427387904]", "[9223372036854775807,2]"] {
            XCTAssertEqual(
                problem(#"{"x":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,4]}}"#, dataBytes: 4),
                "tensor 'x' of shape \(shape.replacingOccurrences(of: ",", with: ", ")) F32 has more bytes than \(Int.max)")
        }
        XCTAssertEqual(
            problem(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#, dataBytes: 4),
            "tensor 'x' has data_offsets 99999999999999999999: each must be an integer from 0 to \(Int.max)")
    }

    /// A header promising a terabyte is refused from the file's size, before the data is read.
    func testAHeaderPromisingMoreDataThanTheFileHoldsIsRefusedBeforeReading() throws {
        let url = scratch.appendingPathComponent("big.safetensors")
        try Data(file(#"{"x":{"dtype":"F32","shape":[262144,1048576],"data_offsets":[0,1099511627776]}}"#, dataBytes: 4)).write(to: url)
        XCTAssertThrowsError(try SafeTensors.read(from: url)) {
            XCTAssertEqual(
                ($0 as? FileError)?.description,
                "\(url.path): header promises 1099511627776 bytes of tensor data, the file has 4 (truncated file?)")
        }
        XCTAssertEqual(
            problem(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 12),
            "header promises 4 bytes of tensor data, the file has 12 (truncated file?)")
    }

    func testDuplicateKeysAreErrors() {
        let entry = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        XCTAssertEqual(problem(#"{"x":\#(entry),"x":\#(entry)}"#, dataBytes: 4), "corrupt header: duplicate key 'x' at byte 57")
        XCTAssertEqual(
            problem(#"{"x":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4),
            "corrupt header: duplicate key 'shape' at byte 39")
        XCTAssertEqual(
            problem(#"{"__metadata__":{"depth":"10","depth":"16"}}"#), "corrupt header: duplicate key 'depth' at byte 37")
    }

    func testShapesAndOffsetsMustBeNonNegativeIntegers() {
        func entry(shape: String = "[1]", offsets: String = "[0,4]") -> String {
            #"{"x":{"dtype":"F32","shape":\#(shape),"data_offsets":\#(offsets)}}"#
        }
        let rule = "each must be an integer from 0 to \(Int.max)"
        XCTAssertEqual(problem(entry(shape: "[1.5]"), dataBytes: 4), "tensor 'x' has shape 1.5: \(rule)")
        XCTAssertEqual(problem(entry(shape: "[true]"), dataBytes: 4), "tensor 'x' has shape true: \(rule)")
        XCTAssertEqual(problem(entry(shape: "[-1]"), dataBytes: 4), "tensor 'x' has shape -1: \(rule)")
        XCTAssertEqual(problem(entry(offsets: "[0,4.0]"), dataBytes: 4), "tensor 'x' has data_offsets 4.0: \(rule)")
        XCTAssertEqual(problem(entry(offsets: "[0.5,4]"), dataBytes: 4), "tensor 'x' has data_offsets 0.5: \(rule)")
        XCTAssertEqual(problem(entry(offsets: "[0,4e0]"), dataBytes: 4), "tensor 'x' has data_offsets 4e0: \(rule)")
        XCTAssertEqual(problem(entry(offsets: #"[0,"4"]"#), dataBytes: 4), #"tensor 'x' has data_offsets "4": \#(rule)"#)
        XCTAssertNil(problem(entry(), dataBytes: 4))
    }

    /// Overlaps are found whatever the order of the header; zero-length tensors at
    /// another's start or end are not overlaps.
    func testOverlapsAreFoundDeterministicallyAndEmptyTensorsAreAllowed() {
        let a = #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
        let b = #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}"#
        XCTAssertEqual(problem("{\(a),\(b)}", dataBytes: 12), "tensors 'a' and 'b' overlap in the data section")
        XCTAssertEqual(problem("{\(b),\(a)}", dataBytes: 12), "tensors 'a' and 'b' overlap in the data section")
        let emptyStart = #""e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}"#
        let emptyEnd = #""f":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]}"#
        for header in ["{\(emptyStart),\(a),\(emptyEnd)}", "{\(a),\(emptyEnd),\(emptyStart)}", "{\(emptyEnd),\(emptyStart),\(a)}"] {
            XCTAssertNil(problem(header, dataBytes: 8), header)
        }
        let emptyInside = #""g":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}"#
        XCTAssertEqual(problem("{\(emptyInside),\(a)}", dataBytes: 8), "tensors 'a' and 'g' overlap in the data section")
    }

    func testMalformedJSONIsAnErrorNotACrash() {
        XCTAssertEqual(problem(String(repeating: "[", count: 100_000)), "corrupt header: nested too deeply at byte 16")
        XCTAssertEqual(problem(#"{"x":1} x"#), "corrupt header: unexpected text after the JSON value at byte 8")
        XCTAssertEqual(problem(#"{"x\u0000":1"#), "corrupt header: unexpected end at byte 12")
        XCTAssertEqual(
            problem(#"{"a\nb":{"dtype":"F32","shape":[1],"data_offsets":[0,1]}}"#, dataBytes: 1),
            "tensor 'a\\u{a}b' of shape [1] F32 needs 4 bytes, header gives 1")
    }

    func testAFIFOIsNotReadAsAFile() throws {
        let fifo = scratch.appendingPathComponent("x.safetensors")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertThrowsError(try SafeTensors.read(from: fifo)) {
            XCTAssertEqual(($0 as? FileError)?.problem, "not a regular file")
        }
    }

    // MARK: Checkpoint values

    private final class Part: Module {
        let norm: BatchNorm

        init(on backend: any Backend) throws {
            norm = try BatchNorm(2, on: backend)
            super.init()
            register(child: norm, as: "bn")
        }
    }

    /// The weights of a fresh `Part`, with `change` applied.
    private func weights(_ change: (inout SafeTensors) -> Void) throws -> SafeTensors {
        var file = try Checkpoint.weights(of: Part(on: TestDevices.reference))
        change(&file)
        return file
    }

    private func loadProblem(_ file: SafeTensors, allowNonfinite: Bool = false) throws -> String? {
        do {
            try Checkpoint.load(file, into: Part(on: TestDevices.reference), path: "w.safetensors", allowNonfinite: allowNonfinite)
            return nil
        } catch let error as FileError {
            return error.problem
        }
    }

    /// A float counter that is NaN or beyond Int64 would trap when converted.
    func testCountersThatAreNotIntegersAreErrors() throws {
        for (entry, shown) in [
            (SafeTensors.Entry(shape: [], floats: [.nan]), "nan"),
            (SafeTensors.Entry(dtype: .f64, shape: [], bytes: withUnsafeBytes(of: 1e300) { Array($0) }), "inf"),
            (SafeTensors.Entry(shape: [], floats: [1e19]), "1e+19"),
        ] {
            XCTAssertEqual(
                try loadProblem(weights { $0.tensors["bn.num_batches_tracked"] = entry }),
                "counter 'bn.num_batches_tracked' holds \(shown), not a 64-bit integer")
        }
        XCTAssertNil(try loadProblem(weights { $0.tensors["bn.num_batches_tracked"] = .init(shape: [], floats: [7]) }))
    }

    func testNonFiniteWeightsAndNegativeVariancesAreRefusedUnlessAllowed() throws {
        let nan = try weights { $0.tensors["bn.weight"] = .init(shape: [2], floats: [1, .nan]) }
        XCTAssertEqual(try loadProblem(nan), "tensor 'bn.weight' holds nan at element 1 (--allow-nonfinite loads it anyway)")
        let infinite = try weights { $0.tensors["bn.running_mean"] = .init(shape: [2], floats: [-.infinity, 0]) }
        XCTAssertEqual(
            try loadProblem(infinite), "tensor 'bn.running_mean' holds -inf at element 0 (--allow-nonfinite loads it anyway)")
        let negative = try weights { $0.tensors["bn.running_var"] = .init(shape: [2], floats: [1, -0.5]) }
        XCTAssertEqual(
            try loadProblem(negative),
            "tensor 'bn.running_var' holds the negative variance -0.5 at element 1 (--allow-nonfinite loads it anyway)")
        for file in [nan, infinite, negative] { XCTAssertNil(try loadProblem(file, allowNonfinite: true)) }
    }
}
