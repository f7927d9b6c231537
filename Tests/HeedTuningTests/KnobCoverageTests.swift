import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

/// Every value `heed tune` can choose for the packed GEMM, not only the winner, passes
/// `heed verify`'s GEMM cases: each knob over all its allowed values, one at a time
/// from the device defaults. (The rest of the suite runs with whatever tuning this
/// machine has: the tuning file's winners when `heed tune` has run, else the defaults.)
final class KnobCoverageTests: XCTestCase {
    func testEveryPackedGemmKnobValuePassesTheGemmCases() throws {
        let shared = try TestDevices.requireOpenCL()
        // On a GPU GEMM goes through CLBlast; the packed kernels are checked all the same.
        let device = shared.gemmEngine == .packed ? shared : try OpenCLBackend(device: shared.device, gemmEngine: .packed)
        let defaults = PackedGemmKernel.defaults(for: device.device)
        let space = PackedGemmKernel.searchSpace(nativeWidth: device.device.nativeFloatVectorWidth)
        let knobs: [(String, WritableKeyPath<PackedGemmKernel, Int>)] = [
            ("MR", \.microRows), ("VW", \.vectorWidth), ("NV", \.vectorsPerRow),
            ("mc", \.rowBlock), ("nc", \.columnBlock), ("kc", \.depthBlock),
        ]
        XCTAssertEqual(Set(knobs.map(\.0)), Set(space.keys), "a knob of the search space is not covered")
        var variants = [defaults, shared.tuning.packedGemm]
        for (name, path) in knobs {
            for value in space[name]! {
                var kernel = defaults
                kernel[keyPath: path] = value
                variants.append(kernel)
            }
        }
        let cases = VerificationSuite.cases(matching: GemmOps.gemm.name)
        var seen = Set<PackedGemmKernel>()
        for kernel in variants where seen.insert(kernel).inserted {
            let backend = device.retuned(KernelTuning(packedGemm: kernel))
            for check in cases {
                assertPassed(try check.run(backend, TestDevices.reference), "gemm \(check.shape) with \(kernel)")
            }
        }
    }
}
