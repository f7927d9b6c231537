import Foundation
import HeedKernels
import HeedSupport

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
/// - `HEED_MEMORY_LIMIT`: the most device memory the backend may hold (`memoryLimit()`).
public struct OpenCLSettings: Sendable, Equatable {
    /// The names of the variables read.
    public static let variables = [
        DeviceSelector.environmentVariable, GemmEngine.environmentVariable, CLBlastTuning.environmentVariable,
        TuningFile.environmentVariable,
        ProgramBinaryStore.environmentVariable, ProgramBinaryStore.xdgEnvironmentVariable,
        KernelLibrary.overrideDirectoryVariable, memoryLimitVariable,
    ]

    public static let memoryLimitVariable = "HEED_MEMORY_LIMIT"

    /// The values of those of `variables` that are set; the others are absent.
    public let environment: [String: String]

    /// The settings `environment` gives; variables other than `variables` are left out.
    public init(environment: [String: String]) {
        self.environment = environment.filter { Self.variables.contains($0.key) }
    }

    /// The bytes of device memory `HEED_MEMORY_LIMIT` allows a backend to hold from the
    /// driver (buffers in use and those its allocator keeps for reuse), or nil when it is not set.
    ///
    /// - Throws: `EnvironmentError` for a value that is not a size such as `536870912`, `512M` or `2G`.
    public func memoryLimit() throws -> Int? {
        try EnvironmentSetting.byteCount(Self.memoryLimitVariable, environment: environment)
    }

    /// The settings of this process's environment, as it is now.
    public static func fromEnvironment() -> OpenCLSettings {
        OpenCLSettings(environment: ProcessInfo.processInfo.environment)
    }
}
