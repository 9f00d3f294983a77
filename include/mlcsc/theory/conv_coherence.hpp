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
/// 1. Computed in double. Throws if a filter is zero or the dictionary has a single atom.
/// Geometry: with a dilation the atom is the dilated filter (zeros between the taps); with a
/// stride s the atoms sit at shifts that are multiples of s, so only those shifts enter the
/// maximum.
template <class Scalar>
Scalar mutual_coherence(const ConvDictionary<Scalar>& D) {
  const Index K = D.num_filters(), C = D.channels(), kh = D.kernel_height(), kw = D.kernel_width();
  const Index sh = D.stride_h(), sw = D.stride_w(), dh = D.dilation_h(), dw = D.dilation_w();
  // the atoms' footprint: the dilated filter, e_h x e_w, zero between its taps
  const Index eh = dh * (kh - 1) + 1, ew = dw * (kw - 1) + 1;
  // a stride s places atoms only at shifts that are multiples of s: with one 1 x 1 filter (or
  // shifts past the footprint) there is no second atom to compare with
  if (K < 2 && (eh - 1) / sh == 0 && (ew - 1) / sw == 0)
    internal::throw_invalid("mutual_coherence: expected at least 2 atoms, got a dictionary of ", K,
                            " filter of ", internal::shape(C, kh, kw), " with stride ",
                            internal::shape(sh, sw), " and dilation ", internal::shape(dh, dw));
  RowMatrix<double> F = RowMatrix<double>::Zero(K, C * eh * ew);  // K x (C eh ew)
  for (Index k = 0; k < K; ++k)
    for (Index c = 0; c < C; ++c)
      for (Index u = 0; u < kh; ++u)
        for (Index v = 0; v < kw; ++v)
          F(k, (c * eh + u * dh) * ew + v * dw) = double(D.filter(k, c)(u, v));
  Vector<double> norms(K);
  for (Index k = 0; k < K; ++k) {
    norms(k) = F.row(k).norm();
    if (!(norms(k) > 0))
      internal::throw_invalid("mutual_coherence: expected nonzero filters, got filter ", k, " (",
                              internal::shape(C, kh, kw), ") with norm ", norms(k));
  }
  double mu = 0;
  // Pairs (k, k') with k <= k': the pair (k', k) at shift s is the pair (k, k') at shift -s.
  const Index my = (eh - 1) / sh * sh, mx = (ew - 1) / sw * sw;
  for (Index k = 0; k < K; ++k)
    for (Index k2 = k; k2 < K; ++k2)
      for (Index sy = -my; sy <= my; sy += sh)
        for (Index sx = -mx; sx <= mx; sx += sw) {
          if (k == k2 && (sy < 0 || (sy == 0 && sx <= 0))) continue;  // self: one sign, not 0
          const Index u0 = std::max<Index>(0, -sy), u1 = std::min(eh, eh - sy);
          const Index v0 = std::max<Index>(0, -sx), v1 = std::min(ew, ew - sx);
          double s = 0;
          for (Index c = 0; c < C; ++c) {
            const double* a = F.row(k).data() + c * eh * ew;
            const double* b = F.row(k2).data() + c * eh * ew;
            for (Index u = u0; u < u1; ++u)
              for (Index v = v0; v < v1; ++v) s += a[u * ew + v] * b[(u + sy) * ew + v + sx];
          }
          mu = std::max(mu, std::abs(s) / (norms(k) * norms(k2)));
        }
  return Scalar(std::min(1.0, mu));
}

}  // namespace mlcsc
