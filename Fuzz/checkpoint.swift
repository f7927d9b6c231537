// libFuzzer harness for the checkpoint loader. Each input is written to a file and read
// as the commands read one:
//
// - `heed predict`, `evaluate` and `attention-maps`: `SafeTensors.read`, the model
//   configuration from the metadata (`ModelConfiguration(metadata:)`: the `heed.model`
//   JSON or the separate legacy keys, validated), the network built on the reference
//   backend, `Checkpoint.load` into it, and the class names and input transform the
//   metadata records (`DataMetadata`), put to use on a small image;
// - `heed train --resume`: `TrainingCheckpoint.restore` into that network and an SGD
//   optimizer, then `check(epochs:batchesPerEpoch:)` against a run.
//
// A thrown error is the expected answer to a bad file; a trap or a memory error is a bug.
// Built by scripts/fuzz.sh together with the source files of the modules on that path.
import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedReference

/// Networks of more weights are refused before they are built. A mutated depth or
/// width of a valid configuration is itself valid, and building it only spends the
/// fuzzer's time and memory (WRN-16-2 with three attention modules has about 0.7 M).
private let largestNetwork = 1 << 20

private let backend = ReferenceBackend()
private let path = FileManager.default.temporaryDirectory.appendingPathComponent("heed-fuzz-checkpoint-\(getpid()).safetensors").path
private let url: URL = {
    atexit { unlink(path) }
    return URL(fileURLWithPath: path)
}()
private let picture = RGBImage(width: 5, height: 3, pixels: (0..<45).map { UInt8($0 * 5) })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    try! Data(bytes: start, count: count).write(to: url)
    guard let file = try? SafeTensors.read(from: url),
        let configuration = try? ModelConfiguration(metadata: file.metadata),
        let weights = configuration.weightCount, weights <= largestNetwork,
        let network = try? configuration.makeModel(on: backend, seed: 0)
    else { return 0 }
    let trainingState = Set(file.tensors.keys.filter { $0.hasPrefix("optimizer.") || $0.hasPrefix("training.") })
    if (try? Checkpoint.load(file, into: network, path: path, ignoring: trainingState)) != nil {
        _ = try? DataMetadata.classNames(in: file.metadata, classes: network.classCount)
        // Up to 256×256 (a recorded size is valid up to 4096×4096, whose resize would take seconds here).
        if let transform = try? DataMetadata.transform(in: file.metadata), transform.height * transform.width <= 1 << 16 {
            guard transform.input(for: picture).count == 3 * transform.height * transform.width else { abort() }
        }
        _ = try? DataMetadata.normalization(in: file.metadata)
    }
    let optimizer = SGD(parameters: network.namedParameters, configuration: SGD.Configuration(learningRate: 0.1))
    if let position = try? TrainingCheckpoint.restore(from: url, model: network, optimizer: optimizer) {
        _ = try? position.check(epochs: 3, batchesPerEpoch: 4, path: path)
    }
    return 0
}
