import HeedDevice

extension Tensor {
    /// Batched matrix product: for every b, `self[b] · other[b]` (or `· other[b]ᵀ`).
    /// - Parameters: self (B, M, K); other (B, K, N), or (B, N, K) with `transposeOther`.
    /// - Returns: (B, M, N), through one strided-batched GEMM.
    public func batchedMatmul(_ other: Tensor, transposeOther: Bool = false) throws -> Tensor {
        guard rank == 3, other.rank == 3, shape[0] == other.shape[0],
              shape[2] == (transposeOther ? other.shape[2] : other.shape[1])
        else {
            throw HeedError.shapeMismatch(op: "batched_matmul", "\(shape) · \(other.shape)\(transposeOther ? "ᵀ" : "") do not chain")
        }
        let (b, m, k) = (shape[0], shape[1], shape[2])
        let n = transposeOther ? other.shape[1] : other.shape[2]
        let output = try Tensor.uninitialized(shape: [b, m, n], on: backend)
        try backend.gemm(GemmDescriptor(transposeB: transposeOther, m: m, n: n, k: k, batchCount: b),
                         a: storage, b: other.storage, c: output.storage)
        return Tensor.result(op: "batched_matmul", shape: output.shape, storage: output.storage, inputs: [self, other]) { g in
            // C = A·op(B): ∂A = G·op(B)ᵀ; ∂B = Aᵀ·G, or (∂B)ᵀ = Gᵀ·A when B was transposed.
            let dA = try Tensor.uninitialized(shape: self.shape, on: self.backend)
            try self.backend.gemm(GemmDescriptor(transposeB: !transposeOther, m: m, n: k, k: n, batchCount: b),
                                  a: g.storage, b: other.storage, c: dA.storage)
            let dB = try Tensor.uninitialized(shape: other.shape, on: self.backend)
            if transposeOther {
                try self.backend.gemm(GemmDescriptor(transposeA: true, m: n, n: k, k: m, batchCount: b),
                                      a: g.storage, b: self.storage, c: dB.storage)
            } else {
                try self.backend.gemm(GemmDescriptor(transposeA: true, m: k, n: n, k: m, batchCount: b),
                                      a: self.storage, b: g.storage, c: dB.storage)
            }
            return [dA, dB]
        }
    }

    /// A (B, width) tensor whose columns at the given offsets are the (B, 1) `columns`
    /// and 0 elsewhere; e.g. the affine matrices θ = [[s, 0, tx], [0, s, ty]] from s, tx, ty.
    public static func placeColumns(_ columns: [(tensor: Tensor, offset: Int)], width: Int) throws -> Tensor {
        guard let first = columns.first?.tensor, columns.allSatisfy({ $0.tensor.shape == [first.shape[0], 1] }) else {
            throw HeedError.shapeMismatch(op: "place_columns", "needs (B, 1) columns, got \(columns.map(\.tensor.shape))")
        }
        let batch = first.shape[0]
        let whole = try Tensor.filled(0, shape: [batch, width], on: first.backend)
        let blocks = columns.map { ColumnBlockDescriptor(outer: batch, width: 1, wholeWidth: width, offset: $0.offset) }
        for ((column, _), block) in zip(columns, blocks) {
            try first.backend.insertColumns(block, part: column.storage, whole: whole.storage)
        }
        return result(op: "place_columns", shape: whole.shape, storage: whole.storage, inputs: columns.map(\.tensor)) { g in
            try blocks.map { block in
                let d = try Tensor.uninitialized(shape: [batch, 1], on: first.backend)
                try first.backend.extractColumns(block, whole: g.storage, part: d.storage)
                return d
            }
        }
    }

    /// Column `index` of a (B, N) tensor, as (B, 1).
    public func column(_ index: Int) throws -> Tensor {
        guard rank == 2, (0..<shape[1]).contains(index) else {
            throw HeedError.shapeMismatch(op: "column", "column \(index) of \(shape)")
        }
        let block = ColumnBlockDescriptor(outer: shape[0], width: 1, wholeWidth: shape[1], offset: index)
        let part = try Tensor.uninitialized(shape: [shape[0], 1], on: backend)
        try backend.extractColumns(block, whole: storage, part: part.storage)
        return Tensor.result(op: "column", shape: part.shape, storage: part.storage, inputs: [self]) { g in
            let d = try Tensor.filled(0, shape: self.shape, on: self.backend)
            try self.backend.insertColumns(block, part: g.storage, whole: d.storage)
            return [d]
        }
    }

    /// The same values with no gradient: what flows from here on is a constant.
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage, backend: backend, requiresGradient: false, origin: nil)
    }
}
