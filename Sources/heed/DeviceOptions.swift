import ArgumentParser
import Foundation
import HeedOpenCL
import HeedOps

/// `--device P:D`, shared by every command that runs on a device.
struct DeviceOptions: ParsableArguments {
    @Option(
        name: .long, help: "OpenCL device as P:D (see `heed devices`); default: HEED_DEVICE, else the first GPU.",
        transform: { try DeviceSelector(parsing: $0) })
    var device: DeviceSelector?

    /// The chosen device with `heed tune`'s parameters for it (or its defaults), the
    /// tuning file's warnings printed on standard error.
    ///
    /// - Parameter ignoringTuningFile: run with the device defaults whatever the cache holds
    ///   (`heed tune` measures its candidates against them).
    func openBackend(ignoringTuningFile: Bool = false) throws -> OpenCLBackend {
        var environment = ProcessInfo.processInfo.environment
        if ignoringTuningFile { environment[TuningFile.environmentVariable] = "defaults" }
        let backend = try OpenCLBackend(device: device, settings: OpenCLSettings(environment: environment))
        for warning in backend.tuning.warnings {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }
        return backend
    }
}
