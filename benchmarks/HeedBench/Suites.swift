import Foundation

/// The benchmark cases of `benchmarks/suites.json`, which `heed bench` and the peer
/// scripts in `benchmarks/peers/` all read, so every tool times the same work.
/// `benchmarks/README.md` says what each op does and how its flops and bytes count.
public struct BenchmarkSuites: Decodable, Sendable {
    public var settings: Settings
    /// Convolution layers by name (WRN-28-10 on 32×32 images).
    public var layers: [String: Layer]
    /// The batch of every kernel case (convolutions, attention, …).
    public var kernelBatch: PerDevice<Int>
    public var kernels: [KernelCase]
    public var train: [TrainCase]

    /// The suites built into this binary (from `benchmarks/suites.json`).
    public static func builtIn() throws -> BenchmarkSuites {
        try decode(Data(PackageResources.suites_json), source: "benchmarks/suites.json (built in)")
    }

    /// Suites from a JSON file of the same format, for trying other shapes without a rebuild.
    public static func load(from url: URL) throws -> BenchmarkSuites {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw BenchmarkError.invalidSuites(source: url.path, "cannot be read: \(error.localizedDescription)")
        }
        return try decode(data, source: url.path)
    }

    static func decode(_ data: Data, source: String) throws -> BenchmarkSuites {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let suites: BenchmarkSuites
        do {
            suites = try decoder.decode(BenchmarkSuites.self, from: data)
        } catch let error as DecodingError {
            throw BenchmarkError.invalidSuites(source: source, error.readable)
        }
        try suites.validate(source: source)
        return suites
    }

    /// Every case names a known layer and has the fields its op needs; ids are unique.
    func validate(source: String) throws {
        var seen = Set<String>()
        for id in kernels.map(\.id) + train.map(\.id) where !seen.insert(id).inserted {
            throw BenchmarkError.invalidSuites(source: source, "case id '\(id)' appears twice")
        }
        for kernel in kernels {
            do {
                try kernel.validate(layers: layers)
            } catch let BenchmarkError.invalidCase(id, problem) {
                throw BenchmarkError.invalidSuites(source: source, "case '\(id)': \(problem)")
            }
        }
        for network in train {
            do {
                try network.validate()
            } catch let BenchmarkError.invalidCase(id, problem) {
                throw BenchmarkError.invalidSuites(source: source, "case '\(id)': \(problem)")
            }
        }
    }
}

extension BenchmarkSuites {
    /// Warm-up and run counts, and the sizes of the ceiling measurements.
    public struct Settings: Decodable, Sendable {
        public var warmup: PerMode
        public var runs: PerMode
        public var trainWarmup: PerMode
        public var trainRuns: PerMode
        /// Size of the buffer copied to measure bandwidth, in MiB.
        public var copyMib: PerDevice<Int>
        /// Square GEMM sizes whose best rate is the compute ceiling.
        public var ceilingGemm: PerDevice<[Int]>
    }

    /// A count for full runs and one for `--quick`.
    public struct PerMode: Decodable, Sendable {
        public var full: Int
        public var quick: Int

        public func value(quick isQuick: Bool) -> Int { isQuick ? quick : full }
    }

    /// A value for CPU devices, one for GPUs and one for `--quick` (any device).
    public struct PerDevice<Value: Decodable & Sendable>: Decodable, Sendable {
        public var cpu: Value
        public var gpu: Value
        public var quick: Value

        public func value(for device: DeviceClass, quick isQuick: Bool) -> Value {
            isQuick ? quick : (device == .gpu ? gpu : cpu)
        }
    }

    /// A 2-D convolution layer (square images and kernels).
    public struct Layer: Decodable, Sendable {
        public var inChannels: Int
        public var outChannels: Int
        public var size: Int
        public var kernel: Int
        public var stride: Int
        public var padding: Int

        enum CodingKeys: String, CodingKey {
            case inChannels = "in"
            case outChannels = "out"
            case size, kernel, stride, padding
        }

        public var outputSize: Int { (size + 2 * padding - kernel) / stride + 1 }
    }
}

/// Which sizes a device gets: CPUs run smaller batches than GPUs.
public enum DeviceClass: String, Sendable {
    case cpu, gpu
}

/// Which direction of an op a case times.
public enum BenchmarkPass: String, Decodable, Sendable {
    case forward, backward
    /// Convolution gradients: of the input, of the weight.
    case input, weight
    /// Whole networks: a training step, a forward in evaluation mode.
    case train, inference
}

/// One kernel case of `suites.json`; which fields it uses depends on `op`.
public struct KernelCase: Decodable, Sendable {
    public enum Op: String, Decodable, Sendable, CaseIterable {
        case gemm
        case convGemm = "conv_gemm"
        case conv2d, attention, aggregation
        case batchNorm = "batch_norm"
        case gridSample = "grid_sample"
        case sgd
    }

    public var id: String
    public var op: Op
    public var pass: BenchmarkPass?
    public var m: Int?
    public var n: Int?
    public var k: Int?
    public var layer: String?
    public var heads: Int?
    public var classes: Int?
    public var size: Int?
    public var sources: Int?
    public var channels: Int?
    public var count: Int?
    public var quickCount: Int?
    /// False leaves the case out of `--quick` runs.
    public var quick: Bool?

    /// The case's required fields, or an error naming the first one missing.
    func require(_ value: Int?, _ field: String) throws -> Int {
        guard let value else { throw BenchmarkError.invalidCase(id: id, "op \(op.rawValue) needs '\(field)'") }
        guard value > 0 else { throw BenchmarkError.invalidCase(id: id, "'\(field)' must be positive, not \(value)") }
        return value
    }

    func requirePass(_ allowed: [BenchmarkPass]) throws -> BenchmarkPass {
        guard let pass, allowed.contains(pass) else {
            throw BenchmarkError.invalidCase(
                id: id, "op \(op.rawValue) needs 'pass' to be one of \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return pass
    }

    func requireLayer(_ layers: [String: BenchmarkSuites.Layer]) throws -> BenchmarkSuites.Layer {
        guard let name = layer else { throw BenchmarkError.invalidCase(id: id, "op \(op.rawValue) needs 'layer'") }
        guard let found = layers[name] else {
            throw BenchmarkError.invalidCase(id: id, "unknown layer '\(name)' (known: \(layers.keys.sorted().joined(separator: ", ")))")
        }
        return found
    }

    func validate(layers: [String: BenchmarkSuites.Layer]) throws {
        switch op {
        case .gemm: _ = try (require(m, "m"), require(n, "n"), require(k, "k"))
        case .convGemm, .conv2d: _ = try (requireLayer(layers), requirePass([.forward, .input, .weight]))
        case .attention:
            _ = try (require(heads, "heads"), require(classes, "classes"), require(size, "size"), requirePass([.forward, .backward]))
        case .aggregation: _ = try (require(sources, "sources"), require(classes, "classes"), requirePass([.forward, .backward]))
        case .batchNorm, .gridSample: _ = try (require(channels, "channels"), require(size, "size"), requirePass([.forward, .backward]))
        case .sgd: _ = try (require(count, "count"), require(quickCount ?? count, "quick_count"))
        }
    }
}

/// A whole network: the attention network on a Wide ResNet, one training step or one
/// forward in evaluation mode on a batch of random images.
public struct TrainCase: Decodable, Sendable {
    public var id: String
    /// torchvision's constructor name (`resnet50`) for a ResNet trunk; absent for the Wide
    /// ResNet of `depth` and `width`.
    public var arch: String?
    public var depth: Int?
    public var width: Int?
    public var attentionDepth: Int
    public var attentionWidth: Int
    /// The trunk's taps the attention modules read (`layer3`, `layer4`); absent: the Wide
    /// ResNet's default, its `attention_depth` deepest.
    public var attentionAt: [String]?
    public var classes: Int
    public var size: Int
    public var pass: BenchmarkPass
    public var batch: BenchmarkSuites.PerDevice<Int>
    public var quick: Bool?

    /// A Wide ResNet case has `depth` and `width`, a ResNet case `arch` and neither.
    func validate() throws {
        switch (arch, depth, width) {
        case (nil, .some, .some), (.some, nil, nil): break
        default: throw BenchmarkError.invalidCase(id: id, "a network case has either 'arch' or both 'depth' and 'width'")
        }
    }
}

/// A benchmark definition or run that cannot go on, and why.
public enum BenchmarkError: Error, CustomStringConvertible, Equatable {
    case invalidSuites(source: String, String)
    case invalidCase(id: String, String)
    case noCases(String)

    public var description: String {
        switch self {
        case .invalidSuites(let source, let problem): "invalid benchmark suites in \(source): \(problem)"
        case .invalidCase(let id, let problem): "benchmark case '\(id)': \(problem)"
        case .noCases(let why): "no benchmark cases to run: \(why)"
        }
    }
}

extension DecodingError {
    /// Which key or value is wrong, with its path, in one line.
    var readable: String {
        func path(_ context: Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "the top level" : String(keys.dropFirst(keys.hasPrefix(".") ? 1 : 0))
        }
        switch self {
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(context.debugDescription) at \(path(context))"
        @unknown default: return "\(self)"
        }
    }
}
