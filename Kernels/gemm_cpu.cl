// =================================================================================
// gemm_cpu.cl: single-precision GEMM for OpenCL CPU devices (PoCL), BLIS-style.
//
//   C_b ← α · op(A_b) · op(B_b) + β · C_b,  row-major, op(X) = X or Xᵀ,
//   op(A) m×k, op(B) k×n, C m×n, matrix b of X at x_offset + b·x_stride.
//
// Why not CLBlast here: CLBlast's kernels are written for GPUs (work-groups of many
// work-items sharing __local tiles); on PoCL's CPU device, where a work-group runs on
// one thread, they reach a third of the CPU's own BLAS at best. These kernels are
// written the way CPU BLAS libraries are: one work-item per work-group, and that one
// work-item keeps an MR × NR block of C in vector registers.
//
// Three kernels, enqueued in order on one queue (see Gemm+OpenCL.swift):
//
// gemm_pack_a: Ap[b][ip][p][r] = op(A_b)[ip·MR + r, p], zero for rows ≥ m.
//   Panel ip (MR rows of op(A), all k) is k·MR contiguous floats; batch stride
//   ⌈m/MR⌉·MR·k. Work item (ip, chunk, b) packs PACK_K values of p of one panel.
// gemm_pack_b: Bp[b][jp][p][x] = op(B_b)[p, jp·NR + x], zero for columns ≥ n.
//   Panel jp is k·NR contiguous floats; batch stride ⌈n/NR⌉·NR·k.
//   Packing resolves the transposes, leading dimensions, offsets and edges once, so
//   the product below reads two contiguous streams and never tests a bound inside its
//   inner loop; each element of A and B is packed once per call.
// gemm_packed: work-group (jb, ib, b), local size (1, 1, 1), computes the block of C
//   rows ib·mc_block … and columns jb·nc_block …, in steps of kc_block along k (so
//   that the B panel being reused, kc·NR floats, stays in L1 and the A block, mc·kc,
//   in L2). The micro-kernel holds MR × NV float16 accumulators (12 × 2 = 24 of the
//   32 AVX-512 registers with the defaults) and, per p, loads NV vectors of B and
//   broadcasts MR scalars of A: 2·MR·NV·16 flops per 16·NV + MR floats loaded. The
//   first step along k applies β (β = 0 writes C without reading it, as BLAS does);
//   later steps add to C. Tiles at the right and bottom edges store element by element.
//   ap_batch_stride / bp_batch_stride are 0 when every matrix of the batch shares A or
//   B, which is then packed once.
//
// Sizes and offsets are int (the host checks they fit); offsets into packed buffers
// are size_t.
// =================================================================================

#ifndef MR
#define MR 12         // rows of C per micro-tile (broadcast operand)
#endif
#ifndef NV
#define NV 2          // float16 vectors per row of the micro-tile
#endif
#define NR (16 * NV)  // columns of C per micro-tile
#ifndef PACK_K
#define PACK_K 64     // values of k one packing work item copies
#endif

__kernel void gemm_pack_a(const int m, const int k, const int trans_a,
                          __global const float* restrict a, const int a_offset, const int lda, const int a_stride,
                          __global float* restrict ap)
{
    const int ip = get_global_id(0);
    const int p0 = get_global_id(1) * PACK_K;
    const int batch = get_global_id(2);
    const int panels = (m + MR - 1) / MR;
    if (ip >= panels || p0 >= k) return;
    const int kc = min(PACK_K, k - p0);
    const int i = ip * MR;
    a += a_offset + batch * a_stride;
    __global float* dst = ap + ((size_t)batch * panels + ip) * (size_t)k * MR + (size_t)p0 * MR;
    // Element (r, p) of the panel is at a[r·row_step + p·col_step].
    const int row_step = trans_a ? 1 : lda;
    const int col_step = trans_a ? lda : 1;
    __global const float* src = a + i * row_step + p0 * col_step;
    if (i + MR <= m) {
        for (int p = 0; p < kc; p++) {
            #pragma unroll
            for (int r = 0; r < MR; r++) dst[p * MR + r] = src[r * row_step + p * col_step];
        }
    } else {
        for (int p = 0; p < kc; p++)
            for (int r = 0; r < MR; r++) dst[p * MR + r] = (i + r < m) ? src[r * row_step + p * col_step] : 0.0f;
    }
}

__kernel void gemm_pack_b(const int n, const int k, const int trans_b,
                          __global const float* restrict b, const int b_offset, const int ldb, const int b_stride,
                          __global float* restrict bp)
{
    const int jp = get_global_id(0);
    const int p0 = get_global_id(1) * PACK_K;
    const int batch = get_global_id(2);
    const int panels = (n + NR - 1) / NR;
    if (jp >= panels || p0 >= k) return;
    const int kc = min(PACK_K, k - p0);
    const int j = jp * NR;
    b += b_offset + batch * b_stride;
    __global float* dst = bp + ((size_t)batch * panels + jp) * (size_t)k * NR + (size_t)p0 * NR;
    if (!trans_b && j + NR <= n) {
        // Rows of B are already contiguous along the panel: copy whole vectors.
        for (int p = 0; p < kc; p++) {
            __global const float* src = b + (p0 + p) * ldb + j;
            #pragma unroll
            for (int v = 0; v < NV; v++) vstore16(vload16(v, src), v, dst + p * NR);
        }
        return;
    }
    // Element (p, x) of the panel is at b[p·row_step + x·col_step].
    const int row_step = trans_b ? 1 : ldb;
    const int col_step = trans_b ? ldb : 1;
    __global const float* src = b + p0 * row_step + j * col_step;
    if (j + NR <= n) {
        for (int p = 0; p < kc; p++) {
            #pragma unroll
            for (int x = 0; x < NR; x++) dst[p * NR + x] = src[p * row_step + x * col_step];
        }
    } else {
        for (int p = 0; p < kc; p++)
            for (int x = 0; x < NR; x++) dst[p * NR + x] = (j + x < n) ? src[p * row_step + x * col_step] : 0.0f;
    }
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void gemm_packed(const int m, const int n, const int k, const float alpha, const float beta,
                 const int mc_block, const int nc_block, const int kc_block,
                 __global const float* restrict ap, const int ap_batch_stride,
                 __global const float* restrict bp, const int bp_batch_stride,
                 __global float* restrict c, const int c_offset, const int ldc, const int c_stride)
{
    const int batch = get_group_id(2);
    const int m_panels = (m + MR - 1) / MR;
    const int n_panels = (n + NR - 1) / NR;
    const int ip0 = get_group_id(1) * (mc_block / MR);
    const int jp0 = get_group_id(0) * (nc_block / NR);
    const int ip1 = min(m_panels, ip0 + mc_block / MR);
    const int jp1 = min(n_panels, jp0 + nc_block / NR);
    ap += (size_t)batch * ap_batch_stride;
    bp += (size_t)batch * bp_batch_stride;
    c += c_offset + batch * c_stride;

    for (int p0 = 0; p0 < k; p0 += kc_block) {
        const int kc = min(kc_block, k - p0);
        const float c_scale = (p0 == 0) ? beta : 1.0f;
        for (int jp = jp0; jp < jp1; jp++) {
            __global const float* pb = bp + ((size_t)jp * k + p0) * NR;
            for (int ip = ip0; ip < ip1; ip++) {
                __global const float* pa = ap + ((size_t)ip * k + p0) * MR;

                // The micro-kernel: fully unrolled over r and v, so acc stays in registers.
                float16 acc[MR][NV];
                #pragma unroll
                for (int r = 0; r < MR; r++) {
                    #pragma unroll
                    for (int v = 0; v < NV; v++) acc[r][v] = 0.0f;
                }
                for (int p = 0; p < kc; p++) {
                    float16 bv[NV];
                    #pragma unroll
                    for (int v = 0; v < NV; v++) bv[v] = vload16(v, pb + p * NR);
                    #pragma unroll
                    for (int r = 0; r < MR; r++) {
                        const float16 av = (float16)(pa[p * MR + r]);
                        #pragma unroll
                        for (int v = 0; v < NV; v++) acc[r][v] = fma(av, bv[v], acc[r][v]);
                    }
                }

                const int i = ip * MR;
                const int j = jp * NR;
                if (i + MR <= m && j + NR <= n) {
                    #pragma unroll
                    for (int r = 0; r < MR; r++) {
                        __global float* dst = c + (i + r) * ldc + j;
                        #pragma unroll
                        for (int v = 0; v < NV; v++) {
                            float16 out = alpha * acc[r][v];
                            if (c_scale != 0.0f) out = fma((float16)(c_scale), vload16(v, dst), out);
                            vstore16(out, v, dst);
                        }
                    }
                } else {
                    for (int r = 0; r < MR && i + r < m; r++) {
                        __global float* dst = c + (i + r) * ldc + j;
                        float row[NR];
                        #pragma unroll
                        for (int v = 0; v < NV; v++) vstore16(alpha * acc[r][v], v, row);
                        for (int x = 0; x < NR && j + x < n; x++)
                            dst[x] = (c_scale != 0.0f) ? fma(c_scale, dst[x], row[x]) : row[x];
                    }
                }
            }
        }
    }
}
