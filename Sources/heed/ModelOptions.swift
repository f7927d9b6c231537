import ArgumentParser
import Foundation
import HeedModels
import HeedOps

extension AggregationGate: ExpressibleByArgument {}

/// The options that choose and shape a network to train.
struct ModelOptions: ParsableArguments {
    enum AttentionInitialization: String, ExpressibleByArgument, CaseIterable {
        case kaiming, orthogonal
    }

    @Option(
        name: .long,
        help: """
            The backbone: wrn (the Wide ResNet of --depth and --width) or a torchvision constructor name: \
            \(ResNetConfiguration.names.joined(separator: ", ")).
            """)
    var arch: String = "wrn"

    // Optional, with their defaults applied below, so that giving one with a torchvision
    // --arch (which has no such knob) is an error instead of being ignored.
    @Option(name: .long, help: "Wide ResNet depth: 10, 16, 22, 28, 40, ... ((depth - 4) divisible by 6). Default 10.")
    var depth: Int?

    @Option(name: .long, help: "Wide ResNet widening factor k (group widths 16k, 32k, 64k). Default 1.")
    var width: Int?

    @Option(name: .long, help: "Wide ResNet: channel dropout inside each block, in [0, 1). Default 0.")
    var dropout: Float?

    @Option(name: .long, help: "Attention modules after groups 2, 1, 0: 0 (the baseline network) to 3 (default 0; 3 with --coarse2fine).")
    var attentionDepth: Int?

    @Option(
        name: .long,
        help: """
            Attention modules at these taps of the backbone, comma-separated names or stage indices \
            (resnet: layer1 ... layer4 or 1 ... 4; wrn: group1_input, group2_input, final or 0, 1, 2); \
            instead of --attention-depth.
            """)
    var attentionAt: String?

    @Option(name: .long, help: "Attention heads per module.")
    var attentionWidth: Int = 4

    @Option(name: .long, help: "How the output gate mixes the modules and the classifier: softmax or sigmoid.")
    var attentionGate: AggregationGate = .softmax

    @Option(name: .long, help: "Weight of the head-separation regulariser.")
    var regWeight: Float = 0.001

    @Option(
        name: .long,
        help:
            "Initialisation of the attention-head weights: kaiming or orthogonal (rows orthonormal, scaled like Kaiming); default kaiming, orthogonal with --coarse2fine."
    )
    var attentionInit: AttentionInitialization?

    @Flag(name: .long, help: "Coarse2Fine: also classify a learned, differentiable zoom of each image (see docs/coarse2fine.md).")
    var coarse2fine = false

    @Option(name: .customLong("c2f-start-epoch"), help: "Coarse2Fine: epochs of the coarse stage alone before the fine view joins.")
    var fineStartEpoch: Int = 1

    @Option(name: .customLong("c2f-fine-weight"), help: "Coarse2Fine: λ, the weight of the fine view's loss.")
    var fineWeight: Float = 1

    @Option(name: .customLong("c2f-min-scale"), help: "Coarse2Fine: the smallest zoom scale s_min, in (0, 1).")
    var minimumScale: Float = 0.4

    @Flag(
        name: .customLong("no-orthogonal-init"), help: "Coarse2Fine: Kaiming instead of orthogonal initialisation of the attention heads.")
    var noOrthogonalInit = false

    @Flag(name: .customLong("no-fine-gradient"), help: "Coarse2Fine: the fine loss does not flow back through the zoom.")
    var noFineGradient = false

    /// The attention depth in effect.
    var resolvedAttentionDepth: Int { attentionTapNames?.count ?? attentionDepth ?? (coarse2fine ? 3 : 0) }

    /// The names given to --attention-at, as typed.
    private var attentionTapNames: [String]? {
        attentionAt.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    /// The backbone --arch names, for `classes` classes.
    private func backbone(classes: Int) -> ModelConfiguration.Backbone {
        guard arch != "wrn" else {
            return .wideResNet(WideResNetConfiguration(depth: depth ?? 10, width: width ?? 1, classes: classes, dropout: dropout ?? 0))
        }
        return .resNet(ResNetConfiguration(arch: arch, classes: classes))
    }

    /// --attention-at's taps by name, deepest first (stage indices turned into names).
    private func attentionTaps(on backbone: ModelConfiguration.Backbone) throws -> [String]? {
        try attentionTapNames.map { try FeatureTap.select($0, from: backbone.taps, backbone: backbone.name).map(\.name) }
    }

    var orthogonalInitialization: Bool {
        if let attentionInit { return attentionInit == .orthogonal }
        return coarse2fine && !noOrthogonalInit
    }

    func validate() throws {
        guard arch == "wrn" || ResNetConfiguration.architectures[arch] != nil else {
            throw OptionError("unknown --arch '\(arch)'; valid: wrn, \(ResNetConfiguration.names.joined(separator: ", "))")
        }
        if attentionAt != nil {
            if attentionDepth != nil { throw OptionError("--attention-at and --attention-depth contradict each other: give one") }
            do {
                _ = try attentionTaps(on: backbone(classes: 2))
            } catch HeedError.invalidArgument(_, let detail) {
                throw OptionError("--attention-at: \(detail)")
            }
        }
        if arch != "wrn" {
            let given = [("--depth", depth != nil), ("--width", width != nil), ("--dropout", dropout != nil)].filter(\.1).map(\.0)
            if !given.isEmpty {
                throw OptionError(
                    "\(given.joined(separator: ", ")) set\(given.count == 1 ? "s" : "") the Wide ResNet (--arch wrn), not \(arch)")
            }
        }
        if arch != "wrn" && coarse2fine {
            throw OptionError("--coarse2fine is built for --arch wrn only, not \(arch)")
        }
        let taps = backbone(classes: 2).taps.count
        guard (0...min(3, taps)).contains(resolvedAttentionDepth) || attentionAt != nil else {
            throw ValidationError("--attention-depth must be 0, 1, 2 or 3")
        }
        if coarse2fine && resolvedAttentionDepth == 0 {
            throw ValidationError("--coarse2fine needs attention modules: --attention-depth 1, 2 or 3")
        }
        if !coarse2fine && (noFineGradient || noOrthogonalInit) {
            throw ValidationError("--no-fine-gradient and --no-orthogonal-init apply to --coarse2fine runs only")
        }
        if noOrthogonalInit && attentionInit == .orthogonal {
            throw ValidationError("--no-orthogonal-init contradicts --attention-init orthogonal")
        }
        try OptionError.require("--attention-width", attentionWidth, in: 1...64)
        try OptionError.require(regWeight.isFinite && regWeight >= 0, "--reg-weight must be a finite number, 0 or more, not \(regWeight)")
        if let dropout { try OptionError.require((0..<1).contains(dropout), "--dropout must be in [0, 1), not \(dropout)") }
        try OptionError.require(
            fineWeight.isFinite && fineWeight >= 0, "--c2f-fine-weight must be a finite number, 0 or more, not \(fineWeight)")
        try OptionError.require(minimumScale > 0 && minimumScale < 1, "--c2f-min-scale must be in (0, 1), not \(minimumScale)")
        try OptionError.require("--c2f-start-epoch", fineStartEpoch, in: 0...1_000_000)
    }

    /// The network these flags describe, for a task of `classes` classes.
    func configuration(classes: Int) -> ModelConfiguration {
        var configuration = ModelConfiguration(backbone: backbone(classes: classes))
        if resolvedAttentionDepth > 0 {
            configuration.attention = AttentionConfiguration(
                depth: resolvedAttentionDepth, width: attentionWidth, gate: attentionGate,
                regularizerWeight: regWeight, orthogonalInitialization: orthogonalInitialization,
                // validate() has resolved the names already.
                taps: (try? attentionTaps(on: configuration.backbone)) ?? attentionTapNames)
        }
        if coarse2fine {
            configuration.coarse2fine = Coarse2FineConfiguration(
                fineStartEpoch: fineStartEpoch, fineWeight: fineWeight,
                minimumScale: minimumScale, fineGradient: !noFineGradient)
        }
        return configuration
    }
}
