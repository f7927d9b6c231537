import HeedGraph
import HeedOps

/// The training loop's per-step loss and correct count, kept on the device and read back
/// all at once: one blocking read per progress update, checkpoint or epoch end instead of
/// two per step. Reading a value back waits for the device to finish all queued work, so
/// a read per step leaves a GPU idle while the host catches up.
///
/// Each step's row of the tally is written by `step_tally` (`LossOps.stepTally`), queued
/// behind the step's own work; `drain()` reads the rows recorded so far and starts over.
final class StepTallies {
    /// A step as the loop reads it back.
    struct Step {
        /// The optimizer step (counted over the whole run) the row was recorded at.
        let step: Int
        let loss: Float
        let correct: Int
        let items: Int
    }

    let backend: any Backend
    /// Steps a tally holds before it must be drained.
    let capacity: Int
    private let tally: any DeviceBuffer
    private var recorded: [(step: Int, items: Int)] = []

    init(backend: any Backend, capacity: Int = 256) throws {
        self.backend = backend
        self.capacity = capacity
        tally = try backend.makeBuffer(count: 2 * capacity, of: Float.self)
    }

    var isFull: Bool { recorded.count == capacity }
    var isEmpty: Bool { recorded.isEmpty }

    /// Queues the tally of a step's `loss` (one element) and log-probabilities (N, L)
    /// against the step's labels (N).
    func record(step: Int, loss: Tensor, logProbabilities: Tensor, labels: any DeviceBuffer, items: Int) throws {
        precondition(!isFull, "drain the tally first")
        let descriptor = StepTallyDescriptor(
            batch: items, classes: logProbabilities.count / max(items, 1), slots: capacity, slot: recorded.count)
        try backend.stepTally(
            descriptor, logProbabilities: logProbabilities.storage, labels: labels, loss: loss.storage, tally: tally)
        recorded.append((step, items))
    }

    /// The steps recorded since the last drain, in order (one read of the device).
    func drain() throws -> [Step] {
        guard !recorded.isEmpty else { return [] }
        let values = try backend.read(tally, as: Float.self)
        defer { recorded.removeAll(keepingCapacity: true) }
        return recorded.enumerated().map { row, step in
            Step(step: step.step, loss: values[2 * row], correct: Int(values[2 * row + 1]), items: step.items)
        }
    }
}
