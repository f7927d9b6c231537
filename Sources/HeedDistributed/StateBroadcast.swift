import HeedGraph

extension ProcessGroup {
    /// Makes every rank's model and optimizer state rank 0's: parameters, buffers (batch-norm
    /// running statistics), counters and SGD momentum buffers, at the start of a run and
    /// after rank 0 alone read a checkpoint.
    public func broadcastState(of model: Module, optimizer: SGD) throws {
        let state = model.state.map(\.tensor)
        var floats = isRoot ? try state.flatMap { try $0.values() } : [Float](repeating: 0, count: state.reduce(0) { $0 + $1.count })
        try broadcast(&floats)
        if !isRoot {
            var offset = 0
            for tensor in state {
                try tensor.assign(Array(floats[offset..<offset + tensor.count]))
                offset += tensor.count
            }
        }

        let counters = model.namedCounters(includingTransient: true).map(\.counter)
        var values = counters.map(\.value)
        try broadcast(&values)
        for (counter, value) in zip(counters, values) { counter.value = value }

        // Which parameters have a momentum buffer (none before the first step), then their contents.
        let parameters = optimizer.parameters
        var present: [Int64] = parameters.map { optimizer.momentumBuffers[$0.name] == nil ? 0 : 1 }
        try broadcast(&present)
        let holders = zip(parameters, present).filter { $0.1 == 1 }.map(\.0)
        var momentum =
            isRoot
            ? try holders.flatMap { try optimizer.momentumBuffers[$0.name]!.values() }
            : [Float](repeating: 0, count: holders.reduce(0) { $0 + $1.tensor.count })
        try broadcast(&momentum)
        guard !isRoot else { return }
        var buffers: [String: [Float]] = [:]
        var offset = 0
        for holder in holders {
            buffers[holder.name] = Array(momentum[offset..<offset + holder.tensor.count])
            offset += holder.tensor.count
        }
        try optimizer.loadMomentumBuffers(buffers)
    }

    /// Replaces each batch-norm running statistic (every buffer) by its mean over the ranks.
    /// Without `--sync-bn` each rank's statistics follow its own batches; their mean is what
    /// the checkpoint and evaluation use. The update is linear in the batch means, so the
    /// mean of the ranks' running means is the running mean of the ranks' mean batch means.
    public func averageBuffers(of model: Module) throws {
        let buffers = model.namedBuffers.map(\.tensor)
        guard !buffers.isEmpty else { return }
        var values = try buffers.flatMap { try $0.values().map(Double.init) }
        try allreduceSum(&values)
        var offset = 0
        for buffer in buffers {
            try buffer.assign(values[offset..<offset + buffer.count].map { Float($0 / Double(size)) })
            offset += buffer.count
        }
    }
}
