import HeedOps

/// The bodies of every op of the table on this backend, one list per family (each
/// family's file defines its list); a test checks that every op of `OpTable` has one.
extension OpenCLBackend: OpBackend {
    public typealias Buffer = OpenCLBuffer
    public static let bufferKind = "OpenCL"
    public static let implementationTable = OpImplementationTable<OpenCLBackend>()

    public static func implementations(of family: OpFamily) -> [OpImplementation<OpenCLBackend>] {
        switch family {
        case .gemm: gemm
        case .convolution: convolution
        case .groupedConvolution: groupedConvolution
        case .linear: linear
        case .pooling: pooling
        case .elementwise: elementwise
        case .normalization: normalization
        case .optimizer: optimizer
        case .random: random
        case .softmax: softmax
        case .loss: loss
        case .attention: attention
        case .sampling: sampling
        case .layout: layout
        }
    }
}
