// mlcsc: synthesis into few channels through a matrix product (the "col2im" form of the
// transposed convolution), for many filters and few signal channels (shape (a) of the benchmark:
// 64 filters 7 x 7 into 1 channel), where the direct kernel has no output maps to reuse its loads
// over (correlate.hpp).
//
//   x_c[p, q] = sum_{u,v} P_{c,u,v}[p - u + a, q - v + b],   P_{c,u,v} = sum_k d_{k,c}[u,v] gamma_k
//
// The K-contraction is one product per tile of code rows, P^T (rows*W x C kh kw) = Gamma^T (rows*W
// x K) * Dp (K x C kh kw), at GEMM speed (internal/gemm.hpp: Eigen's kernels, per-thread buffers,
// no allocation once warm); the shifted sums then cost C kh kw adds per output value, 1/K of the
// product. Boundaries: Zero drops the shifted values that fall outside the map, Circular wraps
// them, exactly as the direct kernel does.
#pragma once

#include <algorithm>

#include <Eigen/Core>

#include "../../internal/gemm.hpp"
#include "../../internal/parallel.hpp"
#include "../boundary.hpp"

namespace mlcsc::internal {

/// When the product form is used for synthesize (`cout` signal channels, `cin` = K filters): few
/// output channels (where the direct kernel cannot block over output maps) and enough filters for
/// the product's depth. Measured in bench_conv_kernels (shape (a): 1 channel, 64 filters 7 x 7).
inline bool use_gemm_synthesis(Eigen::Index cout, Eigen::Index cin, Eigen::Index kh,
                               Eigen::Index kw) {
  return cout <= 3 && cin >= 16 && kh * kw >= 9;
}

/// x = D gamma by the product form. `filters`: K x C x kh x kw (d_{k,c}[u,v]); gamma: K planes of
/// H x W; x: C planes of H x W (overwritten); anchor (a, b).
template <class Scalar>
void gemm_synthesize(const Scalar* filters, Eigen::Index K, Eigen::Index C, Eigen::Index kh,
                     Eigen::Index kw, Eigen::Index a, Eigen::Index b, Boundary bd,
                     const Scalar* gamma, Eigen::Index H, Eigen::Index W, Scalar* x) {
  using Eigen::Index;
  const Index T = C * kh * kw, HW = H * W;
  const bool circ = bd == Boundary::Circular;
  // Dp (K x T, column-major): Dp(k, t) = d_{k,c}[u,v], t = (c kh + u) kw + v
  thread_local GrowingBuffer<Scalar> packed;
  Scalar* Dp = packed.get(K * T);
  for (Index k = 0; k < K; ++k)
    for (Index t = 0; t < T; ++t) Dp[t * K + k] = filters[k * T + t];
  // Code rows are produced in blocks of R (R >= kh - 1, so an output row reads at most the last
  // two blocks); each thread takes a band of output rows and keeps its last two blocks of P.
  const Index budget = Index((1 << 19) / sizeof(Scalar));  // elements of one block: 512 KiB
  const Index R =
      std::max<Index>({kh - 1, 1, std::min<Index>(H + kh, budget / std::max<Index>(1, W * T))});
  const Index ldp = R * W;
  const double flops = 2.0 * double(K) * double(T) * double(HW);
  const int threads =
      flops >= 2e5 ? std::max(1, std::min<int>(max_threads(), int(H / std::max<Index>(R, 4)))) : 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const Index t = thread_id(), nt = threads;
    const Index i0 = H * t / nt, i1 = H * (t + 1) / nt;  // this thread's output rows
    thread_local GrowingBuffer<Scalar> pbuf;
    Scalar* const buf = pbuf.get(2 * ldp * T);
    const Index lo = i0 + a - (kh - 1), hi = i1 + a;  // the code rows they read
    auto row_plane = [&](Index r, Index tap) {        // P_tap over code row r (from its block)
      const Index j = (r - lo) / R;
      return buf + (j % 2) * ldp * T + tap * ldp + ((r - lo) % R) * W;
    };
    Index next = i0;
    for (Index s0 = lo, j = 0; s0 < hi && i1 > i0; s0 += R, ++j) {
      const Index s1 = std::min(hi, s0 + R);
      Scalar* const blk = buf + (j % 2) * ldp * T;
      for (Index r = s0; r < s1;) {  // the product over the rows that exist (or wrap)
        Index src = r, len = s1 - r;
        if (circ) {
          src = ((r % H) + H) % H;
          len = std::min(len, H - src);
        } else if (r < 0) {
          r += std::min(len, -r);  // above the map: zero, never read
          continue;
        } else if (r >= H) {
          break;  // below the map: never read
        } else {
          len = std::min(len, H - r);
        }
        gemm<Scalar>(gamma + src * W, HW, false, Dp, K, blk + (r - s0) * W, ldp, len * W, T, K,
                     false);
        r += len;
      }
      // the output rows whose code rows are all there now: p + a < s1
      for (; next < i1 && next + a < s1; ++next) {
        const Index p = next;
        for (Index c = 0; c < C; ++c) {
          Scalar* out = x + c * HW + p * W;
          std::fill(out, out + W, Scalar(0));
          for (Index u = 0; u < kh; ++u) {
            const Index r = p - u + a;
            if (!circ && (r < 0 || r >= H)) continue;
            for (Index v = 0; v < kw; ++v) {
              const Scalar* plane = row_plane(r, (c * kh + u) * kw + v);
              const Index shift = b - v;  // out[q] += plane[q + shift]
              const Index q0 = std::max<Index>(0, -shift), q1 = std::min<Index>(W, W - shift);
              if (q1 > q0)
                Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(out + q0, q1 - q0) +=
                    Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>(plane + q0 + shift,
                                                                              q1 - q0);
              if (circ) {  // the wrapped columns
                for (Index q = 0; q < std::min(q0, W); ++q)
                  out[q] += plane[((q + shift) % W + W) % W];
                for (Index q = std::max(q1, q0); q < W; ++q)
                  out[q] += plane[((q + shift) % W + W) % W];
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace mlcsc::internal
