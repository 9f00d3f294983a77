// mlcsc: the plain reference loops of the convolution kernels, straight from the definition in
// docs/operator-concept.md. The fast kernels in conv/kernels/ are tested against these; nothing
// else should call them (they are slow on purpose: no blocking, a boundary test per tap).
//
// Filters are stored K x C x kh x kw (filter k, channel c, row u, column v), anchors
// a = (kh - 1) / 2, b = (kw - 1) / 2:
//   analyze:    gamma_k[i, j] = sum_c sum_{u,v} d_{k,c}[u, v] x_c[i + u - a, j + v - b]
//   synthesize: x_c[p, q]     = sum_k sum_{u,v} d_{k,c}[u, v] gamma_k[p - u + a, q - v + b]
// (the adjoint), Zero reading outside pixels as 0 and Circular wrapping them.
#pragma once

#include "../core/boundary.hpp"
#include "../core/feature_maps.hpp"

namespace mlcsc::internal {

/// Maps a possibly out-of-range index to [0, n) (Circular) or returns -1 (Zero, outside).
inline Index reference_wrap(Index i, Index n, Boundary b) {
  if (i >= 0 && i < n) return i;
  if (b == Boundary::Zero) return -1;
  return ((i % n) + n) % n;
}

/// gamma = D^T x by the defining sum; `filters` holds K*C*kh*kw values (k, c, u, v order).
/// gamma must be K x H x W; accumulates in double.
template <class Scalar>
void reference_analyze(const Scalar* filters, Index K, Index C, Index kh, Index kw, Boundary bd,
                       const FeatureMaps<Scalar>& x, FeatureMaps<Scalar>& gamma) {
  const Index H = x.height(), W = x.width(), a = (kh - 1) / 2, b = (kw - 1) / 2;
  for (Index k = 0; k < K; ++k)
    for (Index i = 0; i < H; ++i)
      for (Index j = 0; j < W; ++j) {
        double s = 0;
        for (Index c = 0; c < C; ++c)
          for (Index u = 0; u < kh; ++u) {
            const Index ii = reference_wrap(i + u - a, H, bd);
            if (ii < 0) continue;
            for (Index v = 0; v < kw; ++v) {
              const Index jj = reference_wrap(j + v - b, W, bd);
              if (jj < 0) continue;
              s += double(filters[((k * C + c) * kh + u) * kw + v]) * double(x.channel(c)(ii, jj));
            }
          }
        gamma.channel(k)(i, j) = Scalar(s);
      }
}

/// x = D gamma, the adjoint of reference_analyze, by scattering every coefficient; x must be
/// C x H x W; accumulates in double.
template <class Scalar>
void reference_synthesize(const Scalar* filters, Index K, Index C, Index kh, Index kw, Boundary bd,
                          const FeatureMaps<Scalar>& gamma, FeatureMaps<Scalar>& x) {
  const Index H = gamma.height(), W = gamma.width(), a = (kh - 1) / 2, b = (kw - 1) / 2;
  Matrix<double> acc = Matrix<double>::Zero(C, H * W);
  for (Index k = 0; k < K; ++k)
    for (Index i = 0; i < H; ++i)
      for (Index j = 0; j < W; ++j) {
        const double g = double(gamma.channel(k)(i, j));
        if (g == 0) continue;
        for (Index c = 0; c < C; ++c)
          for (Index u = 0; u < kh; ++u) {
            const Index ii = reference_wrap(i + u - a, H, bd);
            if (ii < 0) continue;
            for (Index v = 0; v < kw; ++v) {
              const Index jj = reference_wrap(j + v - b, W, bd);
              if (jj < 0) continue;
              acc(c, ii * W + jj) += double(filters[((k * C + c) * kh + u) * kw + v]) * g;
            }
          }
      }
  x.data() = acc.template cast<Scalar>();
}

}  // namespace mlcsc::internal
