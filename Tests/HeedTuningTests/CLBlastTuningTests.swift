import COpenCL
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedTuning

/// `heed tune` for GEMM through CLBlast, on this machine's device with CLBlast as the
/// engine. `clblast::TuneXgemm` itself is replaced by a stand-in returning a chosen set
/// (on PoCL the real tuner compiles hundreds of kernels, tens of minutes); everything
/// around it runs for real: reading CLBlast's parameters, installing the candidate,
/// checking it against the reference, timing it, and reinstalling the previous set when
/// the candidate fails or loses.
final class CLBlastTuningTests: XCTestCase {
    private func clblastBackend() throws -> OpenCLBackend {
        try OpenCLBackend(device: TestDevices.requireOpenCL().device, gemmEngine: .clblast)
    }

    func testCLBlastsParametersCanBeReadBack() throws {
        let backend = try clblastBackend()
        let parameters = try CLBlastGemmTuning.retrieve(backend.device)
        for name in ["MWG", "NWG", "KWG", "VWM", "VWN"] { XCTAssertNotNil(parameters[name], "\(name) in \(parameters)") }
    }

    /// A set that cannot even be compiled is rejected, and the previous set is back.
    func testACandidateThatFailsIsRejectedAndThePreviousParametersStay() throws {
        let backend = try clblastBackend()
        let before = try CLBlastGemmTuning.retrieve(backend.device)
        var broken = before
        broken["MWG"] = 7  // not a multiple of MDIMC·VWM: CLBlast refuses it or computes wrong
        let result = try CLBlastGemmTuning(device: backend, quick: true).run(progress: { _ in }, tuner: { _, _, _ in broken })
        XCTAssertNil(result.winner)
        XCTAssertNotNil(result.rejection)
        XCTAssertEqual(try CLBlastGemmTuning.retrieve(backend.device), before)
        XCTAssertNil(try CLBlastGemmTuning(device: backend, quick: true).check(), "GEMM through CLBlast fails after the restore")
    }

    /// A set that works is checked and timed; it is kept only if it was faster, and
    /// CLBlast then holds either it or the previous set, never anything else.
    func testAWorkingCandidateIsTimedAndKeptOnlyIfFaster() throws {
        let backend = try clblastBackend()
        let before = try CLBlastGemmTuning.retrieve(backend.device)
        defer { try? CLBlastTuning.overrideXgemm(on: backend.device, before.map { ($0.key, $0.value) }) }
        var other = before
        other["KWI"] = before["KWI"] == 2 ? 8 : 2
        let result = try CLBlastGemmTuning(device: backend, quick: true).run(progress: { _ in }, tuner: { _, _, _ in other })
        XCTAssertNil(result.rejection)
        let found = try XCTUnwrap(result.foundSeconds)
        XCTAssertEqual(result.winner != nil, found < result.previousSeconds)
        XCTAssertEqual(try CLBlastGemmTuning.retrieve(backend.device), result.winner == nil ? before : other)
    }
}
