// =================================================================================
// blas.cl: small BLAS-like helpers around CLBlast.
//
// scale_matrix: C ← β·C for a batch of row-major matrices, the whole of a GEMM
//   whose inner dimension k is 0 (CLBlast rejects k = 0; BLAS defines the result
//   as β·C). With β = 0 the matrix is set to 0 without being read, as BLAS does,
//   so NaN already in C does not survive.
//
//   C: float[c_offset + (batch-1)·c_stride + (rows-1)·ldc + cols]
//   Work item (j, i, b) owns C[c_offset + b·c_stride + i·ldc + j];
//   global size (cols, rows, batch), any local size.
// =================================================================================

__kernel void scale_matrix(__global float* c,
                           const int c_offset, const int ldc, const int c_stride,
                           const int rows, const int cols,
                           const float beta)
{
    const int j = get_global_id(0);
    const int i = get_global_id(1);
    const int b = get_global_id(2);
    if (j >= cols || i >= rows) return;
    const int index = c_offset + b * c_stride + i * ldc + j;
    c[index] = (beta == 0.0f) ? 0.0f : beta * c[index];
}
