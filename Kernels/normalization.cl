// =================================================================================
// normalization.cl: batch normalisation, PyTorch semantics (see NormalizationOps).
//
// Layout: x, y, dy, dx are float[N·C·S] in (N, C, S) order, S = H·W (1 for 1-d);
// element j = n·S + s of channel c (0 ≤ j < M = N·S) is at (n·C + c)·S + s.
// Per-channel buffers (gamma, beta, running_*, saved_*, dgamma, dbeta) are float[C].
//
// batch_norm_forward_training: one work group of BN_WG items per channel. The
//   statistics take two passes over the channel (mean, then Σ(x − μ)²), which stays
//   accurate when |μ| ≫ σ, where Σx² − M·μ² would cancel; each item sums a strided
//   slice, then a tree in local memory. Item 0 writes saved_mean, saved_inv_std and
//   updates running_mean, running_var in place (unbiased variance); a third pass
//   writes y. global size (C·BN_WG), local size BN_WG.
// batch_norm_forward_inference: y from the running statistics; work item i owns y[i];
//   global size N·C·S.
// batch_norm_backward: one work group per channel: one pass sums dy and dy·x̂, item 0
//   writes dbeta, dgamma, a second pass writes dx. global (C·BN_WG), local BN_WG.
// =================================================================================

#ifndef BN_WG
#define BN_WG 256 // work items per channel in the training kernels (a power of two)
#endif

// group_sum (over BN_WG items) comes from reductions.cl, which the host puts ahead of this file.

// The elements of channel c that work item `lid` owns, j = lid, lid + BN_WG, … < M, as
// (image n, position s), stepped without a division per element (two divisions per item
// instead of two per element: a CPU device spent most of the kernel on them).
typedef struct {
    int n, s;     // the current element
    int dn, ds;   // BN_WG elements further on: dn images and ds positions
} channel_walk;

inline channel_walk walk_from(const int lid, const int spatial)
{
    const channel_walk walk = { lid / spatial, lid % spatial, BN_WG / spatial, BN_WG % spatial };
    return walk;
}

inline void walk_on(channel_walk* walk, const int spatial)
{
    walk->n += walk->dn;
    walk->s += walk->ds;
    if (walk->s >= spatial) {
        walk->s -= spatial;
        walk->n += 1;
    }
}

inline int walk_index(const channel_walk walk, const int c, const int channels, const int spatial)
{
    return (walk.n * channels + c) * spatial + walk.s;
}

__kernel void batch_norm_forward_training(__global const float* x, __global const float* gamma,
                                          __global const float* beta,
                                          __global float* running_mean, __global float* running_var,
                                          __global float* y, __global float* saved_mean, __global float* saved_inv_std,
                                          const int channels, const int spatial, const int m,
                                          const float epsilon, const float momentum)
{
    __local float scratch[BN_WG];
    const int c = get_group_id(0);
    const int lid = get_local_id(0);
    if (c >= channels) return;   // whole groups only: barriers stay uniform

    float sum = 0.0f;
    channel_walk walk = walk_from(lid, spatial);
    for (int j = lid; j < m; j += BN_WG, walk_on(&walk, spatial)) sum += x[walk_index(walk, c, channels, spatial)];
    const float mean = group_sum(scratch, sum, BN_WG) / (float)m;

    float squares = 0.0f;
    walk = walk_from(lid, spatial);
    for (int j = lid; j < m; j += BN_WG, walk_on(&walk, spatial)) {
        const float d = x[walk_index(walk, c, channels, spatial)] - mean;
        squares += d * d;
    }
    const float total = group_sum(scratch, squares, BN_WG);
    const float variance = total / (float)m;
    const float inv_std = rsqrt(variance + epsilon);

    if (lid == 0) {
        saved_mean[c] = mean;
        saved_inv_std[c] = inv_std;
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (total / (float)(m - 1));
    }
    const float g = gamma[c] * inv_std;
    const float b = beta[c];
    walk = walk_from(lid, spatial);
    for (int j = lid; j < m; j += BN_WG, walk_on(&walk, spatial)) {
        const int i = walk_index(walk, c, channels, spatial);
        y[i] = (x[i] - mean) * g + b;
    }
}

__kernel void batch_norm_forward_inference(__global const float* x, __global const float* gamma,
                                           __global const float* beta,
                                           __global const float* running_mean, __global const float* running_var,
                                           __global float* y, const int count, const int channels, const int spatial,
                                           const float epsilon)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const int c = (i / spatial) % channels;
    y[i] = (x[i] - running_mean[c]) * (gamma[c] * rsqrt(running_var[c] + epsilon)) + beta[c];
}

__kernel void batch_norm_backward(__global const float* x, __global const float* dy, __global const float* gamma,
                                  __global const float* saved_mean, __global const float* saved_inv_std,
                                  __global float* dx, __global float* dgamma, __global float* dbeta,
                                  const int channels, const int spatial, const int m)
{
    __local float scratch[BN_WG];
    const int c = get_group_id(0);
    const int lid = get_local_id(0);
    if (c >= channels) return;
    const float mean = saved_mean[c];
    const float inv_std = saved_inv_std[c];

    float sum_dy = 0.0f;
    float sum_dy_xhat = 0.0f;
    channel_walk walk = walk_from(lid, spatial);
    for (int j = lid; j < m; j += BN_WG, walk_on(&walk, spatial)) {
        const int i = walk_index(walk, c, channels, spatial);
        sum_dy += dy[i];
        sum_dy_xhat += dy[i] * ((x[i] - mean) * inv_std);
    }
    const float db = group_sum(scratch, sum_dy, BN_WG);
    const float dg = group_sum(scratch, sum_dy_xhat, BN_WG);
    if (lid == 0) {
        dbeta[c] = db;
        dgamma[c] = dg;
    }
    const float mean_dy = db / (float)m;
    const float mean_dy_xhat = dg / (float)m;
    const float g = gamma[c] * inv_std;
    walk = walk_from(lid, spatial);
    for (int j = lid; j < m; j += BN_WG, walk_on(&walk, spatial)) {
        const int i = walk_index(walk, c, channels, spatial);
        const float xhat = (x[i] - mean) * inv_std;
        dx[i] = g * (dy[i] - mean_dy - xhat * mean_dy_xhat);
    }
}
