import COpenCL
import HeedGraph
import HeedOpenCLTestSupport
import HeedOps
import HeedSupport
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

/// The caching allocator (`DeviceAllocator`): size classes, pool reuse, the shared scratch
/// pool, the memory limit and the driver's out-of-memory failures, and a training loop
/// whose memory stays flat.
final class DeviceAllocatorTests: XCTestCase {
    func testSizeClassesRoundUpByLessThanAnEighth() {
        XCTAssertEqual(DeviceAllocator.sizeClass(of: 1), 512)
        XCTAssertEqual(DeviceAllocator.sizeClass(of: 513), 1024)
        XCTAssertEqual(DeviceAllocator.sizeClass(of: 4096), 4096)
        XCTAssertEqual(DeviceAllocator.sizeClass(of: 4097), 4608)
        XCTAssertEqual(DeviceAllocator.sizeClass(of: 8193), 9216)
        XCTAssertEqual(DeviceAllocator.sizeClass(of: 1 << 20), 1 << 20)
        XCTAssertEqual(DeviceAllocator.sizeClass(of: (1 << 20) + 1), (1 << 20) + (1 << 17))
        var random = SeededGenerator(seed: 13)
        let sizes =
            Array(1...10_000) + (12...40).flatMap { [(1 << $0) - 1, 1 << $0, (1 << $0) + 1] }
            + (0..<1000).map { _ in Int.random(in: 1...(1 << 40), using: &random) }
        var previous = (bytes: 0, sizeClass: 0)
        for bytes in sizes.sorted() {
            let sizeClass = DeviceAllocator.sizeClass(of: bytes)
            XCTAssertGreaterThanOrEqual(sizeClass, bytes)
            XCTAssertLessThan(sizeClass - bytes, max(512, bytes / 8), "\(bytes)")
            XCTAssertEqual(DeviceAllocator.sizeClass(of: sizeClass), sizeClass, "\(bytes)")
            XCTAssertGreaterThanOrEqual(sizeClass, previous.sizeClass, "\(previous.bytes) then \(bytes)")
            previous = (bytes, sizeClass)
        }
    }

    func testASecondIdenticalAllocationIsAPoolHit() throws {
        let backend = try TestDevices.requireOpenCL()
        backend.releaseCachedMemory()
        let before = backend.memoryUsage
        _ = try backend.makeBuffer(count: 12_345, of: Float.self)
        let afterFirst = backend.memoryUsage
        XCTAssertEqual(afterFirst.driverAllocations, before.driverAllocations + 1)
        XCTAssertEqual(afterFirst.liveBytes, before.liveBytes)
        XCTAssertEqual(afterFirst.pooledBytes, 53_248)
        // Another request of the same class takes it: 49 380 and 49 360 bytes both round to 13 × 4096.
        try withExtendedLifetime(try backend.makeBuffer(count: 12_340, of: Int32.self)) {
            let usage = backend.memoryUsage
            XCTAssertEqual(usage.driverAllocations, afterFirst.driverAllocations)
            XCTAssertEqual(usage.poolHits, afterFirst.poolHits + 1)
            XCTAssertEqual(usage.liveBytes, before.liveBytes + 53_248)
            XCTAssertEqual(usage.reservedBytes, afterFirst.reservedBytes)
        }
        XCTAssertEqual(backend.memoryUsage.frees, before.frees + 2)
        backend.releaseCachedMemory()
        let released = backend.memoryUsage
        XCTAssertEqual(released.reservedBytes, before.reservedBytes)
        XCTAssertEqual(released.driverReleases, before.driverReleases + 1)
    }

    func testARequestTakesAPooledBufferOfUpToHalfAgainItsClass() throws {
        let backend = try TestDevices.requireOpenCL()
        backend.releaseCachedMemory()
        let before = backend.memoryUsage
        // 192 KiB (class 192 KiB; 1.5x is 288 KiB) takes the pooled 256 KiB buffer.
        _ = try backend.makeBuffer(count: 1 << 16, of: Float.self)
        _ = try backend.makeBuffer(count: 3 << 14, of: Float.self)
        XCTAssertEqual(backend.memoryUsage.driverAllocations, before.driverAllocations + 1)
        XCTAssertEqual(backend.memoryUsage.poolHits, before.poolHits + 1)
        // 160 KiB (class 160 KiB; 1.5x is 240 KiB): a new buffer, and the pooled one stays.
        _ = try backend.makeBuffer(count: 40_960, of: Float.self)
        let usage = backend.memoryUsage
        XCTAssertEqual(usage.driverAllocations, before.driverAllocations + 2)
        XCTAssertEqual(usage.pooledBytes, 262_144 + 163_840)
        backend.releaseCachedMemory()
    }

    func testScratchBuffersServeAnySmallerRequestAndOutgrownOnesAreReleased() throws {
        let backend = try TestDevices.requireOpenCL()
        backend.releaseCachedMemory()
        let before = backend.memoryUsage
        _ = try OpenCLBuffer.scratch(context: backend.context, floats: 10_000)
        _ = try OpenCLBuffer.scratch(context: backend.context, floats: 3_000)
        let reused = backend.memoryUsage
        XCTAssertEqual(reused.driverAllocations, before.driverAllocations + 1)
        XCTAssertEqual(reused.poolHits, before.poolHits + 1)
        XCTAssertEqual(reused.pooledBytes, 40_960)
        // A larger request replaces the pooled buffer, which could serve nothing this large.
        _ = try OpenCLBuffer.scratch(context: backend.context, floats: 20_000)
        let grown = backend.memoryUsage
        XCTAssertEqual(grown.driverAllocations, reused.driverAllocations + 1)
        XCTAssertEqual(grown.driverReleases, reused.driverReleases + 1)
        XCTAssertEqual(grown.pooledBytes, 81_920)
        backend.releaseCachedMemory()
    }

    /// `memoryLimit` (HEED_MEMORY_LIMIT's value) caps what the context holds: pooled buffers
    /// are released to make room, a request beyond it throws, and the backend still works.
    func testAnAllocationOverTheMemoryLimitThrowsATypedErrorAndTheBackendStaysUsable() throws {
        let backend = try TestDevices.requireOpenCL()
        backend.releaseCachedMemory()
        defer { backend.memoryLimit = nil }
        let baseline = backend.memoryUsage.reservedBytes
        backend.memoryLimit = baseline + (1 << 20)
        // A pooled 512 KiB buffer is released so that a 768 KiB one fits.
        _ = try backend.makeBuffer(count: 1 << 17, of: Float.self)
        XCTAssertEqual(backend.memoryUsage.reservedBytes, baseline + (1 << 19))
        let held = try backend.makeBuffer(count: 3 << 16, of: Float.self)
        XCTAssertEqual(backend.memoryUsage.reservedBytes, baseline + (3 << 18))
        assertThrows(try backend.makeBuffer(count: 1 << 17, of: Float.self), as: OutOfDeviceMemory.self) {
            XCTAssertEqual($0.requestedBytes, 1 << 19)
            XCTAssertEqual($0.inUseBytes, backend.memoryUsage.liveBytes)
            XCTAssertEqual($0.limit, baseline + (1 << 20))
            XCTAssertNil($0.driverStatus)
        }
        XCTAssertEqual(backend.memoryUsage.reservedBytes, baseline + (3 << 18))
        // Within the limit, buffers are made and ops run as before.
        let small = try backend.makeBuffer([Float](repeating: 1, count: 1000))
        let scaled = try backend.makeBuffer(count: 1000, of: Float.self)
        try backend.scale(count: 1000, alpha: 3, input: small, output: scaled)
        XCTAssertEqual(try backend.read(scaled, as: Float.self), [Float](repeating: 3, count: 1000))
        withExtendedLifetime(held) {}
        backend.memoryLimit = nil
        XCTAssertNoThrow(try backend.makeBuffer(count: 1 << 18, of: Float.self))
    }

    func testTheDriversOutOfMemoryEmptiesThePoolsAndRetriesOnceThenThrows() throws {
        let backend = try TestDevices.requireOpenCL()
        var failures = 0
        var calls = 0
        let allocator = DeviceAllocator(context: backend.context.context, queue: backend.context.queue) { context, bytes in
            calls += 1
            if failures > 0 {
                failures -= 1
                return (nil, CL_MEM_OBJECT_ALLOCATION_FAILURE)
            }
            return DeviceAllocator.driverCreateBuffer(context, bytes)
        }
        let held = try allocator.allocate(bytes: 4096, scratch: false)
        allocator.free(try allocator.allocate(bytes: 8192, scratch: false))
        // One failure: the pooled 8 KiB buffer is released and the second try succeeds.
        failures = 1
        calls = 0
        let retried = try allocator.allocate(bytes: 16384, scratch: false)
        XCTAssertEqual(calls, 2)
        XCTAssertEqual(allocator.statistics.driverReleases, 1)
        XCTAssertEqual(allocator.statistics.reservedBytes, 4096 + 16384)
        // Failures on both tries: the typed error, naming the request and what is in use.
        allocator.free(retried)
        failures = 2
        calls = 0
        assertThrows(try allocator.allocate(bytes: 32768, scratch: false), as: OutOfDeviceMemory.self) {
            XCTAssertEqual(
                $0,
                OutOfDeviceMemory(
                    requestedBytes: 32768, inUseBytes: 4096, reservedBytes: 4096, limit: nil,
                    driverStatus: CL_MEM_OBJECT_ALLOCATION_FAILURE))
        }
        XCTAssertEqual(calls, 2)
        // With nothing pooled there is nothing to release, so no second try.
        failures = 2
        calls = 0
        assertThrows(try allocator.allocate(bytes: 32768, scratch: false), as: OutOfDeviceMemory.self)
        XCTAssertEqual(calls, 1)
        // Other statuses are not out of memory: no retry, the driver's error.
        let invalid = DeviceAllocator(context: backend.context.context, queue: nil) { _, _ in (nil, CL_INVALID_BUFFER_SIZE) }
        assertThrows(try invalid.allocate(bytes: 512, scratch: false), as: OpenCLError.self) {
            XCTAssertEqual($0, OpenCLError(call: "clCreateBuffer(512 bytes)", status: CL_INVALID_BUFFER_SIZE))
        }
        allocator.free(held)
    }

    func testTheOutOfMemoryMessageNamesTheRequestTheBytesInUseAndTheLimit() {
        let overLimit = OutOfDeviceMemory(
            requestedBytes: 256 << 20, inUseBytes: 384 << 20, reservedBytes: 384 << 20, limit: 512 << 20, driverStatus: nil)
        XCTAssertEqual(
            overLimit.description,
            "out of device memory: 268435456 bytes (256.0 MiB) requested with 402653184 (384.0 MiB) in use; "
                + "the limit is 536870912 (512.0 MiB, HEED_MEMORY_LIMIT)")
        let refused = OutOfDeviceMemory(
            requestedBytes: 3 << 30, inUseBytes: 1536, reservedBytes: 2048, limit: nil, driverStatus: CL_MEM_OBJECT_ALLOCATION_FAILURE)
        XCTAssertEqual(
            refused.description,
            "out of device memory: 3221225472 bytes (3.0 GiB) requested with 1536 (1.5 KiB) in use; "
                + "clCreateBuffer failed: CL_MEM_OBJECT_ALLOCATION_FAILURE (-4); no HEED_MEMORY_LIMIT is set")
    }

    func testHEEDMemoryLimitTakesBytesOrBinaryUnitsAndRefusesAnythingElse() throws {
        func limit(_ value: String) throws -> Int? {
            try OpenCLSettings(environment: ["HEED_MEMORY_LIMIT": value]).memoryLimit()
        }
        XCTAssertNil(try OpenCLSettings(environment: [:]).memoryLimit())
        XCTAssertEqual(try limit("536870912"), 536_870_912)
        XCTAssertEqual(try limit("512M"), 512 << 20)
        XCTAssertEqual(try limit("2G"), 2 << 30)
        XCTAssertEqual(try limit("2gib"), 2 << 30)
        XCTAssertEqual(try limit("64KB"), 64 << 10)
        XCTAssertEqual(try limit("1T"), 1 << 40)
        XCTAssertEqual(try limit("100B"), 100)
        for bad in ["", "0", "0M", "-1", "+5", "1.5G", "512X", "G", "512 M", "512iB", "99999999999T", "١٢M"] {
            assertThrows(try limit(bad), as: EnvironmentError.self) {
                XCTAssertEqual($0.expected, "a size in bytes such as 536870912, 512M or 2G", bad)
            }
        }
        assertThrows(try limit("lots"), as: EnvironmentError.self) {
            XCTAssertEqual("\($0)", "HEED_MEMORY_LIMIT='lots' is not a size in bytes such as 536870912, 512M or 2G")
        }
        // A backend opened with a bad value refuses to open, with that error.
        assertThrows(try OpenCLBackend(settings: OpenCLSettings(environment: ["HEED_MEMORY_LIMIT": "lots"])), as: EnvironmentError.self)
    }

    /// 500 steps of a small network (convolution, batch norm, ReLU, pooling, linear, loss,
    /// SGD): after a warm-up, the pools serve every request, so the driver allocation
    /// count and the bytes in use and reserved do not change.
    func testFiveHundredTrainingStepsAllocateNothingFromTheDriverAfterAWarmUp() throws {
        let backend = try TestDevices.requireOpenCL()
        var random = SeededGenerator(seed: 500)
        let conv1 = try Conv2d(3, 6, kernelSize: 3, padding: 1, on: backend, random: &random)
        let norm = try BatchNorm(6, on: backend)
        let conv2 = try Conv2d(6, 8, kernelSize: 3, stride: 2, padding: 1, bias: true, on: backend, random: &random)
        let linear = try Linear(8, 5, on: backend, random: &random)
        let parameters = [conv1, norm, conv2, linear].flatMap(\.namedParameters).enumerated().map { ("\($0.offset)", $0.element.tensor) }
        let optimizer = SGD(parameters: parameters, configuration: SGD.Configuration(learningRate: 0.01))
        let images = try Tensor(random.uniform(4 * 3 * 9 * 9, in: -1...1), shape: [4, 3, 9, 9], on: backend)
        let labels = try backend.makeBuffer([Int32]([0, 3, 1, 4]))
        func step() throws -> Float {
            let hidden = try conv2(norm(conv1(images)).relu()).relu()
            let loss = try linear(hidden.globalAveragePool()).logSoftmax().nllLoss(labels: labels)
            try loss.backward()
            try optimizer.step()
            return try loss.item()
        }
        for _ in 0..<20 { _ = try step() }
        try backend.synchronize()
        let warm = backend.memoryUsage
        var losses: [Float] = []
        for _ in 20..<500 { losses.append(try step()) }
        try backend.synchronize()
        let end = backend.memoryUsage
        XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(losses.prefix(5))")
        XCTAssertEqual(end.driverAllocations, warm.driverAllocations, "driver allocations after the warm-up")
        XCTAssertEqual(end.liveBytes, warm.liveBytes, "bytes in use")
        XCTAssertEqual(end.reservedBytes, warm.reservedBytes, "bytes reserved")
        XCTAssertGreaterThan(end.poolHits - warm.poolHits, 480 * 10, "every step's buffers come from the pools")
    }
}
