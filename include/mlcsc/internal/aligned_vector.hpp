// mlcsc: a std::vector whose data starts on a 64-byte boundary (the widest SIMD packet).
//
// Eigen's vectorized loops over an unaligned Map split into a scalar head, a packet body and a
// scalar tail, and the split follows the address. With FMA the packet and the scalar code round
// differently, so a buffer placed at another address by the allocator gives results that differ
// in the last bits: the same seed would not give the same dictionary twice in one process.
// Buffers that Eigen computes on (complex spectra above all) are AlignedVector, so the split,
// and the result, is the same on every run. The allocator is C++17's aligned operator new, not
// Eigen's: these buffers may be made inside a solver's loop on first use, outside Eigen's malloc
// guard (internal/no_malloc.hpp), like conv/kernels/workspace.hpp's scratch.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace mlcsc::internal {

template <class T>
struct Align64Allocator {
  using value_type = T;
  static constexpr std::size_t alignment = 64;

  Align64Allocator() noexcept = default;
  template <class U>
  Align64Allocator(const Align64Allocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(alignment)));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(alignment)); }

  template <class U>
  bool operator==(const Align64Allocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const Align64Allocator<U>&) const noexcept {
    return false;
  }
};

template <class T>
using AlignedVector = std::vector<T, Align64Allocator<T>>;

}  // namespace mlcsc::internal
