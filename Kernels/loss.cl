// =================================================================================
// loss.cl: negative log-likelihood and cross-entropy, averaged over the batch.
//
//   logp: float[N·L] row-major (N, L) log-probabilities; labels: int[N] in 0..<L;
//   loss, g (upstream gradient): float[1]; dx: float[N·L].
//
// nll_loss_forward:  loss = −(1/N)·Σₙ logp[n, labels[n]]. One work-group of LOSS_WG
//   items (global = local = LOSS_WG): items stride over n, combine in local memory.
// nll_loss_backward: dx[n, l] = −g/N at l = labels[n], else 0. One item per element.
// cross_entropy_backward: dx[n, l] = (g/N)·(exp(logp[n, l]) − [l = labels[n]]), the
//   log-softmax and NLL backwards fused into one pass. One item per element.
// step_tally: tally[slot] = (loss[0], #{n : argmax_l logp[n, l] = labels[n]}), the first
//   largest element as the host finds it (a later one wins only when the held one
//   compares less). One work-group of LOSS_WG items striding over n, as nll_loss_forward.
//
// Labels stay on the device, so a label outside 0..<L cannot be reported to the host;
// it makes the loss NaN and its item's gradient row NaN instead.
// =================================================================================

#ifndef LOSS_WG
#define LOSS_WG 256 // work items of the single reducing group; a power of two
#endif

__kernel void nll_loss_forward(__global const float* logp, __global const int* labels, __global float* loss,
                               const int batch, const int classes)
{
    __local float scratch[LOSS_WG];
    const int lid = get_local_id(0);
    float s = 0.0f;
    for (int n = lid; n < batch; n += LOSS_WG) {
        const int label = labels[n];
        s += (label >= 0 && label < classes) ? logp[n * classes + label] : NAN;
    }
    scratch[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = LOSS_WG / 2; span > 0; span >>= 1) {
        if (lid < span) scratch[lid] += scratch[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) loss[0] = -scratch[0] / (float)batch;
}

__kernel void nll_loss_backward(__global const int* labels, __global const float* g, __global float* dx,
                                const int batch, const int classes)
{
    const int e = get_global_id(0);
    if (e >= batch * classes) return;
    const int label = labels[e / classes];
    const int l = e % classes;
    dx[e] = (label < 0 || label >= classes) ? NAN : (l == label ? -g[0] / (float)batch : 0.0f);
}

__kernel void cross_entropy_backward(__global const float* logp, __global const int* labels, __global const float* g,
                                     __global float* dx, const int batch, const int classes)
{
    const int e = get_global_id(0);
    if (e >= batch * classes) return;
    const int label = labels[e / classes];
    const int l = e % classes;
    const float target = (l == label) ? 1.0f : 0.0f;
    dx[e] = (label < 0 || label >= classes) ? NAN : (g[0] / (float)batch) * (exp(logp[e]) - target);
}

__kernel void step_tally(__global const float* logp, __global const int* labels, __global const float* loss,
                         __global float* tally, const int batch, const int classes, const int slot)
{
    __local int scratch[LOSS_WG];
    const int lid = get_local_id(0);
    int correct = 0;
    for (int n = lid; n < batch; n += LOSS_WG) {
        __global const float* row = logp + (long)n * classes;
        int best = 0;
        for (int l = 1; l < classes; ++l) {
            if (row[best] < row[l]) best = l;
        }
        correct += (best == labels[n]) ? 1 : 0;
    }
    scratch[lid] = correct;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = LOSS_WG / 2; span > 0; span >>= 1) {
        if (lid < span) scratch[lid] += scratch[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        tally[2 * slot] = loss[0];
        tally[2 * slot + 1] = (float)scratch[0];
    }
}
