import ArgumentParser
import HeedDevice
import HeedGraph
import HeedModels

/// The options that choose and shape a network (shared by train, predict, evaluate).
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Wide ResNet depth: 10, 16, 22, 28, 40, … ((depth − 4) divisible by 6).")
    var depth: Int = 10

    @Option(name: .long, help: "Wide ResNet widening factor k (group widths 16k, 32k, 64k).")
    var width: Int = 1

    @Option(name: .long, help: "Channel dropout inside each block, in [0, 1).")
    var dropout: Float = 0

    func configuration(classes: Int) -> WideResNetConfiguration {
        WideResNetConfiguration(depth: depth, width: width, classes: classes, dropout: dropout)
    }

    func build(classes: Int, on backend: any Backend, seed: UInt64) throws -> any ClassificationModel {
        try WideResNet(configuration(classes: classes), on: backend, seed: seed)
    }

    /// Stored in checkpoints so a model can be rebuilt from its file.
    func options(classes: Int) -> [String: String] {
        ["depth": String(depth), "width": String(width), "dropout": String(dropout), "classes": String(classes)]
    }
}

extension ClassificationModel {
    func describe() -> String {
        if let network = self as? WideResNet {
            let c = network.configuration
            return "WRN-\(c.depth)-\(c.width)"
        }
        return String(describing: type(of: self))
    }
}
