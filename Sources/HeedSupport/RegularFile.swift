import Foundation

/// A regular file open for reading, with its size known before anything is read.
///
/// Opened without blocking and checked with `fstat`, so a FIFO, a device or a folder
/// given where a file is expected is an error at once instead of a hang; the size
/// lets a reader check what a header promises before it allocates.
///
/// Sendable for ``read(_:at:)``, which reads at an offset (`pread`) and so can serve
/// several threads at once; ``read(_:)`` moves the one file position, for one reader.
public final class RegularFile: @unchecked Sendable {
    public let path: String
    /// The file's size in bytes when it was opened.
    public let size: Int
    private let descriptor: Int32

    /// - Throws: `FileError`: "no such file", "not a regular file", "cannot be read: …".
    public init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw FileError(path: path, problem: errno == ENOENT ? "no such file" : "cannot be read: \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw FileError(path: path, problem: "not a regular file")
        }
        self.descriptor = descriptor
        self.size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// The next `count` bytes.
    ///
    /// - Throws: `FileError` if the file ends first (it shrank since it was opened) or a read fails.
    public func read(_ count: Int) throws -> [UInt8] {
        try bytes(count) { buffer, done in Foundation.read(descriptor, buffer, count - done) }
    }

    /// The `count` bytes at `offset`, without moving the file position (`pread`).
    ///
    /// - Throws: `FileError` if the file ends first (it shrank since it was opened) or a read fails.
    public func read(_ count: Int, at offset: Int) throws -> [UInt8] {
        try bytes(count) { buffer, done in pread(descriptor, buffer, count - done, off_t(offset + done)) }
    }

    /// `count` bytes from `readSome(buffer, done)` calls, each given where to write
    /// and how many bytes came before, until they are all there.
    private func bytes(_ count: Int, _ readSome: (UnsafeMutablePointer<UInt8>, Int) -> Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while initialized < count {
                let n = readSome(buffer.baseAddress! + initialized, initialized)
                guard n > 0 else {
                    throw FileError(
                        path: path,
                        problem: n == 0 ? "ends early (changed while reading?)" : "cannot be read: \(String(cString: strerror(errno)))")
                }
                initialized += n
            }
        }
    }
}
