// CLBlast's kernel tuners (C++ templates in clblast.h) behind a C interface, for Swift.
#ifndef HEED_CLBLAST_TUNER_H
#define HEED_CLBLAST_TUNER_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Runs clblast::TuneXgemm<float> on `queue` at m x n x k, trying `fraction` (0 < fraction <= 1)
// of its search space. On success returns 0 and sets *names and *values to `*count` parameters
// of the best configuration (free them with heed_clblast_free_parameters); otherwise returns
// CLBlast's status code (non-zero), or -10000 when CLBlast threw.
int heed_clblast_tune_xgemm(cl_command_queue queue, size_t m, size_t n, size_t k, double fraction,
                            char ***names, size_t **values, size_t *count);

// clblast::RetrieveParameters for single precision on `device`: the parameters CLBlast would
// use now for `kernel` ("Xgemm", "GemmRoutine", ...: its database's, or an override's).
// Same results as above.
int heed_clblast_retrieve(cl_device_id device, const char *kernel, char ***names, size_t **values, size_t *count);

void heed_clblast_free_parameters(char **names, size_t *values, size_t count);

#ifdef __cplusplus
}
#endif
#endif
