import Foundation
import HeedOps

/// Names one OpenCL device as `P:D`, platform and device index in the loader's order.
public struct DeviceSelector: Sendable, Equatable, CustomStringConvertible {
    /// The environment variable consulted when no `--device` is given.
    public static let environmentVariable = "HEED_DEVICE"

    public let platform: Int
    public let device: Int

    public init(platform: Int, device: Int) {
        self.platform = platform
        self.device = device
    }

    /// Parses `P:D`, e.g. `0:1`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let platform = Int(parts[0]), let device = Int(parts[1]),
            platform >= 0, device >= 0
        else { throw DeviceSelectionError.invalidSelector(text) }
        self.init(platform: platform, device: device)
    }

    public var description: String { "\(platform):\(device)" }

    /// The device Heed uses: `requested` if given, else `HEED_DEVICE` in `environment`
    /// (`OpenCLSettings`), else the first GPU, else the first device of any kind.
    public static func choose(
        from platforms: [OpenCLPlatformInfo],
        requested: DeviceSelector? = nil,
        environment: [String: String]
    ) throws -> OpenCLDeviceInfo {
        var selector = requested
        if selector == nil, let text = environment[environmentVariable], !text.isEmpty {
            selector = try DeviceSelector(parsing: text)
        }
        let all = platforms.flatMap(\.devices)
        if let selector {
            guard let device = all.first(where: { $0.selector == selector }) else {
                throw DeviceSelectionError.noSuchDevice(selector, available: all.map(\.selector))
            }
            return device
        }
        guard let device = all.first(where: { $0.kind == .gpu }) ?? all.first else {
            throw DeviceSelectionError.noDevice
        }
        return device
    }
}

/// Why no OpenCL device could be chosen.
public enum DeviceSelectionError: Error, Equatable, CustomStringConvertible {
    case noPlatform
    case noDevice
    case invalidSelector(String)
    case noSuchDevice(DeviceSelector, available: [DeviceSelector])

    public var description: String {
        switch self {
        case .noPlatform:
            return
                "no OpenCL platform found: install a driver (on Debian/Ubuntu, `apt-get install pocl-opencl-icd` for the CPU) or check OCL_ICD_VENDORS"
        case .noDevice:
            return "the OpenCL platforms found have no devices"
        case .invalidSelector(let text):
            return "invalid device '\(text)': expected P:D, platform and device numbers as `heed devices` lists them (e.g. 0:0)"
        case .noSuchDevice(let selector, let available):
            let list = available.isEmpty ? "none" : available.map(\.description).joined(separator: ", ")
            return "no OpenCL device \(selector) (available: \(list)); `heed devices` lists them"
        }
    }
}
