import HeedOps

/// Everything that shapes a network: its backbone, the attention modules on it and the
/// Coarse2Fine zoom. `heed train` stores it in its files (`metadata()`), every command
/// that loads a model reads it back (`init(metadata:flags:)`), and `makeModel` is
/// the one place a network is built from it.
///
/// ```swift
/// let configuration = ModelConfiguration(
///     backbone: .wideResNet(WideResNetConfiguration(depth: 28, width: 10, classes: 100)),
///     attention: AttentionConfiguration(depth: 3, width: 4))
/// let network = try configuration.makeModel(on: backend, seed: 1)
/// ```
public struct ModelConfiguration: Codable, Sendable, Equatable {
    /// The convolutional trunk and its classifier.
    public enum Backbone: Codable, Sendable, Equatable {
        /// A Wide ResNet as the attention paper's reference code builds it (docs/design.md §3).
        case wideResNet(WideResNetConfiguration)

        /// Coded flat, the trunk's fields beside a `kind` naming the backbone, so that
        /// other backbones can join without changing the form of this one.
        private enum Kind: String, Codable {
            case wideResNet
        }

        private enum CodingKeys: String, CodingKey {
            case kind
        }

        public init(from decoder: any Decoder) throws {
            switch try decoder.container(keyedBy: CodingKeys.self).decode(Kind.self, forKey: .kind) {
            case .wideResNet: self = .wideResNet(try WideResNetConfiguration(from: decoder))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .wideResNet(let trunk):
                try container.encode(Kind.wideResNet, forKey: .kind)
                try trunk.encode(to: encoder)
            }
        }
    }

    public var backbone: Backbone
    /// The attention modules and output gate (docs/design.md §4); nil for the baseline network.
    public var attention: AttentionConfiguration?
    /// The Coarse2Fine zoom and fine view (docs/design.md §5); needs `attention`.
    public var coarse2fine: Coarse2FineConfiguration?

    public init(backbone: Backbone, attention: AttentionConfiguration? = nil, coarse2fine: Coarse2FineConfiguration? = nil) {
        self.backbone = backbone
        self.attention = attention
        self.coarse2fine = coarse2fine
    }

    /// The number of classes the network tells apart.
    public var classes: Int {
        switch backbone {
        case .wideResNet(let trunk): trunk.classes
        }
    }

    /// Checks the parts against each other; each part checks its own fields when built.
    public func validate() throws {
        if coarse2fine != nil && attention == nil {
            throw HeedError.invalidArgument(op: "coarse2fine", "needs attention modules: attention depth 1, 2 or 3")
        }
    }

    /// The network this configuration describes, freshly initialised.
    ///
    /// - Parameters:
    ///   - backend: where its tensors live.
    ///   - seed: every initial weight and dropout mask follows from it.
    public func makeModel(on backend: any Backend, seed: UInt64) throws -> Network {
        try Network(self, on: backend, seed: seed)
    }
}

extension ModelConfiguration: CustomStringConvertible {
    /// `WRN-28-10` or `WRN-28-10 + attention (AD 3, AW 4, softmax gate) + Coarse2Fine`.
    public var description: String {
        var text: String
        switch backbone {
        case .wideResNet(let trunk): text = "WRN-\(trunk.depth)-\(trunk.width)"
        }
        if let attention { text += " + attention (AD \(attention.depth), AW \(attention.width), \(attention.gate.rawValue) gate)" }
        if coarse2fine != nil { text += " + Coarse2Fine" }
        return text
    }
}
