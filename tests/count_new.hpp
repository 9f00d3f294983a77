// Test helper: replaces the global operator new (plain and aligned) of the test executable that
// includes it (once, in one translation unit) with versions that count their calls in
// mlcsc_test::g_news, so a test can check that code makes no heap allocation at all, outside
// Eigen's allocator too. AddressSanitizer and ThreadSanitizer bring their own operator new;
// replacing it there mixes the allocators (or fails to link), so under either nothing is
// replaced and MLCSC_COUNT_NEW is 0.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace mlcsc_test {
inline std::atomic<long> g_news{0};
}  // namespace mlcsc_test

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)  // g++
#define MLCSC_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)  // clang
#define MLCSC_UNDER_ASAN 1
#endif
#endif

#if defined(MLCSC_UNDER_ASAN)
#define MLCSC_COUNT_NEW 0
#else
#define MLCSC_COUNT_NEW 1
void* operator new(std::size_t n) {
  mlcsc_test::g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  mlcsc_test::g_news.fetch_add(1, std::memory_order_relaxed);
  const std::size_t al = std::size_t(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
// g++ sees these free() calls next to the replaced operator new in one translation unit and flags
// a malloc / new mismatch that is not one: the operator new above allocates with malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
#endif
