// mlcsc: parameters and results of the pursuits. Params validate themselves (`check`) with
// messages that name the field; results carry iterations, convergence and the objective.
#pragma once

#include <functional>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"

namespace mlcsc {

/// How `lasso` solves min_G 0.5||y - D G||^2 + lambda ||G||_1.
enum class Method {
  ISTA,              ///< proximal gradient, step 1/L (Daubechies, Defrise, De Mol 2004)
  FISTA,             ///< accelerated proximal gradient (Beck & Teboulle 2009), optional restart
  CoordinateDescent  ///< exact: Gram-based active-set coordinate descent (dense dictionaries only)
};

template <class Scalar>
struct LassoParams {
  Scalar lambda = Scalar(0.1);  ///< l1 weight, >= 0 (0 is least squares)
  int max_iterations = 1000;    ///< > 0; ISTA/FISTA iterations; for coordinate descent, screening
                                ///< passes plus exact solves on the working set
  Scalar tolerance = Scalar(1e-6);  ///< stop when ||G_k - G_{k-1}||_F <= tol * max(1, ||G_k||_F)
  Method method = Method::FISTA;
  bool nonnegative = false;  ///< adds G >= 0 (the ReLU-consistent model)
  /// Called every iteration with the objective of the current iterate; returning false stops.
  /// (ISTA/FISTA pay one extra synthesis per iteration to report it.)
  std::function<bool(int iteration, Scalar objective)> callback;

  // --- mlcsc extensions ---
  /// One lambda per atom (per row of the code: atom or filter); empty means `lambda` for all.
  Vector<Scalar> lambdas;
  /// FISTA: restart the momentum when it points uphill (O'Donoghue & Candes 2015). It damps
  /// FISTA's oscillation, so the step-difference stopping rule is not met at a turning point;
  /// on coherent patch dictionaries it can take more iterations than the textbook sequence.
  bool adaptive_restart = true;

  /// Throws std::invalid_argument naming the offending field. `code_rows` is the number of
  /// atoms (filters) the per-atom `lambdas` must match.
  void check(Index code_rows, const char* where) const {
    internal::require_finite_scalar(lambda, where, "lambda");
    if (lambda < Scalar(0)) internal::throw_invalid(where, ": 'lambda' must be >= 0, got ", lambda);
    if (max_iterations <= 0)
      internal::throw_invalid(where, ": 'max_iterations' must be > 0, got ", max_iterations);
    if (!(tolerance >= Scalar(0)) || !std::isfinite(double(tolerance)))
      internal::throw_invalid(where, ": 'tolerance' must be finite and >= 0, got ", tolerance);
    if (lambdas.size() != 0) {
      if (lambdas.size() != code_rows)
        internal::throw_invalid(where, ": 'lambdas' must hold one value per atom (", code_rows,
                                "), got ", lambdas.size());
      internal::require_finite(lambdas, where, "lambdas");
      if (lambdas.minCoeff() < Scalar(0))
        internal::throw_invalid(where, ": 'lambdas' must be >= 0, got a minimum of ",
                                lambdas.minCoeff());
    }
  }

  /// The per-atom weights, expanded (one per row of the code).
  Vector<Scalar> lambda_vector(Index code_rows) const {
    return lambdas.size() != 0 ? lambdas : Vector<Scalar>::Constant(code_rows, lambda);
  }
};

/// What every pursuit returns.
template <class Code, class Scalar>
struct PursuitResult {
  Code code;           ///< the estimate (m x B for dense dictionaries, K x H x W for conv)
  int iterations = 0;  ///< iterations (coordinate descent: the most any signal of the batch took)
  bool converged = false;  ///< the stopping rule was met before max_iterations (or the callback)
  Scalar objective = Scalar(0);  ///< 0.5||y - D g||^2 + lambda ||g||_1, summed over a batch
};

template <class Scalar>
struct OmpParams {
  int max_atoms = 10;            ///< L: at most this many nonzeros per signal, 1 <= L <= m
  Scalar tolerance = Scalar(0);  ///< stop a signal early when ||y - D g||_2 <= tolerance

  void check(Index num_atoms, const char* where) const {
    if (max_atoms < 1 || max_atoms > num_atoms)
      internal::throw_invalid(where, ": 'max_atoms' must be in [1, ", num_atoms,
                              "] (the number of atoms), got ", max_atoms);
    if (!(tolerance >= Scalar(0)) || !std::isfinite(double(tolerance)))
      internal::throw_invalid(where, ": 'tolerance' must be finite and >= 0, got ", tolerance);
  }
};

template <class Scalar>
struct BasisPursuitParams {
  int max_iterations = 2000;        ///< > 0
  Scalar tolerance = Scalar(1e-8);  ///< relative primal and dual residual of the ADMM iterates
  // --- mlcsc extension ---
  Scalar rho = Scalar(0);  ///< ADMM penalty; 0 picks one from the data, then adapts it

  void check(const char* where) const {
    if (max_iterations <= 0)
      internal::throw_invalid(where, ": 'max_iterations' must be > 0, got ", max_iterations);
    if (!(tolerance >= Scalar(0)) || !std::isfinite(double(tolerance)))
      internal::throw_invalid(where, ": 'tolerance' must be finite and >= 0, got ", tolerance);
    if (!(rho >= Scalar(0)) || !std::isfinite(double(rho)))
      internal::throw_invalid(where, ": 'rho' must be finite and >= 0, got ", rho);
  }
};

}  // namespace mlcsc
