import ArgumentParser
import HeedOpenCL
import HeedOps

/// `--device P:D`, shared by every command that runs on a device.
struct DeviceOptions: ParsableArguments {
    @Option(
        name: .long, help: "OpenCL device as P:D (see `heed devices`); default: HEED_DEVICE, else the first GPU.",
        transform: { try DeviceSelector(parsing: $0) })
    var device: DeviceSelector?

    func openBackend() throws -> OpenCLBackend {
        try OpenCLBackend(device: device)
    }
}
