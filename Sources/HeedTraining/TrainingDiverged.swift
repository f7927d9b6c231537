/// A run whose loss or weights stopped being finite: training stops, and no
/// checkpoint or model is written from that point on.
public struct TrainingDiverged: Error, CustomStringConvertible, Equatable {
    /// 1-based epoch and the optimizer step (counted over the whole run) it was detected at.
    public let epoch: Int
    public let step: Int
    /// What was not finite: `loss nan`, or a tensor about to be checkpointed.
    public let reason: String
    /// The newest checkpoint this run wrote or resumed from (nil when there is none).
    public let lastCheckpoint: String?

    public var description: String {
        let checkpoint = lastCheckpoint.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written"
        return "training diverged at epoch \(epoch), step \(step) (\(reason)); \(checkpoint)"
    }
}
