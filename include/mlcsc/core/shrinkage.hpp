// mlcsc: the thresholding (shrinkage) operators, the proximal maps of the sparsity penalties.
//   Soft:       S_b(x)  = sign(x) max(|x| - b, 0)   prox of b|x|
//   Hard:       H_b(x)  = x [|x| > b]               prox of (b^2/2)|x|_0
//   NonnegSoft: S+_b(x) = max(x - b, 0) = ReLU(x - b), prox of b|x| + indicator(x >= 0);
//               a CNN layer's ReLU(W^T x + c) is S+_{-c}(W^T x)  (Papyan, Romano, Elad, JMLR 2017).
#pragma once

#include "errors.hpp"
#include "fwd.hpp"

namespace mlcsc {

enum class Shrinkage { Soft, Hard, NonnegSoft };

inline const char* to_string(Shrinkage kind) {
  switch (kind) {
    case Shrinkage::Soft:
      return "Soft";
    case Shrinkage::Hard:
      return "Hard";
    case Shrinkage::NonnegSoft:
      return "NonnegSoft";
  }
  return "?";
}

namespace internal {

/// out = S_b(x) for an array expression x and a threshold b that is a scalar or an array of the
/// same shape as x (already broadcast). Vectorized: soft is x - clamp(x, -b, b).
template <class Out, class X, class B>
void shrink_into(Out&& out, const X& x, const B& b, Shrinkage kind) {
  switch (kind) {
    case Shrinkage::Soft:
      out = x - x.max(-b).min(b);
      break;
    case Shrinkage::Hard:
      out = (x.abs() > b).select(x, typename X::Scalar(0));
      break;
    case Shrinkage::NonnegSoft:
      out = (x - b).max(typename X::Scalar(0));
      break;
  }
}

template <class Scalar>
void check_threshold(Scalar b, Shrinkage kind, const char* where, const char* name) {
  require_finite_scalar(b, where, name);
  if (kind != Shrinkage::NonnegSoft && b < Scalar(0))
    throw_invalid(where, ": '", name, "' must be >= 0 for ", to_string(kind), " shrinkage, got ",
                  b);
}

template <class Derived>
void check_thresholds(const Eigen::DenseBase<Derived>& b, Index expected, Shrinkage kind,
                      const char* where, const char* name) {
  if (b.size() != expected || (b.rows() != 1 && b.cols() != 1))
    throw_invalid(where, ": '", name, "' must be a vector of one threshold per row (", expected,
                  "), got ", shape(b.rows(), b.cols()));
  require_finite(b, where, name);
  if (kind != Shrinkage::NonnegSoft && b.size() > 0 && b.minCoeff() < 0)
    throw_invalid(where, ": '", name, "' must be >= 0 for ", to_string(kind),
                  " shrinkage, got a minimum of ", b.minCoeff());
}

}  // namespace internal

/// \brief Applies the shrinkage `kind` with one threshold to every coefficient of `x`.
/// \f$ S_b(x) = \mathrm{sign}(x)\max(|x|-b,0) \f$, \f$ H_b(x) = x\,[|x|>b] \f$,
/// \f$ S^+_b(x) = \max(x-b,0) \f$. Soft and Hard need b >= 0; NonnegSoft takes any finite b.
/// \code
///   Eigen::ArrayXXf z = mlcsc::shrink(x.array(), 0.1f, mlcsc::Shrinkage::Soft);
/// \endcode
template <class Derived>
typename Derived::PlainObject shrink(const Eigen::DenseBase<Derived>& x,
                                     typename Derived::Scalar threshold, Shrinkage kind) {
  internal::check_threshold(threshold, kind, "shrink", "threshold");
  internal::require_finite(x, "shrink", "x");
  typename Derived::PlainObject out(x.rows(), x.cols());
  internal::shrink_into(out.array(), x.derived().array(), threshold, kind);
  return out;
}

/// \brief Per-atom (per-row) thresholds: row i of `x` is shrunk with `thresholds[i]`.
/// For dense codes (m x B) a row is an atom; for FeatureMaps::data() (C x HW) a row is a channel.
template <class Derived, class TDerived>
typename Derived::PlainObject shrink(const Eigen::DenseBase<Derived>& x,
                                     const Eigen::DenseBase<TDerived>& thresholds, Shrinkage kind) {
  internal::check_thresholds(thresholds, x.rows(), kind, "shrink", "thresholds");
  internal::require_finite(x, "shrink", "x");
  using Scalar = typename Derived::Scalar;
  const Eigen::Array<Scalar, Eigen::Dynamic, 1> b =
      thresholds.derived().template cast<Scalar>().reshaped().array();
  typename Derived::PlainObject out(x.rows(), x.cols());
  for (Index j = 0; j < x.cols(); ++j)
    internal::shrink_into(out.col(j).array(), x.derived().col(j).array(), b, kind);
  return out;
}

}  // namespace mlcsc
