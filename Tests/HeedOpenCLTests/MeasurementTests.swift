import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import XCTest

/// What benchmarks rely on: the memory ledger, the device clock and buffer copies.
final class MeasurementTests: XCTestCase {
    func testMemoryUsageCountsLiveBuffersAndTheirHighWaterMark() throws {
        let backend = try TestDevices.requireOpenCL()
        let before = backend.memoryUsage.liveBytes
        backend.resetPeakMemory()
        try withExtendedLifetime(try backend.makeBuffer(count: 10, of: Int32.self)) {
            withExtendedLifetime(try backend.makeBuffer(count: 1000, of: Float.self)) {
                XCTAssertEqual(backend.memoryUsage.liveBytes, before + 4040)
            }
            XCTAssertEqual(backend.memoryUsage, DeviceMemoryUsage(liveBytes: before + 40, peakBytes: before + 4040))
            backend.resetPeakMemory()
            XCTAssertEqual(backend.memoryUsage.peakBytes, before + 40)
            // An empty buffer still holds one element of storage (OpenCL has no empty buffers).
            withExtendedLifetime(try backend.makeBuffer(count: 0, of: Float.self)) {
                XCTAssertEqual(backend.memoryUsage.liveBytes, before + 44)
            }
            XCTAssertEqual(backend.memoryUsage.liveBytes, before + 40)
        }
        XCTAssertEqual(backend.memoryUsage.liveBytes, before)
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
