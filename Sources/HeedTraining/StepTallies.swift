import HeedGraph
import HeedOps

/// Per-batch losses and correct counts, kept on the device and read back all at once:
/// the training loop's steps (one read per progress update, checkpoint or epoch end
/// instead of two per step) and evaluation's batches (one read per `capacity` batches
/// and one at the end instead of one per batch). Reading a value back waits for the
/// device to finish all queued work, so a read per batch leaves a GPU idle while the
/// host catches up.
///
/// Each batch's row of the tally is written by `step_tally` (`LossOps.stepTally`), queued
/// behind the batch's own work; `drain()` reads the rows recorded so far and starts over.
public final class StepTallies {
    /// A step (or evaluated batch) as the loop reads it back.
    public struct Step: Sendable {
        /// The optimizer step (counted over the whole run) the row was recorded at, or
        /// the caller's own count of evaluated batches.
        public let step: Int
        /// The batch's loss as recorded (float32); 0 for rows recorded without one.
        public let loss: Float
        public let correct: Int
        public let items: Int
    }

    public let backend: any Backend
    /// Steps a tally holds before it must be drained.
    public let capacity: Int
    private let tally: any DeviceBuffer
    private var recorded: [(step: Int, items: Int)] = []
    /// The one-element zero loss of rows that only count (`record(step:logProbabilities:labels:items:)`).
    private let noLoss: any DeviceBuffer

    /// - Throws: `HeedError.invalidArgument` unless `capacity` ≥ 1.
    public init(backend: any Backend, capacity: Int = 256) throws {
        guard capacity >= 1 else {
            throw HeedError.invalidArgument(op: "step_tally", "a tally needs at least one slot, got \(capacity)")
        }
        self.backend = backend
        self.capacity = capacity
        tally = try backend.makeBuffer(count: 2 * capacity, of: Float.self)
        noLoss = try backend.makeBuffer([Float(0)])
    }

    public var isFull: Bool { recorded.count == capacity }
    public var isEmpty: Bool { recorded.isEmpty }

    /// Queues the tally of a step's `loss` (one element) and log-probabilities (N, L)
    /// against the step's labels (N).
    public func record(step: Int, loss: Tensor, logProbabilities: Tensor, labels: any DeviceBuffer, items: Int) throws {
        try record(step: step, loss: loss.storage, logProbabilities: logProbabilities, labels: labels, items: items)
    }

    /// Queues the correct count of scores (N, L) against labels (N), with no loss (a
    /// loss of 0): `heed evaluate`'s parts, whose accuracy alone is printed.
    public func record(step: Int, logProbabilities: Tensor, labels: any DeviceBuffer, items: Int) throws {
        try record(step: step, loss: noLoss, logProbabilities: logProbabilities, labels: labels, items: items)
    }

    private func record(step: Int, loss: any DeviceBuffer, logProbabilities: Tensor, labels: any DeviceBuffer, items: Int) throws {
        precondition(!isFull, "drain the tally first")
        let descriptor = StepTallyDescriptor(
            batch: items, classes: logProbabilities.count / max(items, 1), slots: capacity, slot: recorded.count)
        try backend.stepTally(descriptor, logProbabilities: logProbabilities.storage, labels: labels, loss: loss, tally: tally)
        recorded.append((step, items))
    }

    /// The steps recorded since the last drain, in order (one read of the device; none
    /// when nothing was recorded).
    public func drain() throws -> [Step] {
        guard !recorded.isEmpty else { return [] }
        let values = try backend.read(tally, as: Float.self)
        defer { recorded.removeAll(keepingCapacity: true) }
        return recorded.enumerated().map { row, step in
            Step(step: step.step, loss: values[2 * row], correct: Int(values[2 * row + 1]), items: step.items)
        }
    }
}
