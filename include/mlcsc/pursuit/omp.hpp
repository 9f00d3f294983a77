// mlcsc: orthogonal matching pursuit (Pati, Rezaiifar, Krishnaprasad 1993) in its Batch-OMP form
// (Rubinstein, Zibulevsky, Elad, Technion CS-2008-08): with G = D^T D and c = D^T y precomputed,
// each step picks j = argmax |c - G_:I g_I|, extends the Cholesky factor of G_II by one row and
// solves G_II g_I = c_I; ||y - D g||^2 = ||y||^2 - g_I^T c_I needs no synthesis.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "../dense/dictionary.hpp"
#include "../internal/no_malloc.hpp"
#include "../internal/parallel.hpp"
#include "params.hpp"
#include "proximal_gradient.hpp"

namespace mlcsc {

namespace internal {
template <class Scalar>
struct OmpWorkspace {
  Vector<Scalar> alpha;      // c - G_:I g_I
  Eigen::VectorXi support;   // I
  Matrix<double> chol;       // Cholesky factor of G_II
  Vector<double> coef, tmp;  // g_I
  Vector<Scalar> r;          // y - D_I g_I, formed only when the cheap estimate cannot decide
  OmpWorkspace(Index m, Index L, Index n)
      : alpha(m), support(L), chol(L, L), coef(L), tmp(L), r(n) {}
};

template <class Scalar, class CV, class YV, class GV>
void omp_one(const Matrix<Scalar>& A, const Matrix<Scalar>& G, const CV& c, const YV& y, int L,
             double tol2, GV g, OmpWorkspace<Scalar>& w) {
  const double ynorm2 = double(y.squaredNorm());
  // ||y||^2 - g_I^T c_I has an absolute error of a few eps ||y||^2 (cancellation); below that
  // band the residual is formed explicitly, so a small tolerance is still met exactly.
  const double band =
      64.0 * double(A.rows()) * double(std::numeric_limits<Scalar>::epsilon()) * ynorm2;
  g.setZero();
  w.alpha = c;
  Index k = 0;
  double res2 = ynorm2;
  while (k < L && res2 > tol2) {
    Index j;
    const double amax = double(w.alpha.cwiseAbs().maxCoeff(&j));
    if (!(amax > 0)) break;
    // New row of the Cholesky factor: L w = G_Ij, diagonal sqrt(G_jj - w^T w).
    double d = double(G(j, j));
    for (Index a = 0; a < k; ++a) {
      double s = double(G(w.support(a), j));
      for (Index q = 0; q < a; ++q) s -= w.chol(a, q) * w.chol(k, q);
      w.chol(k, a) = s / w.chol(a, a);
      d -= w.chol(k, a) * w.chol(k, a);
    }
    if (!(d > 1e-10 * double(G(j, j)))) break;  // j depends linearly on the support
    w.chol(k, k) = std::sqrt(d);
    w.support(k++) = int(j);
    // Solve L L^T g_I = c_I.
    for (Index a = 0; a < k; ++a) {
      double s = double(c(w.support(a)));
      for (Index q = 0; q < a; ++q) s -= w.chol(a, q) * w.tmp(q);
      w.tmp(a) = s / w.chol(a, a);
    }
    for (Index a = k - 1; a >= 0; --a) {
      double s = w.tmp(a);
      for (Index q = a + 1; q < k; ++q) s -= w.chol(q, a) * w.coef(q);
      w.coef(a) = s / w.chol(a, a);
    }
    w.alpha = c;
    res2 = ynorm2;
    for (Index a = 0; a < k; ++a) {
      w.alpha.noalias() -= G.col(w.support(a)) * Scalar(w.coef(a));
      res2 -= w.coef(a) * double(c(w.support(a)));
    }
    if (res2 <= tol2 + band) {
      w.r = y;
      for (Index a = 0; a < k; ++a) w.r.noalias() -= A.col(w.support(a)) * Scalar(w.coef(a));
      res2 = double(w.r.squaredNorm());
    }
  }
  for (Index a = 0; a < k; ++a) g(w.support(a)) = Scalar(w.coef(a));
}
}  // namespace internal

/// \brief Orthogonal matching pursuit: at most `max_atoms` nonzeros per signal (column of y),
/// stopping a signal early once ||y - D g||_2 <= tolerance or the next atom is linearly dependent
/// on the chosen ones. `objective` is 0.5||y - D g||^2 summed over the batch; `iterations` the
/// largest support size reached; `converged` that every residual met `tolerance` (always true
/// when tolerance is 0: then the goal is the L atoms). Dense dictionaries only: another operator
/// is a compile-time error.
template <class Op, class SignalLike>
auto omp(const Op& D, const SignalLike& y, const OmpParams<typename Op::Scalar>& p) {
  using Scalar = typename Op::Scalar;
  static_assert(internal::is_dense_dictionary<Op>::value,
                "mlcsc::omp: orthogonal matching pursuit needs a dense Dictionary");
  {
    decltype(auto) Y = D.signal_view(y);
    D.check_signal(Y, "omp", "y");
    p.check(D.num_atoms(), "omp");
    const Index m = D.num_atoms(), B = Y.cols();
    const Matrix<Scalar> G = D.gram();
    const Matrix<Scalar> C = D.analyze(Y);
    PursuitResult<Matrix<Scalar>, Scalar> res;
    res.code = Matrix<Scalar>::Zero(m, B);
    const int threads = std::max(1, int(std::min<Index>(internal::max_threads(), B)));
    std::vector<internal::OmpWorkspace<Scalar>> work;
    work.reserve(threads);
    for (int t = 0; t < threads; ++t) work.emplace_back(m, p.max_atoms, D.signal_size());
    const double tol2 = double(p.tolerance) * double(p.tolerance);
    {
      internal::NoMallocScope guard;
      internal::parallel_for(
          B, threads,
          [&](Index b) {
            internal::omp_one(D.matrix(), G, C.col(b), Y.col(b), p.max_atoms, tol2, res.code.col(b),
                              work[internal::thread_id()]);
          },
          internal::Schedule::Dynamic);
    }
    res.iterations = int((res.code.array() != Scalar(0)).colwise().count().maxCoeff());
    const Matrix<Scalar> R = D.matrix() * res.code - Y;
    res.objective = Scalar(0.5) * R.squaredNorm();
    // With a tolerance, converged means every residual met it; without one, L atoms is the goal.
    res.converged = p.tolerance == Scalar(0) || R.colwise().norm().maxCoeff() <= p.tolerance;
    return res;
  }
}

}  // namespace mlcsc
