// =================================================================================
// pooling.cl: pooling over the H×W plane of NCHW float32 tensors, PyTorch semantics
// (padding p ≤ k/2 on every side, output size ⌊(H + 2p − k)/s⌋ + 1). Every kernel writes
// each element of its output exactly once; the backward kernels gather (each input
// element sums the windows that contain it), so they need no atomics and no zero fill.
//
// global_average_pool_forward:  input (N·C planes of H·W) → output (N·C).
//   Work item nc sums plane nc; global N·C.
// global_average_pool_forward_grouped: the same for GPUs (DeviceShapes.planeSums): one
//   group of POOL_WG items per plane, striding over it, then group_sum;
//   global N·C·POOL_WG, local POOL_WG.
// global_average_pool_backward: dy (N·C) → dx (N·C·H·W), dx[e] = dy[e / (H·W)] / (H·W).
//   Work item e; global N·C·H·W.
// average_pool2d_forward / max_pool2d_forward: input (N·C, H, W) → output (N·C, H', W')
//   (and int32 indices h·W + w of each maximum, same shape). Window (y, x) covers rows
//   y·s − p … y·s − p + k − 1 (likewise columns); padded positions add 0 to the average
//   (divided by k², count_include_pad) and are −∞ to the maximum (never chosen).
//   Work item (x, y, nc) owns output[nc, y, x]; global (W', H', N·C).
// average_pool2d_backward / max_pool2d_backward: dy (N·C, H', W') → dx (N·C, H, W).
//   Work item (w, h, nc) owns dx[nc, h, w]; global (W, H, N·C). Windows that contain
//   row h are y = ⌈(h + p − k + 1)/s⌉ … ⌊(h + p)/s⌋, clipped to [0, H'); likewise columns.
// =================================================================================

#ifndef POOL_WG
#define POOL_WG 64 // work items per plane in global_average_pool_forward_grouped; a power of two
#endif

// group_sum (over POOL_WG items) comes from reductions.cl, which the host puts ahead of this file.

// First output row (or column) whose window, k wide at stride s, contains position h.
inline int first_window(const int h, const int k, const int s)
{
    return h < k ? 0 : (h - k + s) / s;
}

__kernel void global_average_pool_forward(__global const float* input, __global float* output,
                                          const int planes, const int plane)
{
    const int nc = get_global_id(0);
    if (nc >= planes) return;
    float sum = 0.0f;
    for (int p = 0; p < plane; ++p) sum += input[nc * plane + p];
    output[nc] = sum / (float)plane;
}

__kernel void global_average_pool_forward_grouped(__global const float* input, __global float* output, const int plane)
{
    __local float scratch[POOL_WG];
    const int nc = get_group_id(0);
    float sum = 0.0f;
    for (int p = get_local_id(0); p < plane; p += POOL_WG) sum += input[(size_t)nc * plane + p];
    sum = group_sum(scratch, sum, POOL_WG);
    if (get_local_id(0) == 0) output[nc] = sum / (float)plane;
}

__kernel void global_average_pool_backward(__global const float* output_gradient, __global float* input_gradient,
                                           const int planes, const int plane)
{
    const int e = get_global_id(0);
    if (e >= planes * plane) return;
    input_gradient[e] = output_gradient[e / plane] / (float)plane;
}

__kernel void average_pool2d_forward(__global const float* input, __global float* output,
                                     const int planes, const int height, const int width,
                                     const int kernel_size, const int stride, const int padding, const int out_h, const int out_w)
{
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int nc = get_global_id(2);
    if (x >= out_w || y >= out_h || nc >= planes) return;
    const int top = y * stride - padding;
    const int left = x * stride - padding;
    __global const float* plane = input + nc * height * width;
    float sum = 0.0f;
    for (int h = max(top, 0); h < min(top + kernel_size, height); ++h) {
        for (int w = max(left, 0); w < min(left + kernel_size, width); ++w) sum += plane[h * width + w];
    }
    output[(nc * out_h + y) * out_w + x] = sum / (float)(kernel_size * kernel_size);
}

__kernel void average_pool2d_backward(__global const float* output_gradient, __global float* input_gradient,
                                      const int planes, const int height, const int width,
                                      const int kernel_size, const int stride, const int padding, const int out_h, const int out_w)
{
    const int w = get_global_id(0);
    const int h = get_global_id(1);
    const int nc = get_global_id(2);
    if (w >= width || h >= height || nc >= planes) return;
    const int y_end = min((h + padding) / stride + 1, out_h);
    const int x_end = min((w + padding) / stride + 1, out_w);
    float sum = 0.0f;
    for (int y = first_window(h + padding, kernel_size, stride); y < y_end; ++y) {
        for (int x = first_window(w + padding, kernel_size, stride); x < x_end; ++x) {
            sum += output_gradient[(nc * out_h + y) * out_w + x];
        }
    }
    input_gradient[(nc * height + h) * width + w] = sum / (float)(kernel_size * kernel_size);
}

__kernel void max_pool2d_forward(__global const float* input, __global float* output, __global int* indices,
                                 const int planes, const int height, const int width,
                                 const int kernel_size, const int stride, const int padding, const int out_h, const int out_w)
{
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int nc = get_global_id(2);
    if (x >= out_w || y >= out_h || nc >= planes) return;
    const int top = y * stride - padding;
    const int left = x * stride - padding;
    // PyTorch's CPU scan: start from −∞ at the window's first input element; a later
    // element wins when it is larger or NaN, so ties keep the first. Padded positions
    // are skipped (−∞ never wins).
    int best_index = max(top, 0) * width + max(left, 0);
    float best = -INFINITY;
    for (int h = max(top, 0); h < min(top + kernel_size, height); ++h) {
        for (int w = max(left, 0); w < min(left + kernel_size, width); ++w) {
            const int index = h * width + w;
            const float value = input[nc * height * width + index];
            if (value > best || isnan(value)) {
                best = value;
                best_index = index;
            }
        }
    }
    output[(nc * out_h + y) * out_w + x] = best;
    indices[(nc * out_h + y) * out_w + x] = best_index;
}

__kernel void max_pool2d_backward(__global const float* output_gradient, __global const int* indices,
                                  __global float* input_gradient,
                                  const int planes, const int height, const int width,
                                  const int kernel_size, const int stride, const int padding, const int out_h, const int out_w)
{
    const int w = get_global_id(0);
    const int h = get_global_id(1);
    const int nc = get_global_id(2);
    if (w >= width || h >= height || nc >= planes) return;
    const int position = h * width + w;
    const int y_end = min((h + padding) / stride + 1, out_h);
    const int x_end = min((w + padding) / stride + 1, out_w);
    float sum = 0.0f;
    for (int y = first_window(h + padding, kernel_size, stride); y < y_end; ++y) {
        for (int x = first_window(w + padding, kernel_size, stride); x < x_end; ++x) {
            const int out = (nc * out_h + y) * out_w + x;
            if (indices[out] == position) sum += output_gradient[out];
        }
    }
    input_gradient[(nc * height + h) * width + w] = sum;
}
