import HeedOpenCLTestSupport
import HeedOps
import HeedReference
import HeedTestSupport
import HeedVerify
import XCTest

@testable import HeedOpenCL

final class GemmTests: XCTestCase {
    /// The cases `heed verify --op gemm` runs: 1×1×1, 33×65×17 and 1025×7×129 with every
    /// transpose, α and β ≠ 0, batches of 0, 1 and 5, offsets and padded strides, k = 0;
    /// exact on small integers, within the float32 summation bound otherwise.
    func testOpenCLMatchesTheReference() throws {
        let device = try TestDevices.requireOpenCL()
        let cases = VerificationSuite.cases(matching: "gemm")
        XCTAssertGreaterThan(cases.count, 20)
        for check in cases {
            assertPassed(try check.run(device, TestDevices.reference), "gemm \(check.shape)")
        }
    }

    /// The reference against products worked out by hand.
    func testReferenceComputesKnownProducts() {
        let a: [Double] = [1, 2, 3, 4, 5, 6]  // 2×3
        let b: [Double] = [7, 8, 9, 10, 11, 12]  // 3×2
        var c: [Double] = [.nan, .nan, .nan, .nan]
        Reference.gemm(GemmDescriptor(m: 2, n: 2, k: 3), a: a, b: b, c: &c)
        XCTAssertEqual(c, [58, 64, 139, 154])

        // Aᵀ·B with A stored 3×2, α = 2, β = −1 on C = 1.
        let at: [Double] = [1, 4, 2, 5, 3, 6]
        c = [1, 1, 1, 1]
        Reference.gemm(GemmDescriptor(transposeA: true, m: 2, n: 2, k: 3, alpha: 2, beta: -1), a: at, b: b, c: &c)
        XCTAssertEqual(c, [115, 127, 277, 307])

        // A·Bᵀ with B stored 2×3; k = 0 leaves β·C.
        let bt: [Double] = [7, 9, 11, 8, 10, 12]
        c = [0, 0, 0, 0]
        Reference.gemm(GemmDescriptor(transposeB: true, m: 2, n: 2, k: 3), a: a, b: bt, c: &c)
        XCTAssertEqual(c, [58, 64, 139, 154])
        Reference.gemm(GemmDescriptor(m: 2, n: 2, k: 0, beta: 0.5), a: [], b: [], c: &c)
        XCTAssertEqual(c, [29, 32, 69.5, 77])
    }

    func testBadShapesAreErrorsNamingTheOpAndShapes() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let small = try backend.makeBuffer(count: 12, of: Float.self)
            let big = try backend.makeBuffer(count: 100, of: Float.self)
            assertThrows(try backend.gemm(GemmDescriptor(m: 5, n: 3, k: 7), a: small, b: big, c: big), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "gemm",
                        "A (5x7, lda=7, offset 0, stride 35) needs 35 elements, buffer has 12, in gemm(A*B, m=5, n=3, k=7, batch=1)"))
            }
            assertThrows(try backend.gemm(GemmDescriptor(m: 2, n: 2, k: 3, lda: 2), a: big, b: big, c: big), as: HeedError.self) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "gemm",
                        "lda = 2 is less than the 3 columns of A in gemm(A*B, m=2, n=2, k=3, batch=1)"))
            }
            assertThrows(
                try backend.gemm(GemmDescriptor(m: 2, n: 2, k: 2, batchCount: 3, cStride: 1), a: big, b: big, c: big),
                as: HeedError.self
            ) {
                XCTAssertEqual(
                    $0,
                    .shapeMismatch(
                        op: "gemm",
                        "cStride = 1 makes the 3 matrices of C (each spanning 4 elements) overlap, in gemm(A*B, m=2, n=2, k=2, batch=3)"))
            }
            assertThrows(try backend.gemm(GemmDescriptor(m: -1, n: 2, k: 2), a: big, b: big, c: big), as: HeedError.self) {
                XCTAssertEqual($0, .invalidArgument(op: "gemm", "m = -1 is negative"))
            }
            let ints = try backend.makeBuffer(count: 100, of: Int32.self)
            assertThrows(try backend.gemm(GemmDescriptor(m: 2, n: 2, k: 2), a: big, b: ints, c: big), as: HeedError.self) {
                XCTAssertEqual($0, .invalidArgument(op: "gemm", "B holds int32, expected float32"))
            }
        }
    }
}

/// The choice between CLBlast and Heed's packed CPU kernels, and the packed kernels' blocking.
final class GemmEngineTests: XCTestCase {
    private func device(_ kind: OpenCLDeviceInfo.Kind) -> OpenCLDeviceInfo {
        OpenCLDeviceInfo(
            platformIndex: 0, deviceIndex: 0, platformName: "test", name: "\(kind)", vendor: "test",
            version: "OpenCL 1.2", driverVersion: "1", kind: kind, computeUnits: 2, globalMemoryBytes: 1 << 30,
            localMemoryBytes: 1 << 15, maxWorkGroupSize: 256, nativeFloatVectorWidth: 8, preferredFloatVectorWidth: 8, supportsFP16: false,
            supportsFP64: false,
            // Never passed to OpenCL: only its kind is read.
            id: OpaquePointer(bitPattern: 0x1000)!)
    }

    func testCPUsGetThePackedKernelsAndGPUsCLBlastUnlessHEEDGEMMSaysOtherwise() throws {
        XCTAssertEqual(try GemmEngine.choose(for: device(.cpu), environment: [:]), .packed)
        XCTAssertEqual(try GemmEngine.choose(for: device(.gpu), environment: [:]), .clblast)
        XCTAssertEqual(try GemmEngine.choose(for: device(.cpu), environment: ["HEED_GEMM": "clblast"]), .clblast)
        XCTAssertEqual(try GemmEngine.choose(for: device(.gpu), environment: ["HEED_GEMM": "packed"]), .packed)
        assertThrows(try GemmEngine.choose(for: device(.cpu), environment: ["HEED_GEMM": "fast"]), as: HeedError.self) {
            XCTAssertEqual($0, .invalidArgument(op: "HEED_GEMM", "'fast' is not a GEMM engine (clblast or packed)"))
        }
    }

    func testBlocksCoverTheMatrixEvenlyWithSeveralWorkGroupsPerCore() {
        for kernel in [PackedGemmKernel.defaults(nativeWidth: 8), .defaults(nativeWidth: 16), .defaults(nativeWidth: 4)] {
            for (m, n, k, batch) in [
                (1, 1, 1, 1), (256, 256, 256, 1), (1024, 1024, 1024, 1), (160, 8192, 1440, 1),
                (5760, 512, 640, 1), (7, 33, 65, 5), (40, 70, 600, 2), (37, 100, 520, 3),
            ] {
                let plan = PackedGemmPlan(m: m, n: n, k: k, batch: batch, computeUnits: 2, kernel: kernel)
                let context = "\(kernel): \(m)×\(n)×\(k) batch \(batch): \(plan)"
                XCTAssertEqual(plan.mc % kernel.microRows, 0, context)
                XCTAssertEqual(plan.nc % kernel.microColumns, 0, context)
                XCTAssertGreaterThanOrEqual(plan.rowBlocks * plan.mc, m, context)
                XCTAssertLessThan((plan.rowBlocks - 1) * plan.mc, m, context)
                XCTAssertGreaterThanOrEqual(plan.columnBlocks * plan.nc, n, context)
                XCTAssertLessThan((plan.columnBlocks - 1) * plan.nc, n, context)
                XCTAssertLessThanOrEqual(plan.mc, max(kernel.rowBlock, kernel.microRows), context)
                XCTAssertLessThanOrEqual(plan.nc, max(kernel.columnBlock, kernel.microColumns), context)
                XCTAssertTrue((1...kernel.depthBlock).contains(plan.kc), context)
                XCTAssertEqual((k + plan.kc - 1) / plan.kc, (k + kernel.depthBlock - 1) / kernel.depthBlock, context)
                if m * n >= 256 * 256 { XCTAssertGreaterThanOrEqual(plan.rowBlocks * plan.columnBlocks * batch, 8, context) }
            }
        }
    }

    /// The tile a device gets without tuning fits its vector registers: AVX-512's 32
    /// registers of 16 floats take 12 × 2·16, AVX2's 16 of 8 floats 6 × 2·8, never the
    /// AVX-512 tile, which spills there.
    func testDefaultTilesFitTheDevicesRegisters() {
        let avx2 = PackedGemmKernel.defaults(nativeWidth: 8)
        let avx512 = PackedGemmKernel.defaults(nativeWidth: 16)
        XCTAssertEqual([avx2.microRows, avx2.vectorsPerRow, avx2.vectorWidth], [6, 2, 8])
        XCTAssertEqual([avx512.microRows, avx512.vectorsPerRow, avx512.vectorWidth], [12, 2, 16])
        XCTAssertFalse(avx512.fitsRegisters(nativeWidth: 8))
        for width in [1, 2, 4, 8, 16] {
            XCTAssertTrue(PackedGemmKernel.defaults(nativeWidth: width).fitsRegisters(nativeWidth: width), "native width \(width)")
        }
    }

    /// The suite runs GEMM through the engine the device gets by default (packed kernels on
    /// PoCL); this runs the same cases through CLBlast, which GPUs use: as CLBlast chooses
    /// (its direct kernel at these sizes), and through its indirect Xgemm kernel, whose
    /// parameters Heed sets on PoCL (`CLBlastTuning`) and `heed tune` sets on GPUs.
    func testCLBlastMatchesTheReferenceToo() throws {
        let device = try TestDevices.requireOpenCL().device
        let clblast = try OpenCLBackend(device: device, gemmEngine: .clblast)
        for check in VerificationSuite.cases(matching: "gemm") {
            assertPassed(try check.run(clblast, TestDevices.reference), "gemm \(check.shape) through CLBlast")
        }
        let threshold = try CLBlastTuning.parameters(of: "GemmRoutine", on: device)
        try CLBlastTuning.withIndirectGemm(on: device) {
            for check in VerificationSuite.cases(matching: "gemm") {
                assertPassed(try check.run(clblast, TestDevices.reference), "gemm \(check.shape) through CLBlast's Xgemm")
            }
        }
        XCTAssertEqual(try CLBlastTuning.parameters(of: "GemmRoutine", on: device), threshold, "the threshold was not put back")
    }

    /// A batch whose packed copies exceed the scratch limit runs a slice at a time;
    /// an operand shared by the batch is packed with the first slice only.
    func testBatchesLargerThanTheScratchRunInSlices() throws {
        let backend = try TestDevices.requireOpenCL()
        let (m, n, k, batch) = (13, 40, 300, 5)
        let descriptors = [
            GemmDescriptor(m: m, n: n, k: k, beta: 0.5, batchCount: batch),
            GemmDescriptor(transposeA: true, m: m, n: n, k: k, alpha: 2, batchCount: batch, aStride: 0),
            GemmDescriptor(transposeB: true, m: m, n: n, k: k, batchCount: batch, bStride: 0),
        ]
        for d in descriptors {
            var random = SeededGenerator(seed: 7)
            let a = random.uniform(d.aStride * (batch - 1) + d.storedA.rows * d.lda)
            let b = random.uniform(d.bStride * (batch - 1) + d.storedB.rows * d.ldb)
            let c = random.uniform(d.cStride * batch)
            var expected = c
            Reference.gemm(d, a: a, b: b, c: &expected)
            let cBuffer = try backend.makeBuffer(c)
            // Room for the packed A and B (those not shared) of two matrices: slices of 2, 2 and 1.
            let (mr, nr) = (backend.tuning.packedGemm.microRows, backend.tuning.packedGemm.microColumns)
            let perMatrix = (d.aStride == 0 ? 0 : (m + mr - 1) / mr * mr * k) + (d.bStride == 0 ? 0 : (n + nr - 1) / nr * nr * k)
            try backend.packedGemm(
                d, a: backend.floats(backend.makeBuffer(a), "test", "A"),
                b: backend.floats(backend.makeBuffer(b), "test", "B"),
                c: backend.floats(cBuffer, "test", "C"), scratchLimit: 2 * perMatrix)
            let actual = try backend.read(cBuffer, as: Float.self)
            for (index, (x, y)) in zip(actual, expected).enumerated() {
                XCTAssertEqual(x, y, accuracy: 1e-3 * max(1, abs(y)), "\(d), element \(index)")
            }
        }
    }
}
