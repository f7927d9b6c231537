import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOps

/// The whole-network cases: the attention network (docs/design.md §4) on a Wide ResNet or a
/// torchvision ResNet, one SGD training step or one forward in evaluation mode on a batch of
/// random images.
enum TrainingWorkloads {
    /// The optimiser of `heed train`'s defaults: momentum 0.9, Nesterov, weight decay 5·10⁻⁴.
    static let optimizer = SGD.Configuration(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)

    static func make(_ c: TrainCase, batch: Int, backend: OpenCLBackend) throws -> Workload {
        let backbone: ModelConfiguration.Backbone =
            if let arch = c.arch {
                .resNet(ResNetConfiguration(arch: arch, classes: c.classes))
            } else {
                .wideResNet(WideResNetConfiguration(depth: c.depth ?? 0, width: c.width ?? 0, classes: c.classes))
            }
        let model = try ModelConfiguration(
            backbone: backbone, attention: AttentionConfiguration(depth: c.attentionDepth, width: c.attentionWidth, taps: c.attentionAt)
        ).makeModel(on: backend, seed: 7)
        var random = SeededGenerator(seed: 0x1A6E)
        let images = try Tensor(random.uniform(batch * 3 * c.size * c.size, in: -2...2), shape: [batch, 3, c.size, c.size], on: backend)
        let labels = try backend.makeBuffer((0..<batch).map { _ in Int32.random(in: 0..<Int32(c.classes), using: &random) })
        let forwardFlops = batch * model.forwardFlops(height: c.size, width: c.size)

        switch c.pass {
        case .train:
            model.train()
            let optimizer = SGD(parameters: model.namedParameters, configuration: optimizer)
            // Backward costs about twice the forward (gradients of inputs and of weights).
            return Workload(flops: 3 * forwardFlops, bytes: nil, bound: .compute, images: batch) {
                let (loss, _) = try model.trainingLoss(images: images, labels: labels)
                try loss.backward()
                try optimizer.step()
            }
        case .inference:
            model.eval()
            return Workload(flops: forwardFlops, bytes: nil, bound: .compute, images: batch) {
                _ = try Tensor.withoutGradients { try model.logProbabilities(images: images) }
            }
        default:
            throw BenchmarkError.invalidCase(id: c.id, "a network case's pass is 'train' or 'inference', not '\(c.pass.rawValue)'")
        }
    }
}
