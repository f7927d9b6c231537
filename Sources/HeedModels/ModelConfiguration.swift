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
        /// One of torchvision's ResNets, ResNeXts and Wide ResNet-50/101-2 (docs/design.md §9).
        case resNet(ResNetConfiguration)

        /// Coded flat, the trunk's fields beside a `kind` naming the backbone, so that
        /// other backbones can join without changing the form of this one.
        private enum Kind: String, Codable {
            case wideResNet
            case resNet
        }

        private enum CodingKeys: String, CodingKey {
            case kind
        }

        public init(from decoder: any Decoder) throws {
            switch try decoder.container(keyedBy: CodingKeys.self).decode(Kind.self, forKey: .kind) {
            case .wideResNet: self = .wideResNet(try WideResNetConfiguration(from: decoder))
            case .resNet: self = .resNet(try ResNetConfiguration(from: decoder))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .wideResNet(let trunk):
                try container.encode(Kind.wideResNet, forKey: .kind)
                try trunk.encode(to: encoder)
            case .resNet(let trunk):
                try container.encode(Kind.resNet, forKey: .kind)
                try trunk.encode(to: encoder)
            }
        }

        /// The maps attention modules may read, shallowest first (`FeatureTap`).
        public var taps: [FeatureTap] {
            switch self {
            case .wideResNet(let trunk): trunk.taps
            case .resNet(let trunk): trunk.taps
            }
        }

        /// `WRN-28-10`, or torchvision's constructor name.
        public var name: String {
            switch self {
            case .wideResNet(let trunk): "WRN-\(trunk.depth)-\(trunk.width)"
            case .resNet(let trunk): trunk.arch
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
        case .resNet(let trunk): trunk.classes
        }
    }

    /// The most convolution and linear weights a network may have: 2^31, 8 GiB of
    /// float32 before gradients and momentum, far above any network the paper trains.
    public static let maximumWeights = 1 << 31

    /// Checks each part's fields and the parts against each other, and the weight
    /// count against `maximumWeights`, before anything is built.
    public func validate() throws {
        switch backbone {
        case .wideResNet(let trunk): try trunk.validate()
        case .resNet(let trunk): try trunk.validate()
        }
        try attention?.validate()
        if let attention { _ = try attention.resolvedTaps(backbone.taps, backbone: backbone.name) }
        try coarse2fine?.validate()
        if coarse2fine != nil && attention == nil {
            throw HeedError.invalidArgument(op: "coarse2fine", "needs attention modules: attention depth 1, 2 or 3")
        }
        if coarse2fine != nil, case .resNet = backbone {
            throw HeedError.invalidArgument(
                op: "coarse2fine", "is built for the Wide ResNet backbone only (--arch wrn), not \(backbone.name)")
        }
        if coarse2fine != nil && attention?.taps != nil {
            throw HeedError.invalidArgument(op: "coarse2fine", "needs the default taps (--attention-depth), not --attention-at")
        }
        guard let weights = weightCount, weights <= Self.maximumWeights else {
            throw HeedError.invalidArgument(
                op: "model", "\(self) has more than \(Self.maximumWeights) weights (depth, width, classes or attention width too large)")
        }
    }

    /// The weights of the network's convolutions and linear layers (its parameters
    /// less the biases and batch-norm scales), or nil when the count overflows `Int`.
    public var weightCount: Int? {
        var total = 0
        func add(_ factors: Int...) -> Bool {
            var product = 1
            for factor in factors {
                let (next, overflow) = product.multipliedReportingOverflow(by: factor)
                guard !overflow else { return false }
                product = next
            }
            let (sum, overflow) = total.addingReportingOverflow(product)
            total = sum
            return !overflow
        }
        switch backbone {
        case .wideResNet(let trunk):
            let widths = [16] + trunk.groupWidths
            guard add(trunk.inputChannels, 16, 9), add(widths[3], trunk.classes) else { return nil }
            for group in 1...3 {
                let (ni, no) = (widths[group - 1], widths[group])
                // Block 0 changes the width (with a 1×1 shortcut); the others keep it.
                guard add(ni, no, 9), add(no, no, 9), ni == no || add(ni, no), add(trunk.blocksPerGroup - 1, 2, no, no, 9) else {
                    return nil
                }
            }
        case .resNet(let trunk):
            guard let weights = trunk.weightCount, add(weights) else { return nil }
        }
        if let attention {
            guard let taps = try? attention.resolvedTaps(backbone.taps, backbone: backbone.name) else { return nil }
            for tap in taps {
                guard add(tap.channels, 9, attention.width, classes + 2) else { return nil }
            }
            guard let final = backbone.taps.last?.channels, add(final, attention.depth + 1) else { return nil }
        }
        if case .wideResNet(let trunk) = backbone, coarse2fine != nil, !add(trunk.groupWidths[2], 3) { return nil }
        return total
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
    /// `WRN-28-10` or `WRN-28-10 + attention (AD 3, AW 4, softmax gate) + Coarse2Fine`;
    /// `resnet50 + attention (at layer3, layer4, AW 4, softmax gate)`.
    public var description: String {
        var text = backbone.name
        if let attention {
            let placement = attention.taps.map { "at \($0.joined(separator: ", "))" } ?? "AD \(attention.depth)"
            text += " + attention (\(placement), AW \(attention.width), \(attention.gate.rawValue) gate)"
        }
        if coarse2fine != nil { text += " + Coarse2Fine" }
        return text
    }
}
