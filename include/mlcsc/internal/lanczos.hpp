// mlcsc: the largest eigenvalue of a symmetric positive semi-definite operator A (here D^T D, so
// lambda_max = ||D||_2^2, the Lipschitz constant of the Lasso's gradient) by the Lanczos method,
// for operators too large to form.
//
// Lanczos (3-term recurrence, no reorthogonalization: loss of orthogonality only duplicates Ritz
// values, it never pushes the largest one past lambda_max) from a seeded Gaussian start. The
// largest Ritz value theta approaches lambda_max from below. Power iteration with a "the estimate
// stopped changing" rule can stop on the second eigenvalue when the start is nearly orthogonal
// to the top eigenvector (measured: 12% low on a 7 x 31 dictionary); Lanczos' Krylov space
// amplifies that component by a Chebyshev polynomial instead of a power, so it needs an
// exponentially smaller start component to be fooled. Golub & Van Loan, Matrix Computations,
// 4th ed., Sec. 10.1.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "symmetric_lambda_max.hpp"

namespace mlcsc::internal {

struct LanczosParams {
  double margin =
      1.002;  // the returned value is theta * margin (covers rounding, unconverged tail)
  double upper = std::numeric_limits<double>::infinity();  // a known bound on lambda_max
  int max_steps = 120;
  unsigned seed = 12345;
};

/// lambda_max(A) * margin, capped by `upper`, where apply(v, w) sets w = A v for vectors of size
/// n (Eigen::VectorXd). Stops when theta changed by <= 1e-7 over 5 steps (after at least 10),
/// after max_steps (or n) steps, on an invariant subspace, or as soon as theta * margin reaches
/// `upper` (then the bound is within the margin and is returned).
template <class Apply>
double lanczos_lambda_max(Eigen::Index n, Apply&& apply, const LanczosParams& p = {}) {
  using Vec = Eigen::VectorXd;
  if (n <= 0) return 0.0;
  std::mt19937 gen(p.seed);
  std::normal_distribution<double> g(0.0, 1.0);
  Vec v(n), vprev = Vec::Zero(n), w(n);
  for (Eigen::Index i = 0; i < n; ++i) v(i) = g(gen);
  v.normalize();
  std::vector<double> alpha, beta;
  double theta = 0, theta_prev = -1;
  const int max_steps = int(std::min<Eigen::Index>(p.max_steps, n));
  for (int j = 0; j < max_steps; ++j) {
    apply(v, w);
    const double a = w.dot(v);
    alpha.push_back(a);
    if (j > 0)
      w -= a * v + beta.back() * vprev;
    else
      w -= a * v;
    const double b = w.norm();
    const bool last = !(b > 1e-10 * std::abs(a)) || j + 1 == max_steps;
    if ((j + 1) % 5 == 0 || last) {
      const Eigen::Index m = Eigen::Index(alpha.size());
      theta = tridiagonal_lambda_max(Eigen::Map<const Vec>(alpha.data(), m),
                                     Eigen::Map<const Vec>(beta.data(), m - 1));
      if (theta * p.margin >= p.upper) break;
      if (j >= 9 && std::abs(theta - theta_prev) <= 1e-7 * theta) break;
      theta_prev = theta;
    }
    if (last) break;
    beta.push_back(b);
    vprev.swap(v);
    v = w / b;
  }
  return std::min(theta * p.margin, p.upper);
}

/// lambda_max of the smaller Gram matrix of A (A A^T and A^T A share their nonzero spectrum):
/// exact (symmetric_lambda_max.hpp) up to 1024, Lanczos (within its 0.2% margin above) beyond.
template <class Derived>
double gram_lambda_max(const Eigen::MatrixBase<Derived>& A) {
  static_assert(std::is_same_v<typename Derived::Scalar, double>, "computed in double");
  const bool tall = A.rows() >= A.cols();
  const Eigen::MatrixXd S =
      tall ? Eigen::MatrixXd(A.transpose() * A) : Eigen::MatrixXd(A * A.transpose());
  if (S.rows() == 0) return 0.0;
  if (S.rows() <= 1024) {
    return symmetric_lambda_max(S);
  }
  LanczosParams p;
  p.max_steps = 300;
  return lanczos_lambda_max(
      S.rows(), [&](const Eigen::VectorXd& v, Eigen::VectorXd& w) { w.noalias() = S * v; }, p);
}

}  // namespace mlcsc::internal
