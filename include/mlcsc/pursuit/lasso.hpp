// mlcsc: the Lasso  min_G 0.5||y - D G||_2^2 + lambda ||G||_1  (Tibshirani 1996), optionally with
// G >= 0, on a batch of signals (dense columns or images of feature maps), by ISTA, FISTA or exact
// coordinate descent (dense dictionaries). LassoSolver holds what a dictionary implies across
// calls; lasso() is one solve by a fresh solver.
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include "../core/operator.hpp"
#include "conv_admm.hpp"
#include "coordinate_descent.hpp"
#include "params.hpp"
#include "proximal_gradient.hpp"

namespace mlcsc {

namespace lasso_detail {
template <class Op, class = void>
struct has_geometry : std::false_type {};
template <class Op>
struct has_geometry<Op, std::void_t<decltype(std::declval<const Op&>().code_height(Index(1))),
                                    decltype(std::declval<const Op&>().code_width(Index(1)))>>
    : std::true_type {};
}  // namespace lasso_detail

/// \brief A Lasso solver bound to one dictionary and one set of parameters.
///
/// It keeps what the dictionary implies and what a solve needs across calls: the Gram matrix
/// (shared with the dictionary's cache, followed when the atoms change), the Lipschitz constant
/// per signal shape (the dictionary's cache), the buffers of the iterations and the per-signal
/// state. A loop over many batches of one shape allocates nothing after the first solve:
/// \code
///   mlcsc::LassoSolver<mlcsc::Dictionary<float>> solver(D, p);
///   Eigen::MatrixXf code(D.num_atoms(), batch_size);
///   for (auto& Y : batches) {
///     const auto& st = solver.solve(Y, code);   // writes into `code`
///     ...  st.iterations, st.signal_converged ...
///   }
/// \endcode
/// `solve(y)` returns a PursuitResult with a new code. The solver refers to the dictionary, which
/// must outlive it. One solver is not meant for concurrent solves (each thread its own solver).
template <class Op>
class LassoSolver {
  static_assert(internal::require_operator<Op>::value);

 public:
  using Scalar = typename Op::Scalar;
  using Code = typename Op::Code;
  using CodeView = typename Op::CodeView;
  using Result = PursuitResult<Code, Scalar>;

  /// Throws std::invalid_argument on invalid parameters (naming the field), for
  /// Method::CoordinateDescent on a dictionary that is not dense, and for Method::ADMM on one
  /// that is not a ConvDictionary with Boundary::Circular and stride 1.
  LassoSolver(const Op& D, const LassoParams<Scalar>& p) : D_(D), p_(p), pg_(D) {
    p_.check(D.code_rows(), "LassoSolver");
    if constexpr (!internal::is_dense_dictionary<Op>::value)
      if (p_.method == Method::CoordinateDescent)
        internal::throw_invalid(
            "LassoSolver: Method::CoordinateDescent needs a dense Dictionary; use ISTA or FISTA");
    if (p_.method == Method::ADMM) {
      if constexpr (internal::is_conv_dictionary<Op>::value)
        internal::check_admm_dictionary(D, "LassoSolver");
      else
        internal::throw_invalid(
            "LassoSolver: Method::ADMM needs a ConvDictionary with Boundary::Circular; use FISTA",
            internal::is_dense_dictionary<Op>::value ? " or CoordinateDescent" : "");
    }
  }

  const Op& dictionary() const { return D_; }
  const LassoParams<Scalar>& params() const { return p_; }

  /// Solves from a zero code into `code` (a caller-owned object or view shaped like D's code for
  /// y; throws std::invalid_argument otherwise, never resizes). The statistics returned stay
  /// valid until the next solve.
  template <class SignalLike>
  const PursuitStats<Scalar>& solve(const SignalLike& y, CodeView code) {
    return run(y, code, false, "LassoSolver::solve");
  }

  /// Solves from the code in `code` (a warm start) and leaves the solution there.
  template <class SignalLike>
  const PursuitStats<Scalar>& resume(const SignalLike& y, CodeView code) {
    internal::require_finite(values(code), "LassoSolver::resume", "code");
    return run(y, code, true, "LassoSolver::resume");
  }

  /// Solves from a zero code and returns the code with the statistics.
  template <class SignalLike>
  Result solve(const SignalLike& y) {
    decltype(auto) ys = D_.signal_view(y);
    D_.check_signal(ys, "LassoSolver::solve", "y");
    Result r;
    // A solve from zero writes every entry of the code: a dense one is not zeroed twice (the
    // batch driver zeroes each column while it is in cache).
    if constexpr (internal::is_dense_dictionary<Op>::value)
      r.code.resize(D_.num_atoms(), ys.cols());
    else
      r.code = D_.code_like(ys);
    static_cast<PursuitStats<Scalar>&>(r) = run_checked(ys, r.code, false, "LassoSolver::solve");
    return r;
  }

 private:
  template <class SignalLike>
  const PursuitStats<Scalar>& run(const SignalLike& y, CodeView code, bool warm,
                                  const char* where) {
    decltype(auto) ys = D_.signal_view(y);
    D_.check_signal(ys, where, "y");
    return run_checked(ys, code, warm, where);
  }
  // `ys` has passed check_signal (one pass over the batch, not two).
  template <class View>
  const PursuitStats<Scalar>& run_checked(const View& ys, CodeView code, bool warm,
                                          const char* where) {
    check_energy(ys, where);
    check_code_shape(ys, code, where);
    if constexpr (internal::is_dense_dictionary<Op>::value) {
      if (p_.method == Method::CoordinateDescent) {
        if (!cd_) cd_.emplace();
        // The Gram matrix from the dictionary's cache, held for the solve.
        const std::shared_ptr<const Matrix<Scalar>> gram = D_.shared_gram();
        cd_->run(D_.matrix(), *gram, ys, p_, warm, code, stats_);
        return stats_;
      }
    }
    if (!warm) values(code).setZero();
    if constexpr (internal::is_conv_dictionary<Op>::value) {
      if (p_.method == Method::ADMM) {
        internal::check_admm_dictionary(D_, where);  // the geometry may have changed since
        if (!admm_) admm_.emplace(D_);
        admm_->run(ys, code, p_, stats_);
        return stats_;
      }
    }
    pg_.template run<std::decay_t<decltype(ys)>, CodeView>(ys, code, p_, stats_);
    return stats_;
  }

  // The objective at G = 0 is 0.5||y||^2, and the solvers compute its fit term ||y - D G||^2 in
  // Scalar: ||y||^2 must be representable in Scalar. One vectorized pass in Scalar decides; the
  // message's value comes from a second one in double.
  template <class View>
  static void check_energy(const View& ys, const char* where) {
    if (std::isfinite(values(ys).squaredNorm())) return;
    const double energy = double(values(ys).template cast<double>().squaredNorm());
    internal::throw_invalid(where, ": 'y' is too large for its scalar type: ||y||^2 = ", energy,
                            " overflows (", sizeof(Scalar) == 4 ? "float" : "double",
                            "); scale the signal");
  }

  // The code must have the shape D.code_like(y) has, found without allocating: from the
  // geometry for a ConvDictionary (code_height / code_width), m x B for a Dictionary; for other
  // operators code_like(y) is kept per signal shape and dictionary state (it is recomputed
  // whenever y's shape changes, and a changed dictionary is a new solver's business).
  template <class View>
  void check_code_shape(const View& ys, const CodeView& code, const char* where) {
    const std::array<Index, 4> key = internal::shape_dims(ys);
    std::array<Index, 4> want;
    if constexpr (internal::is_dense_dictionary<Op>::value) {
      want = {D_.num_atoms(), ys.cols(), -1, -1};
    } else if constexpr (lasso_detail::has_geometry<Op>::value) {
      want = {ys.batch(), D_.code_rows(), D_.code_height(ys.height()), D_.code_width(ys.width())};
    } else {
      if (!shape_ || key != shape_key_) {
        shape_.emplace(D_.code_like(ys));
        shape_key_ = key;
      }
      want = internal::shape_dims(*shape_);
    }
    const std::array<Index, 4> got = internal::shape_dims(code);
    if (got != want)
      internal::throw_invalid(where, ": 'code' must be ", describe(want), " for 'y' of ",
                              describe(key), ", got ", describe(got));
  }
  static std::string describe(const std::array<Index, 4>& d) {
    if (d[2] < 0) return internal::shape(d[0], d[1]);
    return std::to_string(d[0]) + " x " + internal::shape(d[1], d[2], d[3]);
  }

  const Op& D_;
  LassoParams<Scalar> p_;
  internal::ProximalGradient<Op> pg_;
  std::optional<internal::CoordinateDescentBatch<Scalar>> cd_;
  std::optional<std::conditional_t<internal::is_conv_dictionary<Op>::value, internal::ConvAdmm<Op>,
                                   std::monostate>>
      admm_;
  PursuitStats<Scalar> stats_;
  std::optional<Code> shape_;
  std::array<Index, 4> shape_key_{};
};

/// \brief Solves the Lasso \f$ \min_\Gamma \tfrac12\|y - D\Gamma\|_2^2 + \lambda\|\Gamma\|_1 \f$
/// for every signal of y. Returns the code, the iterations, whether the stopping rule was met
/// and the objective, overall and per signal.
/// \code
///   mlcsc::LassoParams<double> p;  p.lambda = 0.1;  p.method = mlcsc::Method::FISTA;
///   auto r = mlcsc::lasso(D, Y, p);   // r.code, r.iterations, r.converged, r.objective
/// \endcode
/// To solve many batches with one dictionary, keep a LassoSolver instead.
template <class Op, class SignalLike>
auto lasso(const Op& D, const SignalLike& y, const LassoParams<typename Op::Scalar>& p) {
  LassoSolver<Op> solver(D, p);
  return solver.solve(y);
}

/// The Lasso from a warm start `init` (a code shaped like D's code for y).
template <class Op, class SignalLike>
auto lasso(const Op& D, const SignalLike& y, const LassoParams<typename Op::Scalar>& p,
           const typename Op::Code& init) {
  LassoSolver<Op> solver(D, p);
  decltype(auto) ys = D.signal_view(y);
  D.check_signal(ys, "lasso", "y");
  typename LassoSolver<Op>::Result r;
  r.code = D.code_like(ys);
  if (values(init).rows() != values(r.code).rows() || values(init).cols() != values(r.code).cols())
    internal::throw_invalid("lasso: 'init' must be shaped like the code, ",
                            internal::shape(values(r.code).rows(), values(r.code).cols()), ", got ",
                            internal::shape(values(init).rows(), values(init).cols()));
  internal::require_finite(values(init), "lasso", "init");
  values(r.code) = values(init);
  static_cast<PursuitStats<typename Op::Scalar>&>(r) = solver.resume(ys, r.code);
  return r;
}

}  // namespace mlcsc
