// mlcsc: basis pursuit  min ||g||_1  s.t.  D g = x  (Chen, Donoho, Saunders 1998), by ADMM
// (Boyd et al., Found. Trends Mach. Learn. 2011, section 6.2) on the splitting g = z:
//   g <- Proj_{Dg = x}(z - u) = v - P (D v - x),  v = z - u,  P = D^T (D D^T)^{-1}  (cached)
//   z <- S_{1/rho}(g + u),   u <- u + g - z,
// with residual balancing of rho (Boyd et al. 3.4.1). Needs D of full row rank.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Cholesky>

#include "../core/shrinkage.hpp"
#include "../dense/dictionary.hpp"
#include "../internal/gemm.hpp"
#include "../internal/no_malloc.hpp"
#include "params.hpp"

namespace mlcsc {

/// \brief Basis pursuit \f$ \min_\Gamma \|\Gamma\|_1 \ \mathrm{s.t.}\ D\Gamma = x \f$ on each
/// column of x. The code returned is the sparse ADMM iterate z; `objective` is \f$\|z\|_1\f$ summed
/// over the batch; `converged` says the primal and dual residuals met `tolerance` (relative).
/// Throws std::invalid_argument when D does not have full row rank (D g = x may have no solution).
template <class Scalar, class Derived>
PursuitResult<Matrix<Scalar>, Scalar> basis_pursuit(const Dictionary<Scalar>& D,
                                                    const Eigen::MatrixBase<Derived>& x,
                                                    const BasisPursuitParams<Scalar>& p) {
  const auto X = D.signal_view(x);
  D.check_signal(X, "basis_pursuit", "x");
  p.check("basis_pursuit");
  const Index n = D.signal_size(), m = D.num_atoms(), B = X.cols();
  const Matrix<double> A = D.matrix().template cast<double>();
  const Matrix<double> AAt = A * A.transpose();
  Eigen::LLT<Matrix<double>> llt(AAt);
  const double rcond = llt.info() == Eigen::Success ? llt.rcond() : 0.0;
  if (!(rcond > 1e3 * std::numeric_limits<double>::epsilon()))
    internal::throw_invalid("basis_pursuit: the dictionary (", internal::shape(n, m),
                            ") does not have full row rank (reciprocal condition number of D D^T ",
                            rcond, "), so D g = x need not have a solution");
  const Matrix<Scalar> P = llt.solve(A).transpose().template cast<Scalar>();  // m x n

  PursuitResult<Matrix<Scalar>, Scalar> res;
  Matrix<Scalar> g(m, B), u = Matrix<Scalar>::Zero(m, B), v(m, B), zold(m, B), t(n, B);
  res.code.noalias() = P * X;  // the least-norm solution: a feasible start
  Matrix<Scalar>& z = res.code;
  const Scalar scale = z.cwiseAbs().maxCoeff();
  Scalar rho = p.rho > Scalar(0) ? p.rho : (scale > Scalar(0) ? Scalar(10) / scale : Scalar(1));
  constexpr int kMaxRhoChanges = 32;
  int rho_changes = 0;
  {
    internal::NoMallocScope guard;
    for (int k = 1; k <= p.max_iterations; ++k) {
      v = z - u;
      D.synthesize(v, t);
      t -= X;
      internal::gemm<Scalar>(P, false, t, g);  // g = v - P (D v - x)
      g = v - g;
      zold = z;
      v = g + u;
      internal::shrink_into(z.array(), v.array(), Scalar(1) / rho, Shrinkage::Soft);
      u += g - z;
      const double r = double((g - z).norm()), s = double(rho) * double((z - zold).norm());
      res.iterations = k;
      const double tol = double(p.tolerance);
      if (r <= tol * std::max(1.0, double(z.norm())) &&
          s <= tol * std::max(1.0, double(rho) * double(u.norm()))) {
        res.converged = true;
        break;
      }
      // Residual balancing, a bounded number of times: ADMM converges for a fixed rho, but a rho
      // that keeps changing can cycle for ever (seen with generic, non-sparse x).
      if (k % 10 == 0 && rho_changes < kMaxRhoChanges) {
        if (r > 10 * s) {
          rho *= Scalar(2);
          u /= Scalar(2);
          ++rho_changes;
        } else if (s > 10 * r) {
          rho /= Scalar(2);
          u *= Scalar(2);
          ++rho_changes;
        }
      }
    }
  }
  res.objective = z.cwiseAbs().sum();
  return res;
}

}  // namespace mlcsc
