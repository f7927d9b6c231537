import Foundation
import HeedOps

/// Why a file's metadata gives no model configuration.
public enum ModelMetadataError: Error, Equatable, CustomStringConvertible {
    /// A value the network needs is neither recorded nor given (a legacy key: `width`, `attention_gate`, …).
    case missing(key: String)
    /// A recorded value that does not parse.
    case unreadable(key: String, detail: String)
    /// Values that parse but give no network Heed builds (a size over its limit); the
    /// detail names the field.
    case invalid(detail: String)
    /// A value given on the command line that differs from the one the file records
    /// (`recorded` is `none` where the file's network has no such part).
    case contradiction(key: String, given: String, recorded: String)

    public var description: String {
        switch self {
        case .missing(let key): "metadata '\(key)' is missing"
        case .unreadable(let key, let detail): "metadata '\(key)' is unreadable: \(detail)"
        case .invalid(let detail): "metadata gives an invalid model: \(detail)"
        case .contradiction(let key, let given, let recorded): "\(key) \(given) contradicts the recorded \(key) \(recorded)"
        }
    }
}

extension ModelConfiguration {
    /// The metadata key of the configuration's JSON form.
    public static let metadataKey = "heed.model"

    /// Values given on the command line: they supply what a file without Heed's
    /// metadata (a PyTorch `state_dict`) lacks, and must agree with what a file records.
    public struct Flags: Sendable {
        /// `wrn` or one of torchvision's constructor names (`ResNetConfiguration.names`).
        public var arch: String?
        public var depth: Int?
        public var width: Int?
        public var classes: Int?
        /// 0 for the baseline network.
        public var attentionDepth: Int?
        public var attentionWidth: Int?
        public var attentionGate: AggregationGate?

        public init(
            arch: String? = nil, depth: Int? = nil, width: Int? = nil, classes: Int? = nil, attentionDepth: Int? = nil,
            attentionWidth: Int? = nil, attentionGate: AggregationGate? = nil
        ) {
            self.arch = arch
            self.depth = depth
            self.width = width
            self.classes = classes
            self.attentionDepth = attentionDepth
            self.attentionWidth = attentionWidth
            self.attentionGate = attentionGate
        }

        /// Throws `contradiction` for the first given value that `configuration` does not have.
        func check(_ configuration: ModelConfiguration) throws {
            switch configuration.backbone {
            case .wideResNet(let trunk):
                try agree("arch", arch, "wrn")
                try agree("depth", depth, trunk.depth)
                try agree("width", width, trunk.width)
                try agree("classes", classes, trunk.classes)
            case .resNet(let trunk):
                try agree("arch", arch, trunk.arch)
                try agree("depth", depth, nil)
                try agree("width", width, nil)
                try agree("classes", classes, trunk.classes)
            }
            try agree("attention_depth", attentionDepth, configuration.attention?.depth ?? 0)
            try agree("attention_width", attentionWidth, configuration.attention?.width)
            try agree("attention_gate", attentionGate?.rawValue, configuration.attention?.gate.rawValue)
        }

        private func agree<T: Equatable>(_ key: String, _ given: T?, _ recorded: T?) throws {
            guard let given, given != recorded else { return }
            throw ModelMetadataError.contradiction(key: key, given: "\(given)", recorded: recorded.map { "\($0)" } ?? "none")
        }
    }

    /// The configuration as a file's metadata: its JSON under `metadataKey`.
    public func metadata() throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return [Self.metadataKey: String(decoding: try encoder.encode(self), as: UTF8.self)]
    }

    /// The configuration a file's metadata records: the JSON under `metadataKey`, else
    /// the separate keys `heed train` wrote before it (`depth`, `width`, `classes`,
    /// `dropout`, `attention_depth`, `attention_width`, `attention_gate`, `reg_weight`,
    /// `attention_init`, `coarse2fine`, `c2f_*`), with `flags` supplying the keys a file
    /// lacks. A file without `heed.model` is a Wide ResNet unless `flags.arch` names one of
    /// torchvision's ResNets (a plain torchvision `state_dict`: its classes from `flags`).
    /// A flag that differs from what the file records throws `contradiction`.
    public init(metadata: [String: String], flags: Flags = Flags()) throws {
        let configuration: ModelConfiguration
        if let json = metadata[Self.metadataKey] {
            do {
                configuration = try JSONDecoder().decode(ModelConfiguration.self, from: Data(json.utf8))
            } catch let error as DecodingError {
                throw ModelMetadataError.unreadable(key: Self.metadataKey, detail: error.summary)
            }
        } else {
            configuration = try ModelConfiguration(legacy: LegacyMetadata(entries: metadata, flags: flags))
        }
        try flags.check(configuration)
        do {
            try configuration.validate()
        } catch let error as HeedError {
            throw ModelMetadataError.invalid(detail: error.description)
        }
        self = configuration
    }

    private init(legacy metadata: LegacyMetadata) throws {
        if let arch = metadata.flags.arch, arch != "wrn" {
            self.init(backbone: .resNet(ResNetConfiguration(arch: arch, classes: try metadata.value("classes", given: \.classes))))
        } else {
            let trunk = WideResNetConfiguration(
                depth: try metadata.value("depth", given: \.depth), width: try metadata.value("width", given: \.width),
                classes: try metadata.value("classes", given: \.classes),
                dropout: try metadata.value("dropout", default: 0))
            self.init(backbone: .wideResNet(trunk))
        }
        let attentionDepth = try metadata.value("attention_depth", given: \.attentionDepth, default: 0)
        guard attentionDepth > 0 else { return }
        var attention = AttentionConfiguration(
            depth: attentionDepth, width: try metadata.value("attention_width", given: \.attentionWidth),
            gate: try metadata.value("attention_gate", given: \.attentionGate, parse: AggregationGate.init(rawValue:)))
        attention.regularizerWeight = try metadata.value("reg_weight", default: attention.regularizerWeight)
        attention.orthogonalInitialization = try metadata.value("attention_init", default: attention.orthogonalInitialization) {
            ["kaiming": false, "orthogonal": true][$0]
        }
        self.attention = attention
        guard metadata.entries["coarse2fine"] == "1" else { return }
        var coarse2fine = Coarse2FineConfiguration()
        coarse2fine.fineStartEpoch = try metadata.value("c2f_start_epoch", default: coarse2fine.fineStartEpoch)
        coarse2fine.fineWeight = try metadata.value("c2f_fine_weight", default: coarse2fine.fineWeight)
        coarse2fine.minimumScale = try metadata.value("c2f_min_scale", default: coarse2fine.minimumScale)
        coarse2fine.fineGradient = try metadata.value("c2f_fine_gradient", default: coarse2fine.fineGradient) {
            ["0": false, "1": true][$0]
        }
        self.coarse2fine = coarse2fine
    }

    /// Each coded field by its dotted path (`backbone.depth`, `attention.gate`) with its
    /// JSON value: what two configurations differ in, for messages.
    public func codedFields() throws -> [String: String] {
        func flatten(_ value: Any, _ path: String, into fields: inout [String: String]) throws {
            if let object = value as? [String: Any] {
                for (key, child) in object { try flatten(child, path.isEmpty ? key : "\(path).\(key)", into: &fields) }
            } else {
                fields[path] = String(
                    decoding: try JSONSerialization.data(withJSONObject: value, options: .fragmentsAllowed), as: UTF8.self)
            }
        }
        var fields: [String: String] = [:]
        try flatten(JSONSerialization.jsonObject(with: JSONEncoder().encode(self)), "", into: &fields)
        return fields
    }
}

/// The separate metadata keys of files written before `heed.model`, and of PyTorch
/// files that follow them (Tests/Fixtures/models).
private struct LegacyMetadata {
    let entries: [String: String]
    let flags: ModelConfiguration.Flags

    /// The file's value, else the command line's, else `fallback`.
    func value<T>(
        _ key: String, given flag: KeyPath<ModelConfiguration.Flags, T?>? = nil, default fallback: T? = nil,
        parse: (String) -> T?
    ) throws -> T {
        guard let text = entries[key] else {
            if let flag, let value = flags[keyPath: flag] { return value }
            guard let fallback else { throw ModelMetadataError.missing(key: key) }
            return fallback
        }
        guard let value = parse(text) else { throw ModelMetadataError.unreadable(key: key, detail: "'\(text)'") }
        return value
    }

    func value<T: LosslessStringConvertible>(
        _ key: String, given flag: KeyPath<ModelConfiguration.Flags, T?>? = nil,
        default fallback: T? = nil
    ) throws -> T {
        try value(key, given: flag, default: fallback, parse: T.init)
    }
}

extension DecodingError {
    /// One line: where in the JSON, and what was wrong.
    fileprivate var summary: String {
        let context: Context
        switch self {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): context = c
        @unknown default: return "not a model configuration"
        }
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return (path.isEmpty ? "" : "at '\(path)': ") + context.debugDescription
    }
}
