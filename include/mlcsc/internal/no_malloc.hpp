// mlcsc: the malloc guard around iteration loops. Built with EIGEN_RUNTIME_NO_MALLOC, every
// solver forbids Eigen heap allocation for the duration of its iteration loop, so a test (or a
// user's debug build) fails loudly if a loop allocates; otherwise this compiles to nothing.
#pragma once

#include <Eigen/Core>

namespace mlcsc::internal {

class NoMallocScope {
 public:
#ifdef EIGEN_RUNTIME_NO_MALLOC
  NoMallocScope() : previous_(Eigen::internal::is_malloc_allowed()) {
    Eigen::internal::set_is_malloc_allowed(false);
  }
  ~NoMallocScope() {
    Eigen::internal::set_is_malloc_allowed(previous_);
  }

 private:
  bool previous_;
#else
  NoMallocScope() {}  // user-provided, so an unused guard draws no warning
#endif
 public:
  NoMallocScope(const NoMallocScope&) = delete;
  NoMallocScope& operator=(const NoMallocScope&) = delete;
};

}  // namespace mlcsc::internal
