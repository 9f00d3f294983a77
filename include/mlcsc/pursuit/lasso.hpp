// mlcsc: the Lasso  min_G 0.5||y - D G||_2^2 + lambda ||G||_1  (Tibshirani 1996), optionally with
// G >= 0, on a batch of signals (dense) or an image (convolutional), by ISTA, FISTA or exact
// coordinate descent (dense dictionaries).
#pragma once

#include <limits>

#include "../core/operator.hpp"
#include "coordinate_descent.hpp"
#include "params.hpp"
#include "proximal_gradient.hpp"

namespace mlcsc {

namespace internal {
template <class Op, class View>
PursuitResult<typename Op::Code, typename Op::Scalar> lasso_dispatch(
    const Op& D, const View& ys, const LassoParams<typename Op::Scalar>& p,
    const typename Op::Code* init) {
  D.check_signal(ys, "lasso", "y");
  p.check(D.code_rows(), "lasso");
  // The objective at G = 0 is 0.5||y||^2: it must be representable in Scalar.
  const double energy = 0.5 * values(ys).template cast<double>().squaredNorm();
  if (!(energy <= double(std::numeric_limits<typename Op::Scalar>::max())))
    throw_invalid("lasso: 'y' is too large for its scalar type: 0.5||y||^2 = ", energy,
                  " overflows (", sizeof(typename Op::Scalar) == 4 ? "float" : "double",
                  "); scale the signal");
  if (p.method == Method::CoordinateDescent) {
    if constexpr (is_dense_dictionary<Op>::value) {
      return coordinate_descent(D, ys, p, init);
    } else {
      throw_invalid("lasso: Method::CoordinateDescent needs a dense Dictionary; use ISTA or FISTA");
    }
  }
  return proximal_gradient(D, ys, p, init);
}
}  // namespace internal

/// \brief Solves the Lasso \f$ \min_\Gamma \tfrac12\|y - D\Gamma\|_2^2 + \lambda\|\Gamma\|_1 \f$.
/// Returns the code, the iterations, whether the stopping rule was met and the objective.
/// \code
///   mlcsc::LassoParams<double> p;  p.lambda = 0.1;  p.method = mlcsc::Method::FISTA;
///   auto r = mlcsc::lasso(D, Y, p);   // r.code, r.iterations, r.converged, r.objective
/// \endcode
template <class Op, class SignalLike>
auto lasso(const Op& D, const SignalLike& y, const LassoParams<typename Op::Scalar>& p) {
  static_assert(internal::require_operator<Op>::value);
  decltype(auto) ys = D.signal_view(y);
  return internal::lasso_dispatch(D, ys, p, static_cast<const typename Op::Code*>(nullptr));
}

/// The Lasso from a warm start `init` (a code shaped like D's code for y).
template <class Op, class SignalLike>
auto lasso(const Op& D, const SignalLike& y, const LassoParams<typename Op::Scalar>& p,
           const typename Op::Code& init) {
  static_assert(internal::require_operator<Op>::value);
  decltype(auto) ys = D.signal_view(y);
  D.check_signal(ys, "lasso", "y");
  const auto shape = D.code_like(ys);
  if (values(init).rows() != values(shape).rows() || values(init).cols() != values(shape).cols())
    internal::throw_invalid("lasso: 'init' must be shaped like the code, ",
                            internal::shape(values(shape).rows(), values(shape).cols()), ", got ",
                            internal::shape(values(init).rows(), values(init).cols()));
  internal::require_finite(values(init), "lasso", "init");
  return internal::lasso_dispatch(D, ys, p, &init);
}

}  // namespace mlcsc
