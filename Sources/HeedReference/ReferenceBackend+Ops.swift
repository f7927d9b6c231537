import HeedOps

/// The bodies of every op of the table on this backend: one list per family, each defined
/// in the family's file (`OpBackend` requires them); a test checks that they cover `OpTable`.
extension ReferenceBackend: OpBackend {
    public typealias Buffer = ReferenceBuffer
    public static let bufferKind = "reference"
    public static let implementationTable = OpImplementationTable<ReferenceBackend>()
}
