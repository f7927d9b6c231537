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

    /// A winner that was fast once but not when timed again beside the defaults gives way
    /// to them; one that stays faster stays, reported with the medians of the rounds.
    func testTheWinnerMustBeatTheDefaultsAgainInAlternatingRounds() throws {
        var calls: [String: Int] = [:]
        // "lucky" ran fast in the search (its first time) and slower than the defaults after.
        let times: [String: [Double]] = [
            "defaults": [1.0, 1.0, 1.1, 0.9, 1.0, 1.0], "lucky": [0.5, 1.2, 1.1, 1.3, 1.2, 1.2],
            "better": [0.8, 0.8, 0.7, 0.9, 0.8, 0.8],
        ]
        let search = TuningSearch<String>(
            label: { $0 }, check: { _ in nil },
            time: { name in
                defer { calls[name, default: 0] += 1 }
                return times[name]![calls[name, default: 0]]
            })
        func result(_ winner: String) -> TuningSearch<String>.Result {
            calls = [:]
            let trials = ["defaults", winner].map(search.trial)
            return .init(
                defaults: "defaults", winner: winner, defaultSeconds: trials[0].outcome.seconds!,
                winnerSeconds: trials[1].outcome.seconds!, trials: trials)
        }
        var lines: [String] = []
        let lucky = try search.confirmed(result("lucky"), rounds: 5) { lines.append($0) }
        XCTAssertEqual(lucky.winner, "defaults")
        XCTAssertEqual(lucky.defaultSeconds, 1.0)
        XCTAssertEqual(lucky.winnerSeconds, 1.0)
        XCTAssertEqual(calls, ["defaults": 6, "lucky": 6])
        XCTAssertTrue(lines.last?.hasSuffix("the defaults stay") ?? false, lines.joined())

        let better = try search.confirmed(result("better"), rounds: 5) { lines.append($0) }
        XCTAssertEqual(better.winner, "better")
        XCTAssertEqual(better.defaultSeconds, 1.0)
        XCTAssertEqual(better.winnerSeconds, 0.8)
        XCTAssertTrue(lines.last?.hasSuffix("the winner stays") ?? false, lines.joined())

        // The defaults as the winner are not timed again.
        calls = [:]
        let same = try search.confirmed(
            .init(defaults: "defaults", winner: "defaults", defaultSeconds: 1, winnerSeconds: 1, trials: []), rounds: 5
        ) { lines.append($0) }
        XCTAssertEqual(same.winner, "defaults")
        XCTAssertEqual(calls, [:])
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
                let body = "const int c_stride,\n                 const int c_plane)\n{"
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

    /// The whole quick search on this device: every candidate was checked, the winner is
    /// the fastest that passed where it beat the defaults again (else the defaults), and it
    /// agrees with the reference.
    func testTheQuickSearchPicksACandidateThatPassesTheReference() throws {
        let shared = try TestDevices.requireOpenCL()
        let device = shared.gemmEngine == .packed ? shared : try OpenCLBackend(device: shared.device, gemmEngine: .packed)
        var lines: [String] = []
        let tuning = try PackedGemmTuning(device: device, quick: true)
        let result = try tuning.run { lines.append($0) }
        let defaults = PackedGemmKernel.defaults(for: device.device)
        XCTAssertEqual(result.trials.first?.candidate, defaults, "the defaults come first")
        XCTAssertGreaterThan(result.trials.count, 2)
        let fastest = try XCTUnwrap(TuningSearch.fastest(of: result.trials))
        // A line per candidate, and one for the confirmation when the fastest is not the defaults.
        XCTAssertEqual(lines.count, result.trials.count + (fastest.candidate == defaults ? 0 : 1), lines.joined(separator: "\n"))
        XCTAssertTrue([defaults, fastest.candidate].contains(result.winner))
        if result.winner != defaults { XCTAssertLessThan(result.winnerSeconds, result.defaultSeconds) }
        XCTAssertNil(try tuning.check(device.retuned(KernelTuning(packedGemm: result.winner))))
    }
}
