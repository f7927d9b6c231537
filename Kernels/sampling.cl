// =================================================================================
// sampling.cl: affine grids and bilinear grid sampling, PyTorch's affine_grid and
// grid_sample with align_corners = False, mode bilinear, padding_mode zeros.
//
// Normalised coordinates: pixel j of a row of W has its centre at x = (2j + 1)/W − 1;
// a grid point (x, y) lies at pixel coordinates ix = ((x + 1)·W − 1)/2,
// iy = ((y + 1)·H − 1)/2 of the image it samples. Its value is the bilinear blend of
// the four pixels around (ix, iy), a pixel outside the image counting as 0.
//
// A point with a NaN or infinite coordinate samples NaN, and its grid gradient is
// NaN; it adds nothing to the input gradient (as PyTorch's CPU kernel does).
//
// Layouts (row-major, float32):
//   theta (N, 2, 3)   grid (N, H, W, 2) with (x, y) last
//   input (N, C, Hin, Win)   output (N, C, H, W)   gradients as their tensors
//
// affine_grid_forward:  work item (j, i, n) writes grid[n, i, j, 0..1];
//   global (W, H, N).
// affine_grid_backward: one work group per (r, n) sums dgrid[n, ·, ·, r] times
//   (x, y, 1) into dtheta[n, r, 0..2]; its AFFINE_GRID_GROUP items stride over the
//   H·W points, then reduce in local memory (fixed order: deterministic);
//   global (AFFINE_GRID_GROUP, 2·N), local (AFFINE_GRID_GROUP, 1).
// grid_sample_forward, grid_sample_backward_grid: work item (w, h, n) handles one
//   grid point for all C channels (the weights are shared); global (W, H, N).
// grid_sample_backward_input: work item (w, h, n) scatters the output gradient of
//   one point, all channels, into the four pixels it blended. Points can share
//   pixels, so the adds are atomic: a compare-and-swap loop on the float's bits
//   (OpenCL 1.2 has no atomic float add). The order of the adds is not fixed, so the
//   sums vary in their last bits. The host zeroes dinput first.
// =================================================================================

#ifndef AFFINE_GRID_GROUP
#define AFFINE_GRID_GROUP 64 // work items per θ row in affine_grid_backward; a power of two
#endif

// Normalised coordinate → pixel coordinate along an axis of `size` pixels.
inline float unnormalize(const float coordinate, const int size)
{
    return ((coordinate + 1.0f) * (float)size - 1.0f) * 0.5f;
}

// Centre of pixel `index` of `size` in normalised coordinates.
inline float pixel_centre(const int index, const int size)
{
    return (float)(2 * index + 1) / (float)size - 1.0f;
}

// The bilinear cell of a point: its north-west pixel (x0, y0) and its offsets
// (tx, ty) ∈ [0, 1) from it. Returns 0 when no pixel of the cell lies in the image
// (including NaN coordinates), so (int) never sees a value out of its range.
inline int bilinear_cell(const float ix, const float iy, const int width, const int height,
                         int* x0, int* y0, float* tx, float* ty)
{
    if (!(ix > -1.0f && ix < (float)width && iy > -1.0f && iy < (float)height)) return 0;
    const float fx = floor(ix);
    const float fy = floor(iy);
    *x0 = (int)fx;
    *y0 = (int)fy;
    *tx = ix - fx;
    *ty = iy - fy;
    return 1;
}

__kernel void affine_grid_forward(__global const float* theta, __global float* grid,
                                  const int batch, const int height, const int width)
{
    const int j = get_global_id(0);
    const int i = get_global_id(1);
    const int n = get_global_id(2);
    if (j >= width || i >= height || n >= batch) return;
    const float x = pixel_centre(j, width);
    const float y = pixel_centre(i, height);
    __global const float* t = theta + n * 6;
    __global float* g = grid + ((n * height + i) * width + j) * 2;
    g[0] = t[0] * x + t[1] * y + t[2];
    g[1] = t[3] * x + t[4] * y + t[5];
}

__kernel void affine_grid_backward(__global const float* dgrid, __global float* dtheta,
                                   const int batch, const int height, const int width)
{
    __local float partial[3][AFFINE_GRID_GROUP];
    const int lane = get_local_id(0);
    const int row = get_group_id(1);           // r + 2·n
    const int r = row % 2;
    const int n = row / 2;
    float sx = 0.0f, sy = 0.0f, s1 = 0.0f;
    if (n < batch) {
        const int points = height * width;
        for (int p = lane; p < points; p += AFFINE_GRID_GROUP) {
            const float g = dgrid[(n * points + p) * 2 + r];
            sx += g * pixel_centre(p % width, width);
            sy += g * pixel_centre(p / width, height);
            s1 += g;
        }
    }
    partial[0][lane] = sx;
    partial[1][lane] = sy;
    partial[2][lane] = s1;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = AFFINE_GRID_GROUP / 2; step > 0; step /= 2) {
        if (lane < step) {
            for (int c = 0; c < 3; c++) partial[c][lane] += partial[c][lane + step];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0 && n < batch) {
        for (int c = 0; c < 3; c++) dtheta[n * 6 + r * 3 + c] = partial[c][0];
    }
}

__kernel void grid_sample_forward(__global const float* input, __global const float* grid,
                                  __global float* output,
                                  const int batch, const int channels,
                                  const int in_height, const int in_width,
                                  const int out_height, const int out_width)
{
    const int w = get_global_id(0);
    const int h = get_global_id(1);
    const int n = get_global_id(2);
    if (w >= out_width || h >= out_height || n >= batch) return;
    const int point = (n * out_height + h) * out_width + w;
    const float x = grid[point * 2], y = grid[point * 2 + 1];
    const float ix = unnormalize(x, in_width);
    const float iy = unnormalize(y, in_height);
    const int plane = out_height * out_width;
    __global float* out = output + n * channels * plane + h * out_width + w;
    int x0, y0;
    float tx, ty;
    if (!bilinear_cell(ix, iy, in_width, in_height, &x0, &y0, &tx, &ty)) {
        const float outside = (isfinite(x) && isfinite(y)) ? 0.0f : NAN;
        for (int c = 0; c < channels; c++) out[c * plane] = outside;
        return;
    }
    const int in_plane = in_height * in_width;
    const bool west = x0 >= 0, east = x0 + 1 < in_width, north = y0 >= 0, south = y0 + 1 < in_height;
    const float w_nw = (1.0f - tx) * (1.0f - ty), w_ne = tx * (1.0f - ty);
    const float w_sw = (1.0f - tx) * ty, w_se = tx * ty;
    const int corner = y0 * in_width + x0;    // may be negative: read only when inside
    for (int c = 0; c < channels; c++) {
        __global const float* p = input + (n * channels + c) * in_plane;
        float value = 0.0f;
        if (north && west) value += w_nw * p[corner];
        if (north && east) value += w_ne * p[corner + 1];
        if (south && west) value += w_sw * p[corner + in_width];
        if (south && east) value += w_se * p[corner + in_width + 1];
        out[c * plane] = value;
    }
}

// target += value, atomically: retry until no other work item changed target
// between the read and the swap.
inline void atomic_add_float(volatile __global float* target, const float value)
{
    union { unsigned int bits; float value; } expected, desired;
    do {
        expected.value = *target;
        desired.value = expected.value + value;
    } while (atomic_cmpxchg((volatile __global unsigned int*)target, expected.bits, desired.bits) != expected.bits);
}

__kernel void grid_sample_backward_input(__global const float* grid, __global const float* doutput,
                                         __global float* dinput,
                                         const int batch, const int channels,
                                         const int in_height, const int in_width,
                                         const int out_height, const int out_width)
{
    const int w = get_global_id(0);
    const int h = get_global_id(1);
    const int n = get_global_id(2);
    if (w >= out_width || h >= out_height || n >= batch) return;
    const int point = (n * out_height + h) * out_width + w;
    const float ix = unnormalize(grid[point * 2], in_width);
    const float iy = unnormalize(grid[point * 2 + 1], in_height);
    int x0, y0;
    float tx, ty;
    if (!bilinear_cell(ix, iy, in_width, in_height, &x0, &y0, &tx, &ty)) return;
    const int plane = out_height * out_width;
    const int in_plane = in_height * in_width;
    const bool west = x0 >= 0, east = x0 + 1 < in_width, north = y0 >= 0, south = y0 + 1 < in_height;
    const float w_nw = (1.0f - tx) * (1.0f - ty), w_ne = tx * (1.0f - ty);
    const float w_sw = (1.0f - tx) * ty, w_se = tx * ty;
    __global const float* dout = doutput + n * channels * plane + h * out_width + w;
    const int corner = y0 * in_width + x0;    // may be negative: written only when inside
    for (int c = 0; c < channels; c++) {
        const float g = dout[c * plane];
        __global float* p = dinput + (n * channels + c) * in_plane;
        if (north && west) atomic_add_float(p + corner, w_nw * g);
        if (north && east) atomic_add_float(p + corner + 1, w_ne * g);
        if (south && west) atomic_add_float(p + corner + in_width, w_sw * g);
        if (south && east) atomic_add_float(p + corner + in_width + 1, w_se * g);
    }
}

__kernel void grid_sample_backward_grid(__global const float* input, __global const float* grid,
                                        __global const float* doutput, __global float* dgrid,
                                        const int batch, const int channels,
                                        const int in_height, const int in_width,
                                        const int out_height, const int out_width)
{
    const int w = get_global_id(0);
    const int h = get_global_id(1);
    const int n = get_global_id(2);
    if (w >= out_width || h >= out_height || n >= batch) return;
    const int point = (n * out_height + h) * out_width + w;
    const float x = grid[point * 2], y = grid[point * 2 + 1];
    const float ix = unnormalize(x, in_width);
    const float iy = unnormalize(y, in_height);
    int x0, y0;
    float tx, ty;
    float gx = 0.0f, gy = 0.0f;
    if (!(isfinite(x) && isfinite(y))) {
        gx = gy = NAN;
    } else if (bilinear_cell(ix, iy, in_width, in_height, &x0, &y0, &tx, &ty)) {
        const int plane = out_height * out_width;
        const int in_plane = in_height * in_width;
        const bool west = x0 >= 0, east = x0 + 1 < in_width, north = y0 >= 0, south = y0 + 1 < in_height;
        const int corner = y0 * in_width + x0;    // may be negative: read only when inside
        __global const float* dout = doutput + n * channels * plane + h * out_width + w;
        for (int c = 0; c < channels; c++) {
            __global const float* p = input + (n * channels + c) * in_plane;
            const float nw = (north && west) ? p[corner] : 0.0f;
            const float ne = (north && east) ? p[corner + 1] : 0.0f;
            const float sw = (south && west) ? p[corner + in_width] : 0.0f;
            const float se = (south && east) ? p[corner + in_width + 1] : 0.0f;
            const float g = dout[c * plane];
            // ∂value/∂ix and ∂value/∂iy of the bilinear blend inside the cell.
            gx += g * ((ne - nw) * (1.0f - ty) + (se - sw) * ty);
            gy += g * ((sw - nw) * (1.0f - tx) + (se - ne) * tx);
        }
    }
    // dix/dx = Win/2, diy/dy = Hin/2.
    dgrid[point * 2] = gx * (float)in_width * 0.5f;
    dgrid[point * 2 + 1] = gy * (float)in_height * 0.5f;
}
