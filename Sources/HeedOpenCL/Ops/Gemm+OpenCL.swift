import CCLBlast
import COpenCL
import HeedOps

/// GEMM on the backend's queue, through CLBlast or Heed's packed kernels (`GemmEngine`).
///
/// CLBlast rejects what BLAS accepts at the edges, so those cases are handled here:
/// an empty call does nothing, k = 0 scales C by β (kernel `scale_matrix`), a batch
/// of one uses `CLBlastSgemm` and larger batches `CLBlastSgemmStridedBatched`.
extension OpenCLBackend {
    public static let gemm: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(GemmOps.gemm) { backend, d, matrices in
            try backend.enqueueGemm(d, a: matrices.a, b: matrices.b, c: matrices.c)
        }
    ]

    /// `gemm` on a call already checked: `d` is valid and every matrix lies inside its
    /// buffer. The convolution bodies call it on their scratch matrices, which fit by
    /// construction, so a convolution is checked once, not again per GEMM.
    func enqueueGemm(_ d: GemmDescriptor, a: OpenCLBuffer, b: OpenCLBuffer, c: OpenCLBuffer) throws {
        if d.isEmpty { return }
        if d.k == 0 {
            try launch(
                family: "blas", kernel: "scale_matrix", global: [d.n, d.m, d.batchCount],
                arguments: [
                    .buffer(c), try .int(d.cOffset, "gemm"), try .int(d.ldc, "gemm"), try .int(d.cStride, "gemm"),
                    try .int(d.m, "gemm"), try .int(d.n, "gemm"), .float(d.beta),
                ])
            return
        }
        if gemmEngine == .packed {
            try packedGemm(d, a: a, b: b, c: c)
            return
        }
        let transposeA = d.transposeA ? CLBlastTransposeYes : CLBlastTransposeNo
        let transposeB = d.transposeB ? CLBlastTransposeYes : CLBlastTransposeNo
        try withQueue(profiledAs: d.batchCount == 1 ? "clblast_sgemm" : "clblast_sgemm_batched") { queue in
            var queue: cl_command_queue? = queue
            let status: CLBlastStatusCode
            if d.batchCount == 1 {
                status = CLBlastSgemm(
                    CLBlastLayoutRowMajor, transposeA, transposeB, d.m, d.n, d.k,
                    d.alpha, a.memory, d.aOffset, d.lda, b.memory, d.bOffset, d.ldb,
                    d.beta, c.memory, d.cOffset, d.ldc, &queue, nil)
            } else {
                status = CLBlastSgemmStridedBatched(
                    CLBlastLayoutRowMajor, transposeA, transposeB, d.m, d.n, d.k,
                    d.alpha, a.memory, d.aOffset, d.lda, d.aStride,
                    b.memory, d.bOffset, d.ldb, d.bStride,
                    d.beta, c.memory, d.cOffset, d.ldc, d.cStride,
                    d.batchCount, &queue, nil)
            }
            try check(status.rawValue, d.batchCount == 1 ? "CLBlastSgemm(\(d))" : "CLBlastSgemmStridedBatched(\(d))")
        }
    }
}
