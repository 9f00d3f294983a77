// Test helper: Eigen's malloc guard, on, and made to throw. Included first (before any Eigen
// header) by the no-allocation tests. Every solver wraps its iteration loop in
// internal::NoMallocScope; with EIGEN_RUNTIME_NO_MALLOC, Eigen then checks every heap allocation
// with eigen_assert. Here eigen_assert throws mlcsc_test::EigenAssertion, active in Release builds
// too, so an allocation inside a loop fails the test: as an exception on the calling thread, or
// (inside an OpenMP region, where exceptions cannot escape) by terminating the test.
#pragma once

#ifndef EIGEN_RUNTIME_NO_MALLOC
#define EIGEN_RUNTIME_NO_MALLOC
#endif

#include <stdexcept>

namespace mlcsc_test {
struct EigenAssertion : std::logic_error {
  using std::logic_error::logic_error;
};
}  // namespace mlcsc_test

#ifdef eigen_assert
#error "malloc_guard.hpp must be included before any Eigen header"
#endif
#define eigen_assert(x)                               \
  do {                                                \
    if (!(x)) throw ::mlcsc_test::EigenAssertion(#x); \
  } while (false)
