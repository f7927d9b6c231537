import COpenCL
import Foundation
import HeedOps

/// A built OpenCL program and the kernels created from it so far.
///
/// `@unchecked Sendable`: kernels are created only under the backend's lock.
final class OpenCLProgram: @unchecked Sendable {
    let name: String
    let program: cl_program
    private let context: OpenCLContext
    private var kernels: [String: KernelHandle] = [:]

    init(name: String, program: cl_program, context: OpenCLContext) {
        self.name = name
        self.program = program
        self.context = context
    }

    deinit {
        clReleaseProgram(program)
    }

    /// The kernel called `kernelName`, created once per program. Call under the backend's lock.
    func kernel(_ kernelName: String) throws -> KernelHandle {
        if let kernel = kernels[kernelName] { return kernel }
        var status: cl_int = 0
        guard let kernel = clCreateKernel(program, kernelName, &status), status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateKernel(\(kernelName) in \(name))", status: status)
        }
        let handle = try KernelHandle(kernel: kernel, name: kernelName, context: context)
        kernels[kernelName] = handle
        return handle
    }
}

/// A program that failed to compile, with the compiler's own words.
public struct ProgramBuildError: Error, CustomStringConvertible {
    public let program: String
    public let device: String
    public let options: String
    /// The build log, as the OpenCL compiler wrote it (file:line:column: error: …).
    public let log: String

    public var description: String {
        "OpenCL program '\(program)' failed to build for \(device)"
            + (options.isEmpty ? "" : " with options '\(options)'")
            + ":\n" + log.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// How many programs a backend compiled, loaded from disk, or found in memory.
///
/// Every `prepare`, `kernel(family:…)` and kernel launch counts once, by where its program came from;
/// a launch of a kernel resolved before (`KernelHandle`) counts as reused in memory.
public struct ProgramCacheStatistics: Sendable, Equatable, CustomStringConvertible {
    public var compiledFromSource = 0
    public var loadedFromDisk = 0
    public var memoryHits = 0

    public var description: String {
        "OpenCL programs: \(compiledFromSource) compiled from source, \(loadedFromDisk) loaded from the disk cache, \(memoryHits) reused in memory"
    }
}

/// Builds programs once per process (memory) and once per machine (disk).
///
/// Keyed by program name, source text and `-D` defines; the disk key adds the
/// device name and driver version, since a binary is only valid for those.
/// Not thread-safe on its own: the backend calls it under its lock.
final class ProgramCache {
    private struct Key: Hashable {
        let source: ProgramSource
        let options: String
    }

    private let context: OpenCLContext
    let store: ProgramBinaryStore?
    private var programs: [Key: OpenCLProgram] = [:]
    private(set) var statistics = ProgramCacheStatistics()

    init(context: OpenCLContext, store: ProgramBinaryStore?) {
        self.context = context
        self.store = store
    }

    /// Counts a launch whose program was found without asking this cache (a `KernelHandle`'s).
    func countMemoryHit() {
        statistics.memoryHits += 1
    }

    func program(name: String, source: String, defines: [String: String]) throws -> OpenCLProgram {
        try program(ProgramSource(name: name, text: source), defines: defines)
    }

    func program(_ programSource: ProgramSource, defines: [String: String]) throws -> OpenCLProgram {
        let (name, source) = (programSource.name, programSource.text)
        let options = Self.buildOptions(defines)
        let memoryKey = Key(source: programSource, options: options)
        if let program = programs[memoryKey] {
            statistics.memoryHits += 1
            return program
        }
        let device = context.device
        let diskKey = """
            device: \(device.name)
            vendor: \(device.vendor)
            driver: \(device.driverVersion)
            version: \(device.version)
            options: \(options)
            source:
            \(source)
            """
        let program: OpenCLProgram
        if let binary = store?.load(key: diskKey), let loaded = try? build(name: name, binary: binary, options: options) {
            statistics.loadedFromDisk += 1
            program = loaded
        } else {
            program = try build(name: name, source: source, options: options)
            statistics.compiledFromSource += 1
            if let store, let binary = try? binary(of: program.program) {
                store.store(key: diskKey, binary: binary)
            }
        }
        programs[memoryKey] = program
        return program
    }

    /// `-D NAME=value` for each define, sorted so equal sets give equal keys.
    static func buildOptions(_ defines: [String: String]) -> String {
        defines.keys.sorted().map { "-D \($0)=\(defines[$0]!)" }.joined(separator: " ")
    }

    // MARK: Building

    private func build(name: String, source: String, options: String) throws -> OpenCLProgram {
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context.context, 1, &pointer, &length, &status)
        }
        guard let program, status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateProgramWithSource(\(name))", status: status)
        }
        return try finishBuild(name: name, program: program, options: options)
    }

    private func build(name: String, binary: [UInt8], options: String) throws -> OpenCLProgram {
        var status: cl_int = 0
        var binaryStatus: cl_int = 0
        var deviceID: cl_device_id? = context.device.id
        var length = binary.count
        let program: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(context.context, 1, &deviceID, &length, &pointer, &binaryStatus, &status)
        }
        guard let program, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            if let program { clReleaseProgram(program) }
            throw OpenCLError(call: "clCreateProgramWithBinary(\(name))", status: status != CL_SUCCESS ? status : binaryStatus)
        }
        return try finishBuild(name: name, program: program, options: options)
    }

    private func finishBuild(name: String, program: cl_program, options: String) throws -> OpenCLProgram {
        var deviceID: cl_device_id? = context.device.id
        let status = clBuildProgram(program, 1, &deviceID, options, nil, nil)
        if status != CL_SUCCESS {
            let log = (try? buildLog(of: program)) ?? ""
            clReleaseProgram(program)
            if status == CL_BUILD_PROGRAM_FAILURE || !log.isEmpty {
                throw ProgramBuildError(program: name, device: context.device.name, options: options, log: log)
            }
            throw OpenCLError(call: "clBuildProgram(\(name))", status: status)
        }
        return OpenCLProgram(name: name, program: program, context: context)
    }

    private func buildLog(of program: cl_program) throws -> String {
        try OpenCLPlatforms.readString("clGetProgramBuildInfo") { size, value, sizeOut in
            clGetProgramBuildInfo(program, context.device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, value, sizeOut)
        }
    }

    private func binary(of program: cl_program) throws -> [UInt8] {
        var size = 0
        try check(
            clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
            "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)")
        guard size > 0 else { return [] }
        var binary = [UInt8](repeating: 0, count: size)
        try binary.withUnsafeMutableBufferPointer { bytes in
            var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
            try check(
                clGetProgramInfo(
                    program, cl_program_info(CL_PROGRAM_BINARIES),
                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil),
                "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        }
        return binary
    }
}
