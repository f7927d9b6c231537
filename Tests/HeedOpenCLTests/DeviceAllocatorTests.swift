import COpenCL
import HeedGraph
import HeedOpenCLTestSupport
import HeedOps
import HeedSupport
import HeedTestSupport
import XCTest

@testable import HeedOpenCL

/// The caching allocator (`DeviceAllocator`): rounding and segment sizes, blocks reused
/// across sizes, sub-buffers that keep their own contents, scratch counts, the memory
/// limit and the driver's out-of-memory failures, and a training loop whose memory stays flat.
final class DeviceAllocatorTests: XCTestCase {
    /// An allocator of its own on the test context, so that counts start from zero.
    private func freshAllocator(limit: Int? = nil) throws -> (DeviceAllocator, OpenCLBackend) {
        let backend = try TestDevices.requireOpenCL()
        let allocator = DeviceAllocator(
            context: backend.context.context, queue: backend.context.queue,
            baseAlignment: backend.context.memory.granularity, limit: limit)
        return (allocator, backend)
    }

    func testRequestsRoundUpToTheGranularityAndSegmentsTakePyTorchsSizes() throws {
        let (allocator, _) = try freshAllocator()
        let unit = allocator.granularity
        XCTAssertGreaterThanOrEqual(unit, 512)
        XCTAssertEqual(unit & (unit - 1), 0, "a power of two")
        XCTAssertEqual(allocator.rounded(1), unit)
        XCTAssertEqual(allocator.rounded(unit), unit)
        XCTAssertEqual(allocator.rounded(unit + 1), 2 * unit)
        XCTAssertEqual(DeviceAllocator.segmentBytes(serving: 512), 2 << 20)
        XCTAssertEqual(DeviceAllocator.segmentBytes(serving: 1 << 20), 2 << 20)
        XCTAssertEqual(DeviceAllocator.segmentBytes(serving: (1 << 20) + 512), 20 << 20)
        XCTAssertEqual(DeviceAllocator.segmentBytes(serving: (10 << 20) - 512), 20 << 20)
        XCTAssertEqual(DeviceAllocator.segmentBytes(serving: 10 << 20), 10 << 20)
        XCTAssertEqual(DeviceAllocator.segmentBytes(serving: (10 << 20) + 512), 12 << 20)
        let block = try allocator.allocate(bytes: unit + 1, scratch: false)
        XCTAssertEqual(block.bytes, 2 * unit)
        XCTAssertEqual(allocator.statistics.liveBytes, 2 * unit)
        XCTAssertEqual(allocator.statistics.requestedBytes, unit + 1)
        XCTAssertEqual(allocator.statistics.reservedBytes, 2 << 20)
        allocator.free(block)
    }

    func testASecondAllocationIsServedFromTheSameSegment() throws {
        let (allocator, _) = try freshAllocator()
        let first = try allocator.allocate(bytes: 49_380, scratch: false)
        XCTAssertEqual(allocator.statistics.driverAllocations, 1)
        allocator.free(first)
        XCTAssertEqual(allocator.statistics.liveBytes, 0)
        XCTAssertEqual(allocator.statistics.pooledBytes, 2 << 20)
        let second = try allocator.allocate(bytes: 12_340, scratch: false)
        let usage = allocator.statistics
        XCTAssertEqual(usage.driverAllocations, 1)
        XCTAssertEqual(usage.poolHits, 1)
        XCTAssertEqual(usage.frees, 1)
        XCTAssertEqual(usage.liveBytes, allocator.rounded(12_340))
        allocator.free(second)
        allocator.releaseCachedMemory()
        XCTAssertEqual(allocator.statistics.reservedBytes, 0)
        XCTAssertEqual(allocator.statistics.driverReleases, 1)
    }

    /// What the blocks are for: the bytes a large tensor frees serve several smaller
    /// requests, and merge back into a run the large one fits again.
    func testAFreedLargeBlockServesSmallerRequestsAndMergesBack() throws {
        let (allocator, _) = try freshAllocator()
        let large = try allocator.allocate(bytes: 16 << 20, scratch: false)
        XCTAssertEqual(allocator.statistics.reservedBytes, 16 << 20)
        allocator.free(large)
        let parts = try [8 << 20, 4 << 20, 2 << 20].map { try allocator.allocate(bytes: $0, scratch: false) }
        XCTAssertEqual(allocator.statistics.driverAllocations, 1, "the three parts come out of the freed 16 MiB")
        XCTAssertEqual(allocator.statistics.liveBytes, 14 << 20)
        for part in parts { allocator.free(part) }
        let again = try allocator.allocate(bytes: 16 << 20, scratch: false)
        XCTAssertEqual(allocator.statistics.driverAllocations, 1)
        XCTAssertEqual(allocator.statistics.reservedBytes, 16 << 20)
        allocator.free(again)
        // Small requests keep to their own segments and leave the large run alone.
        let small = try allocator.allocate(bytes: 4096, scratch: false)
        XCTAssertEqual(allocator.statistics.reservedBytes, (16 << 20) + (2 << 20))
        allocator.free(small)
    }

    /// Blocks of one segment are separate buffers to the device: each keeps what was
    /// written to it, whatever its neighbours get.
    func testNeighbouringBlocksOfOneSegmentKeepTheirOwnContents() throws {
        let backend = try TestDevices.requireOpenCL()
        let counts = [1, 127, 128, 129, 1000, 4096, 333]
        let inputs = try counts.enumerated().map { index, count in
            try backend.makeBuffer((0..<count).map { Float(index * 10_000 + $0) })
        }
        let outputs = try counts.map { try backend.makeBuffer(count: $0, of: Float.self) }
        for (input, output) in zip(inputs, outputs) {
            try backend.scale(count: input.count, alpha: 2, input: input, output: output)
        }
        for (index, count) in counts.enumerated() {
            let values = (0..<count).map { Float(index * 10_000 + $0) }
            XCTAssertEqual(try backend.read(inputs[index], as: Float.self), values, "input \(index)")
            XCTAssertEqual(try backend.read(outputs[index], as: Float.self), values.map { 2 * $0 }, "output \(index)")
        }
    }

    func testScratchIsCountedApartAndAtThePeak() throws {
        let (allocator, _) = try freshAllocator()
        let tensor = try allocator.allocate(bytes: 1 << 16, scratch: false)
        let scratch = try allocator.allocate(bytes: 1 << 15, scratch: true)
        XCTAssertEqual(allocator.statistics.scratchBytes, 1 << 15)
        XCTAssertEqual(allocator.statistics.scratchBytesAtPeak, 1 << 15)
        allocator.free(scratch)
        XCTAssertEqual(allocator.statistics.scratchBytes, 0)
        XCTAssertEqual(allocator.statistics.scratchBytesAtPeak, 1 << 15, "the peak had it")
        allocator.resetPeaks()
        XCTAssertEqual(allocator.statistics.scratchBytesAtPeak, 0)
        XCTAssertEqual(allocator.statistics.peakBytes, 1 << 16)
        allocator.free(tensor)
    }

    /// The limit caps the segments held: idle ones are released to make room, a shared
    /// segment too large for what is left gives way to one of the request's own size, and
    /// a request beyond it throws.
    func testAnAllocationOverTheMemoryLimitThrowsATypedError() throws {
        let (allocator, _) = try freshAllocator(limit: 3 << 20)
        allocator.free(try allocator.allocate(bytes: 512 << 10, scratch: false))
        XCTAssertEqual(allocator.statistics.reservedBytes, 2 << 20)
        // 1.5 MiB would share a 20 MiB segment; within 3 MiB it gets 2 MiB, once the idle
        // small segment is released.
        let held = try allocator.allocate(bytes: 3 << 19, scratch: false)
        XCTAssertEqual(allocator.statistics.reservedBytes, 2 << 20)
        XCTAssertEqual(allocator.statistics.driverReleases, 1)
        assertThrows(try allocator.allocate(bytes: 3 << 19, scratch: false), as: OutOfDeviceMemory.self) {
            XCTAssertEqual($0.requestedBytes, allocator.rounded(3 << 19))
            XCTAssertEqual($0.inUseBytes, allocator.statistics.liveBytes)
            XCTAssertEqual($0.reservedBytes, 2 << 20)
            XCTAssertEqual($0.limit, 3 << 20)
            XCTAssertNil($0.driverStatus)
        }
        XCTAssertEqual(allocator.statistics.reservedBytes, 2 << 20)
        allocator.free(held)
    }

    /// `memoryLimit` (HEED_MEMORY_LIMIT's value) on the backend: a request beyond it throws,
    /// and the backend still works within it.
    func testTheBackendStaysUsableAfterARequestOverItsLimit() throws {
        let backend = try TestDevices.requireOpenCL()
        backend.releaseCachedMemory()
        defer { backend.memoryLimit = nil }
        backend.memoryLimit = backend.memoryUsage.reservedBytes + (4 << 20)
        assertThrows(try backend.makeBuffer(count: 16 << 20, of: Float.self), as: OutOfDeviceMemory.self)
        let small = try backend.makeBuffer([Float](repeating: 1, count: 1000))
        let scaled = try backend.makeBuffer(count: 1000, of: Float.self)
        try backend.scale(count: 1000, alpha: 3, input: small, output: scaled)
        XCTAssertEqual(try backend.read(scaled, as: Float.self), [Float](repeating: 3, count: 1000))
        backend.memoryLimit = nil
        XCTAssertNoThrow(try backend.makeBuffer(count: 16 << 20, of: Float.self))
    }

    func testTheDriversOutOfMemoryReleasesIdleSegmentsAndRetriesOnceThenThrows() throws {
        let backend = try TestDevices.requireOpenCL()
        var failures = 0
        var calls = 0
        let allocator = DeviceAllocator(
            context: backend.context.context, queue: backend.context.queue, baseAlignment: backend.context.memory.granularity
        ) { context, bytes in
            calls += 1
            if failures > 0 {
                failures -= 1
                return (nil, CL_MEM_OBJECT_ALLOCATION_FAILURE)
            }
            return DeviceAllocator.driverCreateBuffer(context, bytes)
        }
        let held = try allocator.allocate(bytes: 4096, scratch: false)
        allocator.free(try allocator.allocate(bytes: 2 << 20, scratch: false))
        XCTAssertEqual(allocator.statistics.reservedBytes, 22 << 20)
        // One failure: the idle 20 MiB segment is released and the second try succeeds.
        failures = 1
        calls = 0
        let retried = try allocator.allocate(bytes: 24 << 20, scratch: false)
        XCTAssertEqual(calls, 2)
        XCTAssertEqual(allocator.statistics.driverReleases, 1)
        XCTAssertEqual(allocator.statistics.reservedBytes, (2 << 20) + (24 << 20))
        // Failures on both tries: the typed error, naming the request and what is in use.
        allocator.free(retried)
        failures = 2
        calls = 0
        assertThrows(try allocator.allocate(bytes: 32 << 20, scratch: false), as: OutOfDeviceMemory.self) {
            XCTAssertEqual(
                $0,
                OutOfDeviceMemory(
                    requestedBytes: 32 << 20, inUseBytes: allocator.rounded(4096), reservedBytes: 2 << 20, limit: nil,
                    driverStatus: CL_MEM_OBJECT_ALLOCATION_FAILURE))
        }
        XCTAssertEqual(calls, 2)
        // With nothing idle there is nothing to release, so no second try of that size;
        // a request that would share a 20 MiB segment then asks for its own 2 MiB.
        failures = 1
        calls = 0
        let fallback = try allocator.allocate(bytes: 3 << 19, scratch: false)
        XCTAssertEqual(calls, 2)
        XCTAssertEqual(allocator.statistics.reservedBytes, 4 << 20)
        allocator.free(fallback)
        allocator.releaseCachedMemory()
        // Other statuses are not out of memory: no retry, the driver's error.
        let invalid = DeviceAllocator(context: backend.context.context, queue: nil) { _, _ in (nil, CL_INVALID_BUFFER_SIZE) }
        assertThrows(try invalid.allocate(bytes: 512, scratch: false), as: OpenCLError.self) {
            XCTAssertEqual($0, OpenCLError(call: "clCreateBuffer(2097152 bytes)", status: CL_INVALID_BUFFER_SIZE))
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
