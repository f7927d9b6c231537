import HeedGraph
import HeedOps

/// A network Heed trains: a trunk (a Wide ResNet or one of torchvision's ResNets), with
/// attention modules (docs/design.md §4) on its taps when its configuration has them, and
/// the Coarse2Fine zoom (§5, Wide ResNet only) on top of those.
///
/// The parts are flattened into one namespace, so the tensors carry the names of the
/// reference's single PyTorch module: `conv0.weight`, `group_1.block_0.conv_reduce.weight`,
/// `bn_g2.*`, `att2.att_head.conv.weight`, `output_gate.gates.weight`, `inverse_mapping.*`
/// (torchvision's `conv1.weight`, `layer1.0.bn1.*`, `fc.weight` beside `att4.*`).
/// Built by `ModelConfiguration.makeModel(on:seed:)`.
public final class Network: Module, ClassificationModel {
    public let configuration: ModelConfiguration
    public let trunk: any Trunk
    public let attention: AttentionHeads?
    public let coarse2fine: Coarse2FineZoom?

    init(_ configuration: ModelConfiguration, on backend: any Backend, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        let trunk: any Trunk
        switch configuration.backbone {
        case .wideResNet(let trunkConfiguration):
            trunk = try WideResNet(trunkConfiguration, attentionStem: configuration.attention != nil, on: backend, seed: seed)
        case .resNet(let trunkConfiguration):
            trunk = try ResNet(trunkConfiguration, on: backend, seed: seed)
        }
        self.trunk = trunk
        attention = try configuration.attention.map {
            try AttentionHeads(
                $0, taps: $0.resolvedTaps(trunk.taps, backbone: configuration.backbone.name), finalChannels: trunk.finalChannels,
                classes: configuration.classes, on: backend, seed: seed)
        }
        coarse2fine = try configuration.coarse2fine.map {
            try Coarse2FineZoom($0, finalChannels: trunk.finalChannels, on: backend, seed: seed)
        }
        super.init()
        // PyTorch's order: the trunk, then the attention modules and gate, then the zoom.
        register(flattened: trunk)
        if let attention { register(flattened: attention) }
        if let coarse2fine { register(flattened: coarse2fine) }
    }

    /// The attention network's output and everything behind it, for images (B, C, H, W).
    /// Needs attention modules.
    public func analyse(_ images: Tensor) throws -> AttentionHeads.Analysis {
        let attention = try requireAttention("analyse")
        return try attention.analyse(trunk.features(images, taps: Set(attention.taps.map(\.name))), classifier: trunk.classifier)
    }

    /// Both views of a batch of images (B, C, H, W). Needs the Coarse2Fine zoom.
    public func views(_ images: Tensor) throws -> Coarse2FineZoom.Views {
        guard let coarse2fine else {
            throw HeedError.invalidArgument(op: "views", "the network has no Coarse2Fine zoom")
        }
        let coarse = try analyse(images)
        var theta = try coarse2fine.zoom(coarse)
        if !coarse2fine.configuration.fineGradient { theta = theta.detached() }
        let zoomed = try images.gridSample(theta.affineGrid(height: images.shape[2], width: images.shape[3]))
        let fine = try analyse(zoomed)
        return Coarse2FineZoom.Views(
            coarse: coarse, theta: theta, zoomed: zoomed, fine: fine,
            output: try coarse.output.adding(fine.output).scaled(by: 0.5))
    }

    /// The prediction of early exit: the mean of the log-softmax outputs of the modules
    /// before the last group (att1 and att0), computing the trunk only up to their
    /// inputs. Needs a Wide ResNet with attention depth 2 or 3 at its default taps.
    public func earlyExitLogProbabilities(_ images: Tensor) throws -> Tensor {
        let (trunk, attention) = try requireEarlyExit()
        let (u1, u2) = try trunk.featuresBeforeLastGroup(images)
        return try attention.earlyExitLogProbabilities(group1Input: u1, group2Input: u2)
    }

    /// The share of the full network's convolution work that early exit skips, for
    /// images of `height × width` (each module counted at its input's size); for
    /// what `earlyExitLogProbabilities(_:)` accepts.
    public func earlyExitSavings(height: Int, width: Int) throws -> Double {
        let (trunk, attention) = try requireEarlyExit()
        let trunkFlops = trunk.trunkFlops(height: height, width: width)
        let moduleFlops = attention.moduleFlops(height: height, width: width)
        let full = trunkFlops.early + trunkFlops.lastGroup + moduleFlops.reduce(0, +)
        let early = trunkFlops.early + moduleFlops.dropFirst().reduce(0, +)
        return 1 - Double(early) / Double(full)
    }

    /// Floating-point operations (2 per multiply-add) of the convolutions and linear
    /// layers of one forward pass of one view per image of `height × width`: trunk,
    /// classifier, attention heads and the output gate's linear layer.
    public func forwardFlops(height: Int, width: Int) -> Int {
        let attentionFlops = attention.map {
            $0.moduleFlops(height: height, width: width).reduce(0, +) + 2 * $0.outputGate.gates.weight.count
        }
        return trunk.forwardFlops(height: height, width: width) + (attentionFlops ?? 0)
    }

    /// Whether `earlyExitLogProbabilities(_:)` applies: a Wide ResNet with modules before its last group.
    public var hasEarlyExit: Bool {
        trunk is WideResNet && (attention?.modules.count ?? 0) >= 2 && attention?.configuration.taps == nil
    }

    /// Early exit reads u of group_2.block_0 and group_1.block_0 where att1 and att0 sit
    /// by default: a Wide ResNet whose modules are on its default taps.
    private func requireEarlyExit() throws -> (WideResNet, AttentionHeads) {
        let attention = try requireAttention("early exit")
        guard let trunk = trunk as? WideResNet, attention.configuration.taps == nil else {
            throw HeedError.invalidArgument(
                op: "early exit",
                "is built for the Wide ResNet with its default taps only (--arch wrn, --attention-depth), not \(configuration)")
        }
        return (trunk, attention)
    }

    private func requireAttention(_ op: String) throws -> AttentionHeads {
        guard let attention else {
            throw HeedError.invalidArgument(op: op, "the baseline network (attention depth 0) has no attention modules")
        }
        return attention
    }

    // MARK: ClassificationModel

    public var classCount: Int { configuration.classes }

    /// The baseline's NLL of the log-softmax of the logits; with attention, the NLL of the
    /// gated mixture plus the mean over modules of reg_w·R (docs/design.md §4); with Coarse2Fine
    /// once the fine stage is on, NLL(coarse) + λ·NLL(fine) + the coarse view's regulariser.
    public func trainingLoss(images: Tensor, labels: any DeviceBuffer) throws -> (loss: Tensor, logProbabilities: Tensor) {
        guard let attention else {
            let logp = try trunk.logits(images).logSoftmax()
            return (try logp.nllLoss(labels: labels), logp)
        }
        guard let coarse2fine, coarse2fine.fineStageActive else {
            let analysis = try analyse(images)
            return (try analysis.output.nllLoss(labels: labels).adding(attention.regularizer(analysis)), analysis.output)
        }
        let views = try views(images)
        let coarseLoss = try views.coarse.output.nllLoss(labels: labels).adding(attention.regularizer(views.coarse))
        let fineLoss = try views.fine.output.nllLoss(labels: labels).scaled(by: coarse2fine.configuration.fineWeight)
        return (try coarseLoss.adding(fineLoss), views.output)
    }

    /// The log-softmax of the logits, the gated mixture, or the mean of both views' mixtures.
    public func logProbabilities(images: Tensor) throws -> Tensor {
        if coarse2fine != nil { return try views(images).output }
        if attention != nil { return try analyse(images).output }
        return try trunk.logits(images).logSoftmax()
    }

    public func startEpoch(_ epoch: Int) {
        coarse2fine?.startEpoch(epoch)
    }
}
