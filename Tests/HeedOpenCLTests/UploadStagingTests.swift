import COpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

/// Uploads queued from pinned staging without waiting (`UploadStaging`): they keep the
/// queue's order, and the staging they hold stays within its limit.
final class UploadStagingTests: XCTestCase {
    /// A write queued behind an op that reads the buffer does not overtake it: the op sees
    /// the first values, a later read the second.
    func testQueuedWritesKeepTheirOrderWithOps() throws {
        let backend = try TestDevices.requireOpenCL()
        let count = 300_007
        let source = try backend.makeBuffer([Float](repeating: 1, count: count))
        let scaled = try backend.makeBuffer(count: count, of: Float.self)
        for round in 1...5 {
            try backend.write([Float](repeating: Float(round), count: count), to: source)
            try backend.scale(count: count, alpha: 2, input: source, output: scaled)
            try backend.write([Float](repeating: -7, count: count), to: source)
            XCTAssertEqual(Set(try backend.read(scaled, as: Float.self)), [Float(2 * round)])
            XCTAssertEqual(Set(try backend.read(source, as: Float.self)), [-7])
        }
        try backend.synchronize()
    }

    /// Many uploads in flight through a small staging limit: every buffer gets its own
    /// values, and the pinned bytes held never pass the limit (one upload of 256 KiB
    /// fits 4 times into 1 MiB).
    func testStagingStaysWithinItsLimit() throws {
        let backend = try TestDevices.requireOpenCL()
        let staging = UploadStaging(context: backend.context.context, queue: backend.context.queue, inFlightLimit: 1 << 20)
        defer { staging.releaseAll() }
        let count = 65_536
        let buffers = try (0..<40).map { _ in try OpenCLBuffer(context: backend.context, count: count, elementType: .float32) }
        for (index, buffer) in buffers.enumerated() {
            try [Float](repeating: Float(index), count: count).withUnsafeBytes { try staging.stage($0, into: buffer.memory) }
            XCTAssertLessThanOrEqual(staging.reservedBytes, 1 << 20)
        }
        try staging.drain()
        for (index, buffer) in buffers.enumerated() {
            XCTAssertEqual(Set(try backend.read(buffer, as: Float.self)), [Float(index)], "buffer \(index)")
        }
    }

    /// A steady loop of uploads of the same sizes reuses its blocks: the staging held
    /// after the first rounds does not grow.
    func testASteadyLoopReusesItsBlocks() throws {
        let backend = try TestDevices.requireOpenCL()
        let staging = UploadStaging(context: backend.context.context, queue: backend.context.queue)
        defer { staging.releaseAll() }
        let images = try OpenCLBuffer(context: backend.context, count: 49_152, elementType: .float32)
        let labels = try OpenCLBuffer(context: backend.context, count: 64, elementType: .int32)
        var held: [Int] = []
        for step in 0..<50 {
            try [Float](repeating: Float(step), count: 49_152).withUnsafeBytes { try staging.stage($0, into: images.memory) }
            try [Int32](repeating: Int32(step), count: 64).withUnsafeBytes { try staging.stage($0, into: labels.memory) }
            try backend.synchronize()
            held.append(staging.reservedBytes)
        }
        XCTAssertEqual(Set(held.dropFirst(2)).count, 1, "\(held)")
        XCTAssertEqual(Set(try backend.read(labels, as: Int32.self)), [49])
    }
}
