import HeedOps

// Matrix products (`GemmOps`).
// Each op runs one backend op (or a few) and, when recording, keeps what its backward needs.

extension Tensor {
    /// Batched matrix product: for every b, `self[b] · other[b]` (or `· other[b]ᵀ`).
    /// - Parameters: self (B, M, K); other (B, K, N), or (B, N, K) with `transposeOther`.
    /// - Returns: (B, M, N), through one strided-batched GEMM.
    public func batchedMatmul(_ other: Tensor, transposeOther: Bool = false) throws -> Tensor {
        guard rank == 3, other.rank == 3, shape[0] == other.shape[0],
            shape[2] == (transposeOther ? other.shape[2] : other.shape[1])
        else {
            throw HeedError.shapeMismatch(
                op: "batched_matmul", "\(shape) times \(other.shape)\(transposeOther ? " transposed" : "") do not chain")
        }
        let (b, m, k) = (shape[0], shape[1], shape[2])
        let n = transposeOther ? other.shape[1] : other.shape[2]
        let output = try Tensor.uninitialized(shape: [b, m, n], on: backend)
        try backend.gemm(
            GemmDescriptor(transposeB: transposeOther, m: m, n: n, k: k, batchCount: b),
            a: storage, b: other.storage, c: output.storage)
        return Tensor.result(op: "batched_matmul", shape: output.shape, storage: output.storage, inputs: [self, other]) { g in
            // C = A·op(B): ∂A = G·op(B)ᵀ; ∂B = Aᵀ·G, or (∂B)ᵀ = Gᵀ·A when B was transposed.
            let dA = try Tensor.uninitialized(shape: self.shape, on: self.backend)
            try self.backend.gemm(
                GemmDescriptor(transposeB: !transposeOther, m: m, n: k, k: n, batchCount: b),
                a: g.storage, b: other.storage, c: dA.storage)
            let dB = try Tensor.uninitialized(shape: other.shape, on: self.backend)
            if transposeOther {
                try self.backend.gemm(
                    GemmDescriptor(transposeA: true, m: n, n: k, k: m, batchCount: b),
                    a: g.storage, b: self.storage, c: dB.storage)
            } else {
                try self.backend.gemm(
                    GemmDescriptor(transposeA: true, m: k, n: n, k: m, batchCount: b),
                    a: self.storage, b: g.storage, c: dB.storage)
            }
            return [dA, dB]
        }
    }
}
