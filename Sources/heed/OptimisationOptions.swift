import ArgumentParser
import HeedGraph

/// The SGD recipe.
struct OptimisationOptions: ParsableArguments {
    @Option(name: .long, help: "Epochs to train.")
    var epochs: Int = 4

    @Option(name: .customLong("lr"), help: "Base learning rate.")
    var learningRate: Float = 0.1

    @Option(name: .long, help: "SGD momentum.")
    var momentum: Float = 0.9

    @Option(name: .long, help: "Weight decay (L2 on every parameter, as torch.optim.SGD).")
    var weightDecay: Float = 5e-4

    @Flag(inversion: .prefixedNo, help: "Nesterov momentum.")
    var nesterov = true

    @Option(
        name: .long, help: "Learning-rate schedule: cosine, constant, or multistep:EPOCHS:FACTOR (the reference: multistep:60,120,160:0.2)."
    )
    var schedule: String = "cosine"

    func validate() throws {
        try OptionError.require("--epochs", epochs, in: 1...1_000_000)
        try OptionError.require(learningRate.isFinite && learningRate > 0, "--lr must be a finite number above 0, not \(learningRate)")
        try OptionError.require((0..<1).contains(momentum), "--momentum must be in [0, 1), not \(momentum)")
        try OptionError.require(
            weightDecay.isFinite && weightDecay >= 0, "--weight-decay must be a finite number, 0 or more, not \(weightDecay)")
        // Cosine and constant rates never exceed --lr; a multistep rate changes only at its milestones.
        if case .multiStep(let milestones, let factor) = try learningRateSchedule() {
            try OptionError.require(factor.isFinite && factor > 0, "--schedule \(schedule): the factor must be a finite number above 0")
            try OptionError.require(milestones.allSatisfy { $0 >= 1 }, "--schedule \(schedule): milestones must be epochs 1 or more")
            for epoch in milestones where epoch < epochs {
                let rate = try learningRateSchedule().rate(base: learningRate, epoch: epoch)
                try OptionError.require(
                    rate.isFinite, "--schedule \(schedule) with --lr \(learningRate) gives learning rate \(rate) at epoch \(epoch + 1)")
            }
        }
    }

    var sgd: SGD.Configuration {
        SGD.Configuration(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
    }

    func learningRateSchedule() throws -> LearningRateSchedule {
        do {
            return try LearningRateSchedule(parsing: schedule, epochs: epochs)
        } catch {
            throw OptionError("\(error)")
        }
    }
}
