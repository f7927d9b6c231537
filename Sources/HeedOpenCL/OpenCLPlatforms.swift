import COpenCL
import Foundation
import HeedOps

/// An OpenCL platform (a driver: PoCL, NVIDIA, …) and its devices.
public struct OpenCLPlatformInfo: Sendable {
    public let index: Int
    public let name: String
    public let vendor: String
    public let version: String
    public let devices: [OpenCLDeviceInfo]
}

/// One OpenCL device and the properties `heed devices` shows.
///
/// `@unchecked Sendable`: the device handle is an OpenCL object, and OpenCL's
/// API is thread-safe for every call Heed makes on it.
public struct OpenCLDeviceInfo: @unchecked Sendable {
    public enum Kind: String, Sendable {
        case gpu = "GPU"
        case cpu = "CPU"
        case accelerator = "accelerator"
        case other = "other"
    }

    public let platformIndex: Int
    public let deviceIndex: Int
    public let platformName: String
    public let name: String
    public let vendor: String
    /// `CL_DEVICE_VERSION`, e.g. `OpenCL 3.0 CUDA`.
    public let version: String
    public let driverVersion: String
    /// What the device reports itself as. `KernelTuning.deviceKind` may differ: the kind
    /// the launch shapes and engine choices are made for (`HEED_TUNING=gpu|cpu`).
    public internal(set) var kind: Kind
    public let computeUnits: Int
    public let globalMemoryBytes: UInt64
    public let localMemoryBytes: UInt64
    public let maxWorkGroupSize: Int
    /// `CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT`: floats per vector register (8 for AVX2,
    /// 16 for AVX-512 on PoCL; 1 on most GPUs).
    public let nativeFloatVectorWidth: Int
    /// `CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT`: the width the vendor advises kernels to use.
    public let preferredFloatVectorWidth: Int
    public let supportsFP16: Bool
    public let supportsFP64: Bool

    let id: cl_device_id
    /// The OpenCL device, for libraries that take one (CLBlast's tuners).
    public var handle: cl_device_id { id }

    /// This device as Heed's choices see it when made for `kind`: every property its
    /// own but the kind (`KernelTuning.deviceKind`).
    public func treated(as kind: Kind) -> OpenCLDeviceInfo {
        var copy = self
        copy.kind = kind
        return copy
    }

    /// `P:D`, the form `--device` and `HEED_DEVICE` take.
    public var selector: DeviceSelector { DeviceSelector(platform: platformIndex, device: deviceIndex) }
}

/// Reads the platforms and devices the OpenCL ICD loader knows.
public enum OpenCLPlatforms {
    /// Every platform with its devices, in the loader's order (the order `P:D` counts in).
    ///
    /// - Throws: `DeviceSelectionError.noPlatform` when the loader finds no platform,
    ///   `OpenCLError` when a query fails.
    public static func discover() throws -> [OpenCLPlatformInfo] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        if status == CL_PLATFORM_NOT_FOUND_KHR || (status == CL_SUCCESS && platformCount == 0) {
            throw DeviceSelectionError.noPlatform
        }
        try check(status, "clGetPlatformIDs")
        var platformIDs = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try check(clGetPlatformIDs(platformCount, &platformIDs, nil), "clGetPlatformIDs")

        return try platformIDs.enumerated().map { index, id in
            let platformName = try platformString(id, CL_PLATFORM_NAME)
            return OpenCLPlatformInfo(
                index: index,
                name: platformName,
                vendor: try platformString(id, CL_PLATFORM_VENDOR),
                version: try platformString(id, CL_PLATFORM_VERSION),
                devices: try devices(of: id, platformIndex: index, platformName: platformName))
        }
    }

    private static func devices(of platform: cl_platform_id?, platformIndex: Int, platformName: String) throws -> [OpenCLDeviceInfo] {
        var count: cl_uint = 0
        let status = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &count)
        // A platform with no devices is legal (e.g. a GPU driver without its GPU).
        if status == CL_DEVICE_NOT_FOUND { return [] }
        try check(status, "clGetDeviceIDs(\(platformName))")
        var ids = [cl_device_id?](repeating: nil, count: Int(count))
        try check(
            clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), count, &ids, nil),
            "clGetDeviceIDs(\(platformName))")
        return try ids.enumerated().compactMap { index, id in
            guard let id else { return nil }
            return try deviceInfo(id, platformIndex: platformIndex, deviceIndex: index, platformName: platformName)
        }
    }

    static func deviceInfo(_ id: cl_device_id, platformIndex: Int, deviceIndex: Int, platformName: String) throws -> OpenCLDeviceInfo {
        let type: cl_device_type = try deviceValue(id, CL_DEVICE_TYPE)
        let kind: OpenCLDeviceInfo.Kind =
            type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0
            ? .gpu
            : type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0
                ? .cpu
                : type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0
                    ? .accelerator
                    : .other
        let extensions = try deviceString(id, CL_DEVICE_EXTENSIONS).split(separator: " ")
        let doubleConfig: cl_device_fp_config = try deviceValue(id, CL_DEVICE_DOUBLE_FP_CONFIG)
        let computeUnits: cl_uint = try deviceValue(id, CL_DEVICE_MAX_COMPUTE_UNITS)
        let workGroup: Int = try deviceValue(id, CL_DEVICE_MAX_WORK_GROUP_SIZE)
        let nativeWidth: cl_uint = try deviceValue(id, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT)
        let preferredWidth: cl_uint = try deviceValue(id, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT)
        return OpenCLDeviceInfo(
            platformIndex: platformIndex,
            deviceIndex: deviceIndex,
            platformName: platformName,
            name: try deviceString(id, CL_DEVICE_NAME),
            vendor: try deviceString(id, CL_DEVICE_VENDOR),
            version: try deviceString(id, CL_DEVICE_VERSION),
            driverVersion: try deviceString(id, CL_DRIVER_VERSION),
            kind: kind,
            computeUnits: Int(computeUnits),
            globalMemoryBytes: try deviceValue(id, CL_DEVICE_GLOBAL_MEM_SIZE),
            localMemoryBytes: try deviceValue(id, CL_DEVICE_LOCAL_MEM_SIZE),
            maxWorkGroupSize: workGroup,
            nativeFloatVectorWidth: Int(nativeWidth),
            preferredFloatVectorWidth: Int(preferredWidth),
            supportsFP16: extensions.contains("cl_khr_fp16"),
            supportsFP64: extensions.contains("cl_khr_fp64") || doubleConfig != 0,
            id: id)
    }

    // MARK: Queries

    private static func platformString(_ id: cl_platform_id?, _ parameter: Int32) throws -> String {
        try readString("clGetPlatformInfo") { size, value, sizeOut in
            clGetPlatformInfo(id, cl_platform_info(parameter), size, value, sizeOut)
        }
    }

    static func deviceString(_ id: cl_device_id, _ parameter: Int32) throws -> String {
        try readString("clGetDeviceInfo") { size, value, sizeOut in
            clGetDeviceInfo(id, cl_device_info(parameter), size, value, sizeOut)
        }
    }

    static func deviceValue<T: FixedWidthInteger>(_ id: cl_device_id, _ parameter: Int32) throws -> T {
        var value: T = 0
        try check(clGetDeviceInfo(id, cl_device_info(parameter), MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo")
        return value
    }

    /// Calls an OpenCL `clGet…Info` function twice, for the size and then the text.
    static func readString(
        _ call: String,
        _ query: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int
    ) throws -> String {
        var size = 0
        try check(query(0, nil, &size), call)
        var bytes = [UInt8](repeating: 0, count: max(size, 1))
        try check(bytes.withUnsafeMutableBytes { query(size, $0.baseAddress, nil) }, call)
        let text = bytes.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}
