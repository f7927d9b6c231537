import HeedOps

/// One check of `heed verify` and of the test suite: an op (and direction) at one
/// shape, run with the same seeded inputs on a device and on the reference.
public struct VerificationCase: Sendable {
    /// The op and direction, e.g. `gemm` or `conv2d.backward_input`.
    public let op: String
    /// The shapes and settings, e.g. `33×65×17 Aᵀ·B β=0.5 batch 5`.
    public let shape: String
    /// Runs the case on `device` and on `reference` and compares the outputs.
    public let run: @Sendable (_ device: any Backend, _ reference: any Backend) throws -> Comparison

    public init(op: String, shape: String, run: @escaping @Sendable (any Backend, any Backend) throws -> Comparison) {
        self.op = op
        self.shape = shape
        self.run = run
    }
}

/// Every verification case Heed has, by op family.
public enum VerificationSuite {
    /// All cases, or those whose op name starts with `filter` (`gemm`, `conv2d`, …).
    public static func cases(matching filter: String? = nil) -> [VerificationCase] {
        let all = families.flatMap { $0 }
        guard let filter, !filter.isEmpty else { return all }
        return all.filter { $0.op == filter || $0.op.hasPrefix(filter + ".") }
    }

    /// One list per op family, in the order of `OpFamily` (the order `heed verify` prints them).
    static var families: [[VerificationCase]] { OpFamily.allCases.map(cases(of:)) }

    static func cases(of family: OpFamily) -> [VerificationCase] {
        switch family {
        case .gemm: GemmVerification.cases
        case .convolution: ConvolutionVerification.cases
        case .groupedConvolution: GroupedConvolutionVerification.cases
        case .linear: LinearVerification.cases
        case .pooling: PoolingVerification.cases
        case .elementwise: ElementwiseVerification.cases
        case .normalization: NormalizationVerification.cases
        case .optimizer: OptimizerVerification.cases
        case .random: RandomVerification.cases
        case .softmax: SoftmaxVerification.cases
        case .loss: LossVerification.cases
        case .attention: AttentionVerification.cases
        case .sampling: SamplingVerification.cases
        case .layout: LayoutVerification.cases
        }
    }

    /// The op names `--op` accepts.
    public static var opNames: [String] {
        var seen = Set<String>()
        return cases().map(\.op).filter { seen.insert($0).inserted }
    }
}
