import HeedGraph
import HeedOps

/// A network that maps images to log-probabilities over classes, and knows its own
/// training loss (the attention network adds a regulariser; Coarse2Fine a second view).
public protocol ClassificationModel: Module {
    /// What the network is, as its files record it.
    var configuration: ModelConfiguration { get }
    var classCount: Int { get }

    /// The training objective on a batch, and the log-probabilities it was computed from
    /// (for the running accuracy). Called in training mode, recording gradients.
    func trainingLoss(images: Tensor, labels: any DeviceBuffer) throws -> (loss: Tensor, logProbabilities: Tensor)

    /// The network's output (N, classes) as log-probabilities, in evaluation mode.
    func logProbabilities(images: Tensor) throws -> Tensor

    /// Called by the trainer before each epoch (0-based), for staged schedules.
    func startEpoch(_ epoch: Int)
}
