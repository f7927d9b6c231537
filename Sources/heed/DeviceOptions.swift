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
    /// - Parameters:
    ///   - ignoringTuningFile: run with the device defaults whatever the cache holds
    ///     (`heed tune` measures its candidates against them).
    ///   - localRank: a data-parallel rank's index on its host: with neither --device nor
    ///     HEED_DEVICE it takes GPU `localRank` (modulo their number) of the first platform
    ///     with GPUs, so the ranks of a host spread over its GPUs; without a GPU, the first device.
    func openBackend(ignoringTuningFile: Bool = false, localRank: Int? = nil) throws -> OpenCLBackend {
        var environment = ProcessInfo.processInfo.environment
        if ignoringTuningFile { environment[TuningFile.environmentVariable] = "defaults" }
        var device = self.device
        if let localRank, device == nil, (environment[DeviceSelector.environmentVariable] ?? "").isEmpty {
            let gpus = try OpenCLPlatforms.discover().lazy.map { $0.devices.filter { $0.kind == .gpu } }.first { !$0.isEmpty }
            if let gpus { device = gpus[localRank % gpus.count].selector }
        }
        let backend = try OpenCLBackend(device: device, settings: OpenCLSettings(environment: environment))
        for warning in backend.tuning.warnings {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }
        return backend
    }
}
