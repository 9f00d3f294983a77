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

/// body(i) for i in [0, n), on `threads` OpenMP threads (static schedule), or as a plain loop
/// when threads <= 1: a parallel region costs about a microsecond to enter even when its `if`
/// clause is false (measured: a third of the analyze of a batch of 64 digits, one correlation
/// per image, on one thread).
template <class Index, class Body>
void parallel_for(Index n, int threads, Body&& body) {
  if (threads <= 1) {
    for (Index i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (Index i = 0; i < n; ++i) body(i);
}

}  // namespace mlcsc::internal
