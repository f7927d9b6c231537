import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

/// What benchmarks rely on: the allocator's counts, the device clock and buffer copies.
final class MeasurementTests: XCTestCase {
    func testMemoryUsageCountsBuffersInUseAndReservedAndTheirHighWaterMarks() throws {
        let backend = try TestDevices.requireOpenCL()
        backend.releaseCachedMemory()
        let before = backend.memoryUsage
        backend.resetPeakMemory()
        // Buffers count at their block's size: the request rounded up to the granularity.
        let (small, large) = (backend.context.memory.rounded(40), backend.context.memory.rounded(4000))
        try withExtendedLifetime(try backend.makeBuffer(count: 10, of: Int32.self)) {
            withExtendedLifetime(try backend.makeBuffer(count: 1000, of: Float.self)) {
                XCTAssertEqual(backend.memoryUsage.liveBytes, before.liveBytes + small + large)
                XCTAssertEqual(backend.memoryUsage.requestedBytes, before.requestedBytes + 40 + 4000)
            }
            // The freed block stays reserved, in its segment.
            var usage = backend.memoryUsage
            XCTAssertEqual(usage.liveBytes, before.liveBytes + small)
            XCTAssertEqual(usage.peakBytes, before.liveBytes + small + large)
            XCTAssertGreaterThanOrEqual(usage.pooledBytes, large)
            XCTAssertEqual(usage.peakReservedBytes, usage.reservedBytes)
            backend.resetPeakMemory()
            usage = backend.memoryUsage
            XCTAssertEqual(usage.peakBytes, before.liveBytes + small)
            // An empty buffer still holds one element of storage (OpenCL has no empty buffers).
            withExtendedLifetime(try backend.makeBuffer(count: 0, of: Float.self)) {
                XCTAssertEqual(backend.memoryUsage.liveBytes, before.liveBytes + 2 * small)
            }
            XCTAssertEqual(backend.memoryUsage.liveBytes, before.liveBytes + small)
        }
        XCTAssertEqual(backend.memoryUsage.liveBytes, before.liveBytes)
        backend.releaseCachedMemory()
        XCTAssertEqual(backend.memoryUsage.reservedBytes, before.reservedBytes)
    }

    func testDeviceSecondsTimesTheEnqueuedWorkAndFinishesIt() throws {
        let backend = try TestDevices.requireOpenCL()
        let count = 1 << 20
        let source = try backend.makeBuffer((0..<count).map { Float($0 % 977) })
        let destination = try backend.makeBuffer(count: count, of: Float.self)
        try backend.fill(destination, with: Float.nan)
        let seconds = try backend.deviceSeconds { try backend.copy(source, to: destination) }
        XCTAssertTrue(seconds > 0 && seconds.isFinite, "\(seconds)")
        XCTAssertEqual(try backend.read(destination, as: Float.self), try backend.read(source, as: Float.self))
        // Nothing enqueued: the markers still give a time, not an error.
        XCTAssertGreaterThanOrEqual(try backend.deviceSeconds {}, 0)
    }

    func testDeviceSecondsPassesOnTheErrorOfItsBody() throws {
        let backend = try TestDevices.requireOpenCL()
        struct Stop: Error {}
        XCTAssertThrowsError(try backend.deviceSeconds { throw Stop() }) { XCTAssertTrue($0 is Stop) }
    }

    func testCopyRefusesBuffersOfDifferentShapes() throws {
        let backend = try TestDevices.requireOpenCL()
        let floats = try backend.makeBuffer(count: 4, of: Float.self)
        XCTAssertThrowsError(try backend.copy(floats, to: try backend.makeBuffer(count: 5, of: Float.self))) {
            XCTAssertTrue("\($0)".contains("float32[4]"), "\($0)")
        }
        XCTAssertThrowsError(try backend.copy(floats, to: try backend.makeBuffer(count: 4, of: Int32.self)))
        XCTAssertThrowsError(try backend.copy(floats, to: TestDevices.reference.makeBuffer(count: 4, of: Float.self)))
    }
}
