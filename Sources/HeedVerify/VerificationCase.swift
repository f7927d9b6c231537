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

    /// One list per op family, in the order `heed verify` prints them.
    static let families: [[VerificationCase]] = [
        GemmVerification.cases,
        ConvolutionVerification.cases,
        LinearVerification.cases,
        PoolingVerification.cases,
        ElementwiseVerification.cases,
        NormalizationVerification.cases,
        OptimizerVerification.cases,
        RandomVerification.cases,
        SoftmaxVerification.cases,
        LossVerification.cases,
        AttentionVerification.cases,
        SamplingVerification.cases,
        LayoutVerification.cases,
    ]

    /// The op names `--op` accepts.
    public static var opNames: [String] {
        var seen = Set<String>()
        return cases().map(\.op).filter { seen.insert($0).inserted }
    }
}
