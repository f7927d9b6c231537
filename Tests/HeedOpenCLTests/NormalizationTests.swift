import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

@testable import HeedOpenCL

final class NormalizationTests: XCTestCase {
    /// Training forward (with the in-place running-statistics update), inference forward
    /// and backward, 2-d and 1-d, M from 2 to 1292, plain and with the fused ReLU, against
    /// the reference.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "batch_norm")
        XCTAssertEqual(cases.count, 48)  // 8 shapes, 3 directions, with and without relu
        XCTAssertEqual(cases.filter { $0.shape.hasSuffix(" relu") }.count, 24)
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "\(check.op) \(check.shape)")
        }
    }

    /// Every value of every knob of `NormalizationLaunch` on this device, one knob varied
    /// at a time from the defaults, passes the same cases: no value a tuner can reach is
    /// untested. After each launch's cases, its six kernels (three fused with a ReLU) must
    /// already be resolved with its defines (a lookup is a hit in memory, nothing is built),
    /// so the cases did run with that launch and not with the defaults.
    func testEveryKnobValuePassesTheVerificationCases() throws {
        let backend = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "batch_norm")
        let launches = NormalizationLaunch.oneKnobVariations(for: backend.device)
        let valueCount = NormalizationLaunch.Knob.allCases.map { NormalizationLaunch.values(of: $0, for: backend.device).count }
        XCTAssertEqual(launches.count, valueCount.reduce(0, +) - valueCount.count + 1)
        XCTAssertEqual(Set(launches).count, launches.count)
        for launch in launches {
            var tuning = backend.tuning
            tuning.normalization = launch
            let tuned = backend.retuned(tuning)
            for check in cases {
                assertPassed(try check.run(tuned, TestDevices.reference), "\(check.op) \(check.shape) with \(launch)")
            }
            let before = backend.programStatistics
            let kernels = [NormalizationOps.forwardTraining, NormalizationOps.forwardInference, NormalizationOps.backward].flatMap(
                \.kernels)
            XCTAssertEqual(kernels.count, 6)
            for kernel in kernels {
                _ = try backend.kernel(family: "normalization", kernel: kernel, defines: launch.defines)
            }
            let after = backend.programStatistics
            XCTAssertEqual(after.memoryHits, before.memoryHits + kernels.count, "\(launch)")
            XCTAssertEqual(after.compiledFromSource + after.loadedFromDisk, before.compiledFromSource + before.loadedFromDisk, "\(launch)")
        }
    }

    /// The defaults come from the device's properties: one item per channel and two native
    /// vectors on a CPU; 256 items (or the device's largest power of two below that) and the
    /// preferred width on a GPU. Every knob's default is one of its values.
    func testLaunchDefaultsFollowTheDevice() {
        let cpu = Self.device(.cpu, maxWorkGroupSize: 4096, preferred: 8, native: 8)
        XCTAssertEqual(NormalizationLaunch.defaults(for: cpu), NormalizationLaunch(itemsPerChannel: 1, vectorWidth: 16))
        XCTAssertEqual(NormalizationLaunch.values(of: .itemsPerChannel, for: cpu), [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
        XCTAssertEqual(NormalizationLaunch.values(of: .vectorWidth, for: cpu), [1, 2, 4, 8, 16])
        let sse = Self.device(.cpu, maxWorkGroupSize: 4096, preferred: 4, native: 4)
        XCTAssertEqual(NormalizationLaunch.defaults(for: sse), NormalizationLaunch(itemsPerChannel: 1, vectorWidth: 8))
        let avx512 = Self.device(.cpu, maxWorkGroupSize: 4096, preferred: 16, native: 16)
        XCTAssertEqual(NormalizationLaunch.defaults(for: avx512), NormalizationLaunch(itemsPerChannel: 1, vectorWidth: 16))
        let gpu = Self.device(.gpu, maxWorkGroupSize: 1024, preferred: 1, native: 1)
        XCTAssertEqual(NormalizationLaunch.defaults(for: gpu), NormalizationLaunch(itemsPerChannel: 256, vectorWidth: 1))
        let smallGPU = Self.device(.gpu, maxWorkGroupSize: 192, preferred: 4, native: 4)
        XCTAssertEqual(NormalizationLaunch.defaults(for: smallGPU), NormalizationLaunch(itemsPerChannel: 128, vectorWidth: 4))
        XCTAssertEqual(NormalizationLaunch.values(of: .itemsPerChannel, for: smallGPU), [1, 2, 4, 8, 16, 32, 64, 128])
        for device in [cpu, sse, avx512, gpu, smallGPU] {
            XCTAssertNoThrow(try NormalizationLaunch.defaults(for: device).validate(for: device))
        }
        XCTAssertEqual(NormalizationLaunch(itemsPerChannel: 4, vectorWidth: 2).defines, ["BN_WG": "4", "BN_VECTOR": "2"])
    }

    /// A launch outside the device's values (a tuning file from elsewhere, a typo) is a
    /// one-line error naming the knob, not a failed build or a wrong result.
    func testALaunchOutsideTheDeviceValuesIsAnError() throws {
        let backend = try TestDevices.requireOpenCL()
        let d = BatchNormDescriptor(batch: 2, channels: 3, spatial: 5)
        let full = try backend.makeBuffer(count: d.count, of: Float.self)
        let channel = try backend.makeBuffer(count: d.channels, of: Float.self)
        let defaults = NormalizationLaunch.defaults(for: backend.device)
        for (launch, knob) in [
            (NormalizationLaunch(itemsPerChannel: defaults.itemsPerChannel, vectorWidth: 3), "BN_VECTOR=3"),
            (NormalizationLaunch(itemsPerChannel: 3, vectorWidth: defaults.vectorWidth), "BN_WG=3"),
        ] {
            var tuning = backend.tuning
            tuning.normalization = launch
            assertThrows(
                try backend.retuned(tuning).batchNormForwardInference(
                    d, input: full, weight: channel, bias: channel,
                    runningMean: channel, runningVariance: channel, output: full),
                as: HeedError.self
            ) {
                guard case .invalidArgument(op: "batch_norm", let message) = $0 else { return XCTFail("\($0)") }
                XCTAssertTrue(message.hasPrefix("\(knob) is not one of ["), message)
            }
            XCTAssertThrowsError(try NormalizationLaunch(knobs: launch.knobs, for: backend.device), "\(launch) from a tuning file")
        }
        XCTAssertEqual(try NormalizationLaunch(knobs: defaults.knobs, for: backend.device), defaults)
        XCTAssertThrowsError(try NormalizationLaunch(knobs: ["BN_WG": 1], for: backend.device))
        XCTAssertThrowsError(try NormalizationLaunch(knobs: defaults.knobs.merging(["BN_SIZE": 2]) { a, _ in a }, for: backend.device))
    }

    private static func device(_ kind: OpenCLDeviceInfo.Kind, maxWorkGroupSize: Int, preferred: Int, native: Int) -> OpenCLDeviceInfo {
        OpenCLDeviceInfo(
            platformIndex: 0, deviceIndex: 0, platformName: "test", name: "\(kind)", vendor: "test",
            version: "OpenCL 1.2", driverVersion: "1", kind: kind, computeUnits: 2, globalMemoryBytes: 1 << 30,
            localMemoryBytes: 1 << 15, maxWorkGroupSize: maxWorkGroupSize,
            nativeFloatVectorWidth: native, preferredFloatVectorWidth: preferred, supportsFP16: false, supportsFP64: false,
            // Never passed to OpenCL: only its properties are read.
            id: OpaquePointer(bitPattern: 0x1000)!)
    }

    /// PyTorch's semantics on one channel worked by hand: x = [1, 2, 3, 4] has mean 2.5,
    /// biased variance 1.25 (used to normalise) and unbiased variance 5/3 (the running one).
    func testReferenceFollowsPyTorchSemantics() {
        let d = BatchNormDescriptor(batch: 2, channels: 1, spatial: 2)
        var runningMean: [Double] = [0]
        var runningVariance: [Double] = [1]
        let result = Reference.batchNormForwardTraining(
            d, input: [1, 2, 3, 4], weight: [2], bias: [0.5],
            runningMean: &runningMean, runningVariance: &runningVariance)
        let inverseStd = 1 / (1.25 + 1e-5 as Double).squareRoot()
        XCTAssertEqual(result.savedMean, [2.5])
        XCTAssertEqual(result.savedInverseStd[0], inverseStd, accuracy: 1e-12)
        XCTAssertEqual(runningMean[0], 0.25, accuracy: 1e-7)  // 0.9·0 + 0.1·2.5
        XCTAssertEqual(runningVariance[0], 0.9 + 0.1 * 5 / 3, accuracy: 1e-7)  // unbiased
        for (y, x) in zip(result.output, [1.0, 2, 3, 4]) {
            XCTAssertEqual(y, (x - 2.5) * inverseStd * 2 + 0.5, accuracy: 1e-12)
        }
        let inference = Reference.batchNormForwardInference(
            d, input: [1, 2, 3, 4], weight: [2], bias: [0.5],
            runningMean: [1], runningVariance: [4 - 1e-5])
        for (y, x) in zip(inference, [1.0, 2, 3, 4]) { XCTAssertEqual(y, (x - 1) / 2 * 2 + 0.5, accuracy: 1e-6) }
    }

    /// Channel c of an (N, C, S) tensor is strided: channel 1 of N = 2, C = 2, S = 1 is
    /// elements 1 and 3, so its statistics must not mix in channel 0.
    func testChannelsAreIndependent() throws {
        let d = BatchNormDescriptor(batch: 2, channels: 2, spatial: 1)
        var runningMean: [Double] = [0, 0]
        var runningVariance: [Double] = [1, 1]
        let result = Reference.batchNormForwardTraining(
            d, input: [0, 10, 2, 30], weight: [1, 1], bias: [0, 0],
            runningMean: &runningMean, runningVariance: &runningVariance)
        XCTAssertEqual(result.savedMean, [1, 20])
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let d = BatchNormDescriptor(batch: 2, channels: 3, spatial: 5)
            let full = try backend.makeBuffer(count: 30, of: Float.self)
            let channel = try backend.makeBuffer(count: 3, of: Float.self)
            let wrong = try backend.makeBuffer(count: 4, of: Float.self)
            assertThrows(
                try backend.batchNormForwardTraining(
                    d, input: full, weight: channel, bias: wrong,
                    runningMean: channel, runningVariance: channel, output: full,
                    savedMean: channel, savedInverseStd: channel),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "batch_norm",
                        "bias (3) needs 3 elements, buffer has 4, in batch_norm(N=2, C=3, S=5, eps=1e-05, momentum=0.1)"))
            }
            assertThrows(
                try backend.batchNormBackward(
                    d, input: full, outputGradient: channel, weight: channel,
                    savedMean: channel, savedInverseStd: channel, inputGradient: full,
                    weightGradient: channel, biasGradient: channel),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "batch_norm",
                        "output gradient (2, 3, 5) needs 30 elements, buffer has 3, in batch_norm(N=2, C=3, S=5, eps=1e-05, momentum=0.1)"))
            }
            assertThrows(
                try backend.batchNormForwardInference(
                    d, input: wrong, weight: channel, bias: channel,
                    runningMean: channel, runningVariance: channel, output: full),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "batch_norm",
                        "input (2, 3, 5) needs 30 elements, buffer has 4, in batch_norm(N=2, C=3, S=5, eps=1e-05, momentum=0.1)"))
            }
            let single = BatchNormDescriptor(batch: 1, channels: 3)
            assertThrows(
                try backend.batchNormForwardTraining(
                    single, input: channel, weight: channel, bias: channel,
                    runningMean: channel, runningVariance: channel, output: channel,
                    savedMean: channel, savedInverseStd: channel),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .invalidArgument(
                        op: "batch_norm",
                        "training needs more than 1 value per channel, batch_norm(N=1, C=3, S=1, eps=1e-05, momentum=0.1) has 1"))
            }
        }
    }
}
