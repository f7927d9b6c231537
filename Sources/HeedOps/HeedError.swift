/// Errors that Heed's ops raise, on every backend, for arguments they cannot accept.
///
/// Device failures are `OpenCLError` and its relatives; these are the caller's.
public enum HeedError: Error, Equatable, CustomStringConvertible {
    /// Shapes or sizes that do not fit together, named by op: for example
    /// `gemm: A needs 35 elements from offset 0 (m=5, k=7, lda=7), buffer has 12`.
    case shapeMismatch(op: String, String)
    /// Any other unacceptable argument (a negative size, a wrong element type, …).
    case invalidArgument(op: String, String)
    /// A buffer made by another backend (OpenCL buffers cannot be used by the reference).
    case foreignBuffer(op: String, expected: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let op, let detail): return "\(op): shape mismatch: \(detail)"
        case .invalidArgument(let op, let detail): return "\(op): invalid argument: \(detail)"
        case .foreignBuffer(let op, let expected): return "\(op): buffer does not belong to the \(expected) backend"
        }
    }
}
