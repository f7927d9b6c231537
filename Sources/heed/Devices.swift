import ArgumentParser
import Foundation
import HeedOpenCL
import HeedOps
import HeedSupport

/// `heed devices`: every OpenCL platform and device, and the one Heed picks by default.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the OpenCL platforms and devices, and which one Heed uses by default.")

    func run() throws {
        let platforms = try OpenCLPlatforms.discover()
        let settings = OpenCLSettings.fromEnvironment()
        let chosen = try? DeviceSelector.choose(from: platforms, environment: settings.environment)
        for platform in platforms {
            print("Platform \(platform.index): \(platform.name) (\(platform.vendor)), \(platform.version)")
            if platform.devices.isEmpty { print("  (no devices)") }
            for device in platform.devices {
                let isDefault = chosen.map { $0.selector == device.selector } ?? false
                print("  \(isDefault ? "*" : " ") \(device.selector)  \(device.name)")
                print("        vendor \(device.vendor), \(device.kind.rawValue), \(device.version), driver \(device.driverVersion)")
                print(
                    "        \(device.computeUnits) compute units, global memory \(formatBytes(device.globalMemoryBytes)), "
                        + "local memory \(formatBytes(device.localMemoryBytes)), max work-group \(device.maxWorkGroupSize)")
                print("        fp16 \(device.supportsFP16 ? "yes" : "no"), fp64 \(device.supportsFP64 ? "yes" : "no")")
            }
        }
        if let chosen {
            let why =
                settings.environment[DeviceSelector.environmentVariable].map { "HEED_DEVICE=\($0)" }
                ?? (chosen.kind == .gpu ? "first GPU" : "no GPU, first device")
            print("* default device: \(chosen.selector) (\(why)); choose another with --device P:D or HEED_DEVICE=P:D")
        }
    }
}
