// mlcsc: matrix products that allocate nothing once warm, for the solvers' iteration loops.
//
//   C = op(A) B   (or C += op(A) B),  column-major, op(A) = A or A^T
//
// Eigen's `C.noalias() = A * B` packs its operands into buffers that it takes from the heap once
// they exceed EIGEN_STACK_ALLOCATION_LIMIT (128 KiB): at a batch of 10,000 signals every product
// allocates, and with Eigen's own OpenMP every product also allocates its thread bookkeeping. Here
// the same GEBP kernels of Eigen (general_matrix_matrix_product, the code behind every Eigen GEMM,
// so the speed is Eigen's) run on packing buffers owned by the calling thread, grown on its first
// product of a given size and then reused; the product is split over OpenMP threads by columns of
// C (each column of a batch is an independent signal), each thread with its own buffers.
// Small products (Eigen's own cut-off, m + n + k < 20) and matrix-vector products go through
// Eigen's lazy and GEMV paths, which never allocate.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>

#include <Eigen/Core>

#include "parallel.hpp"

namespace mlcsc::internal {

/// A 64-byte aligned buffer of this thread that only grows (operator new with std::align_val_t:
/// outside Eigen's allocator, so its one-time growth does not trip EIGEN_RUNTIME_NO_MALLOC).
template <class Scalar>
class GrowingBuffer {
 public:
  Scalar* get(Eigen::Index n) {
    if (n > size_) {
      ptr_.reset(static_cast<Scalar*>(::operator new(std::size_t(n) * sizeof(Scalar), kAlign)));
      size_ = n;
    }
    return ptr_.get();
  }

 private:
  static constexpr std::align_val_t kAlign{64};
  struct Free {
    void operator()(Scalar* p) const { ::operator delete(p, kAlign); }
  };
  std::unique_ptr<Scalar, Free> ptr_;
  Eigen::Index size_ = 0;
};

/// Eigen's blocking (the kc x mc and kc x nc packing panels) pointing at this thread's buffers.
template <class Scalar>
class ThreadBlocking : public Eigen::internal::level3_blocking<Scalar, Scalar> {
 public:
  ThreadBlocking(Eigen::Index m, Eigen::Index n, Eigen::Index k) {
    this->m_mc = m;
    this->m_nc = n;
    this->m_kc = k;
    Eigen::internal::computeProductBlockingSizes<Scalar, Scalar, 1>(this->m_kc, this->m_mc,
                                                                    this->m_nc, Eigen::Index(1));
    thread_local GrowingBuffer<Scalar> a, b;
    this->m_blockA = a.get(this->m_mc * this->m_kc);
    this->m_blockB = b.get(this->m_kc * this->m_nc);
  }
};

/// C (m x n, leading dimension ldc) = op(A) B, or += when `accumulate`. op(A) is m x k: A is
/// m x k (lda >= m) or, with `transpose_a`, k x m (lda >= k); B is k x n (ldb >= k).
template <class Scalar>
void gemm(const Scalar* A, Eigen::Index lda, bool transpose_a, const Scalar* B, Eigen::Index ldb,
          Scalar* C, Eigen::Index ldc, Eigen::Index m, Eigen::Index n, Eigen::Index k,
          bool accumulate) {
  using Eigen::Index;
  using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Map = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  using MapOut = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
  if (m == 0 || n == 0) return;
  MapOut Cm(C, m, n, Eigen::OuterStride<>(ldc));
  if (k == 0) {
    if (!accumulate) Cm.setZero();
    return;
  }
  const Map Am(A, transpose_a ? k : m, transpose_a ? m : k, Eigen::OuterStride<>(lda));
  const Map Bm(B, k, n, Eigen::OuterStride<>(ldb));
  if (m + n + k < 20 || n == 1) {  // Eigen's coefficient-based and GEMV paths: no allocation
    if (n == 1) {
      auto c = Cm.col(0);
      if (transpose_a)
        accumulate ? c.noalias() += Am.transpose() * Bm.col(0)
                   : c.noalias() = Am.transpose() * Bm.col(0);
      else
        accumulate ? c.noalias() += Am * Bm.col(0) : c.noalias() = Am * Bm.col(0);
    } else if (transpose_a) {
      accumulate ? Cm.noalias() += Am.transpose().lazyProduct(Bm)
                 : Cm.noalias() = Am.transpose().lazyProduct(Bm);
    } else {
      accumulate ? Cm.noalias() += Am.lazyProduct(Bm) : Cm.noalias() = Am.lazyProduct(Bm);
    }
    return;
  }
  // Columns per thread: whole register panels (Eigen's nr = 4 columns), at least 32 of them.
  const double flops = 2.0 * double(m) * double(n) * double(k);
  const int threads = flops >= 4e6 ? std::max(1, std::min<int>(max_threads(), int(n / 32))) : 1;
  auto panel = [&](Index j0, Index j1) {
    if (j1 <= j0) return;
    if (!accumulate) Cm.middleCols(j0, j1 - j0).setZero();
    ThreadBlocking<Scalar> blocking(m, j1 - j0, k);
    if (transpose_a)
      Eigen::internal::general_matrix_matrix_product<Index, Scalar, Eigen::RowMajor, false, Scalar,
                                                     Eigen::ColMajor, false, Eigen::ColMajor,
                                                     1>::run(m, j1 - j0, k, A, lda, B + j0 * ldb,
                                                             ldb, C + j0 * ldc, 1, ldc, Scalar(1),
                                                             blocking, nullptr);
    else
      Eigen::internal::general_matrix_matrix_product<Index, Scalar, Eigen::ColMajor, false, Scalar,
                                                     Eigen::ColMajor, false, Eigen::ColMajor,
                                                     1>::run(m, j1 - j0, k, A, lda, B + j0 * ldb,
                                                             ldb, C + j0 * ldc, 1, ldc, Scalar(1),
                                                             blocking, nullptr);
  };
  if (threads == 1) {
    panel(0, n);
    return;
  }
  parallel_for(Index(threads), threads, [&](Index t) {
    const Index per = (n + threads - 1) / threads;
    const Index j0 = std::min(n, (t * per + 3) / 4 * 4),
                j1 = std::min(n, ((t + 1) * per + 3) / 4 * 4);
    panel(j0, t + 1 == threads ? n : j1);
  });
}

/// dst = op(A) * B for Eigen column-major operands with unit inner stride (A = matrix(),
/// B and dst plain or mapped matrices or blocks of them); dst is sized by the caller.
template <class Scalar, class DA, class DB, class DC>
void gemm(const Eigen::MatrixBase<DA>& A, bool transpose_a, const Eigen::MatrixBase<DB>& B,
          Eigen::MatrixBase<DC>& dst, bool accumulate = false) {
  static_assert(!DA::IsRowMajor && !DB::IsRowMajor && !DC::IsRowMajor, "column-major operands");
  const Eigen::Index m = transpose_a ? A.cols() : A.rows();
  const Eigen::Index k = transpose_a ? A.rows() : A.cols();
  eigen_assert(B.rows() == k && dst.rows() == m && dst.cols() == B.cols());
  gemm<Scalar>(A.derived().data(), A.derived().outerStride(), transpose_a, B.derived().data(),
               B.derived().outerStride(), dst.derived().data(), dst.derived().outerStride(), m,
               B.cols(), k, accumulate);
}

}  // namespace mlcsc::internal
