// mlcsc: the convolution lowered to one matrix product per group of images (im2col; Chellapilla,
// Puri, Simard 2006), for the shapes the direct kernel serves badly: small code planes (a batch
// of small images, e.g. 28 x 28 digits through strided layers down to a 1 x 1 code, where a row
// of the code fills a fraction of a vector) and strided filters whose polyphase form multiplies
// zeros (conv_ops.hpp). With R = C kh kw the filter length and P = Hc Wc the code plane:
//   analyze     X (N P x R) = the patches, X[(n, p), (c, u, v)] = x_{n,c}[s i + d u - P_h, ...];
//               Gamma^T (N P x K) = X W^T, W the K x R filter matrix as stored (row-major K x R
//               is column-major R x K: no copy); then each image's P x K block is its K x P code.
//   synthesize  X^T (R x N P) = W^T Gamma (W^T is the stored filter matrix as it is, the code
//               transposed to K x N P), then every patch value is added back where it was read
//               from (col2im: the adjoint of the patch gather).
// Both products run on internal/gemm.hpp (Eigen's GEBP kernels on per-thread buffers: nothing
// allocated once warm). Images are taken in groups whose patch matrix stays within about 8 MiB.
// Outside pixels are 0 (Zero, Valid) or wrap (Circular), as in the direct kernel.
#pragma once

#include <algorithm>

#include <Eigen/Core>

#include "../../core/boundary.hpp"
#include "../../internal/gemm.hpp"
#include "../../internal/parallel.hpp"
#include "workspace.hpp"

namespace mlcsc::internal {

/// The geometry of one lowered correlation (per dimension: taps, stride, dilation, padding).
struct LoweredArgs {
  Index K, C, H, W, Ho, Wo;
  Index kh, kw, sh, sw, dh, dw, ph, pw;
  bool circular;
  Index R() const { return C * kh * kw; }
  Index P() const { return Ho * Wo; }
  /// Images per group: the N P x R patch matrix within about 8 MiB of Scalar.
  template <class Scalar>
  Index group(Index N) const {
    const Index budget = Index(8 * 1024 * 1024 / sizeof(Scalar));
    return std::clamp<Index>(budget / std::max<Index>(1, P() * R()), 1, N);
  }
};

namespace lowered_detail {

inline Index wrap(Index i, Index n) {
  return ((i % n) + n) % n;
}

// The input row that code row i reads at filter row u (-1: outside, a zero row).
inline Index input_row(const LoweredArgs& a, Index i, Index u) {
  const Index row = a.sh * i + a.dh * u - a.ph;
  if (a.circular) return wrap(row, a.H);
  return row < 0 || row >= a.H ? -1 : row;
}

// The code columns [j0, j1) whose input column s_w j + off lies inside [0, W).
inline void inside(const LoweredArgs& a, Index off, Index& j0, Index& j1) {
  j0 = off >= 0 ? 0 : (-off + a.sw - 1) / a.sw;
  j1 = a.W - off <= 0 ? 0 : (a.W - off + a.sw - 1) / a.sw;
  j0 = std::min(j0, a.Wo);
  j1 = std::clamp(j1, j0, a.Wo);
}

// dst[j] = src[s_w j + off] for the code row's Wo columns (0 or wrapped outside), with the inside
// range [j0, j1) of this column offset precomputed.
template <class Scalar>
EIGEN_ALWAYS_INLINE void gather_row(const LoweredArgs& a, const Scalar* src, Index off, Index j0,
                                    Index j1, Scalar* dst) {
  if (a.sw == 1) {
    for (Index j = j0; j < j1; ++j) dst[j] = src[j + off];
  } else {
    const Scalar* p = src + off;
    for (Index j = j0; j < j1; ++j) dst[j] = p[a.sw * j];
  }
  if (j0 > 0 || j1 < a.Wo) {
    for (Index j = 0; j < j0; ++j) dst[j] = a.circular ? src[wrap(a.sw * j + off, a.W)] : Scalar(0);
    for (Index j = j1; j < a.Wo; ++j)
      dst[j] = a.circular ? src[wrap(a.sw * j + off, a.W)] : Scalar(0);
  }
}

}  // namespace lowered_detail

namespace lowered_detail {

// Runs group(n0, g1, inner_threads) over the batch in groups of at most G images: with several
// threads and at least as many images, the groups are split over the threads (each group's
// gather, product and copy on one thread; about N / threads images per group), otherwise one
// group after the other with `threads` inside each.
template <class Group>
void for_groups(Index N, Index G, int threads, Group&& group) {
  const int T = max_threads();
  if (T > 1 && N >= T) {
    const Index g = std::max<Index>(1, std::min(G, (N + T - 1) / T));
    const Index groups = (N + g - 1) / g;
#pragma omp parallel for schedule(dynamic, 1) num_threads(T)
    for (Index b = 0; b < groups; ++b) group(b * g, std::min(g, N - b * g), 1);
    return;
  }
  for (Index n0 = 0; n0 < N; n0 += G) group(n0, std::min(G, N - n0), threads);
}

}  // namespace lowered_detail

/// gamma = D^T x for images [0, N) of x (N x C x H x W) into gamma (N x K x Ho x Wo); `filters`
/// is the K x (C kh kw) row-major filter matrix.
template <class Scalar>
void lowered_analyze(const LoweredArgs& a, const Scalar* filters, const Scalar* x, Index N,
                     Scalar* gamma) {
  const Index R = a.R(), P = a.P(), G = a.group<Scalar>(N);
  const int threads = double(R) * double(P) * double(N) >= 1e6 ? max_threads() : 1;
  lowered_detail::for_groups(N, G, threads, [&](Index n0, Index g1, int inner) {
    const Index M = g1 * P;
    Scalar* X = conv_scratch<Scalar>(ConvBuffer::Patches, M * R);
    Scalar* Y = conv_scratch<Scalar>(ConvBuffer::Tile, M * a.K);
    const Scalar* x0 = x + n0 * a.C * a.H * a.W;
    // gather: column r = (c, u, v) of X, contiguous over the group's code positions
#pragma omp parallel for schedule(static) num_threads(inner) if (inner > 1)
    for (Index r = 0; r < R; ++r) {
      const Index c = r / (a.kh * a.kw), u = (r / a.kw) % a.kh, v = r % a.kw;
      const Index off = a.dw * v - a.pw;
      Index j0, j1;
      lowered_detail::inside(a, off, j0, j1);
      for (Index g = 0; g < g1; ++g)
        for (Index i = 0; i < a.Ho; ++i) {
          Scalar* dst = X + r * M + g * P + i * a.Wo;
          const Index row = lowered_detail::input_row(a, i, u);
          if (row < 0)
            std::fill(dst, dst + a.Wo, Scalar(0));
          else
            lowered_detail::gather_row(a, x0 + ((g * a.C + c) * a.H + row) * a.W, off, j0, j1, dst);
        }
    }
    // Y (M x K) = X (M x R) W^T (R x K, the stored filters)
    gemm<Scalar>(X, M, false, filters, R, Y, M, M, a.K, R, false);
    // image g's code: column k of Y over its P rows is its plane k
    for (Index g = 0; g < g1; ++g)
      for (Index k = 0; k < a.K; ++k)
        std::copy_n(Y + k * M + g * P, P, gamma + ((n0 + g) * a.K + k) * P);
  });
}

/// x = D gamma (the adjoint of lowered_analyze for x's H x W) for images [0, N). The product is
/// taken transposed, X^T (R x M) = W^T Gamma, so the stored filters are W^T as they are (no
/// repacking of a large filter bank); the code is transposed instead (K x M, a code position a
/// column), then every patch value is added back where it was read from (the adjoint of the
/// gather), channel by channel in parallel.
template <class Scalar>
void lowered_synthesize(const LoweredArgs& a, const Scalar* filters, const Scalar* gamma, Index N,
                        Scalar* x) {
  const Index R = a.R(), P = a.P(), G = a.group<Scalar>(N);
  const int threads = double(R) * double(P) * double(N) >= 1e6 ? max_threads() : 1;
  lowered_detail::for_groups(N, G, threads, [&](Index n0, Index g1, int inner) {
    const Index M = g1 * P;
    std::fill(x + n0 * a.C * a.H * a.W, x + (n0 + g1) * a.C * a.H * a.W, Scalar(0));
    Scalar* Xt = conv_scratch<Scalar>(ConvBuffer::Patches, M * R);
    Scalar* Gk = conv_scratch<Scalar>(ConvBuffer::Tile, M * a.K);
    // Gamma as K x M: column (g, p) holds the K filters' values at code position p of image g
    for (Index g = 0; g < g1; ++g)
      for (Index k = 0; k < a.K; ++k) {
        const Scalar* src = gamma + ((n0 + g) * a.K + k) * P;
        Scalar* dst = Gk + g * P * a.K + k;
        for (Index p = 0; p < P; ++p) dst[p * a.K] = src[p];
      }
    // X^T (R x M) = W^T (R x K: the stored K x R row-major filters) Gamma (K x M)
    gemm<Scalar>(filters, R, false, Gk, a.K, Xt, R, R, M, a.K, false);
    Scalar* x0 = x + n0 * a.C * a.H * a.W;
#pragma omp parallel for schedule(static) num_threads(inner) if (inner > 1)
    for (Index c = 0; c < a.C; ++c)
      for (Index g = 0; g < g1; ++g)
        for (Index u = 0; u < a.kh; ++u)
          for (Index i = 0; i < a.Ho; ++i) {
            const Index row = lowered_detail::input_row(a, i, u);
            if (row < 0) continue;
            Scalar* dst = x0 + ((g * a.C + c) * a.H + row) * a.W;
            const Scalar* src = Xt + (g * P + i * a.Wo) * R + (c * a.kh + u) * a.kw;
            for (Index v = 0; v < a.kw; ++v) {
              const Index off = a.dw * v - a.pw;
              Index j0, j1;
              lowered_detail::inside(a, off, j0, j1);
              for (Index j = j0; j < j1; ++j) dst[a.sw * j + off] += src[j * R + v];
              if (a.circular) {
                for (Index j = 0; j < j0; ++j)
                  dst[lowered_detail::wrap(a.sw * j + off, a.W)] += src[j * R + v];
                for (Index j = j1; j < a.Wo; ++j)
                  dst[lowered_detail::wrap(a.sw * j + off, a.W)] += src[j * R + v];
              }
            }
          }
  });
}

}  // namespace mlcsc::internal
