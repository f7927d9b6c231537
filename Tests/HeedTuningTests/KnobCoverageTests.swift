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
        try assertEveryValue(of: Self.knobs, passes: VerificationSuite.cases(matching: GemmOps.gemm.name))
    }

    /// The knobs that shape the packed panels (the tile and the depth block) also shape what
    /// `gemm_pack_columns` and `gemm_pack_planes` write for a convolution's GEMMs, which read
    /// the column matrix and the output gradient straight from the images: every value of
    /// them passes the convolution cases on small integers, where any entry packed in the
    /// wrong place shows exactly. (The row and column blocks only split the product, which
    /// the GEMM cases cover.)
    func testEveryPanelKnobValuePacksConvolutionOperands() throws {
        let cases = [ConvolutionOps.forward.name, ConvolutionOps.backwardInput.name, ConvolutionOps.backwardWeight.name]
            .flatMap { name -> [VerificationCase] in VerificationSuite.cases(matching: name) }
            .filter { $0.shape.hasSuffix(" int") }
        XCTAssertFalse(cases.isEmpty)
        try assertEveryValue(of: Self.knobs.filter { ["MR", "VW", "NV", "kc"].contains($0.0) }, passes: cases)
    }

    static var knobs: [(String, WritableKeyPath<PackedGemmKernel, Int>)] {
        [
            ("MR", \.microRows), ("VW", \.vectorWidth), ("NV", \.vectorsPerRow),
            ("mc", \.rowBlock), ("nc", \.columnBlock), ("kc", \.depthBlock),
        ]
    }

    /// Runs `cases` with the device defaults, this machine's tuning, and each of `knobs`
    /// over all its allowed values one at a time from the defaults.
    private func assertEveryValue(
        of knobs: [(String, WritableKeyPath<PackedGemmKernel, Int>)], passes cases: [VerificationCase]
    ) throws {
        let shared = try TestDevices.requireOpenCL()
        // On a GPU GEMM goes through CLBlast; the packed kernels are checked all the same.
        let device = shared.gemmEngine == .packed ? shared : try OpenCLBackend(device: shared.device, gemmEngine: .packed)
        let defaults = PackedGemmKernel.defaults(for: device.device)
        let space = PackedGemmKernel.searchSpace(nativeWidth: device.device.nativeFloatVectorWidth)
        XCTAssertEqual(Set(Self.knobs.map(\.0)), Set(space.keys), "a knob of the search space is not covered")
        var variants = [defaults, shared.tuning.packedGemm]
        for (name, path) in knobs {
            for value in space[name]! {
                var kernel = defaults
                kernel[keyPath: path] = value
                variants.append(kernel)
            }
        }
        var seen = Set<PackedGemmKernel>()
        for kernel in variants where seen.insert(kernel).inserted {
            let backend = device.retuned(KernelTuning(packedGemm: kernel))
            for check in cases {
                assertPassed(try check.run(backend, TestDevices.reference), "\(check.op) \(check.shape) with \(kernel)")
            }
        }
    }
}
