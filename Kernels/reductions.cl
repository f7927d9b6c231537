// =================================================================================
// reductions.cl: reductions over one work-group, shared by several families. Not a
// program of its own: the host puts this file ahead of the families that use it
// (KernelLibrary.preludesOfFamily: attention, grouped_conv, normalization, pooling, softmax).
//
// group_sum(scratch, value, items)   Σ value over the group
// group_max(scratch, value, items)   max value over the group (fmax: NaN is ignored)
//
// Contract, for every call:
//   - items is the work-group's size in dimension 0 (get_local_size(0)) and a power of
//     two (1 included); the caller passes its compile-time knob (ATTENTION_WG, BN_WG,
//     GROUPED_CONV_WG, POOL_WG, SOFTMAX_WG), so after inlining the loop bounds are constants.
//   - scratch: __local float[items], owned by the call while it runs.
//   - every item of the group calls it, on uniform control flow (it has barriers).
//   - every item gets the result, and scratch may be reused as soon as it returns
//     (the last barrier keeps a fast item from overwriting scratch[0] early).
//
// Order of operations (results depend on it, bit for bit): item lid stores its value
// in scratch[lid]; then for span = items/2, items/4, …, 1, each item lid < span
// combines scratch[lid] with scratch[lid + span] into scratch[lid]. A fixed pairwise
// tree, whatever the device.
// =================================================================================

float group_sum(__local float* scratch, float value, const int items)
{
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = items / 2; span > 0; span >>= 1) {
        if (lid < span) scratch[lid] += scratch[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

float group_max(__local float* scratch, float value, const int items)
{
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = items / 2; span > 0; span >>= 1) {
        if (lid < span) scratch[lid] = fmax(scratch[lid], scratch[lid + span]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}
