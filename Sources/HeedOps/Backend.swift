/// A device that stores buffers and runs Heed's ops on them.
///
/// Two backends conform: `OpenCLBackend` (kernels in `Kernels/` and CLBlast GEMM)
/// and `ReferenceBackend` (plain Swift on the CPU, the specification every op of the
/// OpenCL backend is checked against). Nothing above this layer touches `cl_*` types.
///
/// Ops write into output buffers the caller allocates, so tests can fill an output
/// with NaN first and catch any element an op forgets to write. Ops are ordered:
/// each sees the results of the ops issued before it. Reads from the device wait for
/// all earlier work.
///
/// ```swift
/// let backend: any Backend = try OpenCLBackend()
/// let a = try backend.makeBuffer([1, 2, 3, 4] as [Float])
/// let c = try backend.makeBuffer(count: 4, of: Float.self)
/// try backend.gemm(GemmDescriptor(m: 2, n: 2, k: 2), a: a, b: a, c: c)
/// print(try backend.read(c, as: Float.self))   // [7, 10, 15, 22]
/// ```
///
/// Each op is declared once, in its family's table in `Ops/` (`LinearOps.forward`: its
/// name, buffers, work and tolerance); the op's method on `Backend` (`linearForward`)
/// hands its buffers to `run`, which an `OpBackend` checks once and passes to its body.
public protocol Backend: AnyObject, Sendable {
    /// A short human-readable name, for example `"OpenCL: NVIDIA H200"` or `"reference"`.
    var name: String { get }

    // MARK: Buffers

    /// A new buffer of `count` elements whose contents are undefined.
    func makeBuffer<Element: BufferElement>(count: Int, of type: Element.Type) throws -> any DeviceBuffer

    /// Copies `values` into `buffer` (its element type and count must match). The copy
    /// may finish after the call returns, but before any later op or read sees `buffer`.
    func write<Element: BufferElement>(_ values: [Element], to buffer: any DeviceBuffer) throws

    /// Copies the contents of `buffer` to the host, after all earlier work is done.
    func read<Element: BufferElement>(_ buffer: any DeviceBuffer, as type: Element.Type) throws -> [Element]

    /// Sets every element of `buffer` to `value`.
    func fill<Element: BufferElement>(_ buffer: any DeviceBuffer, with value: Element) throws

    /// Waits until all work issued so far has finished.
    func synchronize() throws

    // MARK: Ops

    /// Runs `op` on `buffers`, given in the order its table entry declares them (nil
    /// for an optional buffer left out), after checking them against the declaration.
    func run<Descriptor>(_ op: OpDefinition<Descriptor>, _ descriptor: Descriptor, _ buffers: [(any DeviceBuffer)?]) throws
}

extension Backend {
    /// A new buffer holding a copy of `values`.
    public func makeBuffer<Element: BufferElement>(_ values: [Element]) throws -> any DeviceBuffer {
        let buffer = try makeBuffer(count: values.count, of: Element.self)
        try write(values, to: buffer)
        return buffer
    }
}
