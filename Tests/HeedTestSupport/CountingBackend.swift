import Foundation
import HeedOps

/// A backend that passes every call to another and counts the reads back to the host:
/// each waits for all the device's queued work, so the training loop's are counted.
public final class CountingBackend: Backend, @unchecked Sendable {
    public let wrapped: any Backend
    private let lock = NSLock()
    private var readCount = 0

    public init(wrapping backend: any Backend) {
        wrapped = backend
    }

    /// Reads so far.
    public var reads: Int { lock.withLock { readCount } }

    public var name: String { wrapped.name }

    public func makeBuffer<Element: BufferElement>(count: Int, of type: Element.Type) throws -> any DeviceBuffer {
        try wrapped.makeBuffer(count: count, of: type)
    }

    public func write<Element: BufferElement>(_ values: [Element], to buffer: any DeviceBuffer) throws {
        try wrapped.write(values, to: buffer)
    }

    public func read<Element: BufferElement>(_ buffer: any DeviceBuffer, as type: Element.Type) throws -> [Element] {
        lock.withLock { readCount += 1 }
        return try wrapped.read(buffer, as: type)
    }

    public func fill<Element: BufferElement>(_ buffer: any DeviceBuffer, with value: Element) throws {
        try wrapped.fill(buffer, with: value)
    }

    public func synchronize() throws {
        try wrapped.synchronize()
    }

    public func run<Descriptor>(_ op: OpDefinition<Descriptor>, _ descriptor: Descriptor, _ buffers: [(any DeviceBuffer)?]) throws {
        try wrapped.run(op, descriptor, buffers)
    }
}
