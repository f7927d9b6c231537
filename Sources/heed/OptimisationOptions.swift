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
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard learningRate > 0 else { throw ValidationError("--lr must be positive") }
        guard (0..<1).contains(momentum) else { throw ValidationError("--momentum must be in [0, 1)") }
        guard weightDecay >= 0 else { throw ValidationError("--weight-decay must be 0 or more") }
        _ = try learningRateSchedule()
    }

    var sgd: SGD.Configuration {
        SGD.Configuration(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
    }

    func learningRateSchedule() throws -> LearningRateSchedule {
        do {
            return try LearningRateSchedule(parsing: schedule, epochs: epochs)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
