import Foundation
import XCTest

/// The CPU-only layers must build with no OpenCL on the machine: none of them may
/// reach the OpenCL or CLBlast targets through any chain of dependencies.
final class PackageGraphTests: XCTestCase {
    static let openCLTargets: Set = ["COpenCL", "CCLBlast", "HeedKernels", "HeedOpenCL", "HeedOpenCLTestSupport"]
    static let cpuOnlyTargets = [
        "HeedOps", "HeedReference", "HeedVerify", "HeedSupport", "HeedGraph", "HeedModels", "HeedData",
        "HeedVisualization", "HeedTraining", "HeedTestSupport", "heed-loader-bench",
        "HeedReferenceTests", "HeedGraphTests", "HeedModelsTests", "HeedDataTests", "HeedVisualizationTests",
    ]

    func testCPUOnlyTargetsHaveNoPathToOpenCL() throws {
        let graph = try Self.graph.get()
        for target in Self.cpuOnlyTargets {
            XCTAssertNotNil(graph[target], "\(target) is not in the package")
            if let path = Self.path(from: target, toAnyOf: Self.openCLTargets, in: graph) {
                XCTFail("\(target) reaches OpenCL: \(path.joined(separator: " -> "))")
            }
        }
    }

    /// The check itself can fail: the OpenCL backend's own target does reach OpenCL.
    func testTheCheckFindsAPathWhereOneExists() throws {
        let graph = try Self.graph.get()
        XCTAssertEqual(Self.path(from: "HeedOpenCL", toAnyOf: ["COpenCL"], in: graph), ["HeedOpenCL", "COpenCL"])
        XCTAssertNotNil(Self.path(from: "heed", toAnyOf: ["CCLBlast"], in: graph))
    }

    /// A shortest dependency chain from `start` to one of `goals`, or nil.
    static func path(from start: String, toAnyOf goals: Set<String>, in graph: [String: [String]]) -> [String]? {
        var previous: [String: String] = [:]
        var queue = [start]
        var seen: Set = [start]
        while !queue.isEmpty {
            let target = queue.removeFirst()
            if goals.contains(target) && target != start {
                var path = [target]
                while let before = previous[path[0]] { path.insert(before, at: 0) }
                return path
            }
            for next in graph[target, default: []] where seen.insert(next).inserted {
                previous[next] = target
                queue.append(next)
            }
        }
        return nil
    }

    /// The package's graph, read once per test process.
    static let graph = Result { try targetDependencies() }

    /// Target name → the names of the package's targets it depends on, from
    /// `swift package dump-package` (its own scratch folder, so the running build's lock is not needed).
    static func targetDependencies() throws -> [String: [String]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-dump-package-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "package", "--package-path", root.path, "--scratch-path", scratch.path, "dump-package"]
        let (output, errors) = (Pipe(), Pipe())
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PackageGraphError(message: "swift package dump-package failed: \(problem)")
        }
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let targets = try XCTUnwrap(manifest["targets"] as? [[String: Any]])
        var graph: [String: [String]] = [:]
        for target in targets {
            let name = try XCTUnwrap(target["name"] as? String)
            let dependencies = target["dependencies"] as? [[String: Any]] ?? []
            graph[name] = dependencies.compactMap { dependency in
                // {"byName": [name, condition]}, {"target": [name, condition]}; products are other packages'.
                (dependency["byName"] ?? dependency["target"]).flatMap { ($0 as? [Any])?.first as? String }
            }
        }
        return graph
    }
}

struct PackageGraphError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
