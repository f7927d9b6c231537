// =================================================================================
// elementwise.cl: activations, arithmetic and axis reductions on float32 buffers.
//
// Elementwise kernels: every buffer is float[count]; work item i owns element i
// (global size count, any local size). Each work item reads its inputs before it
// writes its outputs, so an output may be the same buffer as an input.
//
//   relu_forward      y = x < 0 ? 0 : x            relu_backward    dx = x > 0 ? dy : 0
//   tanh_forward      y = tanh(x)                  tanh_backward    dx = dy·(1 − y)·(1 + y)
//   sigmoid_forward   y = 1 / (1 + exp(−x))        sigmoid_backward dx = dy·y·(1 − y)
//   add_forward       y = a + b                    multiply_forward y = a·b
//   multiply_backward da = dy·b, db = dy·a         scale_forward    y = α·x
//   axpy              y ← y + α·x
//
// tanh_backward factors 1 − y² as (1 − y)(1 + y): for |y| near 1 the subtraction is
// exact (Sterbenz), where 1 − y·y would lose the rounding error of y·y to cancellation.
//
// reduce_forward: y[o] = Σ_r x[offset(o) + offset(r)] (÷ n for a mean), the sum over
//   the reduced axes of a row-major tensor of ≤ 4 axes. The host splits the axes into
//   kept ones (k0..k3: sizes, ks0..ks3: input strides, outermost first, padded with
//   size 1) and reduced ones (r0..r3, rs0..rs3). One work group of REDUCE_WG items per
//   output element: each item sums a strided slice, then a tree in local memory.
//   global size (outputs·REDUCE_WG), local size REDUCE_WG.
// reduce_backward: dx[i] = dy[o(i)] (÷ n for a mean). Input index i is split over the
//   input shape s0..s3 (padded in front with 1); os0..os3 are the output strides of
//   each input axis (0 for a reduced axis). Work item i owns dx[i]; global size count.
// =================================================================================

#ifndef REDUCE_WG
#define REDUCE_WG 64 // work items per output element of reduce_forward (a power of two)
#endif

__kernel void relu_forward(__global const float* x, __global float* y, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float v = x[i];
    y[i] = v < 0.0f ? 0.0f : v;
}

__kernel void relu_backward(__global const float* x, __global const float* dy, __global float* dx, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float g = dy[i];
    dx[i] = x[i] > 0.0f ? g : 0.0f;
}

__kernel void tanh_forward(__global const float* x, __global float* y, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    y[i] = tanh(x[i]);
}

__kernel void tanh_backward(__global const float* y, __global const float* dy, __global float* dx, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float v = y[i];
    dx[i] = dy[i] * (1.0f - v) * (1.0f + v);
}

__kernel void sigmoid_forward(__global const float* x, __global float* y, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    y[i] = 1.0f / (1.0f + exp(-x[i]));
}

__kernel void sigmoid_backward(__global const float* y, __global const float* dy, __global float* dx, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float v = y[i];
    dx[i] = dy[i] * v * (1.0f - v);
}

__kernel void add_forward(__global const float* a, __global const float* b, __global float* y, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    y[i] = a[i] + b[i];
}

__kernel void multiply_forward(__global const float* a, __global const float* b, __global float* y, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    y[i] = a[i] * b[i];
}

__kernel void multiply_backward(__global const float* a, __global const float* b, __global const float* dy,
                                __global float* da, __global float* db, const int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float av = a[i];
    const float bv = b[i];
    const float g = dy[i];
    da[i] = g * bv;
    db[i] = g * av;
}

__kernel void scale_forward(__global const float* x, __global float* y, const int count, const float alpha)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    y[i] = alpha * x[i];
}

__kernel void axpy(__global const float* x, __global float* y, const int count, const float alpha)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    y[i] = y[i] + alpha * x[i];
}

__kernel void reduce_forward(__global const float* x, __global float* y, const int outputs,
                             const int k0, const int k1, const int k2, const int k3,
                             const int ks0, const int ks1, const int ks2, const int ks3,
                             const int r0, const int r1, const int r2, const int r3,
                             const int rs0, const int rs1, const int rs2, const int rs3,
                             const int mean)
{
    __local float partial[REDUCE_WG];
    const int o = get_group_id(0);
    const int lid = get_local_id(0);
    if (o >= outputs) return;   // whole groups only: the barrier below stays uniform
    const int base = (o / (k1 * k2 * k3)) * ks0 + (o / (k2 * k3) % k1) * ks1
                   + (o / k3 % k2) * ks2 + (o % k3) * ks3;
    const int reduced = r0 * r1 * r2 * r3;
    float sum = 0.0f;
    for (int r = lid; r < reduced; r += REDUCE_WG) {
        const int offset = (r / (r1 * r2 * r3)) * rs0 + (r / (r2 * r3) % r1) * rs1
                         + (r / r3 % r2) * rs2 + (r % r3) * rs3;
        sum += x[base + offset];
    }
    partial[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = REDUCE_WG / 2; width > 0; width /= 2) {
        if (lid < width) partial[lid] += partial[lid + width];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) y[o] = mean ? partial[0] / (float)reduced : partial[0];
}

__kernel void reduce_backward(__global const float* dy, __global float* dx, const int count,
                              const int s1, const int s2, const int s3,
                              const int os0, const int os1, const int os2, const int os3,
                              const int divisor)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const int o = (i / (s1 * s2 * s3)) * os0 + (i / (s2 * s3) % s1) * os1 + (i / s3 % s2) * os2 + (i % s3) * os3;
    dx[i] = divisor > 1 ? dy[o] / (float)divisor : dy[o];
}
