import Foundation
import HeedKernels

/// The environment variables that steer the OpenCL layer, read once: a backend takes
/// them when it opens and never reads the environment again.
///
/// ```swift
/// let backend = try OpenCLBackend()                                               // this process's environment
/// let packed = try OpenCLBackend(settings: OpenCLSettings(environment: ["HEED_GEMM": "packed"]))
/// ```
///
/// - `HEED_DEVICE`: the device when none is requested (`DeviceSelector.choose`).
/// - `HEED_GEMM`: what runs `gemm` when none is requested (`GemmEngine.choose`).
/// - `HEED_CLBLAST_TUNING`: `off` keeps CLBlast's own parameters (`CLBlastTuning`).
/// - `HEED_TUNING`: `defaults` ignores `heed tune`'s file; a path names the file to use (`KernelTuning`).
/// - `HEED_CACHE_DIR`, `XDG_CACHE_HOME`: where compiled programs are kept (`ProgramBinaryStore`).
/// - `HEED_KERNEL_DIR`: a folder of `.cl` files to use instead of the embedded ones (`KernelLibrary`).
public struct OpenCLSettings: Sendable, Equatable {
    /// The names of the variables read.
    public static let variables = [
        DeviceSelector.environmentVariable, GemmEngine.environmentVariable, CLBlastTuning.environmentVariable,
        TuningFile.environmentVariable,
        ProgramBinaryStore.environmentVariable, ProgramBinaryStore.xdgEnvironmentVariable,
        KernelLibrary.overrideDirectoryVariable,
    ]

    /// The values of those of `variables` that are set; the others are absent.
    public let environment: [String: String]

    /// The settings `environment` gives; variables other than `variables` are left out.
    public init(environment: [String: String]) {
        self.environment = environment.filter { Self.variables.contains($0.key) }
    }

    /// The settings of this process's environment, as it is now.
    public static func fromEnvironment() -> OpenCLSettings {
        OpenCLSettings(environment: ProcessInfo.processInfo.environment)
    }
}
