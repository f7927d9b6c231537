import Foundation
import HeedKernels
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

final class ProgramTests: XCTestCase {
    private static let addOne = """
        __kernel void add_one(__global float* x, const int n) {
            const int i = get_global_id(0);
            if (i < n) x[i] += 1.0f;
        }
        """

    func testBrokenKernelReportsTheCompilersLineAndMessage() throws {
        let backend = try TestDevices.requireOpenCL()
        let source = """
            __kernel void broken(__global float* x) {
                x[get_global_id(0)] = undeclared_value;
            }
            """
        assertThrows(try backend.prepare(name: "broken_example", source: source), as: ProgramBuildError.self) { error in
            XCTAssertEqual(error.program, "broken_example")
            XCTAssertTrue(error.log.contains("undeclared_value"), error.log)
            // The compiler's location (line 2) and its message reach the error text.
            XCTAssertTrue(error.description.contains(":2:"), error.description)
            XCTAssertTrue(error.description.contains("error"), error.description)
            XCTAssertTrue(error.description.contains("broken_example"), error.description)
        }
    }

    func testLaunchRunsAndCanBeTimed() throws {
        let backend = try TestDevices.requireOpenCL()
        let x = try backend.makeBuffer([Float](repeating: 1, count: 37))
        let seconds = try backend.launch(
            name: "add_one", source: Self.addOne, kernel: "add_one",
            global: [37], local: [8], arguments: [.buffer(x), .int(37)], timed: true)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(seconds), 0)
        try backend.launch(
            name: "add_one", source: Self.addOne, kernel: "add_one",
            global: [37], arguments: [.buffer(x), .int(37)])
        XCTAssertEqual(try backend.read(x, as: Float.self), Array(repeating: 3, count: 37))
    }

    func testWrongArgumentsAreTypedErrors() throws {
        let backend = try TestDevices.requireOpenCL()
        let x = try backend.makeBuffer([Float](repeating: 1, count: 4))
        // A float where the kernel takes a pointer.
        assertThrows(
            try backend.launch(
                name: "add_one", source: Self.addOne, kernel: "add_one",
                global: [4], arguments: [.float(1), .int(4)]),
            as: OpenCLError.self
        ) { error in
            XCTAssertEqual(error.call, "clSetKernelArg(add_one, argument 0)")
            XCTAssertEqual(error.statusName, "CL_INVALID_ARG_SIZE")
        }
        assertThrows(
            try backend.launch(
                name: "add_one", source: Self.addOne, kernel: "add_one",
                global: [4], arguments: [.buffer(x)]),
            as: HeedError.self
        ) {
            XCTAssertEqual($0, .invalidArgument(op: "add_one", "kernel takes 2 arguments, 1 given"))
        }
        assertThrows(
            try backend.launch(
                name: "add_one", source: Self.addOne, kernel: "no_such_kernel",
                global: [4], arguments: []),
            as: OpenCLError.self
        ) { XCTAssertEqual($0.statusName, "CL_INVALID_KERNEL_NAME") }
        // The queue still works after the failures.
        try backend.launch(name: "add_one", source: Self.addOne, kernel: "add_one", global: [4], arguments: [.buffer(x), .int(4)])
        XCTAssertEqual(try backend.read(x, as: Float.self), [2, 2, 2, 2])
    }

    func testSecondBuildOfTheSameProgramIsAMemoryHit() throws {
        let backend = try TestDevices.requireOpenCL()
        try backend.prepare(name: "add_one", source: Self.addOne)
        let before = backend.programStatistics
        try backend.prepare(name: "add_one", source: Self.addOne)
        let after = backend.programStatistics
        XCTAssertEqual(after.memoryHits, before.memoryHits + 1)
        XCTAssertEqual(after.compiledFromSource, before.compiledFromSource)
        XCTAssertEqual(after.loadedFromDisk, before.loadedFromDisk)
    }

    func testDiskCacheSkipsTheCompilerInANewProcessAndSurvivesCorruption() throws {
        let backend = try TestDevices.requireOpenCL()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-cache-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = ProgramBinaryStore(directory: folder)

        // A fresh in-memory cache stands for a new process; the folder is what persists.
        let first = ProgramCache(context: backend.context, store: store)
        _ = try first.program(name: "add_one", source: Self.addOne, defines: ["UNROLL": "2"])
        XCTAssertEqual(first.statistics, ProgramCacheStatistics(compiledFromSource: 1, loadedFromDisk: 0, memoryHits: 0))

        let second = ProgramCache(context: backend.context, store: store)
        _ = try second.program(name: "add_one", source: Self.addOne, defines: ["UNROLL": "2"])
        XCTAssertEqual(second.statistics, ProgramCacheStatistics(compiledFromSource: 0, loadedFromDisk: 1, memoryHits: 0))

        // Other defines are another program.
        _ = try second.program(name: "add_one", source: Self.addOne, defines: ["UNROLL": "4"])
        XCTAssertEqual(second.statistics.compiledFromSource, 1)

        // A damaged file is rebuilt from source and replaced by a good one.
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        XCTAssertEqual(files.count, 2)
        for file in files { try Data("not a program".utf8).write(to: file) }
        let third = ProgramCache(context: backend.context, store: store)
        _ = try third.program(name: "add_one", source: Self.addOne, defines: ["UNROLL": "2"])
        XCTAssertEqual(third.statistics.compiledFromSource, 1)
        let fourth = ProgramCache(context: backend.context, store: store)
        _ = try fourth.program(name: "add_one", source: Self.addOne, defines: ["UNROLL": "2"])
        XCTAssertEqual(fourth.statistics.loadedFromDisk, 1)
    }

    func testCacheFilesMatchOnlyTheirExactKey() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-store-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = ProgramBinaryStore(directory: folder)
        store.store(key: "device: A\nsource: x", binary: [1, 2, 3])
        XCTAssertEqual(store.load(key: "device: A\nsource: x"), [1, 2, 3])
        XCTAssertNil(store.load(key: "device: B\nsource: x"))
        // Even a file under the right name is refused when the key inside differs.
        let file = store.fileURL(for: "device: A\nsource: x")
        try FileManager.default.copyItem(at: file, to: store.fileURL(for: "device: C"))
        XCTAssertNil(store.load(key: "device: C"))
        // A truncated file is refused.
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count - 1).write(to: file)
        XCTAssertNil(store.load(key: "device: A\nsource: x"))
    }

    func testCacheFolderFollowsTheEnvironment() {
        XCTAssertEqual(
            ProgramBinaryStore.defaultDirectory(environment: ["HEED_CACHE_DIR": "/tmp/heed-x"]).path,
            "/tmp/heed-x/programs")
        XCTAssertEqual(
            ProgramBinaryStore.defaultDirectory(environment: ["XDG_CACHE_HOME": "/tmp/xdg"]).path,
            "/tmp/xdg/heed/programs")
    }

    func testKernelSourcesAreEmbeddedAndCanBeOverriddenFromDisk() throws {
        XCTAssertTrue(KernelLibrary.families.contains("blas"))
        XCTAssertTrue(try KernelLibrary.source(of: "blas", environment: [:]).contains("__kernel void scale_matrix"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "// edited".write(to: folder.appendingPathComponent("blas.cl"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try KernelLibrary.source(of: "blas", environment: ["HEED_KERNEL_DIR": folder.path]), "// edited")
        assertThrows(
            try KernelLibrary.source(of: "conv", environment: ["HEED_KERNEL_DIR": folder.path]),
            as: KernelLibraryError.self)
        assertThrows(try KernelLibrary.source(of: "no_such_family", environment: [:]), as: KernelLibraryError.self) {
            XCTAssertTrue($0.description.contains("no kernel family 'no_such_family'"))
        }
    }

    func testEveryKernelFamilyCompiles() throws {
        let backend = try TestDevices.requireOpenCL()
        for family in KernelLibrary.families {
            XCTAssertNoThrow(try backend.prepare(family: family), family)
        }
    }
}
