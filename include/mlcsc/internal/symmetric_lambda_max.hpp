// mlcsc: the largest eigenvalue of a real symmetric matrix, exact to rounding, without an
// eigen-solver object.
//
// Householder tridiagonalization Q^T S Q = T (backward stable: T is exactly similar to S + E,
// ||E|| ~ n eps ||S||), then bisection on T's Sturm sequence: the number of negative pivots of the
// LDL^T factorization of T - x I is the number of eigenvalues below x (Sylvester's law of
// inertia), so lambda_max is bracketed by Gershgorin's bounds and halved to the last bit. Golub &
// Van Loan, Matrix Computations, 4th ed., Sec. 8.3.1 (tridiagonalization) and 8.4.1 (bisection).
//
// Why not Eigen::SelfAdjointEigenSolver: it computes the whole spectrum (and instantiates the
// Householder-sequence and blocked-reflector machinery), costing ~9 s of compile time in every
// translation unit that builds a Dictionary; the largest eigenvalue needs neither.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

namespace mlcsc::internal {

/// The largest eigenvalue of the symmetric tridiagonal matrix with diagonal d (n) and off-diagonal
/// e (n - 1), to within a few ulps of max|T| (bisection on the Sturm count).
inline double tridiagonal_lambda_max(const Eigen::Ref<const Eigen::VectorXd>& d,
                                     const Eigen::Ref<const Eigen::VectorXd>& e) {
  const Eigen::Index n = d.size();
  if (n == 0) return 0.0;
  // Gershgorin: every eigenvalue lies in [lo, hi]
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, e2max = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double r = (i > 0 ? std::abs(e(i - 1)) : 0.0) + (i + 1 < n ? std::abs(e(i)) : 0.0);
    lo = std::min(lo, d(i) - r);
    hi = std::max(hi, d(i) + r);
    if (i + 1 < n) e2max = std::max(e2max, e(i) * e(i));
  }
  const double scale = std::max(std::abs(lo), std::abs(hi));
  if (scale == 0) return 0.0;
  const double tiny = std::numeric_limits<double>::min() * std::max(1.0, e2max);  // LAPACK's pivmin
  // eigenvalues of T strictly below x: negative pivots of T - x I = L D L^T
  const auto below = [&](double x) {
    Eigen::Index count = 0;
    double q = 1;
    for (Eigen::Index i = 0; i < n; ++i) {
      q = d(i) - x - (i > 0 ? e(i - 1) * e(i - 1) / q : 0.0);
      if (std::abs(q) < tiny) q = -tiny;  // a zero pivot: perturb it (counts x as above)
      count += q < 0;
    }
    return count;
  };
  // invariant: below(lo) < n <= below(hi), i.e. lambda_max in [lo, hi)
  lo -= 2 * std::numeric_limits<double>::epsilon() * scale;
  hi += 2 * std::numeric_limits<double>::epsilon() * scale;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (!(mid > lo && mid < hi)) break;  // the bracket is two adjacent doubles
    (below(mid) < n ? lo : hi) = mid;
  }
  return hi;
}

/// Vectors symmetric_lambda_max_in_place works in, reused across calls of one size.
struct SymmetricLambdaMaxScratch {
  Eigen::VectorXd d, e, v, p;
};

/// lambda_max of the symmetric n x n double matrix A (only its lower triangle is read), which it
/// overwrites: Householder tridiagonalization in place, then tridiagonal_lambda_max. O(4/3 n^3)
/// flops; allocates nothing when `scratch` was last used for the same n.
template <class Derived>
double symmetric_lambda_max_in_place(Eigen::MatrixBase<Derived>& A,
                                     SymmetricLambdaMaxScratch& scratch) {
  using Eigen::Index;
  const Index n = A.rows();
  if (n == 0) return 0.0;
  Eigen::VectorXd &d = scratch.d, &e = scratch.e, &v = scratch.v, &p = scratch.p;
  d.resize(n);
  e.resize(n - 1);
  v.resize(n);
  p.resize(n);
  for (Index k = 0; k + 1 < n; ++k) {
    // reflector H = I - beta u u^T with H x = alpha e_1, x = A(k+1:n, k)
    const Index m = n - k - 1;
    auto x = A.col(k).tail(m);
    const double xnorm = x.norm();
    d(k) = A(k, k);
    if (m == 1 || xnorm == 0) {
      e(k) = m == 1 ? x(0) : 0.0;
      continue;
    }
    const double alpha = x(0) > 0 ? -xnorm : xnorm;
    auto u = v.head(m);
    u = x;
    u(0) -= alpha;
    const double beta = 2 / u.squaredNorm();
    e(k) = alpha;
    // A22 <- H A22 H = A22 - u w^T - w u^T, w = beta A22 u - (beta^2 / 2)(u^T A22 u) u
    auto A22 = A.bottomRightCorner(m, m);
    auto w = p.head(m);
    w.noalias() = beta * (A22.template selfadjointView<Eigen::Lower>() * u);
    w -= (0.5 * beta * w.dot(u)) * u;
    A22.template selfadjointView<Eigen::Lower>().rankUpdate(u, w, -1.0);
  }
  d(n - 1) = A(n - 1, n - 1);
  return tridiagonal_lambda_max(d, e);
}

/// lambda_max of the symmetric matrix S (only its lower triangle is read), on a copy in double.
template <class Derived>
double symmetric_lambda_max(const Eigen::MatrixBase<Derived>& S) {
  Eigen::MatrixXd A = S.template cast<double>();
  SymmetricLambdaMaxScratch scratch;
  return symmetric_lambda_max_in_place(A, scratch);
}

}  // namespace mlcsc::internal
