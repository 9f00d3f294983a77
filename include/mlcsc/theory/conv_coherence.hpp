// mlcsc: mutual coherence of a convolutional dictionary: over all filter pairs and all their
// relative shifts, not just the filters' own Gram matrix.
#pragma once

#include <algorithm>
#include <cmath>

#include "../conv/conv_dictionary.hpp"
#include "../core/errors.hpp"

namespace mlcsc {

/// \brief Mutual coherence of the global convolutional dictionary,
/// \f[ \mu(D) = \max_{(k, s) \ne (k', 0)} \frac{|\sum_c \sum_{u,v} d_{k,c}[u,v]\,
///     d_{k',c}[u + s_y, v + s_x]|}{\|d_k\|\,\|d_{k'}\|}, \quad |s_y| \le kh-1,\ |s_x| \le kw-1,
///     \f]
/// i.e. the largest normalized inner product between two atoms of the global dictionary (a filter
/// against itself only at nonzero shifts), for signals of at least (2kh-1) x (2kw-1) (Papyan,
/// Sulam & Elad, "Working locally thinking globally", IEEE TSP 2017). Whole filters only, for
/// either boundary: the clipped atoms at a Zero boundary's edges are not in the maximum. Clipped to
/// 1. Computed in double. Throws if a filter is zero or the dictionary has a single 1 x 1 filter.
template <class Scalar>
Scalar mutual_coherence(const ConvDictionary<Scalar>& D) {
  const Index K = D.num_filters(), C = D.channels(), kh = D.kernel_height(), kw = D.kernel_width();
  if (K < 2 && kh * kw < 2)
    internal::throw_invalid("mutual_coherence: expected at least 2 atoms, got a dictionary of ", K,
                            " filter of ", internal::shape(C, kh, kw));
  const RowMatrix<double> F = D.filters().template cast<double>();  // K x (C kh kw)
  Vector<double> norms(K);
  for (Index k = 0; k < K; ++k) {
    norms(k) = F.row(k).norm();
    if (!(norms(k) > 0))
      internal::throw_invalid("mutual_coherence: expected nonzero filters, got filter ", k, " (",
                              internal::shape(C, kh, kw), ") with norm ", norms(k));
  }
  double mu = 0;
  // Pairs (k, k') with k <= k': the pair (k', k) at shift s is the pair (k, k') at shift -s.
  for (Index k = 0; k < K; ++k)
    for (Index k2 = k; k2 < K; ++k2)
      for (Index sy = -(kh - 1); sy <= kh - 1; ++sy)
        for (Index sx = -(kw - 1); sx <= kw - 1; ++sx) {
          if (k == k2 && (sy < 0 || (sy == 0 && sx <= 0))) continue;  // self: one sign, not 0
          const Index u0 = std::max<Index>(0, -sy), u1 = std::min(kh, kh - sy);
          const Index v0 = std::max<Index>(0, -sx), v1 = std::min(kw, kw - sx);
          double s = 0;
          for (Index c = 0; c < C; ++c) {
            const double* a = F.row(k).data() + c * kh * kw;
            const double* b = F.row(k2).data() + c * kh * kw;
            for (Index u = u0; u < u1; ++u)
              for (Index v = v0; v < v1; ++v) s += a[u * kw + v] * b[(u + sy) * kw + v + sx];
          }
          mu = std::max(mu, std::abs(s) / (norms(k) * norms(k2)));
        }
  return Scalar(std::min(1.0, mu));
}

}  // namespace mlcsc
