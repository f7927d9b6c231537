import COpenCL
import Foundation
import HeedKernels
import HeedOps

/// The backend that runs Heed's ops on an OpenCL device: kernels from `Kernels/`,
/// GEMM through CLBlast on GPUs and Heed's packed kernels on CPUs (`GemmEngine`),
/// one in-order queue.
///
/// ```swift
/// let backend = try OpenCLBackend()                                  // HEED_DEVICE, else first GPU, else first device
/// let chosen = try OpenCLBackend(device: DeviceSelector(parsing: "0:1"))
/// ```
///
/// Programs are compiled once per process and once per machine: see
/// `ProgramBinaryStore` for the disk cache and `programStatistics` for the counts.
/// A kernel is resolved once per (family, defines, kernel name) into a `KernelHandle`;
/// later launches find it by that key. The environment is read once, when the backend
/// opens (`OpenCLSettings`).
///
/// `@unchecked Sendable`: the caches and kernel arguments are guarded by `lock`, so
/// launches from several threads are serialised there; the OpenCL objects themselves
/// are thread-safe.
public final class OpenCLBackend: Backend, @unchecked Sendable {
    public let device: OpenCLDeviceInfo
    public var name: String { "OpenCL \(device.selector): \(device.name)" }
    /// What runs `gemm` here (`HEED_GEMM` overrides the choice by device kind).
    public let gemmEngine: GemmEngine

    /// The environment variables this backend was opened with.
    public let settings: OpenCLSettings
    /// The kernel parameters it runs with: `heed tune`'s file for this device, else the
    /// device's defaults (see `KernelTuning`).
    public let tuning: KernelTuning
    /// The launch shapes and defaults of the kind `shapedDevice` has (`DeviceShapes`).
    public let shapes: DeviceShapes

    let context: OpenCLContext
    private let programs: ProgramCache
    private let sources: KernelSources
    private var kernels: [KernelKey: KernelHandle] = [:]
    /// Guards the program and kernel caches, kernel arguments and profiling state
    /// (shared with the backends `retuned(_:)` makes, which share the caches).
    let lock: NSLock
    private var profileState: KernelProfile?

    /// Opens the chosen device (see `DeviceSelector.choose`).
    ///
    /// - Parameters:
    ///   - selector: `P:D` from `--device`; nil consults `HEED_DEVICE`, then picks the first GPU.
    ///   - cacheDirectory: where compiled programs are kept; nil for the default (`HEED_CACHE_DIR`, …).
    ///   - diskCache: false keeps compiled programs in memory only.
    ///   - gemmEngine: what runs `gemm`; nil chooses by device kind and `HEED_GEMM` (see `GemmEngine`).
    ///   - tuning: kernel parameters; nil loads `heed tune`'s file for the device, else
    ///     takes the device defaults (see `KernelTuning`; `HEED_TUNING` steers the choice).
    ///   - settings: the `HEED_*` variables; by default this process's environment, read now.
    ///     `HEED_MEMORY_LIMIT` sets `memoryLimit`.
    public convenience init(
        device selector: DeviceSelector? = nil, cacheDirectory: URL? = nil, diskCache: Bool = true,
        gemmEngine: GemmEngine? = nil, tuning: KernelTuning? = nil, settings: OpenCLSettings = .fromEnvironment()
    ) throws {
        let device = try DeviceSelector.choose(
            from: OpenCLPlatforms.discover(), requested: selector,
            environment: settings.environment)
        try self.init(
            device: device, cacheDirectory: cacheDirectory, diskCache: diskCache, gemmEngine: gemmEngine,
            tuning: tuning, settings: settings)
    }

    public init(
        device: OpenCLDeviceInfo, cacheDirectory: URL? = nil, diskCache: Bool = true,
        gemmEngine: GemmEngine? = nil, tuning: KernelTuning? = nil, settings: OpenCLSettings = .fromEnvironment()
    ) throws {
        self.device = device
        self.settings = settings
        self.context = try OpenCLContext(device: device, memoryLimit: settings.memoryLimit())
        let store =
            diskCache
            ? ProgramBinaryStore(directory: cacheDirectory ?? ProgramBinaryStore.defaultDirectory(environment: settings.environment))
            : nil
        self.programs = ProgramCache(context: context, store: store)
        let sources = KernelSources(directory: KernelLibrary.overrideDirectory(in: settings.environment))
        self.sources = sources
        self.tuning =
            tuning
            ?? KernelTuning.resolve(device: device, environment: settings.environment) { family in
                family == "clblast_xgemm"
                    ? CLBlastTuning.sourceHash : (try? sources.source(of: family)).map { String(format: "%016llx", $0.digest) }
            }
        self.shapes = DeviceShapes(for: device.treated(as: self.tuning.deviceKind ?? device.kind))
        self.gemmEngine =
            try gemmEngine
            ?? GemmEngine.choose(for: device.treated(as: shapes.kind), environment: settings.environment)
        self.lock = NSLock()
        try CLBlastTuning.apply(to: device, environment: settings.environment, tuned: self.tuning.clblastXgemm)
    }

    /// The device as the launch shapes and defaults see it: its own kind, or the one
    /// `tuning.deviceKind` names (`HEED_TUNING=gpu|cpu`).
    public var shapedDevice: OpenCLDeviceInfo {
        device.treated(as: shapes.kind)
    }

    /// A backend on the same device, context and caches that runs with `tuning`: how
    /// `heed tune` checks and times a candidate without building a context per candidate.
    /// Buffers of either backend work with both.
    public func retuned(_ tuning: KernelTuning) -> OpenCLBackend {
        OpenCLBackend(sharing: self, tuning: tuning)
    }

    private init(sharing other: OpenCLBackend, tuning: KernelTuning) {
        device = other.device
        settings = other.settings
        context = other.context
        gemmEngine = other.gemmEngine
        programs = other.programs
        sources = other.sources
        lock = other.lock
        self.tuning = tuning
        shapes = DeviceShapes(for: other.device.treated(as: tuning.deviceKind ?? other.device.kind))
    }

    /// The hash a tuning file records for `family`'s program source (`TuningFile.Family.sourceHash`);
    /// for `clblast_xgemm`, CLBlast's version.
    public func sourceHash(of family: String) throws -> String {
        if family == "clblast_xgemm" { return CLBlastTuning.sourceHash }
        return try lock.withLock { String(format: "%016llx", try sources.source(of: family).digest) }
    }

    /// Device time per kernel since profiling was switched on (see `KernelProfile`), or
    /// nil when it is off. Setting it to an empty profile switches it on.
    public var profile: KernelProfile? {
        get { lock.withLock { profileState } }
        set { lock.withLock { profileState = newValue } }
    }

    /// Counts of programs compiled, loaded from disk and reused, since this backend opened.
    public var programStatistics: ProgramCacheStatistics {
        lock.withLock { programs.statistics }
    }

    /// Where compiled programs are kept, or nil when the disk cache is off.
    public var programCacheDirectory: URL? { programs.store?.directory }

    // MARK: Programs and launches

    /// Builds (or finds in a cache) the program of a kernel family in `Kernels/`.
    public func prepare(family: String, defines: [String: String] = [:]) throws {
        _ = try lock.withLock { try programs.program(sources.source(of: family), defines: defines) }
    }

    /// Builds (or finds in a cache) a program from source text; `name` labels errors.
    public func prepare(name: String, source: String, defines: [String: String] = [:]) throws {
        _ = try lock.withLock { try programs.program(name: name, source: source, defines: defines) }
    }

    /// The kernel `kernel` of a family in `Kernels/`, built with `defines`: resolved
    /// (program built or found, kernel created) on first use, then found by that key.
    public func kernel(family: String, kernel: String, defines: [String: String] = [:]) throws -> KernelHandle {
        try lock.withLock { try handle(family: family, kernel: kernel, defines: defines) }
    }

    /// Enqueues `kernel` of a family in `Kernels/`; see `launch(name:source:…)`.
    @discardableResult
    public func launch(
        family: String, kernel: String, defines: [String: String] = [:],
        global: [Int], local: [Int]? = nil, arguments: [KernelArgument], timed: Bool = false
    ) throws -> Double? {
        try lock.withLock {
            let handle = try handle(family: family, kernel: kernel, defines: defines)
            return try enqueue(handle, global: global, local: local, arguments: arguments, timed: timed)
        }
    }

    /// Enqueues a kernel resolved by `kernel(family:kernel:defines:)` on this backend;
    /// see `launch(name:source:…)`.
    @discardableResult
    public func launch(
        _ kernel: KernelHandle, global: [Int], local: [Int]? = nil, arguments: [KernelArgument], timed: Bool = false
    ) throws -> Double? {
        guard kernel.context === context else {
            throw HeedError.invalidArgument(op: kernel.name, "the kernel handle belongs to another backend")
        }
        return try lock.withLock {
            programs.countMemoryHit()
            return try enqueue(kernel, global: global, local: local, arguments: arguments, timed: timed)
        }
    }

    /// Enqueues `kernel` of a program built from `source`.
    ///
    /// - Parameters:
    ///   - global: work items per dimension (1 to 3); rounded up to a multiple of `local`.
    ///   - local: work-group size, or nil to let the driver choose.
    ///   - timed: wait for the kernel and return its duration in seconds from the
    ///     queue's profiling events; otherwise return nil at once.
    @discardableResult
    public func launch(
        name: String, source: String, kernel: String, defines: [String: String] = [:],
        global: [Int], local: [Int]? = nil, arguments: [KernelArgument], timed: Bool = false
    ) throws -> Double? {
        try lock.withLock {
            let program = try programs.program(name: name, source: source, defines: defines)
            return try enqueue(program.kernel(kernel), global: global, local: local, arguments: arguments, timed: timed)
        }
    }

    /// What a family's kernel is resolved from: the family with its defines, and the kernel's name.
    private struct KernelKey: Hashable {
        let family: String
        let defines: [String: String]
        let kernel: String
    }

    /// The handle for `kernel` of `family`, resolved on first use. Call under the lock.
    ///
    /// A hit counts as a program reused in memory, as the program lookup it replaces did.
    private func handle(family: String, kernel: String, defines: [String: String]) throws -> KernelHandle {
        let key = KernelKey(family: family, defines: defines, kernel: kernel)
        if let handle = kernels[key] {
            programs.countMemoryHit()
            return handle
        }
        let handle = try programs.program(sources.source(of: family), defines: defines).kernel(kernel)
        kernels[key] = handle
        return handle
    }

    /// Enqueues `kernel` on the queue; with `timed` or profiling on, waits for it. Call under the lock.
    private func enqueue(
        _ kernel: KernelHandle, global: [Int], local: [Int]?, arguments: [KernelArgument], timed: Bool
    ) throws -> Double? {
        let profiling = profileState != nil
        let event = try kernel.enqueue(
            on: context.queue, global: global, local: local,
            arguments: arguments, wantEvent: timed || profiling)
        guard let event else { return timed ? 0 : nil }
        let seconds = try elapsedSeconds(of: event, call: kernel.name)
        profileState?.add(kernel.name, seconds: seconds)
        return timed ? seconds : nil
    }

    /// `buffer` as a float32 buffer of this backend, or a clear error.
    public func floats(_ buffer: any DeviceBuffer, _ op: String, _ argument: String) throws -> OpenCLBuffer {
        let buffer = try own(buffer, op, argument)
        try buffer.expect(.float32, for: op, argument: argument)
        return buffer
    }

    /// Runs `body` with the queue, under the lock, for libraries that enqueue on it
    /// (CLBlast, its tuners); when profiling, the queue is drained around it and the time filed under `name`.
    public func withQueue<T>(profiledAs name: String, _ body: (cl_command_queue) throws -> T) throws -> T {
        try lock.withLock {
            guard profileState != nil else { return try body(context.queue) }
            try context.finish()
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try body(context.queue)
            try context.finish()
            profileState?.add(name, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            return result
        }
    }

    /// `buffer` as this backend's type, or a clear error naming the op and argument.
    public func own(_ buffer: any DeviceBuffer, _ op: String, _ argument: String) throws -> OpenCLBuffer {
        guard let buffer = buffer as? OpenCLBuffer else {
            throw HeedError.foreignBuffer(op: "\(op) (\(argument))", expected: "OpenCL")
        }
        return buffer
    }

    // MARK: Buffers

    public func makeBuffer<Element: BufferElement>(count: Int, of type: Element.Type) throws -> any DeviceBuffer {
        try OpenCLBuffer(context: context, count: count, elementType: Element.elementType)
    }

    public func write<Element: BufferElement>(_ values: [Element], to buffer: any DeviceBuffer) throws {
        let buffer = try own(buffer, "write", "destination")
        try checkTransfer(buffer, Element.self, values.count, "write")
        if values.isEmpty { return }
        // Copied into pinned staging and queued: later ops see the values (one in-order
        // queue), and the host goes on while the device copies.
        try values.withUnsafeBytes { bytes in try context.uploads.stage(bytes, into: buffer.memory) }
    }

    public func read<Element: BufferElement>(_ buffer: any DeviceBuffer, as type: Element.Type) throws -> [Element] {
        let buffer = try own(buffer, "read", "source")
        try checkTransfer(buffer, Element.self, buffer.count, "read")
        guard buffer.count > 0 else { return [] }
        return try [Element](unsafeUninitializedCapacity: buffer.count) { storage, initialized in
            try check(
                clEnqueueReadBuffer(
                    context.queue, buffer.memory, cl_bool(CL_TRUE), 0, buffer.byteCount,
                    storage.baseAddress, 0, nil, nil),
                "clEnqueueReadBuffer(\(buffer.byteCount) bytes)")
            initialized = buffer.count
        }
    }

    public func fill<Element: BufferElement>(_ buffer: any DeviceBuffer, with value: Element) throws {
        let buffer = try own(buffer, "fill", "buffer")
        try checkTransfer(buffer, Element.self, buffer.count, "fill")
        guard buffer.count > 0 else { return }
        try withUnsafeBytes(of: value) { pattern in
            try check(
                clEnqueueFillBuffer(
                    context.queue, buffer.memory, pattern.baseAddress, pattern.count, 0,
                    buffer.byteCount, 0, nil, nil),
                "clEnqueueFillBuffer(\(buffer.byteCount) bytes)")
        }
    }

    public func synchronize() throws {
        try context.finish()
        try context.uploads.drain()
    }

    private func checkTransfer<Element: BufferElement>(_ buffer: OpenCLBuffer, _: Element.Type, _ count: Int, _ op: String) throws {
        try buffer.expect(Element.elementType, for: op, argument: "buffer")
        guard count == buffer.count else {
            throw HeedError.shapeMismatch(op: op, "\(count) values for a buffer of \(buffer.summary)")
        }
    }
}
