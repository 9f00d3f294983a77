// mlcsc: the exact dense Lasso by Gram-based, active-set coordinate descent.
//
// For each signal y (a column of Y), with G = D^T D, c = D^T y and r = c - G g (the negative
// gradient of 0.5||y - D g||^2), starting from g = 0 (or the warm start):
//   screening (the active-set strategy of glmnet, Friedman, Hastie, Tibshirani 2010): one
//     vectorized pass over all atoms finds the (at most 8) worst KKT violators
//     |r_j| > lambda_j + tol outside the working set S;
//   coordinate updates (Friedman, Hastie, Hoefling, Tibshirani 2007, "covariance updates"): each
//     violator enters S by g_j <- S_{lambda_j}(r_j) / G_jj, r_j seeing the updates before it;
//   exact solves on S: with s = sign(g_S), x = G_SS^{-1}(c_S - lambda_S s_S) by a Cholesky factor
//     of the gathered block G_SS that is extended by one row per entering atom and downdated by
//     Givens rotations when an atom leaves (never refactored). If sign(x) = s, g_S = x solves
//     the problem restricted to S exactly. Otherwise the feature-sign step (Lee, Battle, Raina,
//     Ng, NIPS 2006) moves g towards x up to the first sign change, which lowers the objective,
//     and that atom leaves S. An atom that depends linearly on S (G_SS singular, as happens on
//     overcomplete DCTs) takes a null-space step instead: along v with D v = 0 the fit is
//     unchanged and the l1 term does not increase, up to the first coefficient reaching zero,
//     which leaves S;
//   then r = c - G_:S g_S is recomputed over all atoms and screened again.
// A signal has converged when a screening after an exact solve finds no violator by more than
// max(tolerance * max(1, ||c||_inf), 20 eps ||c||_inf); |r_j| = lambda_j on S holds to rounding.
// One iteration is one screening pass (with its coordinate updates) or one exact solve. The
// k x k algebra runs in double for either Scalar. Signals run in parallel with OpenMP; every
// buffer is sized before the loop (no allocation inside it).
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
  using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Vector<Scalar> r;                              // m: c - G g, valid at each screening
  Eigen::Array<Scalar, Eigen::Dynamic, 1> viol;  // m: screening scratch
  Eigen::VectorXi active;                        // kmax: the working set S, first `size` entries
  Eigen::Array<signed char, Eigen::Dynamic, 1> in_active;  // m
  Matrix<double> gss;    // kmax x kmax: G_SS, in the order of `active`
  RowMatrixD chol;       // kmax x kmax: lower Cholesky factor of G_SS, first `chol_rows` rows valid
  Vector<double> inv_l;  // 1 / chol(a, a)
  Vector<double> gs, cs, lam, inv_diag, x, u;         // kmax, per member of S
  Eigen::Array<signed char, Eigen::Dynamic, 1> sign;  // kmax: sign pattern of gs
  Index size = 0, chol_rows = 0, kmax = 0;

  CdWorkspace(Index m, Index kmax_)
      : r(m),
        viol(m),
        active(kmax_),
        in_active(m),
        gss(kmax_, kmax_),
        chol(kmax_, kmax_),
        inv_l(kmax_),
        gs(kmax_),
        cs(kmax_),
        lam(kmax_),
        inv_diag(kmax_),
        x(kmax_),
        u(kmax_),
        sign(kmax_),
        kmax(kmax_) {}
};

template <class Scalar>
class CoordinateDescent {
 public:
  static constexpr int kAddPerScreen = 8;

  CoordinateDescent(const Matrix<Scalar>& gram, const Vector<Scalar>& lambdas, bool nonnegative,
                    Scalar tolerance, int max_sweeps)
      : G_(gram),
        lam_(lambdas),
        screen_lam_(lambdas.size()),
        nonneg_(nonnegative),
        tol_(tolerance),
        max_sweeps_(max_sweeps) {
    // An atom of zero norm can never enter: its screening threshold is +infinity.
    for (Index j = 0; j < lam_.size(); ++j)
      screen_lam_(j) = G_(j, j) > Scalar(0) ? lam_(j) : std::numeric_limits<Scalar>::infinity();
  }

  /// Solves one signal in place: g holds the warm start on entry and the solution on exit.
  /// Returns the iterations: screening passes plus exact solves.
  template <class CV, class GV>
  int solve(const CV& c, GV g, CdWorkspace<Scalar>& w, bool& converged) const {
    const Index m = G_.rows();
    // The KKT tolerance: the contract's tolerance, absolute below ||c||_inf = 1 (so it scales
    // with the data as the caller scales it), never below the rounding of r.
    const double cmax = double(c.cwiseAbs().maxCoeff());
    const double kkt = std::max(double(tol_) * std::max(1.0, cmax),
                                20.0 * std::numeric_limits<Scalar>::epsilon() * cmax);
    w.size = 0;
    w.chol_rows = 0;
    w.in_active.setZero();
    for (Index j = 0; j < m; ++j)
      if (g(j) != Scalar(0)) {
        if (!(G_(j, j) > Scalar(0)) || w.size == w.kmax) {
          g(j) = Scalar(0);  // a zero atom keeps a zero coefficient; capacity: see the driver
          continue;
        }
        add(w, c, j, double(g(j)));
      }
    converged = false;
    int iterations = 0;
    bool exact = w.size == 0 || polish_all(w, g, iterations);
    while (exact && iterations < max_sweeps_) {
      ++iterations;
      full_residual(c, w);
      const Index added = screen(c, g, w, kkt);
      if (added == 0) {
        converged = true;
        break;
      }
      if (added < 0) break;  // violators remain but the working set is full: not converged
      exact = polish_all(w, g, iterations);
    }
    for (Index a = 0; a < w.size; ++a) g(w.active(a)) = Scalar(w.gs(a));
    return iterations;
  }

 private:
  static double shrink1(double z, double lam, bool nonneg) {
    if (nonneg) return std::max(z - lam, 0.0);
    return z > lam ? z - lam : (z < -lam ? z + lam : 0.0);
  }
  static signed char sgn(double v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }

  // Appends atom j to S with coefficient gj, gathering its row of G_SS.
  template <class CV>
  void add(CdWorkspace<Scalar>& w, const CV& c, Index j, double gj) const {
    const Index k = w.size;
    w.active(k) = int(j);
    w.in_active(j) = 1;
    for (Index b = 0; b < k; ++b) {
      const double v = double(G_(j, w.active(b)));
      w.gss(k, b) = v;
      w.gss(b, k) = v;
    }
    w.gss(k, k) = double(G_(j, j));
    w.inv_diag(k) = 1.0 / double(G_(j, j));
    w.lam(k) = double(lam_(j));
    w.cs(k) = double(c(j));
    w.gs(k) = gj;
    w.sign(k) = sgn(gj);
    w.size = k + 1;
  }

  // Removes position p from S (its coefficient becomes 0): compacts G_SS and downdates the
  // Cholesky factor by Givens rotations instead of recomputing it.
  template <class GV>
  static void remove_at(CdWorkspace<Scalar>& w, GV& g, Index p) {
    const Index k = w.size;
    w.in_active(w.active(p)) = 0;
    g(w.active(p)) = Scalar(0);
    for (Index a = p; a + 1 < k; ++a) {
      w.active(a) = w.active(a + 1);
      w.gs(a) = w.gs(a + 1);
      w.cs(a) = w.cs(a + 1);
      w.lam(a) = w.lam(a + 1);
      w.inv_diag(a) = w.inv_diag(a + 1);
      w.sign(a) = w.sign(a + 1);
    }
    for (Index col = 0; col < k; ++col) {  // drop row p, then column p
      double* d = w.gss.col(col).data();
      std::copy(d + p + 1, d + k, d + p);
    }
    for (Index col = p; col + 1 < k; ++col)
      w.gss.col(col).head(k - 1) = w.gss.col(col + 1).head(k - 1);
    w.size = k - 1;
    const Index n = w.chol_rows;
    if (p >= n) return;
    auto& L = w.chol;
    for (Index i = p; i + 1 < n; ++i) L.row(i).head(i + 2) = L.row(i + 1).head(i + 2);
    // Rows p..n-2 now reach one column too far; rotate columns (j, j+1) back to triangular.
    for (Index j = p; j + 1 < n; ++j) {
      const double a = L(j, j), b = L(j, j + 1);
      const double rr = std::hypot(a, b), cth = a / rr, sth = b / rr;
      for (Index i = j; i + 1 < n; ++i) {
        const double xi = L(i, j), yi = L(i, j + 1);
        L(i, j) = cth * xi + sth * yi;
        L(i, j + 1) = cth * yi - sth * xi;
      }
      w.inv_l(j) = 1.0 / L(j, j);
    }
    w.chol_rows = n - 1;
  }

  // r = c - G_:S g_S over all atoms, two columns at a time.
  template <class CV>
  void full_residual(const CV& c, CdWorkspace<Scalar>& w) const {
    w.r = c;
    Index a = 0;
    for (; a + 1 < w.size; a += 2)
      w.r.noalias() -=
          G_.col(w.active(a)) * Scalar(w.gs(a)) + G_.col(w.active(a + 1)) * Scalar(w.gs(a + 1));
    if (a < w.size) w.r.noalias() -= G_.col(w.active(a)) * Scalar(w.gs(a));
  }

  // Finds the (at most kAddPerScreen) atoms outside S violating the KKT conditions most and
  // lets each enter by one coordinate update (in order of violation, each seeing the updates
  // before it); an atom whose update is zero stays out. Returns the number of violators found
  // (0: the KKT conditions hold), or -1 when there are violators but S is full.
  template <class CV, class GV>
  Index screen(const CV& c, GV& g, CdWorkspace<Scalar>& w, double kkt) const {
    const Index m = G_.rows();
    if (nonneg_)
      w.viol = w.r.array() - screen_lam_.array();
    else
      w.viol = w.r.array().abs() - screen_lam_.array();
    for (Index a = 0; a < w.size; ++a)
      w.viol(w.active(a)) = -std::numeric_limits<Scalar>::infinity();
    // Top-kAddPerScreen selection; whole packets at or below the cut are skipped.
    using Packet = typename Eigen::internal::packet_traits<Scalar>::type;
    constexpr Index P = Eigen::internal::packet_traits<Scalar>::size;
    Scalar best[kAddPerScreen];
    Index idx[kAddPerScreen];
    int nb = 0;
    Scalar cut = Scalar(kkt);
    const Scalar* v = w.viol.data();
    auto consider = [&](Index j) {
      const Scalar vj = v[j];
      if (!(vj > cut)) return;
      int pos = nb < kAddPerScreen ? nb++ : kAddPerScreen - 1;
      while (pos > 0 && best[pos - 1] < vj) {
        best[pos] = best[pos - 1];
        idx[pos] = idx[pos - 1];
        --pos;
      }
      best[pos] = vj;
      idx[pos] = j;
      if (nb == kAddPerScreen) cut = best[kAddPerScreen - 1];
    };
    Index j0 = 0;
    for (; j0 + P <= m; j0 += P) {
      if (!(Eigen::internal::predux_max(Eigen::internal::ploadu<Packet>(v + j0)) > cut)) continue;
      for (Index j = j0; j < j0 + P; ++j) consider(j);
    }
    for (; j0 < m; ++j0) consider(j0);
    if (nb == 0) return 0;
    if (w.size == w.kmax) return -1;
    const int take = int(std::min<Index>(nb, w.kmax - w.size));
    // Coordinate updates of the entering atoms: g_j = S_lambda(r_j) / G_jj, where r_j already
    // includes the updates of the atoms that entered before it in this pass.
    const Index k0 = w.size;
    for (int i = 0; i < take; ++i) {
      const Index j = idx[i];
      double rj = double(w.r(j));
      for (Index a = k0; a < w.size; ++a) rj -= double(G_(j, w.active(a))) * w.gs(a);
      const double gj = shrink1(rj, double(lam_(j)), nonneg_) / double(G_(j, j));
      if (gj != 0) add(w, c, j, gj);
    }
    (void)g;
    return std::max<Index>(take, 1);
  }

  // Extends the Cholesky factor of G_SS to all of S. Returns -1 on success, else the position a
  // of the first atom that depends (numerically) linearly on the atoms before it; then row a of
  // the factor holds l with L_{<a} l = G_{<a,a}.
  Index factor(CdWorkspace<Scalar>& w) const {
    auto& L = w.chol;
    for (Index a = w.chol_rows; a < w.size; ++a) {
      for (Index b = 0; b < a; ++b)
        L(a, b) = (w.gss(a, b) - L.row(a).head(b).dot(L.row(b).head(b))) * w.inv_l(b);
      const double d = w.gss(a, a) - L.row(a).head(a).squaredNorm();
      if (!(d > pivot_tol_ * w.gss(a, a))) return a;
      L(a, a) = std::sqrt(d);
      w.inv_l(a) = 1.0 / L(a, a);
      w.chol_rows = a + 1;
    }
    return -1;
  }

  // Atom a of S lies in the span of atoms 0..a-1: D v = 0 for v = (z, -1), G_{<a,<a} z = G_{<a,a}.
  // Moving g along +-v leaves D g unchanged and changes the l1 term linearly; go the way it does
  // not increase, to the first coefficient that reaches zero. Returns that position.
  Index null_step(CdWorkspace<Scalar>& w, Index a) const {
    const auto& L = w.chol;
    // z = L_{<a}^{-T} l, column-oriented backward substitution, into x(0..a-1); x(a) = -1.
    w.u.head(a) = L.row(a).head(a).transpose();
    for (Index b = a - 1; b >= 0; --b) {
      w.x(b) = w.u(b) * w.inv_l(b);
      w.u.head(b).noalias() -= w.x(b) * L.row(b).head(b).transpose();
    }
    w.x(a) = -1;
    double phi = 0;
    for (Index b = 0; b <= a; ++b) phi += w.lam(b) * double(w.sign(b)) * w.x(b);
    const double dir = phi > 0 ? -1.0 : 1.0;
    double t = std::numeric_limits<double>::infinity();
    Index hit = a;
    for (Index b = 0; b <= a; ++b) {
      const double vb = dir * w.x(b);
      if (double(w.sign(b)) * vb < 0) {
        const double tb = -w.gs(b) / vb;
        if (tb < t) {
          t = tb;
          hit = b;
        }
      }
    }
    if (std::isfinite(t))
      for (Index b = 0; b <= a; ++b) w.gs(b) += t * dir * w.x(b);
    return hit;
  }

  // Exact solves on S until the signs agree (see the header comment); each failed solve zeroes
  // and removes one atom. Counts one iteration per solve; false if max_iterations ran out.
  template <class GV>
  bool polish_all(CdWorkspace<Scalar>& w, GV& g, int& iterations) const {
    while (w.size > 0) {
      if (iterations >= max_sweeps_) return false;
      ++iterations;
      for (Index a = 0; a < w.size; ++a) w.sign(a) = sgn(w.gs(a));
      const Index dependent = factor(w);
      Index drop;
      if (dependent >= 0) {
        drop = null_step(w, dependent);
      } else {
        drop = solve_signs(w);
        if (drop < 0) return true;
      }
      remove_at(w, g, drop);
      for (Index a = w.size - 1; a >= 0; --a)  // coefficients rounded to zero leave too
        if (w.gs(a) == 0) remove_at(w, g, a);
    }
    return true;
  }

  // x = G_SS^{-1}(c_S - lambda_S s_S). If sign(x) = s, g_S <- x and returns -1; else takes the
  // feature-sign step from g to the first sign change and returns the atom that reached zero.
  Index solve_signs(CdWorkspace<Scalar>& w) const {
    const Index k = w.size;
    const auto& L = w.chol;
    for (Index a = 0; a < k; ++a)  // forward: L u = c_S - lambda_S s_S
      w.u(a) =
          (w.cs(a) - w.lam(a) * double(w.sign(a)) - L.row(a).head(a).dot(w.u.head(a))) * w.inv_l(a);
    for (Index a = k - 1; a >= 0; --a) {  // backward: L^T x = u, column-oriented
      w.x(a) = w.u(a) * w.inv_l(a);
      w.u.head(a).noalias() -= w.x(a) * L.row(a).head(a).transpose();
    }
    // Largest step theta in (0, 1] from g towards x that keeps every sign.
    double theta = 1;
    Index blocker = -1;
    for (Index a = 0; a < k; ++a) {
      if (sgn(w.x(a)) != w.sign(a)) {
        const double ga = w.gs(a);
        const double th = ga / (ga - w.x(a));
        if (th < theta) {
          theta = th;
          blocker = a;
        }
      }
    }
    if (blocker < 0) {
      w.gs.head(k) = w.x.head(k);
      for (Index a = 0; a < k; ++a)
        if (sgn(w.gs(a)) != w.sign(a)) return a;  // rounded to zero
      return -1;
    }
    w.gs.head(k) += theta * (w.x.head(k) - w.gs.head(k));
    return blocker;
  }

  const Matrix<Scalar>& G_;
  const Vector<Scalar>& lam_;
  Vector<Scalar> screen_lam_;
  // Relative pivot below which an atom counts as linearly dependent on the ones before it.
  double pivot_tol_ = std::max(1e-10, 100.0 * double(std::numeric_limits<Scalar>::epsilon()));
  bool nonneg_;
  Scalar tol_;
  int max_sweeps_;
};

/// The batch driver: G = D^T D and C = D^T Y by matrix products, then every signal in parallel.
template <class Scalar>
PursuitResult<Matrix<Scalar>, Scalar> coordinate_descent(const Dictionary<Scalar>& D,
                                                         const Eigen::Ref<const Matrix<Scalar>>& Y,
                                                         const LassoParams<Scalar>& p,
                                                         const Matrix<Scalar>* init) {
  const Index m = D.num_atoms(), n = D.signal_size(), B = Y.cols();
  const Matrix<Scalar> G = D.gram();
  const Matrix<Scalar> C = D.analyze(Y);
  const Vector<Scalar> lam = p.lambda_vector(m);
  PursuitResult<Matrix<Scalar>, Scalar> res;
  res.code.resize(m, B);  // every column is set (from init, or zeroed) inside the parallel loop
  // A Lasso solution has at most n nonzeros (generically); the working set may briefly hold more.
  Index kmax = std::max<Index>(2 * n, 64) + CoordinateDescent<Scalar>::kAddPerScreen;
  if (init) kmax = std::max<Index>(kmax, (init->array() != Scalar(0)).colwise().count().maxCoeff());
  kmax = std::min(m, kmax);
  const int threads = std::max(1, int(std::min<Index>(max_threads(), B)));
  std::vector<CdWorkspace<Scalar>> work;
  work.reserve(threads);
  for (int t = 0; t < threads; ++t) work.emplace_back(m, kmax);
  Eigen::VectorXi sweeps(B);
  Eigen::Array<bool, Eigen::Dynamic, 1> conv(B);
  Matrix<Scalar> R(n, B);
  auto objective = [&] {
    R.noalias() = D.matrix() * res.code;
    R -= Y;
    return 0.5 * double(R.squaredNorm()) +
           double((res.code.array().abs().colwise() * lam.array()).sum());
  };
  auto run = [&](int cap) {
    const CoordinateDescent<Scalar> cd(G, lam, p.nonnegative, p.tolerance, cap);
    NoMallocScope guard;
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) if (threads > 1)
    for (Index b = 0; b < B; ++b) {
      if (conv(b)) continue;  // final already (with a callback: converged in an earlier round)
      bool ok = false;
      if (init)
        res.code.col(b) = init->col(b);
      else
        res.code.col(b).setZero();
      sweeps(b) = cd.solve(C.col(b), res.code.col(b), work[thread_id()], ok);
      conv(b) = ok;
    }
  };
  conv.setZero();
  if (!p.callback) {
    run(p.max_iterations);
    res.iterations = sweeps.maxCoeff();
  } else {
    // Coordinate descent solves each signal on its own, so the batch has no common iterate: with
    // a callback, round k re-solves the signals not yet converged from the start with a cap of
    // k iterations, and the callback sees that iterate's objective (cost ~ k^2 / 2 iterations).
    for (int k = 1; k <= p.max_iterations; ++k) {
      run(k);
      res.iterations = k;
      if (!p.callback(k, Scalar(objective())) || conv.all()) break;
    }
  }
  res.converged = conv.all();
  res.objective = Scalar(objective());
  return res;
}

}  // namespace mlcsc::internal
