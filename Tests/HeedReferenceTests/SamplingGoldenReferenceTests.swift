import HeedReference
import HeedTestSupport
import XCTest

/// The reference's affine_grid and grid_sample against PyTorch (`SamplingGolden`), with no
/// OpenCL; HeedOpenCLTests runs the same cases on OpenCL.
final class SamplingGoldenReferenceTests: XCTestCase {
    func testReferenceReproducesPyTorch() throws {
        for item in try SamplingGolden.cases() {
            try SamplingGolden.check(item, on: TestDevices.reference)
        }
    }
}
