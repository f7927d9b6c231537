// =================================================================================
// attention.cl: the ops of the attention modules (docs/design.md §4), forward and backward.
// Index names: b item, k head (K), l class (L), s position (S = h·w), i source (N).
// All buffers row-major float, shapes as named:
//
// attended_sum_forward          o (B,K,L)[b,k,l] = Σ_s O (B,K,L,S)[b,k,l,s]·M (B,K,S)[b,k,s]
//   one item per row r = (b·K + k)·L + l: a dot product of its row of O and its mask.
// attended_sum_backward_values  dO[b,k,l,s] = do[b,k,l]·M[b,k,s]; one item per row r.
// attended_sum_backward_mask    dM[b,k,s] = Σ_l do[b,k,l]·O[b,k,l,s]; 2-D range (block of
//   MASK_BLOCK positions, b·K + k): one item accumulates its block over the L rows.
//   These three move most of the attention module's bytes (O is L times the mask), so
//   they are written for bandwidth: few, long-running items (a CPU device pays for every
//   work-group it schedules), no division per element, and contiguous loads of 8 floats
//   (float8: SIMD on a CPU); the part of a row shorter than a vector goes element by element.
// attended_sum_forward_grouped, attended_sum_backward_values_elements,
// attended_sum_backward_mask_elements: the same three for GPUs (DeviceShapes.attendedSums),
//   where one item per row leaves the chip idle and adjacent items reading rows S floats
//   apart do not coalesce. Forward: one group of ATTENTION_WG items per row r, striding
//   over s, then group_sum (global rows·ATTENTION_WG, local ATTENTION_WG). Values: item
//   (s, r); global (S, rows). Mask: item (s, b·K + k) sums its L products; adjacent items
//   read adjacent s of each row of O; global (S, B·K).
// attention_gates_forward       t[b,k] = tanh(Σ_s S[b,k,s]·M[b,k,s]); g = softmax_k(t);
//   out (B,L)[b,l] = Σ_k g[b,k]·o (B,K,L)[b,k,l]. Fused: one group per b computes the K
//   dot products, tanh, the softmax over K and the weighted sum in one pass over S and M.
// attention_gates_backward      recomputes t and g, then with dout (B,L):
//   dg[k] = Σ_l dout[l]·o[k,l];  do[k,l] = g[k]·dout[l];
//   dd[k] = g[k]·(dg[k] − Σ_j g[j]·dg[j])·(1 − t[k]²);  dS = dd[k]·M;  dM = dd[k]·S.
//   One group per b.
//
// aggregation_forward           logp_i = log_softmax_l(x (B,N,L)[b,i,:]); w = softmax(gates)
//   or σ(gates)/(1e-6 + Σσ) (argument sigmoid ≠ 0); out (B,L)[b,l] = Σ_i w_i·logp_i[l].
//   One group per b.
// aggregation_backward          with dout (B,L): dw_i = Σ_l dout[l]·logp_i[l];
//   dx[b,i,l] = w_i·(dout[l] − exp(logp_i[l])·Σ_l dout[l]);
//   softmax: dgate_i = w_i·(dw_i − Σ_j w_j dw_j);
//   sigmoid: dgate_i = (dw_i − Σ_j w_j dw_j)/D · σ_i(1 − σ_i), D = 1e-6 + Σ_j σ_j.
//
// head_separation_gram          G (B,K,K)[b,k,c] = Σ_q P[b,k,q]·P[b,c,q], P the 2×2 average
//   pool (floor) of the masks M (B,K,H,W); one group per (b,k,c), items stride over q.
// head_separation_forward       R[0] = Σ_{b, k≠c} G[b,k,c]² / (B·K·K); one group.
// head_separation_backward      dM[b,k,y,x] = g·(1/(B·K·K))·Σ_{c≠k} G[b,k,c]·P[b,c,q(y,x)]
//   inside the pooled area, 0 outside; one item per mask element.
//
// Group kernels run exactly one group per row or item (global = groups·ATTENTION_WG),
// so they need no bounds check (PoCL 3.1 crashes on a `return` ahead of a barrier).
// Groups that own an item (b) loop over its K heads or N sources, which are small
// (attention width ≤ 8, depth + 1 ≤ 4); per-head values live in __local arrays
// of K or N floats passed by the host.
// =================================================================================

#ifndef ATTENTION_WG
#define ATTENTION_WG 64 // work items per group; a power of two
#endif

// group_sum and group_max (over ATTENTION_WG items) come from reductions.cl, which the host puts ahead of this file.

// Σ_s a[s]·b[s] over the group.
float group_dot(__local float* scratch, __global const float* a, __global const float* b, const int n)
{
    float s = 0.0f;
    for (int j = get_local_id(0); j < n; j += ATTENTION_WG) s += a[j] * b[j];
    return group_sum(scratch, s, ATTENTION_WG);
}

// ---- attended sum ------------------------------------------------------------------

// Floats per vector load in the attended-sum kernels. Fixed (not a tuning define):
// floatn, vloadn, vstoren and horizontal_sum are written for 8.
#define VECTOR_WIDTH 8
#define floatn float8
#define vloadn vload8
#define vstoren vstore8

float horizontal_sum(const floatn v)
{
    const float4 folded = v.lo + v.hi;
    return (folded.x + folded.y) + (folded.z + folded.w);
}

__kernel void attended_sum_forward(__global const float* values, __global const float* mask, __global float* out,
                                   const int rows, const int classes, const int positions)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* v = values + (size_t)r * positions;
    __global const float* m = mask + (size_t)(r / classes) * positions;
    floatn partial = 0.0f;
    int s = 0;
    for (; s + VECTOR_WIDTH <= positions; s += VECTOR_WIDTH) partial += vloadn(0, v + s) * vloadn(0, m + s);
    float sum = horizontal_sum(partial);
    for (; s < positions; ++s) sum += v[s] * m[s];
    out[r] = sum;
}

__kernel void attended_sum_backward_values(__global const float* mask, __global const float* dout, __global float* dvalues,
                                           const int rows, const int classes, const int positions)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    const float g = dout[r];
    __global const float* m = mask + (size_t)(r / classes) * positions;
    __global float* dv = dvalues + (size_t)r * positions;
    int s = 0;
    for (; s + VECTOR_WIDTH <= positions; s += VECTOR_WIDTH) vstoren(g * vloadn(0, m + s), 0, dv + s);
    for (; s < positions; ++s) dv[s] = g * m[s];
}

#define MASK_BLOCK (4 * VECTOR_WIDTH) // positions per item of attended_sum_backward_mask

__kernel void attended_sum_backward_mask(__global const float* values, __global const float* dout, __global float* dmask,
                                         const int items, const int classes, const int positions)
{
    const int s = get_global_id(0) * MASK_BLOCK;
    const int bk = get_global_id(1);   // b·K + k
    if (s >= positions || bk >= items) return;
    __global const float* g = dout + (size_t)bk * classes;
    __global const float* v = values + (size_t)bk * classes * positions + s;
    __global float* dm = dmask + (size_t)bk * positions + s;
    if (s + MASK_BLOCK <= positions) {
        floatn a = 0.0f, b = 0.0f, c = 0.0f, d = 0.0f;
        for (int l = 0; l < classes; ++l) {
            __global const float* row = v + (size_t)l * positions;
            const float gl = g[l];
            a += gl * vloadn(0, row);
            b += gl * vloadn(1, row);
            c += gl * vloadn(2, row);
            d += gl * vloadn(3, row);
        }
        vstoren(a, 0, dm);
        vstoren(b, 1, dm);
        vstoren(c, 2, dm);
        vstoren(d, 3, dm);
    } else {
        for (int j = 0; j < positions - s; ++j) {
            float sum = 0.0f;
            for (int l = 0; l < classes; ++l) sum += g[l] * v[(size_t)l * positions + j];
            dm[j] = sum;
        }
    }
}

__kernel void attended_sum_forward_grouped(__global const float* values, __global const float* mask, __global float* out,
                                           const int classes, const int positions)
{
    __local float scratch[ATTENTION_WG];
    const int r = get_group_id(0);
    const float sum = group_dot(scratch, values + (size_t)r * positions, mask + (size_t)(r / classes) * positions, positions);
    if (get_local_id(0) == 0) out[r] = sum;
}

__kernel void attended_sum_backward_values_elements(__global const float* mask, __global const float* dout, __global float* dvalues,
                                                    const int rows, const int classes, const int positions)
{
    const int s = get_global_id(0);
    const int r = get_global_id(1);
    if (s >= positions || r >= rows) return;
    dvalues[(size_t)r * positions + s] = dout[r] * mask[(size_t)(r / classes) * positions + s];
}

__kernel void attended_sum_backward_mask_elements(__global const float* values, __global const float* dout, __global float* dmask,
                                                  const int items, const int classes, const int positions)
{
    const int s = get_global_id(0);
    const int bk = get_global_id(1);   // b·K + k
    if (s >= positions || bk >= items) return;
    __global const float* g = dout + (size_t)bk * classes;
    __global const float* v = values + (size_t)bk * classes * positions + s;
    float sum = 0.0f;
    for (int l = 0; l < classes; ++l) sum += g[l] * v[(size_t)l * positions];
    dmask[(size_t)bk * positions + s] = sum;
}

// ---- attention gates ---------------------------------------------------------------

// Fills t[k] = tanh(Σ_s S·M) and g = softmax over k of t for item b, visible to the group.
void gates_of_item(__local float* scratch, __local float* t, __local float* g,
                   __global const float* scores, __global const float* mask, const int b, const int heads, const int positions)
{
    for (int k = 0; k < heads; ++k) {
        const size_t offset = (size_t)(b * heads + k) * positions;
        const float dot = group_dot(scratch, scores + offset, mask + offset, positions);
        if (get_local_id(0) == 0) t[k] = tanh(dot);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0) {
        float m = -INFINITY;
        for (int k = 0; k < heads; ++k) m = fmax(m, t[k]);
        float sum = 0.0f;
        for (int k = 0; k < heads; ++k) { g[k] = exp(t[k] - m); sum += g[k]; }
        for (int k = 0; k < heads; ++k) g[k] /= sum;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

__kernel void attention_gates_forward(__global const float* scores, __global const float* mask,
                                      __global const float* head_outputs, __global float* gates, __global float* out,
                                      __local float* t, __local float* g,
                                      const int heads, const int classes, const int positions)
{
    __local float scratch[ATTENTION_WG];
    const int b = get_group_id(0);
    gates_of_item(scratch, t, g, scores, mask, b, heads, positions);
    for (int k = get_local_id(0); k < heads; k += ATTENTION_WG) gates[b * heads + k] = g[k];
    for (int l = get_local_id(0); l < classes; l += ATTENTION_WG) {
        float sum = 0.0f;
        for (int k = 0; k < heads; ++k) sum += g[k] * head_outputs[(b * heads + k) * classes + l];
        out[b * classes + l] = sum;
    }
}

__kernel void attention_gates_backward(__global const float* scores, __global const float* mask,
                                       __global const float* head_outputs, __global const float* dout,
                                       __global float* dscores, __global float* dmask, __global float* dhead_outputs,
                                       __local float* t, __local float* g, __local float* dd,
                                       const int heads, const int classes, const int positions)
{
    __local float scratch[ATTENTION_WG];
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    gates_of_item(scratch, t, g, scores, mask, b, heads, positions);
    for (int k = 0; k < heads; ++k) {
        const float dg = group_dot(scratch, dout + b * classes, head_outputs + (b * heads + k) * classes, classes);
        if (lid == 0) dd[k] = dg;
        for (int l = lid; l < classes; l += ATTENTION_WG)
            dhead_outputs[(b * heads + k) * classes + l] = g[k] * dout[b * classes + l];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        float c = 0.0f;
        for (int k = 0; k < heads; ++k) c += g[k] * dd[k];
        for (int k = 0; k < heads; ++k) dd[k] = g[k] * (dd[k] - c) * (1.0f - t[k] * t[k]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < heads; ++k) {
        const size_t offset = (size_t)(b * heads + k) * positions;
        for (int s = lid; s < positions; s += ATTENTION_WG) {
            dscores[offset + s] = dd[k] * mask[offset + s];
            dmask[offset + s] = dd[k] * scores[offset + s];
        }
    }
}

// ---- aggregation of log-probability sources -----------------------------------------

#ifndef AGGREGATION_EPSILON
#define AGGREGATION_EPSILON 1e-6f // the sigmoid gate's denominator constant (authors' code)
#endif

// For item b: lse[i] = log Σ_l exp(x[b,i,l]) and the weights w[i]; with the sigmoid
// gate also sig[i] = σ(gates[b,i]) and den[0] = D.
void aggregation_of_item(__local float* scratch, __local float* lse, __local float* w, __local float* sig,
                         __global const float* sources, __global const float* gates,
                         const int b, const int count, const int classes, const int sigmoid)
{
    const int lid = get_local_id(0);
    for (int i = 0; i < count; ++i) {
        __global const float* x = sources + (size_t)(b * count + i) * classes;
        float m = -INFINITY;
        for (int l = lid; l < classes; l += ATTENTION_WG) m = fmax(m, x[l]);
        m = group_max(scratch, m, ATTENTION_WG);
        float s = 0.0f;
        for (int l = lid; l < classes; l += ATTENTION_WG) s += exp(x[l] - m);
        s = group_sum(scratch, s, ATTENTION_WG);
        if (lid == 0) lse[i] = m + log(s);
    }
    if (lid == 0) {
        if (sigmoid) {
            float den = AGGREGATION_EPSILON;
            for (int i = 0; i < count; ++i) { sig[i] = 1.0f / (1.0f + exp(-gates[b * count + i])); den += sig[i]; }
            for (int i = 0; i < count; ++i) w[i] = sig[i] / den;
            sig[count] = den;
        } else {
            float m = -INFINITY;
            for (int i = 0; i < count; ++i) m = fmax(m, gates[b * count + i]);
            float sum = 0.0f;
            for (int i = 0; i < count; ++i) { w[i] = exp(gates[b * count + i] - m); sum += w[i]; }
            for (int i = 0; i < count; ++i) w[i] /= sum;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

// `sig` holds N + 1 floats: σ of each gate, then the denominator D.
__kernel void aggregation_forward(__global const float* sources, __global const float* gates, __global float* out,
                                  __local float* lse, __local float* w, __local float* sig,
                                  const int count, const int classes, const int sigmoid)
{
    __local float scratch[ATTENTION_WG];
    const int b = get_group_id(0);
    aggregation_of_item(scratch, lse, w, sig, sources, gates, b, count, classes, sigmoid);
    for (int l = get_local_id(0); l < classes; l += ATTENTION_WG) {
        float sum = 0.0f;
        for (int i = 0; i < count; ++i) sum += w[i] * (sources[(b * count + i) * classes + l] - lse[i]);
        out[b * classes + l] = sum;
    }
}

__kernel void aggregation_backward(__global const float* sources, __global const float* gates, __global const float* dout,
                                   __global float* dsources, __global float* dgates,
                                   __local float* lse, __local float* w, __local float* sig, __local float* dw,
                                   const int count, const int classes, const int sigmoid)
{
    __local float scratch[ATTENTION_WG];
    const int b = get_group_id(0);
    const int lid = get_local_id(0);
    aggregation_of_item(scratch, lse, w, sig, sources, gates, b, count, classes, sigmoid);
    __global const float* d = dout + b * classes;
    float total = 0.0f;
    for (int l = lid; l < classes; l += ATTENTION_WG) total += d[l];
    total = group_sum(scratch, total, ATTENTION_WG);
    for (int i = 0; i < count; ++i) {
        __global const float* x = sources + (size_t)(b * count + i) * classes;
        float s = 0.0f;
        for (int l = lid; l < classes; l += ATTENTION_WG) s += d[l] * (x[l] - lse[i]);
        s = group_sum(scratch, s, ATTENTION_WG);
        if (lid == 0) dw[i] = s;
        for (int l = lid; l < classes; l += ATTENTION_WG)
            dsources[(size_t)(b * count + i) * classes + l] = w[i] * (d[l] - exp(x[l] - lse[i]) * total);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        float c = 0.0f;
        for (int i = 0; i < count; ++i) c += w[i] * dw[i];
        for (int i = 0; i < count; ++i)
            dgates[b * count + i] = sigmoid ? (dw[i] - c) / sig[count] * sig[i] * (1.0f - sig[i])
                                            : w[i] * (dw[i] - c);
    }
}

// ---- head-separation regulariser ------------------------------------------------------

// P[b,k,q] for q = qy·(W/2) + qx: the mean of the 2×2 block at (2qy, 2qx) of M[b,k].
float pooled(__global const float* masks, const int bk, const int height, const int width, const int q)
{
    const int half_w = width / 2;
    __global const float* m = masks + (size_t)bk * height * width + (2 * (q / half_w)) * width + 2 * (q % half_w);
    return 0.25f * ((m[0] + m[1]) + (m[width] + m[width + 1]));
}

__kernel void head_separation_gram(__global const float* masks, __global float* gram,
                                   const int heads, const int height, const int width)
{
    __local float scratch[ATTENTION_WG];
    const int r = get_group_id(0);   // (b·K + k)·K + c
    const int b = r / (heads * heads);
    const int k = (r / heads) % heads;
    const int c = r % heads;
    const int pooled_count = (height / 2) * (width / 2);
    float s = 0.0f;
    for (int q = get_local_id(0); q < pooled_count; q += ATTENTION_WG)
        s += pooled(masks, b * heads + k, height, width, q) * pooled(masks, b * heads + c, height, width, q);
    s = group_sum(scratch, s, ATTENTION_WG);
    if (get_local_id(0) == 0) gram[r] = s;
}

__kernel void head_separation_forward(__global const float* gram, __global float* loss, const int batch, const int heads)
{
    __local float scratch[ATTENTION_WG];
    const int entries = batch * heads * heads;
    float s = 0.0f;
    for (int r = get_local_id(0); r < entries; r += ATTENTION_WG) {
        const float value = (r / heads) % heads == r % heads ? 0.0f : gram[r];
        s += value * value;
    }
    s = group_sum(scratch, s, ATTENTION_WG);
    if (get_local_id(0) == 0) loss[0] = s / (float)entries;
}

__kernel void head_separation_backward(__global const float* masks, __global const float* gram, __global const float* g,
                                       __global float* dmasks,
                                       const int batch, const int heads, const int height, const int width)
{
    const int e = get_global_id(0);   // ((b·K + k)·H + y)·W + x
    if (e >= batch * heads * height * width) return;
    const int x = e % width;
    const int y = (e / width) % height;
    const int bk = e / (width * height);
    const int b = bk / heads;
    const int k = bk % heads;
    if (y >= 2 * (height / 2) || x >= 2 * (width / 2)) { dmasks[e] = 0.0f; return; }
    const int q = (y / 2) * (width / 2) + x / 2;
    float s = 0.0f;
    for (int c = 0; c < heads; ++c)
        if (c != k) s += gram[bk * heads + c] * pooled(masks, b * heads + c, height, width, q);
    dmasks[e] = g[0] / (float)(batch * heads * heads) * s;
}
