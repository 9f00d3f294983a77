// mlcsc: the closed-form bounds of sparse-representation theory.
#pragma once

#include <cmath>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"

namespace mlcsc {

/// \brief Welch bound (Welch 1974; Strohmer & Heath 2003): any m unit vectors in R^n (m > n)
/// have mutual coherence \f$ \mu \ge \sqrt{(m-n)/(n(m-1))} \f$. Returns 0 for m <= n (an
/// orthonormal set exists).
inline double welch_bound(Index num_atoms, Index signal_size) {
  if (num_atoms < 1 || signal_size < 1)
    internal::throw_invalid("welch_bound: 'num_atoms' and 'signal_size' must be >= 1, got ",
                            num_atoms, " and ", signal_size);
  if (num_atoms <= signal_size) return 0.0;
  const double m = double(num_atoms), n = double(signal_size);
  return std::sqrt((m - n) / (n * (m - 1)));
}

/// \brief Convolutional Welch bound (Papyan, Sulam, Elad, IEEE TSP 2017): a convolutional
/// dictionary of m filters of length n has \f$ \mu \ge \sqrt{(m-1)/(m(2n-1)-1)} \f$, the Welch
/// bound of the m(2n-1) atoms of one stripe in dimension 2n-1. m = 2, n = 64 gives 0.0629.
inline double conv_welch_bound(Index num_filters, Index filter_size) {
  if (num_filters < 1 || filter_size < 1)
    internal::throw_invalid("conv_welch_bound: 'num_filters' and 'filter_size' must be >= 1, got ",
                            num_filters, " and ", filter_size);
  const double m = double(num_filters), n = double(filter_size);
  const double den = m * (2 * n - 1) - 1;
  return den > 0 ? std::sqrt((m - 1) / den) : 0.0;
}

/// \brief Uniqueness (Donoho & Elad 2003): a representation with \f$ \|\Gamma\|_0 <
/// \tfrac12(1 + 1/\mu) \f$ is the sparsest one, and basis pursuit (Donoho & Elad 2003) and OMP
/// (Tropp 2004) both find it. For convolutional dictionaries the same bound on
/// \f$ \|\Gamma\|_{0,\infty} \f$ gives uniqueness (Papyan, Sulam, Elad 2017); the pursuits'
/// versions are known to us from that paper's abstract only (docs/theory.md). mu = 0 (an
/// orthonormal set, e.g. mutual_coherence of the identity) gives +infinity.
inline double l0_uniqueness_bound(double mu) {
  if (!(mu >= 0) || !(mu <= 1.0 + 1e-12))
    internal::throw_invalid("l0_uniqueness_bound: 'mu' must be in [0, 1], got ", mu);
  return 0.5 * (1.0 + 1.0 / mu);
}

/// \brief Lasso stability condition (Papyan, Sulam, Elad 2017, Part II; the layered version in
/// Papyan, Romano, Elad, JMLR 2017): \f$ \|\Gamma\|_{0,\infty} < \tfrac13(1 + 1/\mu) \f$.
/// mu = 0 gives +infinity.
inline double lasso_stability_bound(double mu) {
  if (!(mu >= 0) || !(mu <= 1.0 + 1e-12))
    internal::throw_invalid("lasso_stability_bound: 'mu' must be in [0, 1], got ", mu);
  return (1.0 + 1.0 / mu) / 3.0;
}

}  // namespace mlcsc
