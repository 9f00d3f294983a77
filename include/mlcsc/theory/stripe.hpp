// mlcsc: the local norms of convolutional sparse coding: stripe sparsity ||G||_{0,inf}, stripe
// energy ||G||_{2,inf} of a code, and patch energy ||E||^P_{2,inf} of a signal (the noise norm of
// the Papyan-Sulam-Elad Lasso stability theorem).
//
// Definitions (docs/theory.md; Papyan, Sulam, Elad, "Working Locally Thinking Globally",
// IEEE TSP 65(21), 2017, arXiv 1607.02005 / 1607.02009):
//  * the filters are kh x kw with anchor (a, b) = ((kh-1)/2, (kw-1)/2): the atom of code position
//    (i, j) covers signal rows i-a .. i-a+kh-1 and columns j-b .. j-b+kw-1;
//  * a patch is a kh x kw window of the signal, over all its channels;
//  * a stripe is the set of coefficients, over all channels (filters), whose atoms overlap one
//    patch: a (2kh-1) x (2kw-1) window of every code map, wrapped for Circular, clipped for Zero.
//
// Provenance: the 1-D definitions are the paper's (a stripe is the 2n-1 needles whose atoms
// overlap a length-n patch; ||G||_{0,inf} the largest l0 norm of a stripe, "the maximal number of
// non-zeroes in a local neighborhood"; ||E||^P_{2,inf} the largest l2 norm of a length-n patch).
// The copies of the paper we could read stop after its introduction, so the wording could not be
// checked there. The 2-D, multi-channel and boundary conventions are this library's
// (docs/operator-concept.md).
//
// Computation: the per-position counts (or squared magnitudes) are summed over channels once,
// then every window sum comes from 1-D prefix sums along the width and then along the height
// (separable box sums): O(C*H*W) in total, whatever kh and kw. Counts are summed in Index (exact);
// energies in double (long double for long double), so the prefix-difference rounding is at most
// about eps * (energy of one row or column), far below the tolerance of any use here.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "../core/boundary.hpp"
#include "../core/errors.hpp"
#include "../core/feature_maps.hpp"
#include "../core/fwd.hpp"

namespace mlcsc {

namespace internal {

/// y[c] = sum of x[t * step] over the window t in [c - offset, c - offset + len - 1], for
/// c = 0 .. n-1. `circular`: indices wrap modulo n and a window longer than n is the whole line
/// (every position counted once, not twice); otherwise the window is clipped to [0, n).
/// `prefix` is scratch of size >= n + 1.
template <class T>
void window_sums_1d(const T* x, Index n, Index step, Index len, Index offset, bool circular, T* y,
                    Index ystep, T* prefix) {
  prefix[0] = T(0);
  for (Index t = 0; t < n; ++t) prefix[t + 1] = prefix[t] + x[t * step];
  if (circular && len >= n) {
    for (Index c = 0; c < n; ++c) y[c * ystep] = prefix[n];
    return;
  }
  for (Index c = 0; c < n; ++c) {
    Index lo = c - offset;
    if (circular) {
      lo %= n;
      if (lo < 0) lo += n;
      const Index hi = lo + len;  // exclusive, <= lo + n - 1 < 2n
      y[c * ystep] =
          hi <= n ? T(prefix[hi] - prefix[lo]) : T(prefix[n] - prefix[lo] + prefix[hi - n]);
    } else {
      const Index a = std::max<Index>(lo, 0);
      const Index b = std::min<Index>(lo + len, n);
      y[c * ystep] = b > a ? T(prefix[b] - prefix[a]) : T(0);
    }
  }
}

/// The largest sum of `per_pixel` (H x W, row-major) over the windows of size len_h x len_w
/// anchored at offset_h / offset_w from every position (wrapped or clipped, see window_sums_1d).
template <class T>
T max_window_sum(const std::vector<T>& per_pixel, Index H, Index W, Index len_h, Index len_w,
                 Index offset_h, Index offset_w, bool circular) {
  std::vector<T> rows(static_cast<size_t>(H * W));
  std::vector<T> prefix(static_cast<size_t>(std::max(H, W) + 1));
  // along the width: each row is contiguous
  for (Index i = 0; i < H; ++i)
    window_sums_1d(per_pixel.data() + i * W, W, 1, len_w, offset_w, circular, rows.data() + i * W,
                   1, prefix.data());
  // along the height: column j has stride W; the result of each column is reduced at once
  std::vector<T> col(static_cast<size_t>(H));
  T best = T(0);
  for (Index j = 0; j < W; ++j) {
    window_sums_1d(rows.data() + j, H, W, len_h, offset_h, circular, col.data(), 1, prefix.data());
    for (Index i = 0; i < H; ++i) best = std::max(best, col[static_cast<size_t>(i)]);
  }
  return best;
}

template <class Scalar>
using local_accumulator_t = std::conditional_t<(sizeof(Scalar) > sizeof(double)), Scalar, double>;

/// Common input checks of the local norms: a non-empty, finite map and window sizes >= 1.
template <class Scalar>
void check_local_norm_args(const FeatureMaps<Scalar>& g, Index kh, Index kw, const char* where,
                           const char* name) {
  const std::string maps = shape(g.channels(), g.height(), g.width());
  if (g.channels() < 1 || g.height() < 1 || g.width() < 1)
    throw_invalid(where, ": expected a non-empty '", name, "', got ", maps);
  if (g.batch() != 1)
    throw_invalid(where, ": expected one image (N = 1) in '", name, "', got a batch of ", g.batch(),
                  " x ", maps, "; measure each image: FeatureMaps(", name, ".image(n))");
  if (kh < 1 || kw < 1)
    throw_invalid(where, ": expected a kernel size 'kh' x 'kw' with both >= 1, got ", shape(kh, kw),
                  " (", name, " is ", maps, ")");
  require_finite(g.data(), where, name);
}

inline bool is_circular(Boundary b) {
  return b == Boundary::Circular;
}

/// Sum over channels of [|g| > threshold], per position (H*W, row-major).
template <class Scalar>
std::vector<Index> nonzeros_per_position(const FeatureMaps<Scalar>& g, Scalar threshold) {
  const Index HW = g.height() * g.width();
  std::vector<Index> n(static_cast<size_t>(HW), 0);
  const auto& d = g.data();
  for (Index c = 0; c < g.channels(); ++c)
    for (Index p = 0; p < HW; ++p) n[static_cast<size_t>(p)] += std::abs(d(c, p)) > threshold;
  return n;
}

/// Sum over channels of g^2, per position (H*W, row-major), in the accumulator type.
template <class Scalar>
std::vector<local_accumulator_t<Scalar>> energy_per_position(const FeatureMaps<Scalar>& g) {
  using Acc = local_accumulator_t<Scalar>;
  const Index HW = g.height() * g.width();
  std::vector<Acc> e(static_cast<size_t>(HW), Acc(0));
  const auto& d = g.data();
  for (Index c = 0; c < g.channels(); ++c)
    for (Index p = 0; p < HW; ++p) {
      const Acc v = Acc(d(c, p));
      e[static_cast<size_t>(p)] += v * v;
    }
  return e;
}

}  // namespace internal

/// \brief Stripe sparsity \f$ \|\Gamma\|_{0,\infty}^{S} = \max_i \|\gamma_i\|_0 \f$, the
/// largest number of coefficients with \f$ |\Gamma| > \f$ `threshold` in any stripe (Papyan,
/// Sulam, Elad, "Working Locally Thinking Globally", IEEE TSP 2017, Part I definition of the
/// \f$ \ell_{0,\infty} \f$ norm).
///
/// A stripe is the (2kh-1) x (2kw-1) window, over all channels of `g`, of the coefficients whose
/// kh x kw atoms overlap one kh x kw patch of the signal; the maximum runs over every window
/// centre. `Circular` wraps the window; when 2kh-1 > H (or 2kw-1 > W) the wrapped window covers
/// the whole height (width) and every position is counted once, not twice. `Zero` clips it at
/// the borders (a border window is a subset of an interior one, so clipping never changes the
/// maximum when H >= 2kh-1; for smaller maps every coefficient lies in one stripe).
/// `threshold` (>= 0) lets a numerical solver's tiny values count as zero; 0 counts exact nonzeros.
/// \code
///   mlcsc::Index k = mlcsc::stripe_sparsity(code, 7, 7);   // ||code||_{0,inf}, 7x7 filters
/// \endcode
template <class Scalar>
Index stripe_sparsity(const FeatureMaps<Scalar>& g, Index kh, Index kw, Boundary b,
                      Scalar threshold) {
  internal::check_local_norm_args(g, kh, kw, "stripe_sparsity", "g");
  if (!(threshold >= Scalar(0)) || !std::isfinite(double(threshold)))
    internal::throw_invalid("stripe_sparsity: 'threshold' must be finite and >= 0, got ",
                            threshold);
  const auto counts = internal::nonzeros_per_position(g, threshold);
  return internal::max_window_sum(counts, g.height(), g.width(), 2 * kh - 1, 2 * kw - 1, kh - 1,
                                  kw - 1, internal::is_circular(b));
}

/// \brief \f$ \|\Gamma\|_{0,\infty}^{S} \f$ counting exact nonzeros (docs/theory.md); see the
/// overload with a threshold for the definition of a stripe.
template <class Scalar>
Index stripe_sparsity(const FeatureMaps<Scalar>& g, Index kh, Index kw,
                      Boundary b = Boundary::Circular) {
  return stripe_sparsity(g, kh, kw, b, Scalar(0));
}

/// \brief Stripe energy \f$ \|\Gamma\|_{2,\infty}^{S} = \max_i \|\gamma_i\|_2 \f$: the largest
/// l2 norm of a stripe, stripes exactly as in stripe_sparsity (Papyan, Sulam, Elad 2017, Part II).
template <class Scalar>
Scalar stripe_norm(const FeatureMaps<Scalar>& g, Index kh, Index kw,
                   Boundary b = Boundary::Circular) {
  internal::check_local_norm_args(g, kh, kw, "stripe_norm", "g");
  const auto energy = internal::energy_per_position(g);
  using std::sqrt;
  return Scalar(sqrt(internal::max_window_sum(energy, g.height(), g.width(), 2 * kh - 1, 2 * kw - 1,
                                              kh - 1, kw - 1, internal::is_circular(b))));
}

/// \brief Patch energy \f$ \|E\|_{2,\infty}^{P} = \max_i \|R_i E\|_2 \f$: the largest l2 norm,
/// over all channels, of a kh x kw patch of the signal `e` (Papyan, Sulam, Elad, IEEE TSP 2017;
/// the noise measure of their Lasso stability theorem, where \f$ \lambda = 4\|E\|_{2,\infty}^P \f$
/// and kh x kw is the filters' size).
///
/// The patches are the supports of the atoms: rows i-a .. i-a+kh-1 and columns j-b .. j-b+kw-1
/// for every position (i, j), a = (kh-1)/2, b = (kw-1)/2. `Circular` wraps them (a patch taller
/// or wider than the signal covers the whole height or width, each sample counted once); `Zero`
/// clips them, i.e. reads the zero padding, so the maximum is over the patches inside the signal.
/// Because every atom is supported on one patch, \f$ |d^T E| \le \|d\|_2\,\|E\|_{2,\infty}^P \f$
/// for every atom d: the step that makes the theorem's noise condition local.
template <class Scalar>
Scalar patch_norm(const FeatureMaps<Scalar>& e, Index kh, Index kw,
                  Boundary b = Boundary::Circular) {
  internal::check_local_norm_args(e, kh, kw, "patch_norm", "e");
  const auto energy = internal::energy_per_position(e);
  using std::sqrt;
  return Scalar(sqrt(internal::max_window_sum(energy, e.height(), e.width(), kh, kw, (kh - 1) / 2,
                                              (kw - 1) / 2, internal::is_circular(b))));
}

}  // namespace mlcsc
