import HeedOps

/// The bodies of every op of the table on this backend: one list per family, each defined
/// in the family's file (`OpBackend` requires them); a test checks that they cover `OpTable`.
extension OpenCLBackend: OpBackend {
    public typealias Buffer = OpenCLBuffer
    public static let bufferKind = "OpenCL"
    public static let implementationTable = OpImplementationTable<OpenCLBackend>()
}
