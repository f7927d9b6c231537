/// The op families: one descriptor file in `Ops/`, one file of bodies per backend, one
/// reference file, one verification file and one gradient-rule file each.
public enum OpFamily: String, CaseIterable, Sendable {
    case gemm, convolution, groupedConvolution, linear, pooling, elementwise, normalization, optimizer, random, softmax, loss
    case attention, sampling, layout

    /// The family's ops, in the order `heed verify` runs them.
    public var ops: [AnyOpDefinition] {
        switch self {
        case .gemm: GemmOps.table
        case .convolution: ConvolutionOps.table
        case .groupedConvolution: GroupedConvolutionOps.table
        case .linear: LinearOps.table
        case .pooling: PoolingOps.table
        case .elementwise: ElementwiseOps.table
        case .normalization: NormalizationOps.table
        case .optimizer: OptimizerOps.table
        case .random: RandomOps.table
        case .softmax: SoftmaxOps.table
        case .loss: LossOps.table
        case .attention: AttentionOps.table
        case .sampling: SamplingOps.table
        case .layout: LayoutOps.table
        }
    }
}

/// Every op Heed has: the one list that `heed verify`, the benchmarks and each backend's
/// registrations are checked against.
public enum OpTable {
    public static var all: [AnyOpDefinition] { OpFamily.allCases.flatMap(\.ops) }

    /// The op named `name` (`conv2d.forward`), if there is one.
    public static func op(named name: String) -> AnyOpDefinition? {
        all.first { $0.name == name }
    }
}
