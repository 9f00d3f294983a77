// mlcsc: OpenMP helpers (everything degrades to serial code without -fopenmp).
#pragma once

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mlcsc::internal {

inline int max_threads() {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace mlcsc::internal
