// =================================================================================
// layout.cl: copies of column blocks between row-major matrices (see LayoutOps).
//
// part:  float[outer · width]          part[o·width + i]
// whole: float[outer · whole_width]    whole[o·whole_width + offset + i]
//
// insert_columns:  whole ← part in the block (other columns untouched)
// extract_columns: part ← whole's block
// Work item (i, o) copies one element; global size (width, outer), any local size.
// Pure copies: results are exact on every device.
// =================================================================================

__kernel void insert_columns(__global const float* part, __global float* whole,
                             const int outer, const int width, const int whole_width, const int offset)
{
    const int i = get_global_id(0);
    const int o = get_global_id(1);
    if (i >= width || o >= outer) return;
    whole[o * whole_width + offset + i] = part[o * width + i];
}

__kernel void extract_columns(__global const float* whole, __global float* part,
                              const int outer, const int width, const int whole_width, const int offset)
{
    const int i = get_global_id(0);
    const int o = get_global_id(1);
    if (i >= width || o >= outer) return;
    part[o * width + i] = whole[o * whole_width + offset + i];
}
