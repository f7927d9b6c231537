import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

@testable import HeedOpenCL

/// `HEED_TUNING=gpu` runs a GPU's choices on whatever device there is: the choices
/// follow, and the ops still match the reference. (CI also runs the whole OpenCL test
/// target and `heed verify` under `HEED_TUNING=gpu`; this test proves the switch itself.)
final class DeviceKindTests: XCTestCase {
    func testHEEDTUNINGGpuMakesEveryChoiceAGPUsAndTheOpsStillMatch() throws {
        let shared = try TestDevices.requireOpenCL()
        let gpu = try OpenCLBackend(
            device: shared.device, diskCache: true,
            settings: OpenCLSettings(environment: shared.settings.environment.merging(["HEED_TUNING": "gpu"]) { $1 }))
        XCTAssertEqual(gpu.shapedDevice.kind, .gpu)
        XCTAssertEqual(gpu.device.kind, shared.device.kind, "the device itself is unchanged")
        XCTAssertEqual(gpu.gemmEngine, shared.settings.environment["HEED_GEMM"].flatMap(GemmEngine.init(rawValue:)) ?? .clblast)
        XCTAssertEqual(gpu.convolutionScratchLimit, 1 << 25)
        XCTAssertEqual(try gpu.normalizationLaunch, NormalizationLaunch.defaults(for: shared.device.treated(as: .gpu)))
        XCTAssertGreaterThan(try gpu.normalizationLaunch.itemsPerChannel, 1)

        let cpu = try OpenCLBackend(
            device: shared.device, diskCache: true,
            settings: OpenCLSettings(environment: shared.settings.environment.merging(["HEED_TUNING": "cpu"]) { $1 }))
        XCTAssertEqual(cpu.convolutionScratchLimit, 1 << 22)
        XCTAssertEqual(try cpu.normalizationLaunch, NormalizationLaunch.defaults(for: shared.device.treated(as: .cpu)))

        for family in ["gemm", "conv2d", "batch_norm"] {
            for check in VerificationSuite.cases(matching: family) {
                assertPassed(try check.run(gpu, TestDevices.reference), "\(check.op) \(check.shape) under HEED_TUNING=gpu")
            }
        }
    }
}
