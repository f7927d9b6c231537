import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

final class DeviceSelectionTests: XCTestCase {
    /// Two platforms: a CPU first, then a platform with a CPU and a GPU.
    private let platforms: [OpenCLPlatformInfo] = [
        platform(0, kinds: [.cpu]),
        platform(1, kinds: [.cpu, .gpu]),
    ]

    func testParsesPlatformColonDevice() throws {
        XCTAssertEqual(try DeviceSelector(parsing: "1:0"), DeviceSelector(platform: 1, device: 0))
        XCTAssertEqual(try DeviceSelector(parsing: "0:12").device, 12)
        for bad in ["", "1", "1:", ":1", "a:b", "1:2:3", "-1:0", "0:-2", " 0:0"] {
            assertThrows(try DeviceSelector(parsing: bad), as: DeviceSelectionError.self) {
                XCTAssertEqual($0, .invalidSelector(bad))
            }
        }
    }

    func testDefaultIsTheFirstGPU() throws {
        let chosen = try DeviceSelector.choose(from: platforms, environment: [:])
        XCTAssertEqual(chosen.selector, DeviceSelector(platform: 1, device: 1))
    }

    func testWithoutGPUTheDefaultIsTheFirstDevice() throws {
        let cpus = [Self.platform(0, kinds: [.accelerator, .cpu])]
        XCTAssertEqual(try DeviceSelector.choose(from: cpus, environment: [:]).selector, DeviceSelector(platform: 0, device: 0))
    }

    func testEnvironmentOverridesDefaultAndFlagOverridesEnvironment() throws {
        let environment = ["HEED_DEVICE": "1:0"]
        XCTAssertEqual(
            try DeviceSelector.choose(from: platforms, environment: environment).selector,
            DeviceSelector(platform: 1, device: 0))
        XCTAssertEqual(
            try DeviceSelector.choose(
                from: platforms, requested: DeviceSelector(platform: 0, device: 0),
                environment: environment
            ).selector,
            DeviceSelector(platform: 0, device: 0))
    }

    func testMissingDeviceNamesWhatExists() {
        assertThrows(
            try DeviceSelector.choose(
                from: platforms, requested: DeviceSelector(platform: 2, device: 0),
                environment: [:]),
            as: DeviceSelectionError.self
        ) { error in
            XCTAssertEqual(error.description, "no OpenCL device 2:0 (available: 0:0, 1:0, 1:1); `heed devices` lists them")
        }
        assertThrows(
            try DeviceSelector.choose(from: platforms, environment: ["HEED_DEVICE": "zero"]),
            as: DeviceSelectionError.self
        ) { XCTAssertEqual($0, .invalidSelector("zero")) }
        assertThrows(
            try DeviceSelector.choose(from: [Self.platform(0, kinds: [])], environment: [:]),
            as: DeviceSelectionError.self
        ) { XCTAssertEqual($0, .noDevice) }
    }

    func testDiscoveryFindsTheDeviceTheBackendOpened() throws {
        let backend = try TestDevices.requireOpenCL()
        let devices = try OpenCLPlatforms.discover().flatMap(\.devices)
        let match = try XCTUnwrap(devices.first { $0.selector == backend.device.selector })
        XCTAssertEqual(match.name, backend.device.name)
        XCTAssertFalse(match.name.isEmpty)
        XCTAssertGreaterThan(match.computeUnits, 0)
        XCTAssertGreaterThan(match.globalMemoryBytes, 0)
        XCTAssertGreaterThan(match.maxWorkGroupSize, 0)
    }

    private static func platform(_ index: Int, kinds: [OpenCLDeviceInfo.Kind]) -> OpenCLPlatformInfo {
        let devices = kinds.enumerated().map { deviceIndex, kind in
            OpenCLDeviceInfo(
                platformIndex: index, deviceIndex: deviceIndex, platformName: "platform \(index)",
                name: "\(kind) \(deviceIndex)", vendor: "test", version: "OpenCL 1.2", driverVersion: "1",
                kind: kind, computeUnits: 1, globalMemoryBytes: 1 << 30, localMemoryBytes: 1 << 15,
                maxWorkGroupSize: 256, nativeFloatVectorWidth: 8, preferredFloatVectorWidth: 8, supportsFP16: false, supportsFP64: false,
                // Never passed to OpenCL: these tests only choose among descriptions.
                id: OpaquePointer(bitPattern: 0x1000 + deviceIndex)!)
        }
        return OpenCLPlatformInfo(index: index, name: "platform \(index)", vendor: "test", version: "OpenCL 1.2", devices: devices)
    }
}
