import Foundation
import XCTest

/// The output of one run of the `heed` executable.
public struct CommandResult {
    public let status: Int32
    public let standardOutput: String
    public let standardError: String
}

/// The `heed` executable that `swift build` put beside the test bundle.
public func heedExecutable() throws -> URL {
    let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let executable = folder.appendingPathComponent("heed")
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        throw UnmetRequirement.error("no heed executable at \(executable.path); run `swift build` first")
    }
    return executable
}

/// Runs the `heed` executable that `swift build` put beside the test bundle, as a
/// user would, with extra environment variables.
public func runHeed(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CommandResult {
    let executable = try heedExecutable()
    // Output goes to files, not pipes, so a chatty child can never block on a full pipe.
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outputURL = scratch.appendingPathComponent("stdout")
    let errorURL = scratch.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)

    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
    process.standardOutput = try FileHandle(forWritingTo: outputURL)
    process.standardError = try FileHandle(forWritingTo: errorURL)
    try process.run()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus,
        standardOutput: try String(contentsOf: outputURL, encoding: .utf8),
        standardError: try String(contentsOf: errorURL, encoding: .utf8))
}
