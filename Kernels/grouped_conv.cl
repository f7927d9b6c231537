// =================================================================================
// grouped_conv.cl: grouped 2-D convolution, PyTorch's conv2d(..., groups = G), direct.
//
// NCHW float32. input (N, C, H, W), weight (O, C/G, kh, kw), output (N, O, H', W');
// output channel o belongs to group g = o / (O/G) and reads input channels
// g·C/G ..< (g + 1)·C/G. Every kernel owns one element of what it writes and sums its
// products in a fixed order (deterministic, no atomics):
//
// grouped_conv2d_forward:         work item e = ((n·O + o)·H' + y)·W' + x owns output[e]:
//   the C/G·kh·kw products of its window; the bias is added after (conv.cl bias_forward).
//   global N·O·H'·W'.
// grouped_conv2d_backward_input:  work item e = ((n·C + c)·H + h)·W + w owns ∂input[e]:
//   over the O/G output channels of its group and the taps (i, j) whose window met it
//   (h + pad − i a multiple of the stride, inside the output). global N·C·H·W.
// grouped_conv2d_backward_weight: work item e = ((o·C/G + c)·kh + i)·kw + j owns ∂weight[e]:
//   over the batch and the output positions. global O·C/G·kh·kw.
// grouped_conv2d_backward_weight_grouped: the same for GPUs (DeviceShapes.groupedWeightGradient),
//   where O·C/G·kh·kw items, each looping over N·H'·W', would leave most of the chip idle:
//   group e of GROUPED_CONV_WG items strides over the N·H'·W' output positions, then
//   group_sum. global O·C/G·kh·kw·GROUPED_CONV_WG, local GROUPED_CONV_WG.
//
// Indices are int: the host refuses buffers of 2³¹ elements or more.
// =================================================================================

#ifndef GROUPED_CONV_WG
#define GROUPED_CONV_WG 64 // work items per weight element in grouped_conv2d_backward_weight_grouped; a power of two
#endif

// group_sum (over GROUPED_CONV_WG items) comes from reductions.cl, which the host puts ahead of this file.

// Weight element e = ((o·C/G + c)·kh + i)·kw + j: its output channel o, the input channel
// g·C/G + c it reads (g = o's group) and its tap (i, j).
typedef struct { int o, channel, i, j; } weight_tap;

weight_tap weight_tap_of(const int e, const int channels, const int groups, const int out_channels,
                         const int kernel_h, const int kernel_w)
{
    const int group_in = channels / groups;
    weight_tap w;
    w.j = e % kernel_w;
    w.i = (e / kernel_w) % kernel_h;
    w.o = e / (kernel_w * kernel_h * group_in);
    w.channel = w.o / (out_channels / groups) * group_in + (e / (kernel_w * kernel_h)) % group_in;
    return w;
}

__kernel void grouped_conv2d_forward(__global const float* input, __global const float* weight,
                                     __global float* output,
                                     const int channels, const int height, const int width,
                                     const int out_channels, const int groups,
                                     const int kernel_h, const int kernel_w, const int stride, const int pad,
                                     const int out_h, const int out_w)
{
    const int e = get_global_id(0);
    const int x = e % out_w;
    const int y = (e / out_w) % out_h;
    const int o = (e / (out_w * out_h)) % out_channels;
    const int n = e / (out_w * out_h * out_channels);
    const int group_in = channels / groups;
    const int first_channel = o / (out_channels / groups) * group_in;
    float sum = 0.0f;
    for (int c = 0; c < group_in; ++c) {
        __global const float* plane = input + (n * channels + first_channel + c) * height * width;
        __global const float* taps = weight + (o * group_in + c) * kernel_h * kernel_w;
        for (int i = 0; i < kernel_h; ++i) {
            const int row = y * stride - pad + i;
            if (row < 0 || row >= height) continue;
            for (int j = 0; j < kernel_w; ++j) {
                const int column = x * stride - pad + j;
                if (column < 0 || column >= width) continue;
                sum = fma(taps[i * kernel_w + j], plane[row * width + column], sum);
            }
        }
    }
    output[e] = sum;
}

__kernel void grouped_conv2d_backward_input(__global const float* output_gradient, __global const float* weight,
                                            __global float* input_gradient,
                                            const int channels, const int height, const int width,
                                            const int out_channels, const int groups,
                                            const int kernel_h, const int kernel_w, const int stride, const int pad,
                                            const int out_h, const int out_w)
{
    const int e = get_global_id(0);
    const int column = e % width;
    const int row = (e / width) % height;
    const int channel = (e / (width * height)) % channels;
    const int n = e / (width * height * channels);
    const int group_in = channels / groups;
    const int out_per_group = out_channels / groups;
    const int c = channel % group_in;
    const int first_output = channel / group_in * out_per_group;
    float sum = 0.0f;
    for (int k = 0; k < out_per_group; ++k) {
        const int o = first_output + k;
        __global const float* gradient = output_gradient + (n * out_channels + o) * out_h * out_w;
        __global const float* taps = weight + (o * group_in + c) * kernel_h * kernel_w;
        for (int i = 0; i < kernel_h; ++i) {
            const int shifted_row = row + pad - i;
            if (shifted_row < 0 || shifted_row % stride != 0 || shifted_row / stride >= out_h) continue;
            for (int j = 0; j < kernel_w; ++j) {
                const int shifted_column = column + pad - j;
                if (shifted_column < 0 || shifted_column % stride != 0 || shifted_column / stride >= out_w) continue;
                sum = fma(taps[i * kernel_w + j], gradient[shifted_row / stride * out_w + shifted_column / stride], sum);
            }
        }
    }
    input_gradient[e] = sum;
}

__kernel void grouped_conv2d_backward_weight(__global const float* input, __global const float* output_gradient,
                                             __global float* weight_gradient, const int batch,
                                             const int channels, const int height, const int width,
                                             const int out_channels, const int groups,
                                             const int kernel_h, const int kernel_w, const int stride, const int pad,
                                             const int out_h, const int out_w)
{
    const int e = get_global_id(0);
    const weight_tap w = weight_tap_of(e, channels, groups, out_channels, kernel_h, kernel_w);
    const int o = w.o, channel = w.channel, i = w.i, j = w.j;
    float sum = 0.0f;
    for (int n = 0; n < batch; ++n) {
        __global const float* plane = input + (n * channels + channel) * height * width;
        __global const float* gradient = output_gradient + (n * out_channels + o) * out_h * out_w;
        for (int y = 0; y < out_h; ++y) {
            const int row = y * stride - pad + i;
            if (row < 0 || row >= height) continue;
            for (int x = 0; x < out_w; ++x) {
                const int column = x * stride - pad + j;
                if (column < 0 || column >= width) continue;
                sum = fma(gradient[y * out_w + x], plane[row * width + column], sum);
            }
        }
    }
    weight_gradient[e] = sum;
}

__kernel void grouped_conv2d_backward_weight_grouped(__global const float* input, __global const float* output_gradient,
                                                     __global float* weight_gradient, const int batch,
                                                     const int channels, const int height, const int width,
                                                     const int out_channels, const int groups,
                                                     const int kernel_h, const int kernel_w, const int stride, const int pad,
                                                     const int out_h, const int out_w)
{
    __local float scratch[GROUPED_CONV_WG];
    const int e = get_group_id(0);
    const weight_tap w = weight_tap_of(e, channels, groups, out_channels, kernel_h, kernel_w);
    const int o = w.o, channel = w.channel, i = w.i, j = w.j;
    const int plane = out_h * out_w;
    float sum = 0.0f;
    for (int q = get_local_id(0); q < batch * plane; q += GROUPED_CONV_WG) {
        const int n = q / plane;
        const int y = (q % plane) / out_w;
        const int x = q % out_w;
        const int row = y * stride - pad + i;
        const int column = x * stride - pad + j;
        if (row < 0 || row >= height || column < 0 || column >= width) continue;
        sum = fma(output_gradient[(n * out_channels + o) * plane + q % plane],
                  input[((n * channels + channel) * height + row) * width + column], sum);
    }
    sum = group_sum(scratch, sum, GROUPED_CONV_WG);
    if (get_local_id(0) == 0) weight_gradient[e] = sum;
}
