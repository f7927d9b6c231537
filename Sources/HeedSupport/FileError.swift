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
}
