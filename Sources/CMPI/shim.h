// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, ...) are macros over addresses of
// library globals, which Swift cannot import: these inline functions return them.
#ifndef HEED_CMPI_SHIM_H
#define HEED_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm heed_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype heed_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype heed_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype heed_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op heed_mpi_sum(void) { return MPI_SUM; }
static inline void *heed_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler heed_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Info heed_mpi_info_null(void) { return MPI_INFO_NULL; }

#endif
