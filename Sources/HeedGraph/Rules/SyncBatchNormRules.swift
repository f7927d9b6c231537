import HeedOps

/// Sums over the replicas of data-parallel training (the processes of an `mpirun` job).
/// The graph layer knows no MPI: HeedDistributed implements this over `MPI_Allreduce`.
public protocol ReplicaReduction: AnyObject {
    /// Each tensor summed elementwise over the replicas, and `count` summed likewise.
    /// Collective: every replica calls it with tensors of the same shapes.
    func sum(_ tensors: [Tensor], count: Int) throws -> (tensors: [Tensor], count: Int)
}

/// One process alone: every sum over replicas is the value itself.
public final class SingleReplica: ReplicaReduction {
    public init() {}

    public func sum(_ tensors: [Tensor], count: Int) throws -> (tensors: [Tensor], count: Int) {
        (tensors, count)
    }
}

// Synchronised batch normalisation, PyTorch's `nn.SyncBatchNorm`: the statistics of the
// batch of all replicas together, in forward and backward. Composed of existing ops, no
// kernel of its own: per-channel sums (`reduceForward`), elementwise products, and the
// evaluation-mode batch-norm kernel as the per-channel affine map
//     inference(x; m, v, w, b) = (x - m) / sqrt(v + eps) * w + b.
// With N elements per channel over all replicas, mean mu and biased variance var:
//     forward:   mu = sum_all(x) / N,  var = sum_all((x - mu)^2) / N       (two allreduces)
//                y = inference(x; mu, var, gamma, beta)
//     backward:  x^ = inference(x; mu, var, 1, 0)
//                dbeta = sum_local(g),  dgamma = sum_local(g x^)         (this replica's share)
//                DB, DW = those sums over all replicas
//                dx = gamma / sqrt(var + eps) * (g - DB/N - x^ DW/N)
//                   = inference(g + inference(x; mu, var, -DW/N, -DB/N); 0, var, gamma, 0)
// dx is the gradient of the sum of every replica's loss, as PyTorch's: data-parallel
// training then divides the parameters' gradients by the replica count (their mean).
// dgamma and dbeta stay local: averaging them is the gradient averaging's job.

extension Tensor {
    /// Batch normalisation in training mode with statistics over the batches of every
    /// replica `reduction` sums over; updates the running statistics with them (the
    /// variance unbiased with the global count), as `nn.SyncBatchNorm`.
    public func syncBatchNorm(
        weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
        momentum: Float, epsilon: Float, reduction: any ReplicaReduction
    ) throws -> Tensor {
        let op = "sync_batch_norm"
        let backend = self.backend
        guard rank == 2 || rank == 4 else {
            throw HeedError.shapeMismatch(op: op, "input \(shape) is neither (N, C) nor (N, C, H, W)")
        }
        let descriptor = BatchNormDescriptor(
            batch: shape[0], channels: shape[1], spatial: shape.dropFirst(2).reduce(1, *), epsilon: epsilon, momentum: momentum)
        let axes = rank == 4 ? [0, 2, 3] : [0]
        let channels = [descriptor.channels]
        let (output, mean, variance, count) = try Tensor.withoutGradients {
            let (sums, count) = try reduction.sum([sum(axes: axes)], count: descriptor.reduced)
            guard count > 1 else {
                throw HeedError.invalidArgument(op: op, "needs more than one value per channel over all replicas, got \(count)")
            }
            let mean = try sums[0].scaled(by: 1 / Float(count))
            // Two passes, as plain batch norm's kernel: the squares of x - mean, not E[x^2] - mean^2,
            // which in single precision loses the variance's digits to cancellation.
            // x - mean is the affine map with variance 1 and epsilon 0 (1/sqrt(1) = 1 exactly).
            var centring = descriptor
            centring.epsilon = 0
            let ones = try Tensor.filled(1, shape: channels, on: backend)
            let zeros = try Tensor.filled(0, shape: channels, on: backend)
            let centred = try affine(self, centring, mean: mean, variance: ones, weight: ones, bias: zeros)
            let (squares, _) = try reduction.sum([centred.multiplying(centred).sum(axes: axes)], count: descriptor.reduced)
            let variance = try squares[0].scaled(by: 1 / Float(count))
            let output = try affine(self, descriptor, mean: mean, variance: variance, weight: weight, bias: bias)
            return (output, mean, variance, count)
        }
        try Tensor.updateRunningStatistics(
            mean: runningMean, variance: runningVariance, batchMean: mean, batchVariance: variance, count: count, momentum: momentum)

        let inputShape = shape
        return Tensor.result(op: op, output: output, inputs: [self, weight, bias], saving: [self, weight, mean, variance]) {
            g, saved in
            let buffers = try saved.buffers(for: op)
            func constant(_ index: Int, _ shape: [Int]) -> Tensor {
                Tensor(shape: shape, storage: buffers[index], backend: backend, requiresGradient: false, node: nil)
            }
            let (x, weight, mean, variance) = (constant(0, inputShape), constant(1, channels), constant(2, channels), constant(3, channels))
            let ones = try Tensor.filled(1, shape: channels, on: backend)
            let zeros = try Tensor.filled(0, shape: channels, on: backend)
            let xHat = try affine(x, descriptor, mean: mean, variance: variance, weight: ones, bias: zeros)
            let localBias = try g.sum(axes: axes)
            let localWeight = try g.multiplying(xHat).sum(axes: axes)
            let (totals, total) = try reduction.sum([localBias, localWeight], count: descriptor.reduced)
            let centred = try g.adding(
                affine(
                    x, descriptor, mean: mean, variance: variance,
                    weight: totals[1].scaled(by: -1 / Float(total)), bias: totals[0].scaled(by: -1 / Float(total))))
            let dx = try affine(centred, descriptor, mean: zeros, variance: variance, weight: weight, bias: zeros)
            return [dx, localWeight, localBias]
        }
    }

    /// rm = (1 - m) rm + m mu, rv = (1 - m) rv + m var N/(N - 1), on the host (C values each).
    private static func updateRunningStatistics(
        mean: Tensor, variance: Tensor, batchMean: Tensor, batchVariance: Tensor, count: Int, momentum: Float
    ) throws {
        let m = Double(momentum)
        let unbiased = Double(count) / Double(count - 1)
        let (runningMean, runningVariance) = (try mean.values(), try variance.values())
        let (batchMean, batchVariance) = (try batchMean.values(), try batchVariance.values())
        try mean.assign(zip(runningMean, batchMean).map { Float((1 - m) * Double($0) + m * Double($1)) })
        try variance.assign(zip(runningVariance, batchVariance).map { Float((1 - m) * Double($0) + m * Double($1) * unbiased) })
    }
}

/// (x - mean) / sqrt(variance + eps) * weight + bias per channel: the evaluation-mode kernel.
private func affine(
    _ x: Tensor, _ descriptor: BatchNormDescriptor, mean: Tensor, variance: Tensor, weight: Tensor, bias: Tensor
) throws -> Tensor {
    let output = try x.fresh(x.shape)
    try x.backend.batchNormForwardInference(
        descriptor, input: x.storage, weight: weight.storage, bias: bias.storage,
        runningMean: mean.storage, runningVariance: variance.storage, output: output.storage)
    return output
}
