// =================================================================================
// conv.cl: the non-GEMM parts of 2-D convolution and of linear layers.
//
// Convolution runs as im2col + GEMM on a chunk of `chunk` images at a time. The
// column matrix of a chunk has one row per (c, i, j) tap of the kernel and one column
// per (image, output position):
//
//   col: float[C·kh·kw][chunk·P],  P = H'·W',
//        col[((c·kh + i)·kw + j)·(chunk·P) + m·P + y·W' + x]
//          = input[n0 + m, c, y·s − pad + i, x·s − pad + j]   (0 outside the image)
//
// so that weight (O × C·kh·kw) · col is the output of the chunk as (O, chunk·P).
// conv2d_im2col writes it for CLBlast; Heed's packed GEMM reads its entries straight
// from the images instead (gemm_pack_columns in gemm_cpu.cl). col2im always runs: the
// input gradient's GEMM writes a column-shaped matrix.
//
// conv2d_im2col:  input (N, C, H, W) → col for images n0 ..< n0 + chunk.
//   Work item (b, m·C·kh·kw + r) writes output rows y = b·rows ..< (b + 1)·rows of tap r
//   of image m: W' entries col[r][m·P + y·W' + x] a row, zeros left and right of the
//   image and a strided (contiguous for stride 1) copy of one input row between;
//   global (⌈H'/rows⌉, chunk·C·kh·kw).
// conv2d_col2im:  col-shaped gradient → ∂L/∂input of images n0 ..< n0 + chunk,
//   each input element gathering the ≤ kh·kw column entries that read it (no atomics,
//   deterministic: taps in (i, j) order). Work item (b, m·C + c) owns input rows
//   h = b·rows ..< (b + 1)·rows of channel c of image m; global (⌈H/rows⌉, chunk·C).
//   Both give each work item whole rows: the index arithmetic (divisions) runs once per
//   item, and the inner loops are plain copies and adds over contiguous memory, which a
//   CPU device vectorises. `rows` (an argument) is the host's choice (DeviceShapes).
// conv2d_im2col_elements, conv2d_col2im_elements: the same results, one element per work
//   item, for GPUs (DeviceShapes.columns): adjacent items write adjacent columns (x, or w),
//   so stores and stride-1 loads coalesce, and no item loops over a row. im2col: item
//   (x, y, m·C·kh·kw + r) writes col[r][m·P + y·W' + x]; global (W', H', chunk·C·kh·kw).
//   col2im: item (w, h, m·C + c) owns ∂L/∂input[n0 + m, c, h, w] and adds its taps in the
//   (i, j) order conv2d_col2im adds them, so both give the same bits; global (W, H, chunk·C).
// conv2d_pack_rows:  ∂L/∂output of a chunk (chunk, O, P) → (O, chunk·P), so the
//   weight gradient of a chunk is one GEMM, packed · colᵀ, and its input gradient
//   one GEMM, weightᵀ · packed (for CLBlast; the packed GEMM reads the planes
//   directly, gemm_pack_planes in gemm_cpu.cl). Work item (q, o); global (chunk·P, O).
// conv2d_unpack_rows:  the inverse, (O, chunk·P) → output (chunk, O, P) in NCHW (for
//   CLBlast; the packed GEMM writes the planes itself).
//   Work item (q, o); global (chunk·P, O).
// bias_forward:   y[n, o, p] += bias[o] for y (N, O, P); linear layers use P = 1.
//   Work item e owns y[e]; global N·O·P.
// bias_backward:  db[o] = Σ_{n,p} dy[n, o, p]. One work-group of BIAS_GROUP items per
//   channel: strided partial sums, then a tree in local memory.
//   Global (BIAS_GROUP·O), local (BIAS_GROUP).
//
// Indices are int: the host refuses buffers of 2³¹ elements or more.
// =================================================================================

#ifndef BIAS_GROUP
#define BIAS_GROUP 64 // work-items per channel in bias_backward; a power of two
#endif

__kernel void conv2d_im2col(__global const float* input, __global float* col,
                            const int n0, const int chunk,
                            const int channels, const int height, const int width,
                            const int kernel_h, const int kernel_w, const int stride, const int pad,
                            const int out_h, const int out_w, const int rows)
{
    const int y0 = get_global_id(0) * rows;
    const int z = get_global_id(1);
    const int taps = channels * kernel_h * kernel_w;
    if (y0 >= out_h || z >= chunk * taps) return;
    const int m = z / taps;
    const int r = z % taps;
    const int c = r / (kernel_h * kernel_w);
    const int i = (r / kernel_w) % kernel_h;
    const int j = r % kernel_w;
    __global const float* plane = input + ((size_t)(n0 + m) * channels + c) * height * width;
    // Columns [begin, end) read inside the image; the rest are padding.
    const int begin = min(first_column_at_least(0, pad, j, stride), out_w);
    const int end = max(begin, min(first_column_at_least(width, pad, j, stride), out_w));
    for (int y = y0; y < min(y0 + rows, out_h); ++y) {
        const int h = y * stride - pad + i;
        __global float* out = col + (size_t)r * chunk * out_h * out_w + (size_t)(m * out_h + y) * out_w;
        if (h < 0 || h >= height) {
            for (int x = 0; x < out_w; ++x) out[x] = 0.0f;
            continue;
        }
        __global const float* in = plane + (size_t)h * width;
        for (int x = 0; x < begin; ++x) out[x] = 0.0f;
        if (stride == 1) {
            for (int x = begin; x < end; ++x) out[x] = in[x - pad + j];
        } else {
            for (int x = begin; x < end; ++x) out[x] = in[x * stride - pad + j];
        }
        for (int x = end; x < out_w; ++x) out[x] = 0.0f;
    }
}

__kernel void conv2d_col2im(__global const float* col, __global float* input_gradient,
                            const int n0, const int chunk,
                            const int channels, const int height, const int width,
                            const int kernel_h, const int kernel_w, const int stride, const int pad,
                            const int out_h, const int out_w, const int rows)
{
    const int h0 = get_global_id(0) * rows;
    const int mc = get_global_id(1);
    if (h0 >= height || mc >= chunk * channels) return;
    const int m = mc / channels;
    const int c = mc % channels;
    const int plane = out_h * out_w;
    const size_t columns = (size_t)chunk * plane;
    for (int h = h0; h < min(h0 + rows, height); ++h) {
        __global float* out = input_gradient + (((size_t)(n0 + m) * channels + c) * height + h) * width;
        for (int w = 0; w < width; ++w) out[w] = 0.0f;
        for (int i = 0; i < kernel_h; ++i) {
            // Output row y read input row h through kernel row i when y·s − pad + i = h.
            const int ys = h + pad - i;
            if (ys < 0 || ys % stride != 0 || ys / stride >= out_h) continue;
            const int y = ys / stride;
            for (int j = 0; j < kernel_w; ++j) {
                const int r = (c * kernel_h + i) * kernel_w + j;
                __global const float* source = col + r * columns + (size_t)m * plane + (size_t)y * out_w;
                if (stride == 1) {
                    // Input column w was read by output column x = w + pad − j, when 0 ≤ x < W'.
                    const int begin = max(0, j - pad);
                    const int end = min(width, out_w + j - pad);
                    for (int w = begin; w < end; ++w) out[w] += source[w + pad - j];
                } else {
                    for (int w = 0; w < width; ++w) {
                        const int xs = w + pad - j;
                        if (xs >= 0 && xs % stride == 0 && xs / stride < out_w) out[w] += source[xs / stride];
                    }
                }
            }
        }
    }
}

__kernel void conv2d_im2col_elements(__global const float* input, __global float* col,
                                     const int n0, const int chunk,
                                     const int channels, const int height, const int width,
                                     const int kernel_h, const int kernel_w, const int stride, const int pad,
                                     const int out_h, const int out_w)
{
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int z = get_global_id(2);
    const int taps = channels * kernel_h * kernel_w;
    if (x >= out_w || y >= out_h || z >= chunk * taps) return;
    const int m = z / taps;
    const int r = z % taps;
    const int c = r / (kernel_h * kernel_w);
    const int i = (r / kernel_w) % kernel_h;
    const int j = r % kernel_w;
    const int h = y * stride - pad + i;
    const int w = x * stride - pad + j;
    const bool inside = h >= 0 && h < height && w >= 0 && w < width;
    col[(size_t)r * chunk * out_h * out_w + (size_t)(m * out_h + y) * out_w + x] =
        inside ? input[(((size_t)(n0 + m) * channels + c) * height + h) * width + w] : 0.0f;
}

__kernel void conv2d_col2im_elements(__global const float* col, __global float* input_gradient,
                                     const int n0, const int chunk,
                                     const int channels, const int height, const int width,
                                     const int kernel_h, const int kernel_w, const int stride, const int pad,
                                     const int out_h, const int out_w)
{
    const int w = get_global_id(0);
    const int h = get_global_id(1);
    const int mc = get_global_id(2);
    if (w >= width || h >= height || mc >= chunk * channels) return;
    const int m = mc / channels;
    const int c = mc % channels;
    const int plane = out_h * out_w;
    const size_t columns = (size_t)chunk * plane;
    float sum = 0.0f;
    for (int i = 0; i < kernel_h; ++i) {
        const int ys = h + pad - i;
        if (ys < 0 || ys % stride != 0 || ys / stride >= out_h) continue;
        const int y = ys / stride;
        for (int j = 0; j < kernel_w; ++j) {
            const int xs = w + pad - j;
            if (xs < 0 || xs % stride != 0 || xs / stride >= out_w) continue;
            const int r = (c * kernel_h + i) * kernel_w + j;
            sum += col[r * columns + (size_t)m * plane + (size_t)y * out_w + xs / stride];
        }
    }
    input_gradient[(((size_t)(n0 + m) * channels + c) * height + h) * width + w] = sum;
}

__kernel void conv2d_pack_rows(__global const float* output_gradient, __global float* packed,
                               const int n0, const int chunk, const int out_channels, const int plane)
{
    const int q = get_global_id(0);
    const int o = get_global_id(1);
    if (q >= chunk * plane || o >= out_channels) return;
    const int m = q / plane;
    const int p = q % plane;
    packed[o * chunk * plane + q] = output_gradient[((n0 + m) * out_channels + o) * plane + p];
}

__kernel void conv2d_unpack_rows(__global const float* packed, __global float* output,
                                 const int n0, const int chunk, const int out_channels, const int plane)
{
    const int q = get_global_id(0);
    const int o = get_global_id(1);
    if (q >= chunk * plane || o >= out_channels) return;
    const int m = q / plane;
    const int p = q % plane;
    output[((n0 + m) * out_channels + o) * plane + p] = packed[o * chunk * plane + q];
}

__kernel void bias_forward(__global float* y, __global const float* bias,
                           const int batch, const int channels, const int plane)
{
    const int e = get_global_id(0);
    if (e >= batch * channels * plane) return;
    y[e] += bias[(e / plane) % channels];
}

__kernel void bias_backward(__global const float* dy, __global float* bias_gradient,
                            const int batch, const int channels, const int plane)
{
    __local float partial[BIAS_GROUP];
    const int o = get_group_id(0);
    const int t = get_local_id(0);
    float sum = 0.0f;
    for (int e = t; e < batch * plane; e += BIAS_GROUP) {
        sum += dy[((e / plane) * channels + o) * plane + e % plane];
    }
    partial[t] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = BIAS_GROUP / 2; step > 0; step /= 2) {
        if (t < step) partial[t] += partial[t + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) bias_gradient[o] = partial[0];
}
