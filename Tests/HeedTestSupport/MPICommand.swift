import Foundation
import XCTest

/// A `heed` job under `mpirun` (Open MPI, on loopback), started and watched by a test.
public final class MPIJob {
    public let process = Process()
    private let scratch: URL
    private let outputURL: URL
    private let errorURL: URL
    public let started = Date()

    /// `mpirun --oversubscribe --allow-run-as-root` with each `(ranks, arguments, environment)`
    /// an application context (`-np N heed ARGS`, joined by `:`), so that ranks may differ.
    public init(_ contexts: [(ranks: Int, arguments: [String], environment: [String: String])]) throws {
        guard let mpirun = MPIJob.mpirun else {
            throw UnmetRequirement.error("no mpirun on PATH; install openmpi-bin (scripts/system-packages.sh)")
        }
        let heed = try heedExecutable()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        outputURL = scratch.appendingPathComponent("stdout")
        errorURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        var arguments = ["--oversubscribe", "--allow-run-as-root"]
        for (index, context) in contexts.enumerated() {
            if index > 0 { arguments.append(":") }
            // A context's own variables through env(1): mpirun's -x is global to the job.
            let environment = context.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            arguments += ["-np", String(context.ranks)] + (environment.isEmpty ? [] : ["/usr/bin/env"] + environment)
            arguments += [heed.path] + context.arguments
        }
        process.executableURL = mpirun
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
    }

    /// The same job on `ranks` identical ranks.
    public convenience init(ranks: Int, _ arguments: [String]) throws {
        try self.init([(ranks, arguments, [:])])
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: scratch)
    }

    /// The processes mpirun started (the ranks, on this host), from /proc.
    public var rankProcessIDs: [Int32] {
        let pid = process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").compactMap { Int32($0) }
    }

    /// Waits for mpirun to end, at most `timeout` seconds (then kills it and fails: a hang).
    public func wait(timeout: TimeInterval, file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            for rank in rankProcessIDs { kill(rank, SIGKILL) }
            process.terminate()
            process.waitUntilExit()
            XCTFail("mpirun still running after \(timeout) s: killed", file: file, line: line)
        }
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            standardOutput: try String(contentsOf: outputURL, encoding: .utf8),
            standardError: try String(contentsOf: errorURL, encoding: .utf8))
    }

    /// Whether process `pid` still runs: it exists and is not a zombie (an ended process
    /// not yet reaped by its parent).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(end, offsetBy: 2)...].prefix(1)
        return state != "Z" && state != "X"
    }

    static var mpirun: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
