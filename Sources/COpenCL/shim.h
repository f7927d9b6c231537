// OpenCL C API for Swift. Heed targets the OpenCL 1.2 host API, which every
// driver it meets (PoCL, NVIDIA, AMD, Intel) implements; newer entry points are
// not used, so the deprecation warnings of 2.x/3.x headers stay quiet.
#ifndef HEED_COPENCL_SHIM_H
#define HEED_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>   // CL_PLATFORM_NOT_FOUND_KHR, the ICD loader's "no platform"
#endif
