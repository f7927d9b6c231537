import CMPI

/// A failed MPI call, as one line: `MPI_Allreduce failed: MPI_ERR_TRUNCATE: message truncated`.
public struct MPIError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// Throws unless `code` is `MPI_SUCCESS`, naming `call` and MPI's own words for the code.
    static func check(_ code: Int32, _ call: String) throws {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        let reason =
            MPI_Error_string(code, &text, &length) == MPI_SUCCESS
            ? String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "error code \(code)"
        throw MPIError("\(call) failed: \(reason.split(whereSeparator: \.isNewline).joined(separator: " "))")
    }
}
