import HeedOps
import HeedReference

/// GEMM cases: shapes that are not multiples of any tile, both transposes, β ≠ 0,
/// offsets and leading dimensions larger than the matrix, batches of 0, 1 and 5.
enum GemmVerification {
    static let cases: [VerificationCase] = {
        var cases: [VerificationCase] = []
        let shapes = [(1, 1, 1), (33, 65, 17), (1025, 7, 129)]
        for (m, n, k) in shapes {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                let d = GemmDescriptor(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
                cases.append(gemmCase(d, integers: true))
                cases.append(gemmCase(d, integers: false))
            }
        }
        var scaled = GemmDescriptor(transposeA: true, m: 33, n: 65, k: 17, alpha: 0.75, beta: 0.5)
        cases.append(gemmCase(scaled, integers: true))
        cases.append(gemmCase(scaled, integers: false))
        for batch in [0, 1, 5] {
            scaled = GemmDescriptor(transposeB: true, m: 7, n: 33, k: 65, alpha: -1, beta: 2, batchCount: batch)
            cases.append(gemmCase(scaled, integers: false))
        }
        // Sub-matrices of larger buffers: offsets, padded leading dimensions, padded strides.
        let strided = GemmDescriptor(
            m: 9, n: 11, k: 13, beta: 1, lda: 20, ldb: 17, ldc: 15,
            aOffset: 3, bOffset: 5, cOffset: 7, batchCount: 3,
            aStride: 200, bStride: 230, cStride: 150)
        cases.append(gemmCase(strided, integers: false))
        cases.append(gemmCase(GemmDescriptor(m: 3, n: 4, k: 0, beta: 0.5, batchCount: 2), integers: false))
        // Larger than one block of the packed CPU kernels (Kernels/gemm_cpu.cl) in m, n and
        // k (β is applied by the first step along k, later steps add to C), ragged at
        // every edge, with A or B shared by the whole batch (stride 0, packed once).
        let sharedA = GemmDescriptor(
            transposeA: true, m: 40, n: 70, k: 600, alpha: 1.5, beta: 0.5,
            batchCount: 2, aStride: 0)
        cases.append(gemmCase(sharedA, integers: false))
        let sharedB = GemmDescriptor(
            transposeB: true, m: 37, n: 100, k: 520, alpha: -1, beta: 1, ldc: 110,
            cOffset: 4, batchCount: 3, bStride: 0)
        cases.append(gemmCase(sharedB, integers: false))
        return cases
    }()

    static func shape(_ d: GemmDescriptor, integers: Bool) -> String {
        var text = "\(d.m)×\(d.n)×\(d.k) \(d.transposeA ? "Aᵀ" : "A")·\(d.transposeB ? "Bᵀ" : "B")"
        if d.alpha != 1 || d.beta != 0 { text += " α=\(d.alpha) β=\(d.beta)" }
        if d.batchCount != 1 { text += " batch \(d.batchCount)" }
        if d.aOffset != 0 || d.lda != d.storedA.columns || d.ldc != d.n { text += " strided" }
        if d.batchCount > 1 && d.k > 0 && d.aStride == 0 { text += " shared A" }
        if d.batchCount > 1 && d.k > 0 && d.bStride == 0 { text += " shared B" }
        return text + (integers ? " int" : "")
    }

    /// Same seeded A, B, C on both backends. C starts as NaN when β = 0 (an element
    /// GEMM fails to write stays NaN), else as random values.
    static func gemmCase(_ d: GemmDescriptor, integers: Bool) -> VerificationCase {
        VerificationCase(op: GemmOps.gemm.name, shape: shape(d, integers: integers)) { device, reference in
            var random = SeededGenerator(seed: UInt64(d.m * 1_000_003 + d.n * 1009 + d.k) ^ (integers ? 1 : 0))
            func values(_ count: Int) -> [Float] { integers ? random.integers(count) : random.uniform(count) }
            // A matrix shared by the batch (stride 0) still needs its own elements.
            let a = values(max(max(d.batchCount, 1) * d.aStride, d.storedA.rows * d.lda) + d.aOffset)
            let b = values(max(max(d.batchCount, 1) * d.bStride, d.storedB.rows * d.ldb) + d.bOffset)
            let cCount = max(d.batchCount, 1) * d.cStride + d.cOffset
            let c = d.beta == 0 ? [Float](repeating: .nan, count: cCount) : values(cCount)

            func run(on backend: any Backend) throws -> [Float] {
                let cBuffer = try backend.makeBuffer(c)
                try backend.gemm(d, a: backend.makeBuffer(a), b: backend.makeBuffer(b), c: cBuffer)
                return try backend.read(cBuffer, as: Float.self)
            }
            let expected = try run(on: reference)
            let actual = try run(on: device)
            // Magnitude of the terms of each result: |α|·|A||B| + |β|·|C|.
            var magnitude = d
            magnitude.alpha = abs(d.alpha)
            magnitude.beta = abs(d.beta)
            var scale = c.map { d.beta == 0 ? 0 : abs($0) }
            Reference.gemm(magnitude, a: a.map(abs), b: b.map(abs), c: &scale)
            return .ofSums(
                GemmOps.gemm, d, actual: actual, expected: expected, integers: integers,
                scale: scale.map(Double.init))
        }
    }
}
