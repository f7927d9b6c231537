import HeedGraph
import HeedOps

/// A feature map of a trunk that an attention module may read (docs/design.md §4, §9):
/// always after batch norm and ReLU, never a raw residual sum.
public struct FeatureTap: Sendable, Equatable {
    /// What `--attention-at` calls it: `layer3` (ResNet), `final` (Wide ResNet).
    public let name: String
    /// The stage it belongs to; the module on it is named `att{index}` (the Wide ResNet's
    /// `att2`, `att1`, `att0`; ResNet's `att3` on `layer3`).
    public let index: Int
    public let channels: Int
    /// How many input pixels one step of the map spans along each side (1, 2, 4, ...).
    public let scale: Int

    public init(name: String, index: Int, channels: Int, scale: Int) {
        self.name = name
        self.index = index
        self.channels = channels
        self.scale = scale
    }

    /// The taps `names` (tap names, or stage indices written as numbers) name among
    /// `available`, deepest first (the order the attention network stacks its sources in),
    /// or an error naming the first unknown or repeated one and listing the valid names.
    public static func select(_ names: [String], from available: [FeatureTap], backbone: String) throws -> [FeatureTap] {
        var chosen: [FeatureTap] = []
        for name in names {
            guard let tap = available.first(where: { $0.name == name || String($0.index) == name }) else {
                let valid = available.map { "\($0.name) (\($0.index))" }.joined(separator: ", ")
                throw HeedError.invalidArgument(op: "attention", "\(backbone) has no tap '\(name)'; valid taps: \(valid)")
            }
            guard !chosen.contains(tap) else {
                throw HeedError.invalidArgument(op: "attention", "tap '\(tap.name)' is named twice")
            }
            chosen.append(tap)
        }
        return chosen.sorted { $0.index > $1.index }
    }
}

/// What a trunk computed for a batch: its final features before pooling (what the
/// classifier and the output gate read after global average pooling) and the maps of
/// the taps asked for, by name.
public struct TrunkFeatures {
    public let final: Tensor
    public let taps: [String: Tensor]
}

/// A convolutional trunk with its classifier, as `Network` holds it: the Wide ResNet
/// (docs/design.md §3) or torchvision's ResNet family (§9).
public protocol Trunk: Module {
    /// Every map an attention module may read, shallowest first.
    var taps: [FeatureTap] { get }
    /// The channels of the final features, which the classifier and output gate read pooled.
    var finalChannels: Int { get }
    var classifier: Linear { get }

    /// The final features and the maps of the taps named in `taps`, of images (N, C, H, W).
    /// Maps not asked for are freed as soon as the next stage has read them.
    func features(_ images: Tensor, taps: Set<String>) throws -> TrunkFeatures

    /// Floating-point operations (2 per multiply-add) of the trunk's convolutions and
    /// classifier per image of `height × width`.
    func forwardFlops(height: Int, width: Int) -> Int
}

extension Trunk {
    /// Logits (N, classes) of images (N, C, H, W).
    public func logits(_ images: Tensor) throws -> Tensor {
        try classifier(features(images, taps: []).final.globalAveragePool())
    }
}
