import Foundation
import HeedOps

/// The kernel parameters a backend runs with, and where they came from.
///
/// Without a tuning file, every knob takes its default from the device's properties
/// (`PackedGemmKernel.defaults(for:)`), so an untuned run never gets a tile made for
/// another machine. `heed tune` measures candidates and writes the winners to a
/// `TuningFile`, which every backend then loads when it opens. Heed does not tune by
/// itself on a first run: a search takes minutes and a benchmark or training run that
/// silently spent them would be measured wrong, so commands say which tuning they use
/// and point to `heed tune` instead.
public struct KernelTuning: Sendable, Equatable {
    public enum Origin: Sendable, Equatable {
        /// Every knob from the device's properties.
        case deviceDefaults
        /// From this tuning file (families it does not hold, or holds for another source, use defaults).
        case file(URL, created: String)
        /// Given by the caller (`OpenCLBackend(device:tuning:)`, `heed tune`'s candidates).
        case given
        /// The defaults of another kind of device, asked for with `HEED_TUNING=gpu|cpu`.
        case otherKind(OpenCLDeviceInfo.Kind)
    }

    /// The kind of device the launch shapes, scratch sizes, engine choice and defaults
    /// are made for; nil: the device's own. `HEED_TUNING=gpu` or `cpu` sets it to ask
    /// for that kind's. That runs a GPU's code paths (GEMM through CLBlast, 256-item
    /// batch-norm groups, one image row per work item, 128 MiB convolution scratch) on
    /// PoCL's CPU device, where every CI run can check them against the reference.
    public var deviceKind: OpenCLDeviceInfo.Kind?

    /// The packed CPU GEMM's micro-tile and blocks (used when `gemm` runs on the packed engine).
    public var packedGemm: PackedGemmKernel
    /// CLBlast's Xgemm parameters from `heed tune` (used when `gemm` runs through CLBlast);
    /// nil keeps CLBlast's database (or, on PoCL, Heed's set, `CLBlastTuning`).
    public var clblastXgemm: [String: Int]?
    /// Batch normalisation's launch (`Kernels/normalization.cl`); nil: `NormalizationLaunch.defaults(for:)`.
    public var normalization: NormalizationLaunch?
    public var origin: Origin
    /// Why a tuning file was not used, or not wholly: one line each. Commands print them.
    public var warnings: [String] = []

    public init(
        packedGemm: PackedGemmKernel, clblastXgemm: [String: Int]? = nil, normalization: NormalizationLaunch? = nil,
        deviceKind: OpenCLDeviceInfo.Kind? = nil, origin: Origin = .given
    ) {
        self.packedGemm = packedGemm
        self.deviceKind = deviceKind
        self.clblastXgemm = clblastXgemm
        self.normalization = normalization
        self.origin = origin
    }

    /// Every knob from `device`'s properties.
    public static func deviceDefaults(for device: OpenCLDeviceInfo) -> KernelTuning {
        KernelTuning(packedGemm: .defaults(for: device), origin: .deviceDefaults)
    }

    /// The values `HEED_TUNING` takes besides a file's path.
    public static let kindSettings: [String: OpenCLDeviceInfo.Kind] = ["gpu": .gpu, "cpu": .cpu]

    /// The kernel families a tuning file may hold.
    public static let families = ["gemm_cpu", "clblast_xgemm", "normalization"]

    /// The tuning for `device` under `environment` (`OpenCLSettings`): the device defaults
    /// for `HEED_TUNING=defaults`, a GPU's or a CPU's for `gpu` or `cpu` (no file is read),
    /// the file `HEED_TUNING` names, else the device's file in `TuningFile.directory` if
    /// there is one, else the device defaults. `sourceHash(family)` gives the hash of the program source the
    /// backend will build for a family; entries made for another source are ignored.
    /// Never throws: a file that cannot be used leaves a warning and the defaults.
    static func resolve(
        device: OpenCLDeviceInfo, environment: [String: String], sourceHash: (String) -> String?
    ) -> KernelTuning {
        var tuning = deviceDefaults(for: device)
        let requested = environment[TuningFile.environmentVariable] ?? ""
        if requested == "defaults" { return tuning }
        if let kind = kindSettings[requested] {
            var other = deviceDefaults(for: device.treated(as: kind))
            other.deviceKind = kind
            other.origin = .otherKind(kind)
            return other
        }
        let url =
            requested.isEmpty
            ? TuningFile.url(for: device, in: TuningFile.directory(environment: environment))
            : URL(fileURLWithPath: requested)
        // No file is the ordinary untuned case, unless HEED_TUNING asked for one.
        guard requested.isEmpty ? FileManager.default.fileExists(atPath: url.path) : true else { return tuning }
        let file: TuningFile
        do {
            file = try TuningFile.read(from: url)
        } catch {
            tuning.warnings.append("warning: ignoring \(error); using the device defaults")
            return tuning
        }
        guard file.device == device.name, file.driverVersion == device.driverVersion, file.platform == device.platformName else {
            tuning.warnings.append(
                "warning: ignoring tuning file \(url.path): made for \(file.device) (driver \(file.driverVersion)), "
                    + "not \(device.name) (driver \(device.driverVersion)); run heed tune")
            return tuning
        }
        var applied = 0
        for (family, entry) in file.families.sorted(by: { $0.key < $1.key }) {
            guard families.contains(family) else {
                tuning.warnings.append("warning: tuning file \(url.path) has unknown kernel family \(family); ignored")
                continue
            }
            guard entry.sourceHash == sourceHash(family) else {
                tuning.warnings.append(
                    "warning: tuning file \(url.path) was made for another version of Kernels/\(family).cl; "
                        + "\(family) uses the device defaults (run heed tune)")
                continue
            }
            do {
                switch family {
                case "clblast_xgemm":
                    guard !entry.knobs.isEmpty, entry.knobs.values.allSatisfy({ (0...65536).contains($0) }) else {
                        throw HeedError.invalidArgument(op: family, "parameters out of range")
                    }
                    tuning.clblastXgemm = entry.knobs
                case "normalization":
                    tuning.normalization = try NormalizationLaunch(knobs: entry.knobs, for: device)
                default:
                    tuning.packedGemm = try PackedGemmKernel(knobs: entry.knobs)
                }
                applied += 1
            } catch {
                tuning.warnings.append("warning: ignoring \(family) in tuning file \(url.path): \(error)")
            }
        }
        if applied > 0 { tuning.origin = .file(url, created: file.created) }
        return tuning
    }

    /// One line for logs: where the parameters came from and what they are.
    public func summary(gemmEngine: GemmEngine) -> String {
        let source: String
        switch origin {
        case .deviceDefaults: source = "device defaults (heed tune measures better ones)"
        case .file(let url, let created): source = "heed tune of \(created.prefix(10)) (\(url.path))"
        case .given: source = "given by the caller"
        case .otherKind(let kind): source = "the defaults of a \(kind.rawValue) device, forced by HEED_TUNING"
        }
        let gemm =
            gemmEngine == .packed
            ? "packed GEMM \(packedGemm)"
            : "GEMM through CLBlast\(clblastXgemm == nil ? "" : " with tuned Xgemm parameters")"
        let normalization = self.normalization.map { "batch norm \($0)" } ?? "batch norm device defaults"
        return "tuning: \(source); \(gemm); \(normalization)"
    }
}
