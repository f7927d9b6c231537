import ArgumentParser
import HeedDevice
import HeedGraph
import HeedModels

extension AggregationGate: ExpressibleByArgument {}

/// The options that choose and shape a network (shared by train, predict, evaluate).
struct ModelOptions: ParsableArguments {
    enum AttentionInitialization: String, ExpressibleByArgument, CaseIterable {
        case kaiming, orthogonal
    }

    @Option(name: .long, help: "Wide ResNet depth: 10, 16, 22, 28, 40, … ((depth − 4) divisible by 6).")
    var depth: Int = 10

    @Option(name: .long, help: "Wide ResNet widening factor k (group widths 16k, 32k, 64k).")
    var width: Int = 1

    @Option(name: .long, help: "Channel dropout inside each block, in [0, 1).")
    var dropout: Float = 0

    @Option(name: .long, help: "Attention modules after groups 2, 1, 0: 0 (the baseline network) to 3.")
    var attentionDepth: Int = 0

    @Option(name: .long, help: "Attention heads per module.")
    var attentionWidth: Int = 4

    @Option(name: .long, help: "How the output gate mixes the modules and the classifier: softmax or sigmoid.")
    var attentionGate: AggregationGate = .softmax

    @Option(name: .long, help: "Weight of the head-separation regulariser.")
    var regWeight: Float = 0.001

    @Option(name: .long, help: "Initialisation of the attention-head weights: kaiming or orthogonal (rows orthonormal, scaled like Kaiming).")
    var attentionInit: AttentionInitialization = .kaiming

    func validate() throws {
        guard (0...3).contains(attentionDepth) else { throw ValidationError("--attention-depth must be 0, 1, 2 or 3") }
        guard attentionWidth >= 1 else { throw ValidationError("--attention-width must be at least 1") }
        guard regWeight >= 0 else { throw ValidationError("--reg-weight must be 0 or more") }
    }

    func configuration(classes: Int) -> WideResNetConfiguration {
        WideResNetConfiguration(depth: depth, width: width, classes: classes, dropout: dropout)
    }

    var attention: AttentionConfiguration? {
        guard attentionDepth > 0 else { return nil }
        return AttentionConfiguration(depth: attentionDepth, width: attentionWidth, gate: attentionGate,
                                      regularizerWeight: regWeight, orthogonalInitialization: attentionInit == .orthogonal)
    }

    func build(classes: Int, on backend: any Backend, seed: UInt64) throws -> WideResNet {
        if let attention {
            return try AttentionNetwork(configuration(classes: classes), attention: attention, on: backend, seed: seed)
        }
        return try WideResNet(configuration(classes: classes), on: backend, seed: seed)
    }

    /// Stored in checkpoints so a model can be rebuilt from its file.
    func options(classes: Int) -> [String: String] {
        var options = ["depth": String(depth), "width": String(width), "dropout": String(dropout), "classes": String(classes),
                       "attention_depth": String(attentionDepth)]
        if attentionDepth > 0 {
            options["attention_width"] = String(attentionWidth)
            options["attention_gate"] = attentionGate.rawValue
            options["reg_weight"] = String(regWeight)
            options["attention_init"] = attentionInit.rawValue
        }
        return options
    }
}

extension WideResNet {
    /// `WRN-28-10` or `WRN-28-10 + attention (AD 3, AW 4, softmax gate)`.
    var summary: String {
        let name = "WRN-\(configuration.depth)-\(configuration.width)"
        guard let network = self as? AttentionNetwork else { return name }
        let a = network.attention
        return "\(name) + attention (AD \(a.depth), AW \(a.width), \(a.gate.rawValue) gate)"
    }
}
