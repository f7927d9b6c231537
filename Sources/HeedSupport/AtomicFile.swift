import Foundation

/// Writes whole files or nothing.
public enum AtomicFile {
    /// Writes `bytes` to a temporary file beside `url`, fsyncs it, renames it over
    /// `url`, and fsyncs the folder so the rename itself survives a crash.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        try FileError.naming(folder.path, "cannot create the folder") {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        let temporary = folder.appendingPathComponent("\(temporaryPrefix(of: url))\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { throw posixError("cannot create", temporary.path) }
        var succeeded = false
        defer {
            if !succeeded { unlink(temporary.path) }
        }
        do {
            defer { close(descriptor) }
            try bytes.withUnsafeBytes { raw in
                var written = 0
                while written < raw.count {
                    let n = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                    guard n > 0 else { throw posixError("cannot write", url.path) }
                    written += n
                }
            }
            guard fsync(descriptor) == 0 else { throw posixError("cannot flush", url.path) }
        }
        guard rename(temporary.path, url.path) == 0 else { throw posixError("cannot replace", url.path) }
        succeeded = true
        let folderDescriptor = open(folder.path, O_RDONLY)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Deletes the temporary files of `write(_:to:)` for `url` that a killed process
    /// (`kill -9`) left behind; those of running processes stay.
    public static func removeAbandonedTemporaries(of url: URL) {
        let folder = url.deletingLastPathComponent()
        let prefix = temporaryPrefix(of: url)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasPrefix(prefix) {
            let owner = name.dropFirst(prefix.count).split(separator: "-").first.flatMap { pid_t($0) }
            if let owner, owner != getpid(), kill(owner, 0) == 0 { continue }
            unlink(folder.appendingPathComponent(name).path)
        }
    }

    /// `.NAME.tmp-`, followed by the writer's process id and a random number.
    private static func temporaryPrefix(of url: URL) -> String { ".\(url.lastPathComponent).tmp-" }

    private static func posixError(_ what: String, _ path: String) -> FileError {
        FileError(path: path, problem: "\(what): \(String(cString: strerror(errno)))")
    }
}
