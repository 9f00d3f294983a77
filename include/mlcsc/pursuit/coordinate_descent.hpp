// mlcsc: the exact dense Lasso by Gram-based, active-set coordinate descent.
//
// For each signal y (a column of Y), with G = D^T D, c = D^T y and r = c - G g:
//   coordinate update (Friedman, Hastie, Hoefling, Tibshirani 2007; "covariance updates" of
//   glmnet, Friedman et al. 2010):  g_j <- S_{lambda_j}(r_j + G_jj g_j) / G_jj,  r <- r - G_:j dg_j;
//   active set: sweeps run over the atoms in the working set only; a screening pass over all atoms
//   adds the (at most 8) worst KKT violators |r_j| > lambda_j;
//   exact polish: once a sweep leaves the sign pattern s of the working set S unchanged, solve
//   G_SS g_S = c_S - lambda_S s_S (Cholesky); if the signs agree the solution is exact, else take
//   the feature-sign line step to the first sign change (Lee, Battle, Raina, Ng, NIPS 2006), which
//   decreases the objective.
// A signal has converged when no atom violates the KKT conditions by more than
// tolerance * max(1, ||c||_inf) after an exact polish, or after a sweep whose change meets the
// contract's rule ||g_k - g_{k-1}|| <= tolerance * max(1, ||g_k||). One iteration is one sweep
// (screening passes count). Signals run in parallel with OpenMP; every buffer is sized first.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../dense/dictionary.hpp"
#include "../internal/no_malloc.hpp"
#include "../internal/parallel.hpp"
#include "params.hpp"

namespace mlcsc::internal {

template <class Scalar>
struct CdWorkspace {
  Vector<Scalar> r;            // c - G g, maintained through every update
  Eigen::VectorXi active;      // the working set, first `size` entries
  Eigen::Array<signed char, Eigen::Dynamic, 1> in_active, sign;
  Matrix<double> chol;         // kmax x kmax, the Cholesky factor of G_SS
  Vector<double> rhs;          // kmax
  Vector<Scalar> scratch;      // m
  Index size = 0;

  CdWorkspace(Index m, Index kmax)
      : r(m), active(m), in_active(m), sign(m), chol(kmax, kmax), rhs(kmax), scratch(m) {}
};

template <class Scalar>
class CoordinateDescent {
 public:
  CoordinateDescent(const Matrix<Scalar>& gram, const Vector<Scalar>& lambdas, bool nonnegative,
                    Scalar tolerance, int max_sweeps)
      : G_(gram), diag_(gram.diagonal()), lam_(lambdas), nonneg_(nonnegative), tol_(tolerance),
        max_sweeps_(max_sweeps) {}

  /// Solves one signal in place: g holds the warm start on entry and the solution on exit.
  template <class CV, class GV>
  int solve(const CV& c, GV g, CdWorkspace<Scalar>& w, bool& converged) const {
    const Index m = G_.rows();
    const double kkt = std::max(double(tol_), 20.0 * std::numeric_limits<Scalar>::epsilon()) *
                       std::max(1.0, double(c.cwiseAbs().maxCoeff()));
    w.r = c;
    w.size = 0;
    w.in_active.setZero();
    for (Index j = 0; j < m; ++j)
      if (g(j) != Scalar(0)) {
        w.r.noalias() -= G_.col(j) * g(j);
        add(w, j);
      }
    converged = false;
    int sweeps = 0;
    bool settled = w.size == 0;  // the working set is solved exactly, or to the CD tolerance
    while (sweeps < max_sweeps_) {
      ++sweeps;
      if (screen(w, kkt) == 0 && settled) {
        converged = true;
        break;
      }
      settled = false;
      while (sweeps < max_sweeps_ && !settled) {
        ++sweeps;
        bool pattern_changed = false;
        double change = 0, norm = 0;
        for (Index a = 0; a < w.size; ++a) {
          const Index j = w.active(a);
          if (!(diag_(j) > Scalar(0))) continue;  // a zero atom keeps a zero coefficient
          const Scalar gj = g(j);
          const Scalar z = w.r(j) + diag_(j) * gj;
          const Scalar gn = shrink1(z, lam_(j)) / diag_(j);
          const Scalar d = gn - gj;
          if (d != Scalar(0)) {
            w.r.noalias() -= G_.col(j) * d;
            g(j) = gn;
            const signed char s = sgn(gn);
            if (s != w.sign(j)) pattern_changed = true;
            w.sign(j) = s;
            change += double(d) * double(d);
          }
          norm += double(gn) * double(gn);
        }
        prune(w, g);
        if (!pattern_changed && w.size > 0 && polish(c, g, w)) {
          settled = true;
        } else if (std::sqrt(change) <= double(tol_) * std::max(1.0, std::sqrt(norm))) {
          settled = true;
        }
      }
    }
    return sweeps;
  }

 private:
  Scalar shrink1(Scalar z, Scalar lam) const {
    if (nonneg_) return std::max(z - lam, Scalar(0));
    return z > lam ? z - lam : (z < -lam ? z + lam : Scalar(0));
  }
  static signed char sgn(Scalar v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }

  static void add(CdWorkspace<Scalar>& w, Index j) {
    w.active(w.size++) = int(j);
    w.in_active(j) = 1;
  }

  // Drops zero coefficients from the working set (they re-enter through screening).
  template <class GV>
  static void prune(CdWorkspace<Scalar>& w, const GV& g) {
    Index k = 0;
    for (Index a = 0; a < w.size; ++a) {
      const Index j = w.active(a);
      if (g(j) != Scalar(0)) {
        w.active(k++) = int(j);
      } else {
        w.in_active(j) = 0;
        w.sign(j) = 0;
      }
    }
    w.size = k;
  }

  // Adds the (at most 8) atoms violating the KKT conditions most; returns how many violate.
  Index screen(CdWorkspace<Scalar>& w, double kkt) const {
    constexpr int kMax = 8;
    double best[kMax];
    Index idx[kMax];
    int nb = 0;
    Index violators = 0;
    const Index m = G_.rows();
    for (Index j = 0; j < m; ++j) {
      if (w.in_active(j) || !(diag_(j) > Scalar(0))) continue;
      const double v = (nonneg_ ? double(w.r(j)) : std::abs(double(w.r(j)))) - double(lam_(j));
      if (v <= kkt) continue;
      ++violators;
      if (nb < kMax || v > best[nb - 1]) {
        int pos = nb < kMax ? nb++ : kMax - 1;
        while (pos > 0 && best[pos - 1] < v) {
          best[pos] = best[pos - 1];
          idx[pos] = idx[pos - 1];
          --pos;
        }
        best[pos] = v;
        idx[pos] = j;
      }
    }
    for (int i = 0; i < nb; ++i) {
      add(w, idx[i]);
      w.sign(idx[i]) = 0;
    }
    return violators;
  }

  // Exact solve on the working set for its current signs; see the header comment.
  template <class CV, class GV>
  bool polish(const CV& c, GV g, CdWorkspace<Scalar>& w) const {
    const Index k = w.size;
    if (k > w.chol.rows()) return false;
    auto Lm = w.chol.topLeftCorner(k, k);
    auto x = w.rhs.head(k);
    // Cholesky of G_SS (lower), in place; fails on (near) linearly dependent atoms.
    for (Index a = 0; a < k; ++a) {
      const Index ja = w.active(a);
      for (Index b = 0; b <= a; ++b) {
        double s = double(G_(ja, w.active(b)));
        for (Index q = 0; q < b; ++q) s -= Lm(a, q) * Lm(b, q);
        if (a == b) {
          if (!(s > 1e-10 * double(diag_(ja)))) return false;
          Lm(a, a) = std::sqrt(s);
        } else {
          Lm(a, b) = s / Lm(b, b);
        }
      }
      x(a) = double(c(ja)) - double(lam_(ja)) * double(w.sign(ja));
    }
    for (Index a = 0; a < k; ++a) {  // forward: L u = rhs
      double s = x(a);
      for (Index q = 0; q < a; ++q) s -= Lm(a, q) * x(q);
      x(a) = s / Lm(a, a);
    }
    for (Index a = k - 1; a >= 0; --a) {  // backward: L^T x = u
      double s = x(a);
      for (Index q = a + 1; q < k; ++q) s -= Lm(q, a) * x(q);
      x(a) = s / Lm(a, a);
    }
    // Largest step theta in (0, 1] from g towards x that keeps every sign.
    double theta = 1;
    Index blocker = -1;
    for (Index a = 0; a < k; ++a) {
      const Index j = w.active(a);
      if (sgn(Scalar(x(a))) != w.sign(j)) {
        const double gj = double(g(j));
        const double th = gj / (gj - x(a));
        if (th < theta) {
          theta = th;
          blocker = a;
        }
      }
    }
    for (Index a = 0; a < k; ++a) {
      const Index j = w.active(a);
      g(j) = Scalar(a == blocker ? 0.0 : double(g(j)) + theta * (x(a) - double(g(j))));
      if (blocker < 0 && sgn(g(j)) != w.sign(j)) g(j) = Scalar(0);  // rounding to zero
    }
    // Recompute r = c - G_:S g_S exactly, then drop the zeros.
    w.r = c;
    for (Index a = 0; a < k; ++a) {
      const Index j = w.active(a);
      if (g(j) != Scalar(0)) w.r.noalias() -= G_.col(j) * g(j);
    }
    const Index before = w.size;
    prune(w, g);
    return blocker < 0 && w.size == before;
  }

  const Matrix<Scalar>& G_;
  const Vector<Scalar> diag_;
  const Vector<Scalar>& lam_;
  bool nonneg_;
  Scalar tol_;
  int max_sweeps_;
};

/// The batch driver: G = D^T D and C = D^T Y by matrix products, then every signal in parallel.
template <class Scalar>
PursuitResult<Matrix<Scalar>, Scalar> coordinate_descent(
    const Dictionary<Scalar>& D, const Eigen::Ref<const Matrix<Scalar>>& Y,
    const LassoParams<Scalar>& p, const Matrix<Scalar>* init) {
  const Index m = D.num_atoms(), n = D.signal_size(), B = Y.cols();
  const Matrix<Scalar> G = D.gram();
  const Matrix<Scalar> C = D.analyze(Y);
  const Vector<Scalar> lam = p.lambda_vector(m);
  PursuitResult<Matrix<Scalar>, Scalar> res;
  res.code = init ? *init : Matrix<Scalar>::Zero(m, B);
  const Index kmax = std::min<Index>(m, std::max<Index>(2 * n, 64));
  const int threads = std::max(1, int(std::min<Index>(max_threads(), B)));
  std::vector<CdWorkspace<Scalar>> work;
  work.reserve(threads);
  for (int t = 0; t < threads; ++t) work.emplace_back(m, kmax);
  Eigen::VectorXi sweeps(B);
  Eigen::Array<bool, Eigen::Dynamic, 1> conv(B);
  const CoordinateDescent<Scalar> cd(G, lam, p.nonnegative, p.tolerance, p.max_iterations);
  {
    NoMallocScope guard;
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) if (threads > 1)
    for (Index b = 0; b < B; ++b) {
      bool ok = false;
      sweeps(b) = cd.solve(C.col(b), res.code.col(b), work[thread_id()], ok);
      conv(b) = ok;
    }
  }
  res.iterations = sweeps.maxCoeff();
  res.converged = conv.all();
  const Matrix<Scalar> R = D.matrix() * res.code - Y;
  res.objective = Scalar(0.5 * double(R.squaredNorm()) +
                         double((res.code.array().abs().colwise() * lam.array()).sum()));
  return res;
}

}  // namespace mlcsc::internal
