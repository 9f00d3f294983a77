// mlcsc: basis pursuit  min ||g||_1  s.t.  D g = x  (Chen, Donoho, Saunders 1998), by ADMM
// (Boyd et al., Found. Trends Mach. Learn. 2011, section 6.2) on the splitting g = z:
//   g <- Proj_{Dg = x}(z - u) = v - P (D v - x),  v = z - u,  P = D^T (D D^T)^{-1}  (cached)
//   z <- S_{1/rho}(g + u),   u <- u + g - z,
// with residual balancing of rho (Boyd et al. 3.4.1), and solution polishing (as in OSQP,
// Stellato et al., Math. Prog. Comp. 2020): once the support S of z settles, the exact solution
// on S is checked against the LP's optimality conditions, which ends ADMM's slow tail.
// Needs D of full row rank.
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

namespace internal {

/// Polishing one column of basis pursuit. z is optimal iff D z = x and some y has
/// a_j^T y = sign(z_j) where z_j != 0 and |D^T y| <= 1 (LP duality: then ||z||_1 = y^T x, the
/// dual objective). `certify` guesses a set S with signs s from ADMM's iterate z and its dual
/// lambda = rho u (which tends to D^T y): first the support of z; failing that, the support plus
/// the atoms where |lambda_j| is within 1e-3 of 1 (a coefficient too small for ADMM to have
/// resolved yet, signed by lambda). It solves D_S z_S = x (normal equations, in double), takes
/// y0 = (D D^T)^{-1} D lambda, moves it by the least-norm step onto D_S^T y = s, and accepts when
/// both conditions hold to `kTolerance` (relative; in float, to the rounding of x), |S| <= n and
/// every z_j agrees with s_j (or vanishes). The column then becomes the exact fixed point of the
/// iteration: z = the solution, u = D^T y / rho. Workspaces are sized once; no allocation.
template <class Scalar>
class BasisPursuitPolish {
 public:
  static constexpr double kTolerance =
      std::max(1e-9, 16.0 * double(std::numeric_limits<Scalar>::epsilon()));
  static constexpr double kTight = 1e-3;

  BasisPursuitPolish(const Matrix<double>& A, const Eigen::LLT<Matrix<double>>& aat)
      : A_(A),
        aat_(aat),
        DS_(A.rows(), A.rows()),
        G_(A.rows(), A.rows()),
        zs_(A.rows()),
        sign_(A.rows()),
        t_(A.rows()),
        y_(A.rows()),
        r_(A.rows()),
        x_(A.rows()),
        c_(A.cols()),
        support_(A.rows()) {}

  template <class ZCol, class UCol, class XCol>
  bool certify(ZCol&& z, UCol&& u, const XCol& x, Scalar rho) {
    x_ = x.template cast<double>();
    if (x_.squaredNorm() == 0) {  // z = 0 with the dual y = 0
      z.setZero();
      u.setZero();
      return true;
    }
    return attempt(z, u, rho, false) || attempt(z, u, rho, true);
  }

 private:
  template <class ZCol, class UCol>
  bool attempt(ZCol& z, UCol& u, Scalar rho, bool with_tight) {
    const Index n = A_.rows(), m = A_.cols();
    // the support: entries above ADMM's rounding level (float iterates carry ~1e-7 specks off
    // the support, which no dual certificate can accept)
    const double floor =
        std::sqrt(double(std::numeric_limits<Scalar>::epsilon())) * double(z.cwiseAbs().maxCoeff());
    Index k = 0;
    bool added = false;
    for (Index i = 0; i < m; ++i) {
      const double zi = double(z[i]), li = double(rho) * double(u[i]);
      const bool tight = with_tight && std::abs(li) >= 1 - kTight;
      if (std::abs(zi) > floor || tight) {
        if (k == n) return false;
        added |= std::abs(zi) <= floor;
        sign_[k] = std::abs(zi) > floor ? (zi > 0 ? 1.0 : -1.0) : (li > 0 ? 1.0 : -1.0);
        support_[k++] = i;
      }
    }
    if (k == 0 || (with_tight && !added)) return false;
    auto DS = DS_.leftCols(k);
    auto G = G_.topLeftCorner(k, k);
    for (Index j = 0; j < k; ++j) DS.col(j) = A_.col(support_[j]);
    for (Index j = 0; j < k; ++j)
      for (Index i = j; i < k; ++i) G(i, j) = DS.col(i).dot(DS.col(j));
    Eigen::LLT<Eigen::Ref<Matrix<double>>, Eigen::Lower> gram(G);
    if (gram.info() != Eigen::Success) return false;
    // primal: D_S z_S = x, each z_j of sign s_j or (to the tolerance) zero
    auto zs = zs_.head(k);
    zs.noalias() = DS.transpose() * x_;
    gram.solveInPlace(zs);
    r_.noalias() = DS * zs;
    r_ -= x_;
    const double xnorm = x_.norm(), zero = kTolerance * zs.cwiseAbs().maxCoeff();
    if (!(r_.norm() <= kTolerance * xnorm)) return false;
    for (Index j = 0; j < k; ++j)
      if (!(zs[j] * sign_[j] > zero)) {
        if (!(std::abs(zs[j]) <= zero)) return false;
        zs[j] = 0;
      }
    // dual: y = y0 + D_S G^{-1} (s - D_S^T y0), so that D_S^T y = s
    c_ = u.template cast<double>() * double(rho);
    y_.noalias() = A_ * c_;
    aat_.solveInPlace(y_);
    auto t = t_.head(k);
    t = sign_.head(k);
    t.noalias() -= DS.transpose() * y_;
    gram.solveInPlace(t);
    y_.noalias() += DS * t;
    c_.noalias() = A_.transpose() * y_;
    if (!(c_.cwiseAbs().maxCoeff() <= 1 + kTolerance)) return false;
    z.setZero();
    for (Index j = 0; j < k; ++j) z[support_[j]] = Scalar(zs[j]);
    u = (c_ / double(rho)).template cast<Scalar>();
    return true;
  }

  const Matrix<double>& A_;
  const Eigen::LLT<Matrix<double>>& aat_;
  Matrix<double> DS_, G_;
  Vector<double> zs_, sign_, t_, y_, r_, x_, c_;
  Eigen::Matrix<Index, Eigen::Dynamic, 1> support_;
};

}  // namespace internal

/// \brief Basis pursuit \f$ \min_\Gamma \|\Gamma\|_1 \ \mathrm{s.t.}\ D\Gamma = x \f$ on each
/// column of x. The code returned is the sparse ADMM iterate z, or, for a column whose support
/// passed the optimality check (see internal::BasisPursuitPolish), the exact solution on that
/// support; `objective` is \f$\|z\|_1\f$ summed over the batch; `converged` says every column
/// was certified optimal or the primal and dual residuals met `tolerance` (relative).
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
  // Polishing costs about n |S|^2 + |S|^3 / 3 per column against 4 n m for one iteration; every
  // 25 n / 16 iterations keeps it under a fifth of the iterations' work.
  const int polish_every = 25 * int(std::max<Index>(1, (n + 15) / 16));
  internal::BasisPursuitPolish<Scalar> polish(A, llt);
  Matrix<Scalar> exact(m, B);  // the certified columns, which the iterations no longer change
  Eigen::Array<bool, Eigen::Dynamic, 1> certified = Eigen::Array<bool, Eigen::Dynamic, 1>::Zero(B);
  const auto polish_columns = [&] {
    for (Index b = 0; b < B; ++b)
      if (!certified[b] && polish.certify(z.col(b), u.col(b), X.col(b), rho)) {
        certified[b] = true;
        exact.col(b) = z.col(b);
      }
    return certified.all();
  };
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
      if (k % polish_every == 0 && polish_columns()) {
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
    // the last iterate gets its check too: an exact answer where the support is right
    if (polish_columns()) res.converged = true;
  }
  for (Index b = 0; b < B; ++b)
    if (certified[b]) z.col(b) = exact.col(b);
  res.objective = z.cwiseAbs().sum();
  return res;
}

}  // namespace mlcsc
