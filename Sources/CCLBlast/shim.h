// CLBlast's C API for Swift (GEMM and parameter overrides).
#ifndef HEED_CCLBLAST_SHIM_H
#define HEED_CCLBLAST_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <clblast_c.h>
#endif
