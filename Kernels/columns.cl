// =================================================================================
// columns.cl: the arithmetic of column matrices (im2col), shared by conv (im2col,
// col2im) and gemm_cpu (gemm_pack_columns, which packs a column matrix straight from
// the images). Not a program of its own: the host puts this file ahead of those
// families (KernelLibrary.preludesOfFamily).
//
// An output position (y, x) reads, through kernel tap (i, j), input row y·stride − pad + i
// and column x·stride − pad + j; it is padding (a zero) when either lies outside the image.
// =================================================================================

// The first output column x whose input column x·stride − pad + j is ≥ `bound`
// (x ≥ ceil((bound + pad − j) / stride), and 0 when that is negative). Stride 1, the
// common case, needs no division: callers run this per row of columns.
int first_column_at_least(const int bound, const int pad, const int j, const int stride)
{
    const int a = bound + pad - j;
    if (a <= 0) return 0;
    return stride == 1 ? a : (a + stride - 1) / stride;
}
