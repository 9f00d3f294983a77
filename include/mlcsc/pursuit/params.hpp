// mlcsc: parameters and results of the pursuits. Params validate themselves (`check`) with
// messages that name the field; results carry iterations, convergence and the objective.
#pragma once

#include <cmath>
#include <functional>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"

namespace mlcsc {

/// How `lasso` solves min_G 0.5||y - D G||^2 + lambda ||G||_1.
enum class Method {
  ISTA,               ///< proximal gradient, step 1/L (Daubechies, Defrise, De Mol 2004)
  FISTA,              ///< accelerated proximal gradient (Beck & Teboulle 2009), optional restart
  CoordinateDescent,  ///< exact: Gram-based active-set coordinate descent (dense dictionaries only)
  ADMM  ///< ADMM in the frequency domain (Wohlberg, IEEE TIP 2016; circular ConvDictionary only)
};

/// The settings of Method::ADMM (pursuit/conv_admm.hpp). The defaults are SPORCO's for its
/// ConvBPDN (Wohlberg 2016; the residual balancing of Wohlberg, "ADMM penalty parameter
/// selection by residual balancing", 2017).
template <class Scalar>
struct AdmmParams {
  /// The initial penalty rho > 0; 0 chooses 50 lambda + 1 (lambda: the mean per-atom weight).
  Scalar rho = Scalar(0);
  /// Over-relaxation alpha in (0, 2): X is replaced by alpha X + (1 - alpha) Y before the
  /// y-step (Boyd et al. 2011, section 3.4.3).
  Scalar relaxation = Scalar(1.8);
  /// Residual balancing: every `auto_rho_period` iterations (from the second on), with the
  /// relative primal and dual residuals r and s and the target xi, rho is multiplied by
  /// min(sqrt(r / (xi s)), max_rho_scaling) when r > xi mu s and divided by
  /// min(sqrt(xi s / r), max_rho_scaling) when s > (mu / xi) r (mu = residual_ratio); the scaled
  /// dual variable is rescaled with it.
  bool auto_rho = true;
  int auto_rho_period = 1;                ///< >= 1
  Scalar residual_ratio = Scalar(1.2);    ///< mu >= 1
  Scalar max_rho_scaling = Scalar(1000);  ///< > 1
  /// xi > 0; 0 chooses 1 + 18.3^(log10(lambda) + 1) (lambda > 0; else 1), SPORCO's rule.
  Scalar residual_target = Scalar(0);

  void check(const char* where) const {
    if (!(rho >= Scalar(0)) || !std::isfinite(double(rho)))
      internal::throw_invalid(where, ": 'admm.rho' must be finite and >= 0, got ", rho);
    if (!(relaxation > Scalar(0) && relaxation < Scalar(2)))
      internal::throw_invalid(where, ": 'admm.relaxation' must be in (0, 2), got ", relaxation);
    if (auto_rho_period < 1)
      internal::throw_invalid(where, ": 'admm.auto_rho_period' must be >= 1, got ",
                              auto_rho_period);
    if (!(residual_ratio >= Scalar(1)) || !std::isfinite(double(residual_ratio)))
      internal::throw_invalid(where, ": 'admm.residual_ratio' must be finite and >= 1, got ",
                              residual_ratio);
    if (!(max_rho_scaling > Scalar(1)) || !std::isfinite(double(max_rho_scaling)))
      internal::throw_invalid(where, ": 'admm.max_rho_scaling' must be finite and > 1, got ",
                              max_rho_scaling);
    if (!(residual_target >= Scalar(0)) || !std::isfinite(double(residual_target)))
      internal::throw_invalid(where, ": 'admm.residual_target' must be finite and >= 0, got ",
                              residual_target);
  }
};

template <class Scalar>
struct LassoParams {
  Scalar lambda = Scalar(0.1);  ///< l1 weight, >= 0 (0 is least squares)
  int max_iterations = 1000;    ///< > 0; ISTA/FISTA iterations; for coordinate descent, screening
                                ///< passes plus exact solves on the working set
  /// Stop when ||G_k - G_{k-1}||_F <= tol * max(1, ||G_k||_F). ISTA/FISTA also require the
  /// proximal-gradient residual ||G_k - Z_k||_F (FISTA's extrapolated point Z_k; for ISTA it is
  /// the same quantity) to meet that bound, so FISTA does not stop where its momentum turns.
  /// ADMM stops when its relative primal and dual residuals, ||X - Y|| / max(||X||, ||Y||) and
  /// ||Y_k - Y_{k-1}|| / ||U|| (U the scaled dual variable), are both below tol (SPORCO's rule).
  Scalar tolerance = Scalar(1e-6);
  Method method = Method::FISTA;
  bool nonnegative = false;  ///< adds G >= 0 (the ReLU-consistent model)
  /// Called every iteration with the objective of the current iterate; returning false stops.
  /// (ISTA/FISTA pay one extra synthesis per iteration to report it.)
  std::function<bool(int iteration, Scalar objective)> callback;

  // --- mlcsc extensions ---
  /// One lambda per atom (per row of the code: atom or filter); empty means `lambda` for all.
  Vector<Scalar> lambdas;
  /// FISTA: the gradient restart of O'Donoghue & Candes (2015), per signal of a dense batch:
  /// t <- 1 and no extrapolation whenever <Z_k - G_k, G_k - G_{k-1}> > 0. Off by default: on
  /// the 10,000 image patches of bench_dense it lets most signals converge sooner but slows the
  /// slowest ones, so the batch needs more iterations than the textbook sequence (584 vs 419 to
  /// scikit-learn's objective). The stopping rule does not need it (see `tolerance`).
  bool adaptive_restart = false;
  /// Method::ADMM's own settings.
  AdmmParams<Scalar> admm;

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
    admm.check(where);
  }

  /// The per-atom weights, expanded (one per atom or filter).
  Vector<Scalar> lambda_vector(Index code_rows) const {
    Vector<Scalar> v;
    lambda_vector_into(code_rows, v);
    return v;
  }
  /// The same into `v`, which allocates only when its size differs (solver objects).
  void lambda_vector_into(Index code_rows, Vector<Scalar>& v) const {
    v.resize(code_rows);
    if (lambdas.size() != 0)
      v = lambdas;
    else
      v.setConstant(lambda);
  }
};

/// How a pursuit ended, overall and per signal (a column of a dense batch, an image of a batch of
/// feature maps). Each signal is solved on its own: its code, iterations and convergence do not
/// depend on what else is in the batch.
template <class Scalar>
struct PursuitStats {
  int iterations = 0;            ///< the most any signal took (signal_iterations.maxCoeff())
  bool converged = false;        ///< every signal met the stopping rule before max_iterations
  Scalar objective = Scalar(0);  ///< 0.5||y - D g||^2 + lambda ||g||_1, summed over the signals
  Eigen::VectorXi signal_iterations;                       ///< per signal: its iterations
  Eigen::Array<bool, Eigen::Dynamic, 1> signal_converged;  ///< per signal: met the rule

  /// Sets every signal's entry to `iterations` and `converged` (pursuits that run a batch as one).
  void set_uniform(Index signals, int its, bool conv) {
    signal_iterations.setConstant(signals, its);
    signal_converged.setConstant(signals, conv);
    iterations = its;
    converged = conv;
  }
  /// iterations and converged from the per-signal entries.
  void summarize() {
    iterations = signal_iterations.size() ? signal_iterations.maxCoeff() : 0;
    converged = signal_converged.size() ? bool(signal_converged.all()) : false;
  }
};

/// What every pursuit returns: the code and how the pursuit ended.
template <class Code, class Scalar>
struct PursuitResult : PursuitStats<Scalar> {
  Code code;  ///< the estimate (m x B for dense dictionaries, N x K x Hc x Wc for conv)
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
