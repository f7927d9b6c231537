import HeedOps

extension Reference {
    /// `C_b ← α·op(A_b)·op(B_b) + β·C_b` for every matrix b of the batch; see
    /// `GemmDescriptor` for the layout. Each dot product is summed in Double.
    /// With β = 0, C is not read. The caller validates the descriptor.
    public static func gemm<T: BinaryFloatingPoint>(_ d: GemmDescriptor, a: [T], b: [T], c: inout [T]) {
        for batch in 0..<d.batchCount {
            let aBase = d.aOffset + batch * d.aStride
            let bBase = d.bOffset + batch * d.bStride
            let cBase = d.cOffset + batch * d.cStride
            for i in 0..<d.m {
                for j in 0..<d.n {
                    var sum = 0.0
                    for p in 0..<d.k {
                        let aValue = d.transposeA ? a[aBase + p * d.lda + i] : a[aBase + i * d.lda + p]
                        let bValue = d.transposeB ? b[bBase + j * d.ldb + p] : b[bBase + p * d.ldb + j]
                        sum += Double(aValue) * Double(bValue)
                    }
                    let index = cBase + i * d.ldc + j
                    let previous = d.beta == 0 ? 0 : Double(d.beta) * Double(c[index])
                    c[index] = T(Double(d.alpha) * sum + previous)
                }
            }
        }
    }
}

extension ReferenceBackend {
    public static let gemm = bodies(gemmBodies(Float.self), gemmBodies(Double.self))

    static func gemmBodies<T: ReferenceScalar>(_: T.Type) -> [ReferenceBody<T>] {
        [
            ReferenceBody(GemmOps.gemm) { d, matrices in
                Reference.gemm(d, a: matrices.a[T.self], b: matrices.b[T.self], c: &matrices.c[T.self])
            }
        ]
    }
}
