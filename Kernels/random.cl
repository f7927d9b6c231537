// =================================================================================
// random.cl: counter-based random numbers (Philox-2x32-10) and dropout.
//
// philox2x32_10(counter, key): Salmon et al., Random123. Ten rounds of
//   (c0, c1) → (hi(M·c0) ^ key ^ c1, lo(M·c0)), M = 0xD256D193, the key growing by
//   0x9E3779B9 between rounds. Identical to `Philox.block` in Swift; both pass the
//   Random123 known-answer vectors.
//
// philox_block: out[2i], out[2i+1] = philox2x32_10((ctr[2i], ctr[2i+1]), key[i]),
//   the generator itself, for the known-answer test. uint viewed as int buffers.
//   Work item i owns block i; global size blocks.
//
// dropout_forward / dropout_backward: y = keep(d) ? x·scale : 0 with draw
//   d = i / per_draw, keep(d) = (philox2x32_10((d, step), seed).x >> 8) ≥ threshold.
//   The backward regenerates the same mask from (seed, step): no mask is stored.
//   x, y: float[count]; work item i owns element i (read before write, so y may be x);
//   global size count.
// =================================================================================

#define PHILOX_M2x32_0 0xD256D193u
#define PHILOX_W32_0 0x9E3779B9u

inline uint2 philox2x32_10(uint2 counter, uint key)
{
    for (int round = 0; round < 10; ++round) {
        if (round > 0) key += PHILOX_W32_0;
        const uint lo = PHILOX_M2x32_0 * counter.x;
        const uint hi = mul_hi(PHILOX_M2x32_0, counter.x);
        counter = (uint2)(hi ^ key ^ counter.y, lo);
    }
    return counter;
}

__kernel void philox_block(__global const int* counters, __global const int* keys, __global int* out, const int blocks)
{
    const int i = get_global_id(0);
    if (i >= blocks) return;
    const uint2 r = philox2x32_10((uint2)((uint)counters[2 * i], (uint)counters[2 * i + 1]), (uint)keys[i]);
    out[2 * i] = (int)r.x;
    out[2 * i + 1] = (int)r.y;
}

inline bool dropout_keeps(const int i, const int per_draw, const uint seed, const uint step, const uint threshold)
{
    const uint draw = (uint)(i / per_draw);
    return (philox2x32_10((uint2)(draw, step), seed).x >> 8) >= threshold;
}

__kernel void dropout_forward(__global const float* x, __global float* y, const int count, const int per_draw,
                              const int seed, const int step, const int threshold, const float scale)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float v = x[i];
    y[i] = dropout_keeps(i, per_draw, (uint)seed, (uint)step, (uint)threshold) ? v * scale : 0.0f;
}

__kernel void dropout_backward(__global const float* dy, __global float* dx, const int count, const int per_draw,
                               const int seed, const int step, const int threshold, const float scale)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float g = dy[i];
    dx[i] = dropout_keeps(i, per_draw, (uint)seed, (uint)step, (uint)threshold) ? g * scale : 0.0f;
}
