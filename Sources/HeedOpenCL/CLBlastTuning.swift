import CCLBlast
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
/// case through CLBlast with it, so a set that computed wrong results would fail.
/// `HEED_CLBLAST_TUNING=off` keeps CLBlast's own choice (for comparison).
enum CLBlastTuning {
    static let environmentVariable = "HEED_CLBLAST_TUNING"

    /// `Xgemm` parameters for PoCL's CPU device, single precision.
    static let poclXgemm: KeyValuePairs<String, Int> = [
        "GEMMK": 0, "KREG": 1, "KWG": 32, "KWI": 2, "MDIMA": 8, "MDIMC": 8, "MWG": 64, "NDIMB": 8, "NDIMC": 8,
        "NWG": 64, "SA": 0, "SB": 0, "STRM": 0, "STRN": 0, "VWM": 8, "VWN": 8,
    ]

    /// Installs Heed's parameters for `device` when it has any, unless `environment`
    /// (`OpenCLSettings`) has `HEED_CLBLAST_TUNING=off`; returns what it did, for logs.
    @discardableResult
    static func apply(to device: OpenCLDeviceInfo, environment: [String: String]) throws -> String? {
        guard environment[environmentVariable] != "off" else { return nil }
        guard device.platformName.contains("Portable Computing Language"), device.kind == .cpu else { return nil }
        var names = poclXgemm.map { strdup($0.key) }
        defer { names.forEach { free($0) } }
        var values = poclXgemm.map(\.value)
        let status = names.withUnsafeMutableBufferPointer { namePointers in
            namePointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { rebound in
                CLBlastOverrideParameters(device.id, "Xgemm", CLBlastPrecisionSingle, poclXgemm.count, rebound.baseAddress, &values)
            }
        }
        try check(status.rawValue, "CLBlastOverrideParameters(Xgemm, \(device.name))")
        return "CLBlast Xgemm parameters for PoCL"
    }
}
