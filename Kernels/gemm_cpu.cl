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
// Kernels enqueued in order on one queue (see PackedGemm+OpenCL.swift):
//
// gemm_pack: copies op(A) and op(B) into panels the product reads contiguously,
//   resolving transposes, leading dimensions, offsets and edges once, so that the
//   inner loop below never tests a bound. Both are cut along k into steps of kc_block
//   and stored step by step, so that the block one work-group of gemm_packed reads
//   in one step is contiguous (no cache-set aliasing between panels):
//     Ap[b][step][ip][p][r] = op(A_b)[ip·MR + r, step·kc_block + p]   zero for rows ≥ m
//     Bp[b][step][jp][p][x] = op(B_b)[step·kc_block + p, jp·NR + x]   zero for columns ≥ n
//   i.e. panel ip of step s starts at s·kc_block·⌈m/MR⌉·MR + ip·kc·MR, kc being the
//   step's depth (the last may be shorter). Each element is packed once per call.
// gemm_pack_columns: packs op(B) when B is the column matrix of a chunk of images
//   (conv.cl: col[tap][position], tap (c·kh + i)·kw + j, position m·P + y·W' + x),
//   reading the images directly, so that a convolution's GEMM never needs the column
//   matrix written whole first (im2col fused with packing: one pass over the entries,
//   and no scratch for the matrix). depth_is_taps = 1: op(B) = col, k = C·kh·kw, n =
//   count·P (the forward pass, W · col); 0: op(B) = colᵀ, k = count·P, n = C·kh·kw (the
//   weight gradient, ∂L/∂out · colᵀ). Writes Bp exactly as gemm_pack would have from
//   the matrix. Work item (panel, step); global (⌈n/NR⌉, ⌈k/kc_block⌉).
// gemm_pack_planes: packs an operand that is the (O × count·P) matrix X[o][m·P + q] =
//   x[n0 + m, o, q] of a chunk of NCHW planes (a convolution's output gradient), reading
//   the planes directly instead of a re-laid-out copy. channels_across = 1: op(A) = X
//   (across = O rows, k = count·P: the weight gradient, X · colᵀ) into Ap; 0: op(B) = X
//   (k = O, across = count·P columns: the input gradient, Wᵀ · X) into Bp. Work item
//   (panel, step); global (⌈across/MR or NR⌉, ⌈k/kc_block⌉).
// gemm_packed: work-group (jb, ib, b), local size (1, 1, 1), computes the block of C
//   rows ib·mc_block … and columns jb·nc_block …, in steps of kc_block along k (so
//   that the B panel being reused, kc·NR floats, stays in L1 and the A block, mc·kc,
//   in L2). The micro-kernel holds MR × NV accumulators of VW floats and, per p, loads
//   NV vectors of B and broadcasts MR scalars of A: 2·MR·NV·VW flops per VW·NV + MR
//   floats loaded. MR·NV + NV + 1 vectors must fit the vector registers or the
//   accumulators spill: the host picks the tile from the device (PackedGemmKernel). The
//   first step along k applies β (β = 0 writes C without reading it, as BLAS does);
//   later steps add to C. Tiles at the right and bottom edges store element by element.
//   ap_batch_stride / bp_batch_stride are 0 when every matrix of the batch shares A or
//   B, which is then packed once. c_plane = P > 0 stores C as the NCHW planes of a chunk
//   of images (a convolution's output, C[o][m·P + q] at c[(m·O + o)·P + q], ldc = P):
//   a tile whose columns cross an image's end stores element by element.
//
// Sizes and offsets are int (the host checks they fit); offsets into packed buffers
// are size_t.
// =================================================================================

// The micro-tile, set by the host (PackedGemmKernel); these defaults are AVX-512's.
#ifndef MR
#define MR 12          // rows of C per micro-tile (broadcast operand)
#endif
#ifndef VW
#define VW 16          // floats per vector: 4, 8 or 16
#endif
#ifndef NV
#define NV 2           // vectors per row of the micro-tile
#endif
#define NR (VW * NV)   // columns of C per micro-tile

#define HEED_CAT_(a, b) a##b
#define HEED_CAT(a, b) HEED_CAT_(a, b)
#define floatv HEED_CAT(float, VW)
#define vloadv HEED_CAT(vload, VW)
#define vstorev HEED_CAT(vstore, VW)

// Packs `width` rows [row0, row0 + width) of a matrix X over depths [p0, p0 + kc) into
// dst[p·width + r] (depth-major, as the micro-kernel reads it), zero for rows ≥ rows.
// Element (r, p) of X is at x[r·r_step + p·p_step].
inline void pack_panel(__global float* restrict dst, __global const float* restrict x,
                       const int r_step, const int p_step, const int width,
                       const int row0, const int rows, const int p0, const int kc)
{
    __global const float* src = x + row0 * r_step + p0 * p_step;
    if (r_step == 1 && row0 + width <= rows && width % VW == 0) {
        // Rows adjacent in memory (B not transposed): each depth is a run of whole vectors.
        for (int p = 0; p < kc; p++)
            for (int v = 0; v < width / VW; v++) vstorev(vloadv(v, src + p * p_step), v, dst + p * width);
    } else if (row0 + width <= rows) {
        for (int p = 0; p < kc; p++)
            for (int r = 0; r < width; r++) dst[p * width + r] = src[r * r_step + p * p_step];
    } else {
        for (int p = 0; p < kc; p++)
            for (int r = 0; r < width; r++) dst[p * width + r] = (row0 + r < rows) ? src[r * r_step + p * p_step] : 0.0f;
    }
}

// One launch packs both operands (one launch fewer: on PoCL each command the queue
// waits for costs tens of microseconds, which small GEMMs feel).
// Work item (panel, step, b): panels [0, m_panels) of A, then n_panels of B; step
// = which kc_block of k. Batch entries b > 0 of a shared operand (stride 0) skip.
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void gemm_pack(const int m, const int n, const int k, const int kc_block,
               const int trans_a, const int trans_b,
               __global const float* restrict a, const int a_offset, const int lda, const int a_stride,
               __global const float* restrict b, const int b_offset, const int ldb, const int b_stride,
               __global float* restrict ap, const int ap_batch_stride,
               __global float* restrict bp, const int bp_batch_stride)
{
    const int panel = get_global_id(0);
    const int p0 = get_global_id(1) * kc_block;
    const int batch = get_global_id(2);
    const int m_panels = (m + MR - 1) / MR;
    const int n_panels = (n + NR - 1) / NR;
    if (p0 >= k) return;
    const int kc = min(kc_block, k - p0);
    if (panel < m_panels) {
        if (batch > 0 && ap_batch_stride == 0) return;
        // Row i of op(A) at depth p: A[i·lda + p], or A[p·lda + i] when transposed.
        pack_panel(ap + (size_t)batch * ap_batch_stride + (size_t)p0 * m_panels * MR + (size_t)panel * kc * MR,
                   a + a_offset + batch * a_stride, trans_a ? 1 : lda, trans_a ? lda : 1, MR,
                   panel * MR, m, p0, kc);
    } else if (panel < m_panels + n_panels) {
        if (batch > 0 && bp_batch_stride == 0) return;
        // Column j of op(B) at depth p: B[p·ldb + j], or B[j·ldb + p] when transposed.
        const int jp = panel - m_panels;
        pack_panel(bp + (size_t)batch * bp_batch_stride + (size_t)p0 * n_panels * NR + (size_t)jp * kc * NR,
                   b + b_offset + batch * b_stride, trans_b ? ldb : 1, trans_b ? 1 : ldb, NR,
                   jp * NR, n, p0, kc);
    }
}

// dst[t·step] = src[t·stride] for t < count: whole vectors where both are contiguous (a
// loop of unknown length the compiler leaves scalar).
inline void copy_run(__global float* restrict dst, const int step, __global const float* restrict src,
                     const int stride, const int count)
{
    int t = 0;
    if (stride == 1 && step == 1) {
        for (; t + VW <= count; t += VW) vstorev(vloadv(0, src + t), 0, dst + t);
        for (; t < count; t++) dst[t] = src[t];
    } else {
        for (; t < count; t++) dst[t * step] = src[t * stride];
    }
}

// Copies the entries of tap (c, i, j) at `count` consecutive positions of output row y,
// columns x0 …, to dst[t·step]: `plane` is channel c of the image. The entries read
// inside the image form a strided (for stride 1 contiguous) run of one input row, with
// zeros before and after it (first_column_at_least, columns.cl), so no entry tests a bound.
inline void copy_column_run(__global float* restrict dst, const int step, __global const float* restrict plane,
                            const int count, const int x0, const int y, const int i, const int j,
                            const int height, const int width, const int stride, const int pad)
{
    const int h = y * stride - pad + i;
    int begin = count, end = count;
    if (h >= 0 && h < height) {
        begin = clamp(first_column_at_least(0, pad, j, stride) - x0, 0, count);
        end = clamp(first_column_at_least(width, pad, j, stride) - x0, begin, count);
    }
    for (int t = 0; t < begin; t++) dst[t * step] = 0.0f;
    // Input column of position x0 + t: (x0 + t)·stride − pad + j, inside for begin ≤ t < end.
    if (end > begin)
        copy_run(dst + begin * step, step, plane + h * width + (x0 + begin) * stride - pad + j, stride, end - begin);
    for (int t = end; t < count; t++) dst[t * step] = 0.0f;
}

// Positions are walked in runs along output rows: (m, y, x) of position q, then each run
// ends at the row's end, so only a work item's first position needs divisions.
typedef struct { int m, y, x; } column_position;

inline column_position position_of(const int q, const int out_h, const int out_w)
{
    const int plane = out_h * out_w;
    return (column_position){ q / plane, (q % plane) / out_w, q % out_w };
}

inline void advance_row(column_position* at, const int out_h)
{
    at->x = 0;
    if (++at->y == out_h) { at->y = 0; at->m++; }
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void gemm_pack_columns(const int depth_is_taps, const int n, const int k, const int kc_block,
                       __global const float* restrict input, const int n0,
                       const int channels, const int height, const int width,
                       const int kernel_h, const int kernel_w, const int stride, const int pad,
                       const int out_h, const int out_w,
                       __global float* restrict bp)
{
    const int jp = get_global_id(0);
    const int p0 = get_global_id(1) * kc_block;
    const int n_panels = (n + NR - 1) / NR;
    if (jp >= n_panels || p0 >= k) return;
    const int kc = min(kc_block, k - p0);
    const int taps = kernel_h * kernel_w;
    __global float* dst = bp + (size_t)p0 * n_panels * NR + (size_t)jp * kc * NR;
    __global const float* images = input + (size_t)n0 * channels * height * width;

    if (depth_is_taps) {
        // op(B) = col: depth p is tap p0 + p, panel column x position jp·NR + x. Per tap,
        // the panel's positions are a few runs along output rows: dst[p·NR + x], step 1.
        const int width_here = min(NR, n - jp * NR);
        const column_position first = position_of(jp * NR, out_h, out_w);
        // Tap p0 + p as (c, i, j), stepped along with p (no divisions per tap).
        int c = p0 / taps, i = (p0 / kernel_w) % kernel_h, j = p0 % kernel_w;
        for (int p = 0; p < kc; p++) {
            if (p > 0 && ++j == kernel_w) {
                j = 0;
                if (++i == kernel_h) { i = 0; c++; }
            }
            column_position at = first;
            for (int x = 0; x < width_here;) {
                const int count = min(out_w - at.x, width_here - x);
                copy_column_run(dst + p * NR + x, 1, images + ((size_t)at.m * channels + c) * height * width,
                                count, at.x, at.y, i, j, height, width, stride, pad);
                x += count;
                advance_row(&at, out_h);
            }
            for (int x = width_here; x < NR; x++) dst[p * NR + x] = 0.0f;
        }
    } else {
        // op(B) = colᵀ: depth p is position p0 + p, panel column x tap jp·NR + x. Per tap,
        // the step's positions are runs along output rows: dst[p·NR + x], step NR.
        for (int x = 0; x < NR; x++) {
            const int r = jp * NR + x;
            if (r >= n) {
                for (int p = 0; p < kc; p++) dst[p * NR + x] = 0.0f;
                continue;
            }
            const int c = r / taps, i = (r / kernel_w) % kernel_h, j = r % kernel_w;
            column_position at = position_of(p0, out_h, out_w);
            for (int p = 0; p < kc;) {
                const int count = min(out_w - at.x, kc - p);
                copy_column_run(dst + p * NR + x, NR, images + ((size_t)at.m * channels + c) * height * width,
                                count, at.x, at.y, i, j, height, width, stride, pad);
                p += count;
                advance_row(&at, out_h);
            }
        }
    }
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void gemm_pack_planes(const int channels_across, const int across, const int k, const int kc_block,
                      __global const float* restrict x, const int n0, const int channels, const int plane,
                      __global float* restrict packed)
{
    const int width = channels_across ? MR : NR;
    const int panel = get_global_id(0);
    const int p0 = get_global_id(1) * kc_block;
    const int panels = (across + width - 1) / width;
    if (panel >= panels || p0 >= k) return;
    const int kc = min(kc_block, k - p0);
    __global float* dst = packed + (size_t)p0 * panels * width + (size_t)panel * kc * width;
    __global const float* images = x + (size_t)n0 * channels * plane;

    if (channels_across) {
        // op(A) = X: panel row r is channel panel·MR + r, depth p position p0 + p. Per
        // channel, the step's positions are runs within image planes: dst[p·MR + r], step MR.
        for (int r = 0; r < MR; r++) {
            const int o = panel * MR + r;
            if (o >= across) {
                for (int p = 0; p < kc; p++) dst[p * MR + r] = 0.0f;
                continue;
            }
            int m = p0 / plane, at = p0 % plane;
            for (int p = 0; p < kc; m++, at = 0) {
                const int count = min(plane - at, kc - p);
                copy_run(dst + p * MR + r, MR, images + ((size_t)m * channels + o) * plane + at, 1, count);
                p += count;
            }
        }
    } else {
        // op(B) = X: depth p is channel p0 + p, panel column x position panel·NR + x. Per
        // channel, the panel's positions are runs within image planes: dst[p·NR + x], step 1.
        const int width_here = min(NR, across - panel * NR);
        for (int p = 0; p < kc; p++) {
            const int o = p0 + p;
            int m = panel * NR / plane, at = panel * NR % plane;
            for (int q = 0; q < width_here; m++, at = 0) {
                const int count = min(plane - at, width_here - q);
                copy_run(dst + p * NR + q, 1, images + ((size_t)m * channels + o) * plane + at, 1, count);
                q += count;
            }
            for (int q = width_here; q < NR; q++) dst[p * NR + q] = 0.0f;
        }
    }
}

// Where column j of C starts: j itself, or, when C is the planes of a chunk of images
// (c_plane = P > 0, ldc = P: C[o][q] = c[(q / P)·m·P + o·P + q % P]), its image's plane.
inline int c_column(const int j, const int m, const int c_plane)
{
    return c_plane == 0 ? j : j / c_plane * m * c_plane + j % c_plane;
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void gemm_packed(const int m, const int n, const int k, const float alpha, const float beta,
                 const int mc_block, const int nc_block, const int kc_block,
                 __global const float* restrict ap, const int ap_batch_stride,
                 __global const float* restrict bp, const int bp_batch_stride,
                 __global float* restrict c, const int c_offset, const int ldc, const int c_stride,
                 const int c_plane)
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
            __global const float* pb = bp + (size_t)p0 * n_panels * NR + (size_t)jp * kc * NR;
            const int j = jp * NR;
            // Where the tiles of this column panel store, worked out once per panel.
            const int c_j = c_column(j, m, c_plane);
            const bool whole_columns = j + NR <= n && (c_plane == 0 || j % c_plane + NR <= c_plane);
            for (int ip = ip0; ip < ip1; ip++) {
                __global const float* pa = ap + (size_t)p0 * m_panels * MR + (size_t)ip * kc * MR;

                // The micro-kernel: fully unrolled over r and v, so acc stays in registers.
                floatv acc[MR][NV];
                #pragma unroll
                for (int r = 0; r < MR; r++) {
                    #pragma unroll
                    for (int v = 0; v < NV; v++) acc[r][v] = 0.0f;
                }
                for (int p = 0; p < kc; p++) {
                    floatv bv[NV];
                    #pragma unroll
                    for (int v = 0; v < NV; v++) bv[v] = vloadv(v, pb + p * NR);
                    #pragma unroll
                    for (int r = 0; r < MR; r++) {
                        const floatv av = (floatv)(pa[p * MR + r]);
                        #pragma unroll
                        for (int v = 0; v < NV; v++) acc[r][v] = fma(av, bv[v], acc[r][v]);
                    }
                }

                const int i = ip * MR;
                if (i + MR <= m && whole_columns) {
                    #pragma unroll
                    for (int r = 0; r < MR; r++) {
                        __global float* dst = c + (i + r) * ldc + c_j;
                        #pragma unroll
                        for (int v = 0; v < NV; v++) {
                            floatv out = alpha * acc[r][v];
                            if (c_scale != 0.0f) out = fma((floatv)(c_scale), vloadv(v, dst), out);
                            vstorev(out, v, dst);
                        }
                    }
                } else {
                    for (int r = 0; r < MR && i + r < m; r++) {
                        __global float* dst = c + (i + r) * ldc;
                        float row[NR];
                        #pragma unroll
                        for (int v = 0; v < NV; v++) vstorev(alpha * acc[r][v], v, row);
                        for (int x = 0; x < NR && j + x < n; x++) {
                            __global float* at = dst + c_column(j + x, m, c_plane);
                            *at = (c_scale != 0.0f) ? fma(c_scale, *at, row[x]) : row[x];
                        }
                    }
                }
            }
        }
    }
}
