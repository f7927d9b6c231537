// =================================================================================
// normalization.cl: batch normalisation, PyTorch semantics (see NormalizationOps).
//
// Layout: x, y, dy, dx are float[N·C·S] in (N, C, S) order, S = H·W (1 for 1-d):
// channel c is N planes of S contiguous floats, plane n at (n·C + c)·S.
// Per-channel buffers (gamma, beta, running_*, saved_*, dgamma, dbeta) are float[C].
//
// Every kernel runs one work-group of BN_WG items per channel: global size C·BN_WG,
// local size BN_WG. The items share the channel's planes as `bn_share` says.
//
// batch_norm_forward_training: the statistics take two passes over the channel (mean,
//   then Σ(x − μ)²), which stays accurate when |μ| ≫ σ, where Σx² − M·μ² would cancel;
//   item 0 writes saved_mean, saved_inv_std and updates running_mean, running_var in
//   place (unbiased variance); a third pass writes y.
// batch_norm_forward_inference: y from the running statistics, one pass.
// batch_norm_backward: one pass sums dy and dy·(x − μ), item 0 writes dbeta, dgamma,
//   a second pass writes dx.
// batch_norm_relu_*: the same three with the ReLU that follows fused in. The forwards
//   write y = relu(BN(x)) (relu as relu_forward in elementwise.cl computes it,
//   v < 0 ? 0 : v); the backward takes that y as well and reads its gradient as
//   relu_backward writes it, y > 0 ? dy : 0, so the float operations, and the order of
//   the sums, are those of batch norm then a separate ReLU pass: the results are bit for
//   bit the same, without writing and reading back the intermediate tensor.
//   Each pair shares one body (bn_forward_training, bn_forward_inference, bn_backward)
//   whose `relu` argument is a constant in each kernel, so it is folded away.
//
// Sums: each item adds a plane's floats into BN_VECTOR lanes (a short sum: S / BN_VECTOR
// terms a lane at most), then adds each plane's lanes into a Kahan-compensated total,
// so the long sum over the N planes loses no more than a couple of roundings; the lanes,
// then the group's items (group_sum, a fixed tree), are added pairwise at the end.
// =================================================================================

// Knobs (NormalizationLaunch in Normalization+OpenCL.swift lists their values and picks
// them per device; the host always passes both).
#ifndef BN_WG
#define BN_WG 1      // work items per channel, a power of two: 1 on CPUs (one item reads its channel front to back)
#endif
#ifndef BN_VECTOR
#define BN_VECTOR 16 // floats per load and store: 1, 2, 4, 8 or 16
#endif

// group_sum (over BN_WG items) comes from reductions.cl, which the host puts ahead of this file.

#define BN_JOIN(a, b) a##b
#define BN_JOINED(a, b) BN_JOIN(a, b)

#if BN_VECTOR == 1
typedef float bn_floats;
#define bn_load(index, plane) ((plane)[index])
#define bn_store(value, index, plane) ((plane)[index] = (value))
#define bn_first(v) (v)
#elif BN_VECTOR == 2 || BN_VECTOR == 4 || BN_VECTOR == 8 || BN_VECTOR == 16
typedef BN_JOINED(float, BN_VECTOR) bn_floats;
#define bn_load(index, plane) BN_JOINED(vload, BN_VECTOR)(index, plane)
#define bn_store(value, index, plane) BN_JOINED(vstore, BN_VECTOR)(value, index, plane)
#define bn_first(v) ((v).s0)
#else
#error "BN_VECTOR must be 1, 2, 4, 8 or 16"
#endif

#if defined(__clang__) && BN_VECTOR == 16
// Clang warns that a float16 passed between functions changes the ABI on AVX2 without
// AVX-512 (twice per call, in every build); these calls are inlined, so nothing is passed.
#pragma clang diagnostic ignored "-Wpsabi"
#endif

// The lanes of v added pairwise.
inline float bn_lane_sum(const bn_floats v)
{
#if BN_VECTOR == 16
    const float8 a = v.lo + v.hi;
#elif BN_VECTOR == 8
    const float8 a = v;
#endif
#if BN_VECTOR >= 8
    const float4 b = a.lo + a.hi;
#elif BN_VECTOR == 4
    const float4 b = v;
#endif
#if BN_VECTOR >= 4
    const float2 d = b.lo + b.hi;
#elif BN_VECTOR == 2
    const float2 d = v;
#endif
#if BN_VECTOR >= 2
    return d.x + d.y;
#else
    return v;
#endif
}

// A Kahan-compensated sum, lane by lane: total + carry's correction (Higham §4.3).
typedef struct {
    bn_floats total, carry;
} bn_kahan;

inline bn_kahan bn_kahan_zero(void)
{
    const bn_kahan k = { (bn_floats)(0.0f), (bn_floats)(0.0f) };
    return k;
}

inline void bn_kahan_add(bn_kahan* k, const bn_floats value)
{
    const bn_floats y = value - k->carry;
    const bn_floats t = k->total + y;
    k->carry = (t - k->total) - y;
    k->total = t;
}

// Σ over the group of each item's compensated lanes.
inline float bn_group_total(__local float* scratch, const bn_kahan k)
{
    const float mine = bn_lane_sum(k.total - k.carry);
#if BN_WG == 1
    return mine;
#else
    return group_sum(scratch, mine, BN_WG);
#endif
}

// Which part of a channel work item `item` owns. A plane is `vectors` = S / BN_VECTOR
// whole vectors, then S % BN_VECTOR single floats. The group's BN_WG items are `lanes`
// items per plane times BN_WG / lanes planes at a time: lanes is the smallest power of two
// that covers a plane's vectors (or its single floats), at most BN_WG. Item (plane p,
// lane l) takes planes p, p + planes, …, and in each the vectors l, l + lanes, … and the
// single floats l, l + lanes, …: consecutive items read consecutive vectors of a plane
// (coalesced on GPUs), and no item idles on small planes. With BN_WG = 1 (CPUs) the one
// item reads its channel plane by plane, front to back.
typedef struct {
    int lane, lanes, plane, planes, vectors;
} bn_share;

inline bn_share bn_share_of(const int item, const int spatial)
{
    const int vectors = spatial / BN_VECTOR;
#if BN_WG == 1
    const bn_share share = { 0, 1, 0, 1, vectors };
#else
    const int units = max(vectors, spatial % BN_VECTOR);
    int lanes = 1;
    while (lanes < units && lanes < BN_WG) lanes <<= 1;
    const bn_share share = { item & (lanes - 1), lanes, item / lanes, BN_WG / lanes, vectors };
#endif
    return share;
}

// `for (index = start + offset; index < end; index += step) body`, written so that every
// item of the group runs the same number of rounds (those of offset 0) and tests its own
// index inside. PoCL 3.1 miscompiles the plain loop in batch_norm_backward when the items'
// trip counts differ (BN_WG > 1): every item ran the rounds of item 0 and wrote past its
// part of dx. With BN_WG = 1, offset 0 and step 1 reduce it to the plain loop.
#define BN_SHARED_LOOP(index, start, end, step, offset)                                           \
    for (int index##_round = (start), index = index##_round + (offset); index##_round < (end);   \
         index##_round += (step), index = index##_round + (offset))                               \
        if (index < (end))

// The first float of plane n of channel c.
inline int bn_plane_start(const int n, const int c, const int channels, const int spatial)
{
    return (n * channels + c) * spatial;
}

// Σ x over the share (one item's part of the channel), BN_VECTOR lanes, compensated.
inline bn_kahan bn_share_sum(__global const float* x, const bn_share share, const int batch, const int c,
                             const int channels, const int spatial)
{
    bn_kahan sum = bn_kahan_zero();
    BN_SHARED_LOOP(n, 0, batch, share.planes, share.plane) {
        __global const float* p = x + bn_plane_start(n, c, channels, spatial);
        bn_floats part = (bn_floats)(0.0f);
        BN_SHARED_LOOP(v, 0, share.vectors, share.lanes, share.lane) part += bn_load(v, p);
        BN_SHARED_LOOP(s, share.vectors * BN_VECTOR, spatial, share.lanes, share.lane) bn_first(part) += p[s];
        bn_kahan_add(&sum, part);
    }
    return sum;
}

// Σ (x − mean)² over the share.
inline bn_kahan bn_share_squares(__global const float* x, const float mean, const bn_share share, const int batch,
                                 const int c, const int channels, const int spatial)
{
    bn_kahan sum = bn_kahan_zero();
    BN_SHARED_LOOP(n, 0, batch, share.planes, share.plane) {
        __global const float* p = x + bn_plane_start(n, c, channels, spatial);
        bn_floats part = (bn_floats)(0.0f);
        BN_SHARED_LOOP(v, 0, share.vectors, share.lanes, share.lane) {
            const bn_floats d = bn_load(v, p) - mean;
            part += d * d;
        }
        BN_SHARED_LOOP(s, share.vectors * BN_VECTOR, spatial, share.lanes, share.lane) {
            const float d = p[s] - mean;
            bn_first(part) += d * d;
        }
        bn_kahan_add(&sum, part);
    }
    return sum;
}

// relu_forward's v < 0 ? 0 : v (−0 and NaN pass through), on a float and on a vector.
inline float bn_relu(const float v)
{
    return v < 0.0f ? 0.0f : v;
}

inline bn_floats bn_relu_vector(const bn_floats v)
{
#if BN_VECTOR == 1
    return bn_relu(v);
#else
    return select(v, (bn_floats)(0.0f), v < (bn_floats)(0.0f));
#endif
}

// relu_backward's y > 0 ? dy : 0: the gradient that reaches the batch norm through the
// ReLU whose output is y.
inline float bn_relu_gradient(const float dy, const float y)
{
    return y > 0.0f ? dy : 0.0f;
}

inline bn_floats bn_relu_gradient_vector(const bn_floats dy, const bn_floats y)
{
#if BN_VECTOR == 1
    return bn_relu_gradient(dy, y);
#else
    return select((bn_floats)(0.0f), dy, y > (bn_floats)(0.0f));
#endif
}

// y = (x − mean)·scale + shift over the share; relu(·) of that when `relu`.
inline void bn_share_normalize(__global const float* x, __global float* y, const float mean, const float scale,
                               const float shift, const bn_share share, const int batch, const int c,
                               const int channels, const int spatial, const bool relu)
{
    BN_SHARED_LOOP(n, 0, batch, share.planes, share.plane) {
        const int start = bn_plane_start(n, c, channels, spatial);
        __global const float* p = x + start;
        __global float* q = y + start;
        BN_SHARED_LOOP(v, 0, share.vectors, share.lanes, share.lane) {
            const bn_floats value = (bn_load(v, p) - mean) * scale + shift;
            bn_store(relu ? bn_relu_vector(value) : value, v, q);
        }
        BN_SHARED_LOOP(s, share.vectors * BN_VECTOR, spatial, share.lanes, share.lane) {
            const float value = (p[s] - mean) * scale + shift;
            q[s] = relu ? bn_relu(value) : value;
        }
    }
}

inline void bn_forward_training(__global const float* x, __global const float* gamma, __global const float* beta,
                                __global float* running_mean, __global float* running_var, __global float* y,
                                __global float* saved_mean, __global float* saved_inv_std, __local float* scratch,
                                const int channels, const int spatial, const int batch, const float epsilon,
                                const float momentum, const bool relu)
{
    const int c = get_group_id(0);
    const int item = get_local_id(0);
    if (c >= channels) return;   // whole groups only: barriers stay uniform
    const int m = batch * spatial;
    const bn_share share = bn_share_of(item, spatial);

    const float mean = bn_group_total(scratch, bn_share_sum(x, share, batch, c, channels, spatial)) / (float)m;
    const float total = bn_group_total(scratch, bn_share_squares(x, mean, share, batch, c, channels, spatial));
    const float variance = total / (float)m;
    const float inv_std = rsqrt(variance + epsilon);

    if (item == 0) {
        saved_mean[c] = mean;
        saved_inv_std[c] = inv_std;
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (total / (float)(m - 1));
    }
    bn_share_normalize(x, y, mean, gamma[c] * inv_std, beta[c], share, batch, c, channels, spatial, relu);
}

__kernel void batch_norm_forward_training(__global const float* x, __global const float* gamma,
                                          __global const float* beta,
                                          __global float* running_mean, __global float* running_var,
                                          __global float* y, __global float* saved_mean, __global float* saved_inv_std,
                                          const int channels, const int spatial, const int batch,
                                          const float epsilon, const float momentum)
{
    __local float scratch[BN_WG];
    bn_forward_training(x, gamma, beta, running_mean, running_var, y, saved_mean, saved_inv_std, scratch, channels,
                        spatial, batch, epsilon, momentum, false);
}

__kernel void batch_norm_relu_forward_training(__global const float* x, __global const float* gamma,
                                               __global const float* beta,
                                               __global float* running_mean, __global float* running_var,
                                               __global float* y, __global float* saved_mean,
                                               __global float* saved_inv_std, const int channels, const int spatial,
                                               const int batch, const float epsilon, const float momentum)
{
    __local float scratch[BN_WG];
    bn_forward_training(x, gamma, beta, running_mean, running_var, y, saved_mean, saved_inv_std, scratch, channels,
                        spatial, batch, epsilon, momentum, true);
}

inline void bn_forward_inference(__global const float* x, __global const float* gamma, __global const float* beta,
                                 __global const float* running_mean, __global const float* running_var,
                                 __global float* y, const int channels, const int spatial, const int batch,
                                 const float epsilon, const bool relu)
{
    const int c = get_group_id(0);
    const int item = get_local_id(0);
    if (c >= channels) return;
    const bn_share share = bn_share_of(item, spatial);
    const float scale = gamma[c] * rsqrt(running_var[c] + epsilon);
    bn_share_normalize(x, y, running_mean[c], scale, beta[c], share, batch, c, channels, spatial, relu);
}

__kernel void batch_norm_forward_inference(__global const float* x, __global const float* gamma,
                                           __global const float* beta,
                                           __global const float* running_mean, __global const float* running_var,
                                           __global float* y, const int channels, const int spatial, const int batch,
                                           const float epsilon)
{
    bn_forward_inference(x, gamma, beta, running_mean, running_var, y, channels, spatial, batch, epsilon, false);
}

__kernel void batch_norm_relu_forward_inference(__global const float* x, __global const float* gamma,
                                                __global const float* beta,
                                                __global const float* running_mean, __global const float* running_var,
                                                __global float* y, const int channels, const int spatial,
                                                const int batch, const float epsilon)
{
    bn_forward_inference(x, gamma, beta, running_mean, running_var, y, channels, spatial, batch, epsilon, true);
}

// The backward of both forwards. With `relu`, y is the fused forward's output and the
// gradient taken is y > 0 ? dy : 0, recomputed from dy and y at each read; without, y is
// not read.
inline void bn_backward(__global const float* x, __global const float* dy, __global const float* y,
                        __global const float* gamma, __global const float* saved_mean,
                        __global const float* saved_inv_std, __global float* dx, __global float* dgamma,
                        __global float* dbeta, __local float* scratch, const int channels, const int spatial,
                        const int batch, const bool relu)
{
    const int c = get_group_id(0);
    const int item = get_local_id(0);
    if (c >= channels) return;
    const int m = batch * spatial;
    const bn_share share = bn_share_of(item, spatial);
    const float mean = saved_mean[c];
    const float inv_std = saved_inv_std[c];

    // Σ dy and Σ dy·(x − μ); Σ dy·x̂ = r·Σ dy·(x − μ).
    bn_kahan sum_dy = bn_kahan_zero();
    bn_kahan sum_dy_centered = bn_kahan_zero();
    BN_SHARED_LOOP(n, 0, batch, share.planes, share.plane) {
        const int start = bn_plane_start(n, c, channels, spatial);
        __global const float* px = x + start;
        __global const float* pdy = dy + start;
        __global const float* py = y + start;
        bn_floats part_dy = (bn_floats)(0.0f);
        bn_floats part_dy_centered = (bn_floats)(0.0f);
        BN_SHARED_LOOP(v, 0, share.vectors, share.lanes, share.lane) {
            const bn_floats g = relu ? bn_relu_gradient_vector(bn_load(v, pdy), bn_load(v, py)) : bn_load(v, pdy);
            part_dy += g;
            part_dy_centered += g * (bn_load(v, px) - mean);
        }
        BN_SHARED_LOOP(s, share.vectors * BN_VECTOR, spatial, share.lanes, share.lane) {
            const float g = relu ? bn_relu_gradient(pdy[s], py[s]) : pdy[s];
            bn_first(part_dy) += g;
            bn_first(part_dy_centered) += g * (px[s] - mean);
        }
        bn_kahan_add(&sum_dy, part_dy);
        bn_kahan_add(&sum_dy_centered, part_dy_centered);
    }
    const float db = bn_group_total(scratch, sum_dy);
    const float dg = bn_group_total(scratch, sum_dy_centered) * inv_std;
    if (item == 0) {
        dbeta[c] = db;
        dgamma[c] = dg;
    }

    // dx = γ·r·(dy − Σdy/M − x̂·Σdy·x̂/M) = g·(dy − mean_dy) − (x − μ)·k, k = g·r·Σdy·x̂/M.
    const float g = gamma[c] * inv_std;
    const float mean_dy = db / (float)m;
    const float k = g * inv_std * (dg / (float)m);
    BN_SHARED_LOOP(n, 0, batch, share.planes, share.plane) {
        const int start = bn_plane_start(n, c, channels, spatial);
        __global const float* px = x + start;
        __global const float* pdy = dy + start;
        __global const float* py = y + start;
        __global float* pdx = dx + start;
        BN_SHARED_LOOP(v, 0, share.vectors, share.lanes, share.lane) {
            const bn_floats d = relu ? bn_relu_gradient_vector(bn_load(v, pdy), bn_load(v, py)) : bn_load(v, pdy);
            bn_store(g * (d - mean_dy) - (bn_load(v, px) - mean) * k, v, pdx);
        }
        BN_SHARED_LOOP(s, share.vectors * BN_VECTOR, spatial, share.lanes, share.lane) {
            const float d = relu ? bn_relu_gradient(pdy[s], py[s]) : pdy[s];
            pdx[s] = g * (d - mean_dy) - (px[s] - mean) * k;
        }
    }
}

__kernel void batch_norm_backward(__global const float* x, __global const float* dy, __global const float* gamma,
                                  __global const float* saved_mean, __global const float* saved_inv_std,
                                  __global float* dx, __global float* dgamma, __global float* dbeta,
                                  const int channels, const int spatial, const int batch)
{
    __local float scratch[BN_WG];
    bn_backward(x, dy, dy, gamma, saved_mean, saved_inv_std, dx, dgamma, dbeta, scratch, channels, spatial, batch,
                false);
}

__kernel void batch_norm_relu_backward(__global const float* x, __global const float* dy, __global const float* y,
                                       __global const float* gamma, __global const float* saved_mean,
                                       __global const float* saved_inv_std, __global float* dx,
                                       __global float* dgamma, __global float* dbeta, const int channels,
                                       const int spatial, const int batch)
{
    __local float scratch[BN_WG];
    bn_backward(x, dy, y, gamma, saved_mean, saved_inv_std, dx, dgamma, dbeta, scratch, channels, spatial, batch,
                true);
}
