import Foundation
import HeedKernels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import XCTest

@testable import HeedTuning

/// The search: only candidates that agree with the reference are timed, so a wrong
/// kernel cannot win however fast it is.
final class TuningSearchTests: XCTestCase {
    /// With a clock that makes the wrong candidate the fastest, the search still picks
    /// the fastest of those that passed, and reports the wrong one as rejected.
    func testAFasterWrongCandidateIsRejected() {
        let search = TuningSearch<String>(
            label: { $0 },
            check: { $0 == "wrong" ? "computes nothing" : nil },
            time: { ["right": 2.0, "also right": 1.5, "wrong": 0.001][$0]! })
        let trials = ["right", "wrong", "also right"].map(search.trial)
        XCTAssertEqual(TuningSearch.fastest(of: trials)?.candidate, "also right")
        XCTAssertNil(trials[1].outcome.seconds, "the wrong candidate was timed")
        if case .rejected(let reason) = trials[1].outcome { XCTAssertEqual(reason, "computes nothing") } else { XCTFail() }
        // With nothing passing there is no winner.
        XCTAssertNil(TuningSearch.fastest(of: [search.trial("wrong")]))
    }

    /// The real check on a real kernel that computes nothing: `gemm_packed` made to
    /// return at once (far faster than any kernel that works) fails the GEMM cases.
    func testAGemmKernelThatComputesNothingFailsTheCheck() throws {
        let device = try TestDevices.requireOpenCL()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("heed-broken-kernels-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in KernelLibrary.families + KernelLibrary.preludes {
            var text = try KernelLibrary.source(of: name, directory: nil)
            if name == "gemm_cpu" {
                let body = "__global float* restrict c, const int c_offset, const int ldc, const int c_stride)\n{"
                XCTAssertNotNil(text.range(of: body), "gemm_packed's signature moved; update this test")
                text = text.replacingOccurrences(of: body, with: body + "\n    if (m > 0) return;")
            }
            try text.write(to: folder.appendingPathComponent("\(name).cl"), atomically: true, encoding: .utf8)
        }
        let broken = try OpenCLBackend(
            device: device.device, diskCache: false, gemmEngine: .packed,
            settings: OpenCLSettings(environment: [KernelLibrary.overrideDirectoryVariable: folder.path]))
        let tuning = try PackedGemmTuning(device: device, quick: true)
        let failure = try tuning.check(broken)
        XCTAssertNotNil(failure, "a GEMM that writes nothing passed the reference check")
        XCTAssertNil(try tuning.check(device), "the working kernel failed the check")
    }

    /// The whole quick search on this device: every candidate was checked, the winner
    /// is the fastest that passed, and it agrees with the reference.
    func testTheQuickSearchPicksACandidateThatPassesTheReference() throws {
        let shared = try TestDevices.requireOpenCL()
        let device = shared.gemmEngine == .packed ? shared : try OpenCLBackend(device: shared.device, gemmEngine: .packed)
        var lines: [String] = []
        let tuning = try PackedGemmTuning(device: device, quick: true)
        let result = try tuning.run { lines.append($0) }
        XCTAssertEqual(lines.count, result.trials.count, "one progress line per candidate")
        XCTAssertEqual(result.trials.first?.candidate, PackedGemmKernel.defaults(for: device.device), "the defaults come first")
        XCTAssertGreaterThan(result.trials.count, 2)
        let measured = result.trials.compactMap { trial in trial.outcome.seconds.map { (trial.candidate, $0) } }
        XCTAssertEqual(result.winnerSeconds, measured.map(\.1).min())
        XCTAssertNil(try tuning.check(device.retuned(KernelTuning(packedGemm: result.winner))))
    }
}
