import HeedOps

// Matrix products (`GemmOps`).
// Each op runs one backend op (or a few) and, when recording, saves what its backward reads.

extension Tensor {
    /// Batched matrix product: for every b, `self[b] · other[b]` (or `· other[b]ᵀ`).
    /// - Parameters: self (B, M, K); other (B, K, N), or (B, N, K) with `transposeOther`.
    /// - Returns: (B, M, N), through one strided-batched GEMM. Saves both factors.
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
        let (backend, aShape, bShape) = (backend, shape, other.shape)
        return Tensor.result(op: "batched_matmul", output: output, inputs: [self, other], saving: [self, other]) { g, saved in
            let buffers = try saved.buffers(for: "batched_matmul")
            let (a, bMatrix) = (buffers[0], buffers[1])
            // C = A·op(B): ∂A = G·op(B)ᵀ; ∂B = Aᵀ·G, or (∂B)ᵀ = Gᵀ·A when B was transposed.
            let dA = try Tensor.uninitialized(shape: aShape, on: backend)
            try backend.gemm(
                GemmDescriptor(transposeB: !transposeOther, m: m, n: k, k: n, batchCount: b),
                a: g.storage, b: bMatrix, c: dA.storage)
            let dB = try Tensor.uninitialized(shape: bShape, on: backend)
            if transposeOther {
                try backend.gemm(
                    GemmDescriptor(transposeA: true, m: n, n: k, k: m, batchCount: b),
                    a: g.storage, b: a, c: dB.storage)
            } else {
                try backend.gemm(
                    GemmDescriptor(transposeA: true, m: k, n: n, k: m, batchCount: b),
                    a: a, b: g.storage, c: dB.storage)
            }
            return [dA, dB]
        }
    }
}
