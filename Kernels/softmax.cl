// =================================================================================
// softmax.cl: softmax and log-softmax along the middle axis of an (outer, axis,
// inner) row-major view, forward and backward.
//
//   x, y, dy, dx: float[outer·axis·inner]; row r = o·inner + i holds the elements
//   (o·axis + j)·inner + i for j in 0..<axis.
//
// One work-group of SOFTMAX_WG items per row (global size exactly rows·SOFTMAX_WG,
// local SOFTMAX_WG, so every group owns a row and needs no bounds check; PoCL 3.1
// crashes on a `return` ahead of a barrier): the items stride over the axis and
// combine through local memory, so long rows (the h·w positions of attention masks)
// are read by a whole group and short rows (10 classes) still work.
//
//   softmax_forward:      y = exp(x − m) / Σ exp(x − m),   m = max over the row
//   log_softmax_forward:  y = (x − m) − log Σ exp(x − m)
//   softmax_backward:     dx = y·(dy − Σ dy·y)
//   log_softmax_backward: dx = dy − exp(y)·Σ dy
//
// Subtracting the row maximum keeps every exponent ≤ 0, so inputs of ±1e4 give
// finite results (Σ ≥ 1: the maximum contributes exp(0)).
// =================================================================================

#ifndef SOFTMAX_WG
#define SOFTMAX_WG 64 // work items per row; a power of two
#endif

// group_sum and group_max (over SOFTMAX_WG items) come from reductions.cl, which the host puts ahead of this file.

// Forward of one row; `logarithmic` picks log-softmax. The whole group takes the
// same branch (one row per group), so the barriers inside are reached by all.
// (OpenCL 1.2 allows __local variables only at kernel scope, hence `scratch`.)
void softmax_row(__global const float* x, __global float* y, __local float* scratch,
                 const int axis, const int inner, const int logarithmic)
{
    const int row = get_group_id(0);
    const int lid = get_local_id(0);
    const int base = (row / inner) * axis * inner + row % inner;

    float m = -INFINITY;
    for (int j = lid; j < axis; j += SOFTMAX_WG) m = fmax(m, x[base + j * inner]);
    m = group_max(scratch, m, SOFTMAX_WG);
    float s = 0.0f;
    for (int j = lid; j < axis; j += SOFTMAX_WG) s += exp(x[base + j * inner] - m);
    s = group_sum(scratch, s, SOFTMAX_WG);
    if (logarithmic) {
        const float log_s = log(s);
        for (int j = lid; j < axis; j += SOFTMAX_WG) y[base + j * inner] = (x[base + j * inner] - m) - log_s;
    } else {
        for (int j = lid; j < axis; j += SOFTMAX_WG) y[base + j * inner] = exp(x[base + j * inner] - m) / s;
    }
}

__kernel void softmax_forward(__global const float* x, __global float* y,
                              const int axis, const int inner)
{
    __local float scratch[SOFTMAX_WG];
    softmax_row(x, y, scratch, axis, inner, 0);
}

__kernel void log_softmax_forward(__global const float* x, __global float* y,
                                  const int axis, const int inner)
{
    __local float scratch[SOFTMAX_WG];
    softmax_row(x, y, scratch, axis, inner, 1);
}

__kernel void softmax_backward(__global const float* y, __global const float* dy, __global float* dx,
                               const int axis, const int inner)
{
    __local float scratch[SOFTMAX_WG];
    const int row = get_group_id(0);
    const int lid = get_local_id(0);
    const int base = (row / inner) * axis * inner + row % inner;
    float s = 0.0f;
    for (int j = lid; j < axis; j += SOFTMAX_WG) s += dy[base + j * inner] * y[base + j * inner];
    s = group_sum(scratch, s, SOFTMAX_WG);
    for (int j = lid; j < axis; j += SOFTMAX_WG) {
        const int e = base + j * inner;
        dx[e] = y[e] * (dy[e] - s);
    }
}

__kernel void log_softmax_backward(__global const float* y, __global const float* dy, __global float* dx,
                                   const int axis, const int inner)
{
    __local float scratch[SOFTMAX_WG];
    const int row = get_group_id(0);
    const int lid = get_local_id(0);
    const int base = (row / inner) * axis * inner + row % inner;
    float s = 0.0f;
    for (int j = lid; j < axis; j += SOFTMAX_WG) s += dy[base + j * inner];
    s = group_sum(scratch, s, SOFTMAX_WG);
    for (int j = lid; j < axis; j += SOFTMAX_WG) {
        const int e = base + j * inner;
        dx[e] = dy[e] - exp(y[e]) * s;
    }
}
