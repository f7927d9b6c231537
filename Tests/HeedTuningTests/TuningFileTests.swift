import Foundation
import HeedOpenCLTestSupport
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

/// The tuning file: written whole, read back equal, and ignored with one warning when
/// damaged, stale or made for another device.
final class TuningFileTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-tuning-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    private let hash = "00000000000000aa"
    private var environment: [String: String] { ["HEED_CACHE_DIR": folder.path] }

    /// A non-default tile, so that loading it shows.
    private func tuned(_ device: OpenCLDeviceInfo) -> PackedGemmKernel {
        var kernel = PackedGemmKernel.defaults(for: device)
        kernel.microRows = kernel.microRows == 4 ? 6 : 4
        kernel.depthBlock = 128
        return kernel
    }

    private func resolve(_ device: OpenCLDeviceInfo, environment: [String: String]? = nil) -> KernelTuning {
        KernelTuning.resolve(device: device, environment: environment ?? self.environment) {
            ["gemm_cpu", "normalization"].contains($0) ? self.hash : nil
        }
    }

    private func writeFile(for device: OpenCLDeviceInfo, hash: String? = nil, knobs: [String: Int]? = nil) throws -> URL {
        let url = TuningFile.url(for: device, in: TuningFile.directory(environment: environment))
        let file = TuningFile(
            device: device,
            families: [
                "gemm_cpu": .init(
                    sourceHash: hash ?? self.hash, knobs: knobs ?? tuned(device).knobs, defaultSeconds: 2, tunedSeconds: 1, candidates: 3)
            ])
        try file.write(to: url)
        return url
    }

    func testTheFileRoundTripsAndEveryBackendLoadsIt() throws {
        let device = try TestDevices.requireOpenCL().device
        let url = try writeFile(for: device)
        let read = try TuningFile.read(from: url)
        XCTAssertEqual(read.families["gemm_cpu"]?.knobs, tuned(device).knobs)
        XCTAssertEqual(read.device, device.name)
        XCTAssertEqual(try PackedGemmKernel(knobs: read.families["gemm_cpu"]!.knobs), tuned(device))

        let tuning = resolve(device)
        XCTAssertEqual(tuning.packedGemm, tuned(device))
        XCTAssertEqual(tuning.warnings, [])
        guard case .file(let loaded, _) = tuning.origin else { return XCTFail("origin \(tuning.origin)") }
        XCTAssertEqual(loaded.path, url.path)
        // No temporary file is left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path), [url.lastPathComponent])

        // A backend opened with that cache folder runs with it, its real source hash recorded.
        let backend = try OpenCLBackend(
            device: device, diskCache: false,
            settings: OpenCLSettings(environment: environment))
        _ = try writeFile(for: device, hash: try backend.sourceHash(of: "gemm_cpu"))
        let reopened = try OpenCLBackend(device: device, diskCache: false, settings: OpenCLSettings(environment: environment))
        XCTAssertEqual(reopened.tuning.packedGemm, tuned(device))
        XCTAssertTrue(reopened.tuning.summary(gemmEngine: .packed).contains("heed tune of"), reopened.tuning.summary(gemmEngine: .packed))
    }

    func testNoFileMeansTheDeviceDefaultsWithoutAWarning() throws {
        let device = try TestDevices.requireOpenCL().device
        let tuning = resolve(device)
        XCTAssertEqual(tuning, KernelTuning.deviceDefaults(for: device))
        XCTAssertTrue(tuning.summary(gemmEngine: .packed).hasPrefix("tuning: device defaults"))
    }

    func testAStaleFileIsIgnoredWithOneWarning() throws {
        let device = try TestDevices.requireOpenCL().device
        _ = try writeFile(for: device, hash: "ffffffffffffffff")
        let tuning = resolve(device)
        XCTAssertEqual(tuning.packedGemm, .defaults(for: device))
        XCTAssertEqual(tuning.origin, .deviceDefaults)
        XCTAssertEqual(tuning.warnings.count, 1)
        XCTAssertTrue(tuning.warnings[0].contains("another version of Kernels/gemm_cpu.cl"), tuning.warnings[0])
    }

    func testADamagedFileIsIgnoredWithOneWarning() throws {
        let device = try TestDevices.requireOpenCL().device
        let url = try writeFile(for: device)
        for damage in [Data("{\"format\": 1, \"device\": ".utf8), Data([0xff, 0x00, 0x12]), Data("[]".utf8), Data()] {
            try damage.write(to: url)
            let tuning = resolve(device)
            XCTAssertEqual(tuning.packedGemm, .defaults(for: device))
            XCTAssertEqual(tuning.warnings.count, 1)
            XCTAssertTrue(
                tuning.warnings.allSatisfy { $0.hasPrefix("warning: ignoring tuning file \(url.path): ") && !$0.contains("\n") },
                "\(tuning.warnings)")
        }
        // Knob values outside the search space are refused by name.
        var knobs = tuned(device).knobs
        knobs["MR"] = 1000
        _ = try writeFile(for: device, knobs: knobs)
        let tuning = resolve(device)
        XCTAssertEqual(tuning.packedGemm, .defaults(for: device))
        XCTAssertTrue(tuning.warnings.first?.contains("MR = 1000 is not one of") == true, "\(tuning.warnings)")
    }

    func testAFileForAnotherDriverIsIgnored() throws {
        let device = try TestDevices.requireOpenCL().device
        let url = try writeFile(for: device)
        var file = try TuningFile.read(from: url)
        file.driverVersion = "not this one"
        try file.write(to: url)
        let tuning = resolve(device)
        XCTAssertEqual(tuning.packedGemm, .defaults(for: device))
        XCTAssertTrue(tuning.warnings.first?.contains("made for") == true, "\(tuning.warnings)")
    }

    func testHEEDTUNINGChoosesTheDefaultsOrAFile() throws {
        let device = try TestDevices.requireOpenCL().device
        let url = try writeFile(for: device)
        XCTAssertEqual(resolve(device, environment: environment.merging(["HEED_TUNING": "defaults"]) { $1 }), .deviceDefaults(for: device))
        let moved = folder.appendingPathComponent("elsewhere.json")
        try FileManager.default.moveItem(at: url, to: moved)
        XCTAssertEqual(resolve(device, environment: ["HEED_TUNING": moved.path]).packedGemm, tuned(device))
        let missing = resolve(device, environment: ["HEED_TUNING": folder.appendingPathComponent("missing.json").path])
        XCTAssertEqual(missing.packedGemm, .defaults(for: device))
        XCTAssertEqual(missing.warnings.count, 1, "a named file that is missing is worth a warning")
    }

    /// Batch norm's launch is a family of its own: loaded beside the GEMM's, and a value
    /// this device does not allow costs a warning naming it, the other families still load.
    func testANormalizationEntryLoadsAndABadOneIsRefusedByName() throws {
        let device = try TestDevices.requireOpenCL().device
        let defaults = NormalizationLaunch.defaults(for: device)
        let launch = NormalizationLaunch(itemsPerChannel: defaults.itemsPerChannel == 1 ? 4 : 1, vectorWidth: 2)
        let url = try writeFile(for: device)
        var file = try TuningFile.read(from: url)
        file.families["normalization"] = .init(sourceHash: hash, knobs: launch.knobs, defaultSeconds: 2, tunedSeconds: 1, candidates: 9)
        try file.write(to: url)
        let tuning = resolve(device)
        XCTAssertEqual(tuning.normalization, launch)
        XCTAssertEqual(tuning.packedGemm, tuned(device))
        XCTAssertEqual(tuning.warnings, [])
        XCTAssertTrue(tuning.summary(gemmEngine: .packed).hasSuffix("batch norm \(launch)"), tuning.summary(gemmEngine: .packed))

        file.families["normalization"]!.knobs["BN_VECTOR"] = 3
        try file.write(to: url)
        let refused = resolve(device)
        XCTAssertNil(refused.normalization)
        XCTAssertEqual(refused.packedGemm, tuned(device))
        XCTAssertEqual(refused.warnings.count, 1)
        XCTAssertTrue(refused.warnings[0].contains("BN_VECTOR=3 is not one of"), "\(refused.warnings)")
    }

    /// `HEED_TUNING=gpu|cpu`: that kind's defaults on this device, whatever the cache holds
    /// (a damaged file there costs no warning: it is not read).
    func testHEEDTUNINGCanAskForTheOtherKindsDefaults() throws {
        let device = try TestDevices.requireOpenCL().device
        let url = try writeFile(for: device)
        try Data("damaged".utf8).write(to: url)
        for (setting, kind) in [("gpu", OpenCLDeviceInfo.Kind.gpu), ("cpu", .cpu)] {
            let tuning = resolve(device, environment: environment.merging(["HEED_TUNING": setting]) { $1 })
            XCTAssertEqual(tuning.deviceKind, kind)
            XCTAssertEqual(tuning.origin, .otherKind(kind))
            XCTAssertEqual(tuning.warnings, [])
            XCTAssertEqual(tuning.packedGemm, .defaults(for: device.treated(as: kind)))
            XCTAssertTrue(
                tuning.summary(gemmEngine: .clblast).contains("the defaults of a \(kind.rawValue) device"),
                tuning.summary(gemmEngine: .clblast))
        }
        XCTAssertNil(resolve(device, environment: environment.merging(["HEED_TUNING": "defaults"]) { $1 }).deviceKind)
    }
}
