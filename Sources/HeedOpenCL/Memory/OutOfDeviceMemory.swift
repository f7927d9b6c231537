import HeedSupport

/// A request for device memory that Heed could not serve: over `HEED_MEMORY_LIMIT`, or
/// refused by the driver, even after the cached buffers were released.
///
/// `description` reads like `out of device memory: 268435456 bytes (256.0 MiB) requested with
/// 402653184 (384.0 MiB) in use; the limit is 536870912 (512.0 MiB, HEED_MEMORY_LIMIT)`.
public struct OutOfDeviceMemory: Error, Equatable, CustomStringConvertible {
    /// Bytes of the buffer asked for, rounded up to the allocator's granularity.
    public let requestedBytes: Int
    /// Bytes of the buffers in use when it was asked for.
    public let inUseBytes: Int
    /// Bytes reserved from the driver then: in use, and any pooled that could not be released.
    public let reservedBytes: Int
    /// The cap on reserved bytes (`HEED_MEMORY_LIMIT`), or nil for none.
    public let limit: Int?
    /// What `clCreateBuffer` returned on its last try, or nil where the limit refused the
    /// request before the driver was asked.
    public let driverStatus: Int32?

    public var description: String {
        let limitText = limit.map { "the limit is \($0) (\(formatBytes($0)), HEED_MEMORY_LIMIT)" } ?? "no HEED_MEMORY_LIMIT is set"
        let cause = driverStatus.map { "; clCreateBuffer failed: \(OpenCLError(call: "", status: $0).statusName) (\($0))" } ?? ""
        return "out of device memory: \(requestedBytes) bytes (\(formatBytes(requestedBytes))) requested with "
            + "\(inUseBytes) (\(formatBytes(inUseBytes))) in use\(cause); \(limitText)"
    }
}
