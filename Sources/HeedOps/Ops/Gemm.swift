/// Matrix products. GEMM is the workhorse under convolution, linear layers and the
/// attention heads.
public enum GemmOps {
    /// Batched row-major matrix product `C ← α·op(A)·op(B) + β·C` (see `GemmDescriptor`).
    /// A, B and C are strided matrices inside larger buffers, so `check` counts their spans.
    /// Terms: k products, β·C and the reference's rounding; the scale is |α|·|A||B| + |β|·|C|.
    public static let gemm = OpDefinition<GemmDescriptor>(
        "gemm", .gemm, kernels: ["scale_matrix", "gemm_pack", "gemm_packed"], tolerance: .sums { $0.k + 2 },
        flops: \.flops, bytes: { 4 * $0.batchCount * ($0.m * $0.k + $0.k * $0.n + $0.m * $0.n) },
        check: { d, counts in try d.checkSpans(aCount: counts[0]!, bCount: counts[1]!, cCount: counts[2]!) }
    ) { _ in
        [.input("a", nil, label: "A"), .input("b", nil, label: "B"), .update("c", nil, label: "C")]
    }

    static let table = [gemm.erased]
}

extension Backend {
    public func gemm(_ descriptor: GemmDescriptor, a: any DeviceBuffer, b: any DeviceBuffer, c: any DeviceBuffer) throws {
        try run(GemmOps.gemm, descriptor, [a, b, c])
    }
}

/// A batched, row-major, single-precision matrix product, as CLBlast and BLAS define it:
///
///     for b in 0..<batchCount:  C_b ← α · op(A_b) · op(B_b) + β · C_b
///
/// where `op(X)` is `X` or `Xᵀ`, `op(A_b)` is m×k, `op(B_b)` is k×n and `C_b` is m×n.
/// Matrix b of A starts at element `aOffset + b·aStride` and its rows are `lda` apart
/// (likewise B and C). With β = 0, C is written without being read (NaN in C does not
/// survive); with k = 0 the result is β·C.
public struct GemmDescriptor: OpDescriptor, Equatable {
    public var transposeA: Bool
    public var transposeB: Bool
    public var m: Int
    public var n: Int
    public var k: Int
    public var alpha: Float
    public var beta: Float
    public var lda: Int
    public var ldb: Int
    public var ldc: Int
    public var aOffset: Int
    public var bOffset: Int
    public var cOffset: Int
    public var batchCount: Int
    public var aStride: Int
    public var bStride: Int
    public var cStride: Int

    /// A product of densely packed matrices; leading dimensions and batch strides
    /// default to the packed ones.
    public init(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1, beta: Float = 0,
        lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil,
        aOffset: Int = 0, bOffset: Int = 0, cOffset: Int = 0,
        batchCount: Int = 1,
        aStride: Int? = nil, bStride: Int? = nil, cStride: Int? = nil
    ) {
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.m = m
        self.n = n
        self.k = k
        self.alpha = alpha
        self.beta = beta
        let lda = lda ?? (transposeA ? m : k)
        let ldb = ldb ?? (transposeB ? k : n)
        let ldc = ldc ?? n
        self.lda = lda
        self.ldb = ldb
        self.ldc = ldc
        self.aOffset = aOffset
        self.bOffset = bOffset
        self.cOffset = cOffset
        self.batchCount = batchCount
        self.aStride = aStride ?? (transposeA ? k : m) * lda
        self.bStride = bStride ?? (transposeB ? n : k) * ldb
        self.cStride = cStride ?? m * ldc
    }

    /// Rows and columns of A as stored (before `op`).
    public var storedA: (rows: Int, columns: Int) { transposeA ? (k, m) : (m, k) }
    /// Rows and columns of B as stored (before `op`).
    public var storedB: (rows: Int, columns: Int) { transposeB ? (n, k) : (k, n) }

    /// Whether the call computes nothing at all (an empty batch or an empty C).
    public var isEmpty: Bool { batchCount == 0 || m == 0 || n == 0 }

    /// Floating-point operations of the whole call (2·m·n·k per matrix).
    public var flops: Int { 2 * batchCount * m * n * k }

    public var description: String {
        "gemm(\(transposeA ? "A^T" : "A")*\(transposeB ? "B^T" : "B"), m=\(m), n=\(n), k=\(k), batch=\(batchCount))"
    }

    /// Throws `HeedError.invalidArgument` when a size, offset or stride is negative.
    public func validate() throws {
        for (name, value) in [
            ("m", m), ("n", n), ("k", k), ("batchCount", batchCount),
            ("aOffset", aOffset), ("bOffset", bOffset), ("cOffset", cOffset),
            ("aStride", aStride), ("bStride", bStride), ("cStride", cStride),
        ]
        where value < 0 {
            throw HeedError.invalidArgument(op: "gemm", "\(name) = \(value) is negative")
        }
    }

    /// Throws `HeedError.shapeMismatch` unless every matrix of the batch lies inside its
    /// buffer (of `aCount`, `bCount`, `cCount` elements) and the matrices of C do not overlap;
    /// `validate()` has passed.
    func checkSpans(aCount: Int, bCount: Int, cCount: Int) throws {
        if isEmpty { return }
        try Self.checkMatrix(
            "A", rows: storedA.rows, columns: storedA.columns, ld: lda, ldName: "lda",
            offset: aOffset, stride: aStride, batch: batchCount, count: aCount,
            skip: k == 0, context: self)
        try Self.checkMatrix(
            "B", rows: storedB.rows, columns: storedB.columns, ld: ldb, ldName: "ldb",
            offset: bOffset, stride: bStride, batch: batchCount, count: bCount,
            skip: k == 0, context: self)
        try Self.checkMatrix(
            "C", rows: m, columns: n, ld: ldc, ldName: "ldc",
            offset: cOffset, stride: cStride, batch: batchCount, count: cCount,
            skip: false, context: self)
        // Matrices of C that overlap would be written by several batch entries at
        // once; the result would depend on scheduling, so such calls are refused.
        let cSpan = (m - 1) * ldc + n
        if batchCount > 1 && cStride < cSpan {
            throw HeedError.shapeMismatch(
                op: "gemm",
                "cStride = \(cStride) makes the \(batchCount) matrices of C (each spanning \(cSpan) elements) overlap, in \(self)")
        }
    }

    /// The number of elements a batch of `rows × columns` matrices spans.
    public static func span(rows: Int, columns: Int, ld: Int, offset: Int, stride: Int, batch: Int) -> Int {
        offset + (batch - 1) * stride + (rows - 1) * ld + columns
    }

    private static func checkMatrix(
        _ name: String, rows: Int, columns: Int, ld: Int, ldName: String,
        offset: Int, stride: Int, batch: Int, count: Int, skip: Bool, context: GemmDescriptor
    ) throws {
        // A matrix with no rows or columns is never read (k = 0 for A and B).
        if skip || rows == 0 || columns == 0 { return }
        guard ld >= columns else {
            throw HeedError.shapeMismatch(
                op: "gemm", "\(ldName) = \(ld) is less than the \(columns) columns of \(name) in \(context)")
        }
        let needed = span(rows: rows, columns: columns, ld: ld, offset: offset, stride: stride, batch: batch)
        guard needed <= count else {
            throw HeedError.shapeMismatch(
                op: "gemm",
                "\(name) (\(rows)x\(columns), \(ldName)=\(ld), offset \(offset), stride \(stride)) needs \(needed) elements, buffer has \(count), in \(context)"
            )
        }
    }
}
