import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import HeedVerify
import XCTest

/// The OpenCL backend against PyTorch's affine_grid and grid_sample (align_corners False,
/// bilinear, zeros), from `Tests/Fixtures/pytorch/grid_sample.json`: a Coarse2Fine
/// zoom, a general θ reaching past the image, and an identity θ that upsamples.
///
/// Each op starts from PyTorch's own (float32) inputs, intermediates included, and
/// the fixture holds the exact results of those rounded once, like the reference
/// backend, so the tolerances are those of `SamplingBounds`. No grid point lies
/// within 1e-3 pixel of an integer coordinate, where the grid gradient jumps. The
/// reference runs the same cases without OpenCL in HeedReferenceTests.
final class SamplingGoldenTests: XCTestCase {
    func testOpenCLReproducesPyTorch() throws {
        let device = try TestDevices.requireOpenCL()
        for item in try SamplingGolden.cases() {
            try SamplingGolden.check(item, on: device)
        }
    }
}
