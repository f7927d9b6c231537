import Foundation
import HeedGraph
import HeedOps
import HeedReference
import XCTest

/// scripts/convert_pytorch.py's output for a `torch.save` file (Tests/Fixtures/converter:
/// a DataParallel network's state_dict inside a training checkpoint dict). The expected
/// tensors are the generator's own, written as JSON beside the .pth: names without
/// 'module.', dtypes, shapes and values. The converter itself needs PyTorch; its check
/// (`generate.py --check`) reconverts the .pth and compares with these files.
final class ConverterFixtureTests: XCTestCase {
    private let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/converter")

    private struct Expected: Decodable {
        struct Tensor: Decodable {
            let dtype: String
            let shape: [Int]
            let values: [Double]
        }
        let tensors: [String: Tensor]
    }

    private static let dtypes: [String: SafeTensors.DType] = [
        "float32": .f32, "float64": .f64, "float16": .f16, "int64": .i64,
    ]

    func testTheConvertedFileHoldsTheStateDictOfTheTorchSaveFile() throws {
        let file = try SafeTensors.read(from: folder.appendingPathComponent("tiny.safetensors"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("tiny.json")))
        XCTAssertEqual(Set(file.tensors.keys), Set(expected.tensors.keys))
        XCTAssertFalse(file.tensors.keys.contains { $0.hasPrefix("module.") })
        for (name, want) in expected.tensors {
            let entry = try XCTUnwrap(file.tensors[name], name)
            XCTAssertEqual(entry.dtype, Self.dtypes[want.dtype], name)
            XCTAssertEqual(entry.shape, want.shape, name)
            switch entry.dtype {
            case .i64: XCTAssertEqual(entry.int64s(), want.values.map { Int64($0) }, name)
            case .f64:
                let doubles = entry.bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
                XCTAssertEqual(doubles, want.values, name)
            default:
                // float32 and float16 values are exact in the JSON's doubles.
                XCTAssertEqual(entry.floats(), want.values.map { Float($0) }, name)
            }
        }
    }

    /// The file loads into a Heed module with those names (conv1, bn1, fc), counter included.
    func testTheConvertedFileLoadsIntoAModuleWithItsNames() throws {
        final class Tiny: Module {
            let conv1: Conv2d, bn1: BatchNorm, fc: Linear
            init(on backend: any Backend) throws {
                var random = SeededGenerator(seed: 1)
                conv1 = try Conv2d(3, 4, kernelSize: 3, on: backend, random: &random)
                bn1 = try BatchNorm(4, on: backend)
                fc = try Linear(4, 2, on: backend, random: &random)
                super.init()
                register(child: conv1, as: "conv1")
                register(child: bn1, as: "bn1")
                register(child: fc, as: "fc")
            }
        }
        let file = try SafeTensors.read(from: folder.appendingPathComponent("tiny.safetensors"))
        let model = try Tiny(on: ReferenceBackend())
        try Checkpoint.load(file, into: model, path: "tiny.safetensors", ignoring: ["scale64", "scale16"])
        XCTAssertEqual(model.bn1.batchesTracked.value, 7)
        XCTAssertEqual(try model.bn1.runningVariance.values(), file.tensors["bn1.running_var"]?.floats())
        XCTAssertEqual(try model.fc.weight.values(), file.tensors["fc.weight"]?.floats())
    }
}
