import Foundation

/// How the learning rate changes with the epoch.
public enum LearningRateSchedule: Sendable, Equatable, CustomStringConvertible {
    case constant
    /// Multiply by `factor` at each milestone epoch (the reference recipe: ×0.2 at 60, 120, 160).
    case multiStep(milestones: [Int], factor: Float)
    /// Cosine annealing from the base rate to 0 over `epochs` (PyTorch's `CosineAnnealingLR`, η_min 0).
    case cosine(epochs: Int)

    /// The learning rate for (0-based) `epoch`.
    public func rate(base: Float, epoch: Int) -> Float {
        switch self {
        case .constant:
            return base
        case .multiStep(let milestones, let factor):
            return base * pow(factor, Float(milestones.filter { epoch >= $0 }.count))
        case .cosine(let epochs):
            let progress = Double(min(epoch, epochs)) / Double(max(epochs, 1))
            return Float(Double(base) * (1 + cos(Double.pi * progress)) / 2)
        }
    }

    /// Parses `constant`, `cosine`, or `multistep:60,120,160:0.2` (milestones, factor).
    public init(parsing text: String, epochs: Int) throws {
        let parts = text.split(separator: ":").map(String.init)
        switch parts.first {
        case "constant" where parts.count == 1:
            self = .constant
        case "cosine" where parts.count == 1:
            self = .cosine(epochs: epochs)
        case "multistep" where parts.count == 3:
            let milestones = parts[1].split(separator: ",").compactMap { Int($0) }
            guard !milestones.isEmpty, milestones.count == parts[1].split(separator: ",").count, let factor = Float(parts[2]) else {
                throw LearningRateScheduleError(text: text)
            }
            self = .multiStep(milestones: milestones, factor: factor)
        default:
            throw LearningRateScheduleError(text: text)
        }
    }

    public var description: String {
        switch self {
        case .constant: return "constant"
        case .cosine(let epochs): return "cosine over \(epochs) epochs"
        case .multiStep(let milestones, let factor):
            return "multistep:\(milestones.map(String.init).joined(separator: ",")):\(factor)"
        }
    }
}

public struct LearningRateScheduleError: Error, CustomStringConvertible {
    let text: String
    public var description: String {
        "unknown learning-rate schedule '\(text)': expected constant, cosine, or multistep:EPOCHS:FACTOR (e.g. multistep:60,120,160:0.2)"
    }
}
