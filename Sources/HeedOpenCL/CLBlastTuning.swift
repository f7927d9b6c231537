import CCLBlast
import CCLBlastTuner
import COpenCL
import Foundation
import HeedOps

/// GEMM parameters Heed gives CLBlast for devices CLBlast has no tuning for.
///
/// CLBlast ships tuned kernel parameters per device, but none for PoCL's CPU device, where
/// its defaults run far below the machine's rate; this set for the `Xgemm` kernel
/// (docs/design.md §2) ran several times faster (benchmarks/RESULTS.md, "Measurements behind
/// fixed choices"). On CPU devices Heed now runs GEMM
/// through its own packed kernels (`GemmEngine`), so this set matters when
/// `HEED_GEMM=clblast` asks for CLBlast there; `GemmEngineTests` runs every verification
/// case through CLBlast's Xgemm kernel with it (`withIndirectGemm`), so a set that
/// computed wrong results would fail.
/// `HEED_CLBLAST_TUNING=off` keeps CLBlast's own choice (for comparison).
public enum CLBlastTuning {
    public static let environmentVariable = "HEED_CLBLAST_TUNING"

    /// `Xgemm` parameters for PoCL's CPU device, single precision.
    static let poclXgemm: KeyValuePairs<String, Int> = [
        "GEMMK": 0, "KREG": 1, "KWG": 32, "KWI": 2, "MDIMA": 8, "MDIMC": 8, "MWG": 64, "NDIMB": 8, "NDIMC": 8,
        "NWG": 64, "SA": 0, "SB": 0, "STRM": 0, "STRN": 0, "VWM": 8, "VWN": 8,
    ]

    /// What a tuning file records as the "source" of `clblast_xgemm`: the CLBlast
    /// version, whose kernels the parameters were measured with.
    public static let sourceHash = "clblast-\(CLBLAST_VERSION_MAJOR).\(CLBLAST_VERSION_MINOR).\(CLBLAST_VERSION_PATCH)"

    /// Installs `tuned` (`heed tune`'s Xgemm parameters for this device) when given, else
    /// Heed's PoCL set on PoCL's CPU device, unless `environment` (`OpenCLSettings`)
    /// has `HEED_CLBLAST_TUNING=off`; returns what it did, for logs.
    @discardableResult
    static func apply(to device: OpenCLDeviceInfo, environment: [String: String], tuned: [String: Int]? = nil) throws -> String? {
        guard environment[environmentVariable] != "off" else { return nil }
        if let tuned {
            try overrideXgemm(on: device, tuned.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            return "CLBlast Xgemm parameters from heed tune"
        }
        guard device.platformName.contains("Portable Computing Language"), device.kind == .cpu else { return nil }
        try overrideXgemm(on: device, poclXgemm.map { ($0.key, $0.value) })
        return "CLBlast Xgemm parameters for PoCL"
    }

    /// `CLBlastOverrideParameters` for single-precision Xgemm on `device` (process-wide:
    /// CLBlast keeps parameters per device, and the next GEMM recompiles with them).
    public static func overrideXgemm(on device: OpenCLDeviceInfo, _ parameters: [(String, Int)]) throws {
        try override("Xgemm", on: device, parameters)
    }

    /// `CLBlastOverrideParameters` for any of CLBlast's single-precision kernels or
    /// routines (`GemmRoutine`'s `XGEMM_MIN_INDIRECT_SIZE`: below it, GEMMs run the
    /// direct kernel, which does not use Xgemm's parameters).
    public static func override(_ kernel: String, on device: OpenCLDeviceInfo, _ parameters: [(String, Int)]) throws {
        var names = parameters.map { strdup($0.0) }
        defer { names.forEach { free($0) } }
        var values = parameters.map { $0.1 }
        let status = names.withUnsafeMutableBufferPointer { namePointers in
            namePointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { rebound in
                CLBlastOverrideParameters(device.id, kernel, CLBlastPrecisionSingle, parameters.count, rebound.baseAddress, &values)
            }
        }
        try check(status.rawValue, "CLBlastOverrideParameters(\(kernel), \(device.name))")
    }

    /// The parameters CLBlast uses now for one of its single-precision kernels or
    /// routines on `device` (`clblast::RetrieveParameters`: its database's, or an override's).
    public static func parameters(of kernel: String, on device: OpenCLDeviceInfo) throws -> [String: Int] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var values: UnsafeMutablePointer<Int>?
        var count = 0
        let status = heed_clblast_retrieve(device.id, kernel, &names, &values, &count)
        defer { heed_clblast_free_parameters(names, values, count) }
        try check(status, "clblast::RetrieveParameters(\(kernel), \(device.name))")
        guard count > 0, let names, let values else {
            throw HeedError.invalidArgument(op: "clblast::RetrieveParameters(\(kernel))", "returned no parameters")
        }
        var result: [String: Int] = [:]
        for i in 0..<count {
            if let name = names[i] { result[String(cString: name)] = values[i] }
        }
        return result
    }

    /// Runs `body` with every GEMM through CLBlast's indirect Xgemm kernel. Below
    /// `XGEMM_MIN_INDIRECT_SIZE`³ (hundreds to thousands cubed, per device) CLBlast runs its
    /// direct kernel, which ignores Xgemm's parameters; checks of those parameters set the
    /// threshold to 1 here and put it back after.
    public static func withIndirectGemm<T>(on device: OpenCLDeviceInfo, _ body: () throws -> T) throws -> T {
        let routine = try parameters(of: "GemmRoutine", on: device)
        try override("GemmRoutine", on: device, [("XGEMM_MIN_INDIRECT_SIZE", 1)])
        defer { try? override("GemmRoutine", on: device, routine.map { ($0.key, $0.value) }) }
        return try body()
    }
}
