import HeedGraph

/// Sums over the ranks for synchronised batch normalisation (`--sync-bn`): the tensors
/// and the count go through the host in one `MPI_Allreduce`, summed in Double.
public final class MPIReplicaReduction: ReplicaReduction {
    private let group: ProcessGroup

    public init(group: ProcessGroup) {
        self.group = group
    }

    public func sum(_ tensors: [Tensor], count: Int) throws -> (tensors: [Tensor], count: Int) {
        var values: [Double] = [Double(count)]
        for tensor in tensors { values += try tensor.values().map(Double.init) }
        try group.allreduceSum(&values)
        var offset = 1
        var sums: [Tensor] = []
        for tensor in tensors {
            sums.append(try Tensor(values[offset..<offset + tensor.count].map { Float($0) }, shape: tensor.shape, on: tensor.backend))
            offset += tensor.count
        }
        return (sums, Int(values[0]))
    }
}
