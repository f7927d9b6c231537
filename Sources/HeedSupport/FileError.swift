import Foundation

/// A file Heed cannot use, and why, in one line: `data/test_batch.bin: truncated: …`.
///
/// Every loader (CIFAR, image folders, safetensors, checkpoints) reports bad input
/// this way, so the command-line tool can print it as is and exit non-zero.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }

    /// Runs `body`; a Foundation error it throws becomes one line naming `path`,
    /// e.g. `runs/x: cannot create the folder: Not a directory`.
    public static func naming<T>(_ path: String, _ action: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as FileError {
            throw error
        } catch {
            throw FileError(path: path, problem: "\(action): \(reason(error))")
        }
    }

    /// The POSIX reason under a Foundation error (`No such file or directory`), else its domain and code.
    private static func reason(_ error: Error) -> String {
        var error = error as NSError
        if error.domain != NSPOSIXErrorDomain, let underlying = error.userInfo[NSUnderlyingErrorKey] as? Error {
            error = underlying as NSError
        }
        guard error.domain == NSPOSIXErrorDomain else { return "\(error.domain) error \(error.code)" }
        return String(cString: strerror(Int32(error.code)))
    }
}
