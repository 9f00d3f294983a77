// lasso() (pursuit/lasso.hpp, with proximal_gradient.hpp and coordinate_descent.hpp): ISTA, FISTA
// and coordinate descent checked against the optimality (KKT) conditions of the Lasso
//   min_G 0.5 ||y - D G||^2 + sum_i lambda_i |G_i|      (and the variant with G >= 0)
// on random problems of odd shapes and on real image patches, plus the contract's stopping rules,
// the callback, warm starts and every input check.
//
// KKT conditions, with r = D^T (y - D g) computed in double from the returned code:
//   |r_i| <= lambda_i                 where g_i == 0,
//   r_i == lambda_i sign(g_i)         where g_i != 0;
// nonnegative: g >= 0, r_i <= lambda_i where g_i == 0, r_i == lambda_i where g_i > 0.
// The violation is measured relative to lambda_max = ||D^T y||_inf (the smallest lambda giving
// the zero code), so it does not depend on the scale of the data.
//
// Tolerances (measured on many seeds, then given a margin of >= 10x):
//   double: solver tolerance 1e-11; KKT violation <= 1e-8 lambda_max (worst seen 6e-10, ISTA).
//   ISTA's change rule bounds
//     the violation by about 2 L ||G_k - G_{k-1}|| (the gradient mapping), so 1e-11 leaves room.
//   float:  solver tolerance 1e-6 (float iterates stall at a change of ~1e-7 relative, so the rule
//     may never fire and the solve runs to max_iterations); KKT violation <= 5e-4 lambda_max
//     (worst seen 2e-5, ISTA; coordinate descent stays below 1e-6). The
//     gradient itself carries float rounding of ~sqrt(m) eps ||G|| ||g||, and r is taken at the
//     rounded code.
//   Objectives of different methods agree to 1e-8 (double) and 1e-4 (float) relative.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/QR>

#include "test_support.hpp"

using mlcsc_test::contains;
using mlcsc_test::invalid_argument_message;

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace {

using mlcsc::Index;
using mlcsc::Method;
using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

const char* name(Method m) {
  switch (m) {
    case Method::ISTA:
      return "ISTA";
    case Method::FISTA:
      return "FISTA";
    case Method::CoordinateDescent:
      return "CoordinateDescent";
    case Method::ADMM:
      return "ADMM";
  }
  return "?";
}

template <class Scalar>
struct Tol {
  static constexpr bool single = std::is_same_v<Scalar, float>;
  static constexpr double solver = single ? 1e-6 : 1e-11;  // LassoParams::tolerance
  static constexpr double kkt = single ? 5e-4 : 1e-8;      // relative to lambda_max
  static constexpr double objective = single ? 1e-4 : 1e-8;
  static constexpr int max_iterations = single ? 20000 : 200000;
};

template <class Scalar>
MatD to_double(const mlcsc::Matrix<Scalar>& m) {
  return m.template cast<double>();
}

/// ||D^T Y||_inf: the smallest lambda for which the zero code is optimal (for every column).
template <class Scalar>
double lambda_max(const mlcsc::Dictionary<Scalar>& D, const mlcsc::Matrix<Scalar>& Y) {
  return (to_double(D.matrix()).transpose() * to_double(Y)).cwiseAbs().maxCoeff();
}

/// The largest violation of the Lasso KKT conditions by G (see the file comment).
template <class Scalar>
double kkt_violation(const mlcsc::Dictionary<Scalar>& D, const mlcsc::Matrix<Scalar>& Y,
                     const mlcsc::Matrix<Scalar>& G, const VecD& lambdas, bool nonnegative) {
  const MatD A = to_double(D.matrix()), g = to_double(G);
  const MatD R = A.transpose() * (to_double(Y) - A * g);
  double worst = 0;
  for (Index b = 0; b < g.cols(); ++b)
    for (Index i = 0; i < g.rows(); ++i) {
      const double gi = g(i, b), ri = R(i, b), li = lambdas(i);
      double v;
      if (nonnegative) {
        if (gi < 0)
          v = std::numeric_limits<double>::infinity();
        else if (gi == 0)
          v = std::max(0.0, ri - li);
        else
          v = std::abs(ri - li);
      } else {
        if (gi == 0)
          v = std::max(0.0, std::abs(ri) - li);
        else
          v = std::abs(ri - li * (gi > 0 ? 1.0 : -1.0));
      }
      worst = std::max(worst, v);
    }
  return worst;
}

/// 0.5 ||Y - D G||_F^2 + sum_i lambda_i ||G_i,:||_1, in double.
template <class Scalar>
double objective(const mlcsc::Dictionary<Scalar>& D, const mlcsc::Matrix<Scalar>& Y,
                 const mlcsc::Matrix<Scalar>& G, const VecD& lambdas) {
  const MatD g = to_double(G);
  const double fit = 0.5 * (to_double(Y) - to_double(D.matrix()) * g).squaredNorm();
  return fit + (g.cwiseAbs().transpose() * lambdas).sum();
}

/// Y = D G0 + noise with G0 sparse (about n / 4 nonzeros per column), so solutions are sparse.
template <class Scalar>
mlcsc::Matrix<Scalar> sparse_signals(const mlcsc::Dictionary<Scalar>& D, Index B) {
  const Index n = D.signal_size(), m = D.num_atoms();
  MatD G0 = MatD::Zero(m, B);
  const Index k = std::max<Index>(1, n / 4);
  for (Index b = 0; b < B; ++b)
    for (Index t = 0; t < k; ++t)
      G0(mlcsc_test::uniform_int(0, m - 1), b) = mlcsc_test::randn<double>(1, 1)(0, 0) + 1.0;
  MatD Y = to_double(D.matrix()) * G0 + 0.1 * mlcsc_test::randn<double>(n, B);
  return Y.cast<Scalar>();
}

template <class Scalar>
mlcsc::LassoParams<Scalar> params(Method method, double lambda, bool nonnegative) {
  mlcsc::LassoParams<Scalar> p;
  p.method = method;
  p.lambda = Scalar(lambda);
  p.nonnegative = nonnegative;
  p.tolerance = Scalar(Tol<Scalar>::solver);
  p.max_iterations = Tol<Scalar>::max_iterations;
  return p;
}

/// Solves, then checks KKT, the reported objective and the result's shape; returns the result.
template <class Scalar>
mlcsc::PursuitResult<mlcsc::Matrix<Scalar>, Scalar> solve_and_check(
    const mlcsc::Dictionary<Scalar>& D, const mlcsc::Matrix<Scalar>& Y,
    const mlcsc::LassoParams<Scalar>& p) {
  const auto res = mlcsc::lasso(D, Y, p);
  const Index m = D.num_atoms();
  REQUIRE(res.code.rows() == m);
  REQUIRE(res.code.cols() == Y.cols());
  REQUIRE(res.code.allFinite());
  REQUIRE(res.iterations >= 1);
  REQUIRE(res.iterations <= p.max_iterations);
  const VecD lam = p.lambdas.size() ? VecD(p.lambdas.template cast<double>())
                                    : VecD::Constant(m, double(p.lambda));
  const double lmax = lambda_max(D, Y);
  const double kkt = kkt_violation(D, Y, res.code, lam, p.nonnegative);
  CAPTURE(res.iterations, res.converged, lmax, kkt);
  REQUIRE(kkt <= Tol<Scalar>::kkt * lmax);
  // the objective reported equals 0.5||y - Dg||^2 + lambda||g||_1 recomputed here
  const double f = objective(D, Y, res.code, lam);
  CAPTURE(f, res.objective);
  REQUIRE(std::abs(double(res.objective) - f) <= Tol<Scalar>::objective * std::max(f, 1e-30));
  if (std::is_same_v<Scalar, double>) REQUIRE(res.converged);
  return res;
}

/// Overcomplete DCT dictionary for 8x8 patches: k x k separable cosines (DC included), unit norm.
template <class Scalar>
mlcsc::Dictionary<Scalar> odct_8x8(Index k) {
  const double pi = std::acos(-1.0);
  MatD d1(8, k);
  for (Index f = 0; f < k; ++f) {
    for (Index t = 0; t < 8; ++t)
      d1(t, f) = std::cos(pi * double(f) * (double(t) + 0.5) / double(k));
    if (f > 0) d1.col(f).array() -= d1.col(f).mean();
  }
  MatD A(64, k * k);
  for (Index a = 0; a < k; ++a)
    for (Index b = 0; b < k; ++b)
      for (Index i = 0; i < 8; ++i)
        for (Index j = 0; j < 8; ++j) A(i + 8 * j, a * k + b) = d1(i, a) * d1(j, b);
  mlcsc::Dictionary<Scalar> D(A.cast<Scalar>());
  D.normalize();
  return D;
}

/// `count` random 8x8 patches of examples/data/camera.png, intensities in [0, 1], mean removed.
MatD camera_patches(Index count) {
  const std::string path = std::string(MLCSC_SOURCE_DIR) + "/examples/data/camera.png";
  int w = 0, h = 0, c = 0;
  unsigned char* img = stbi_load(path.c_str(), &w, &h, &c, 1);
  REQUIRE(img != nullptr);
  REQUIRE(w >= 8);
  REQUIRE(h >= 8);
  MatD P(64, count);
  for (Index b = 0; b < count; ++b) {
    const Index r0 = mlcsc_test::uniform_int(0, h - 8), c0 = mlcsc_test::uniform_int(0, w - 8);
    for (Index j = 0; j < 8; ++j)
      for (Index i = 0; i < 8; ++i) P(i + 8 * j, b) = img[(r0 + i) * w + (c0 + j)] / 255.0;
    P.col(b).array() -= P.col(b).mean();
  }
  stbi_image_free(img);
  return P;
}

}  // namespace

TEMPLATE_TEST_CASE("Lasso solutions satisfy the KKT conditions on random problems", "[lasso][kkt]",
                   float, double) {
  using Scalar = TestType;
  const Method method = GENERATE(Method::ISTA, Method::FISTA, Method::CoordinateDescent);
  const bool nonneg = GENERATE(false, true);
  const bool per_atom = GENERATE(false, true);
  const bool single = GENERATE(true, false);  // a batch of 1, or of many
  // odd shapes, neither multiples of 8 nor 16; both under- and overcomplete
  const Index n = mlcsc_test::uniform_int(5, 41);
  const Index m = mlcsc_test::uniform_int(std::max<Index>(2, n / 2), 3 * n + 1);
  const Index B = single ? 1 : mlcsc_test::uniform_int(2, 37);
  CAPTURE(name(method), nonneg, per_atom, n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = sparse_signals(D, B);
  const double lmax = lambda_max(D, Y);
  auto p = params<Scalar>(method, 0.2 * lmax, nonneg);
  if (per_atom) {
    p.lambdas.resize(m);
    for (Index i = 0; i < m; ++i)
      p.lambdas(i) = Scalar(lmax * (0.05 + 0.4 * double(mlcsc_test::uniform_int(0, 1000)) / 1000));
    p.lambdas(mlcsc_test::uniform_int(0, m - 1)) = Scalar(0);  // one unpenalized atom
    p.lambda = Scalar(1e6);                                    // ignored when lambdas is set
  }
  solve_and_check(D, Y, p);
}

TEMPLATE_TEST_CASE("ISTA, FISTA and coordinate descent reach the same objective",
                   "[lasso][objective]", float, double) {
  using Scalar = TestType;
  const bool nonneg = GENERATE(false, true);
  const Index n = mlcsc_test::uniform_int(7, 39), m = mlcsc_test::uniform_int(n + 1, 3 * n);
  const Index B = mlcsc_test::uniform_int(1, 23);
  CAPTURE(nonneg, n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = sparse_signals(D, B);
  const double lambda = 0.15 * lambda_max(D, Y);
  const VecD lam = VecD::Constant(m, lambda);
  std::vector<double> f;
  for (Method method : {Method::ISTA, Method::FISTA, Method::CoordinateDescent}) {
    CAPTURE(name(method));
    const auto res = solve_and_check(D, Y, params<Scalar>(method, lambda, nonneg));
    f.push_back(objective(D, Y, res.code, lam));
  }
  const double fmin = *std::min_element(f.begin(), f.end());
  const double fmax = *std::max_element(f.begin(), f.end());
  CAPTURE(f[0], f[1], f[2]);
  REQUIRE(fmax - fmin <= Tol<Scalar>::objective * fmin);
}

TEMPLATE_TEST_CASE("Lasso on real image patches satisfies KKT; the methods agree",
                   "[lasso][kkt][image]", float, double) {
  using Scalar = TestType;
  const Index count = 200;
  const MatD P = camera_patches(count);
  const mlcsc::Matrix<Scalar> Y = P.cast<Scalar>();
  const bool nonneg = GENERATE(false, true);
  // a 64 x 100 overcomplete DCT, and a dictionary of 96 other random patches (coherent)
  const bool odct = GENERATE(true, false);
  const mlcsc::Dictionary<Scalar> D = [&] {
    if (odct) return odct_8x8<Scalar>(10);
    MatD A = camera_patches(96);
    for (Index j = 0; j < A.cols(); ++j)
      if (A.col(j).norm() < 1e-3) A.col(j) = mlcsc_test::randn<double>(64, 1);  // flat patch
    mlcsc::Dictionary<Scalar> R(A.cast<Scalar>());
    R.normalize();
    return R;
  }();
  const double lambda = 0.1 * lambda_max(D, Y);
  CAPTURE(nonneg, odct, lambda);
  const VecD lam = VecD::Constant(D.num_atoms(), lambda);
  std::vector<double> f;
  // ISTA is too slow on these coherent dictionaries for 200 patches in a unit test; it is
  // compared on the first 20.
  for (Method method : {Method::FISTA, Method::CoordinateDescent}) {
    CAPTURE(name(method));
    const auto res = solve_and_check(D, Y, params<Scalar>(method, lambda, nonneg));
    f.push_back(objective(D, Y, res.code, lam));
    const double nnz = double((res.code.array() != Scalar(0)).count()) / double(count);
    REQUIRE(nnz > 0.1);  // a nontrivial code, neither zero nor dense
    REQUIRE(nnz < double(D.num_atoms()) / 2);
  }
  REQUIRE(std::abs(f[0] - f[1]) <= Tol<Scalar>::objective * std::min(f[0], f[1]));

  const mlcsc::Matrix<Scalar> Y20 = Y.leftCols(20);
  std::vector<double> f20;
  for (Method method : {Method::ISTA, Method::FISTA, Method::CoordinateDescent}) {
    CAPTURE(name(method));
    const auto res = solve_and_check(D, Y20, params<Scalar>(method, lambda, nonneg));
    f20.push_back(objective(D, Y20, res.code, lam));
  }
  CAPTURE(f20[0], f20[1], f20[2]);
  const double lo = *std::min_element(f20.begin(), f20.end());
  REQUIRE(*std::max_element(f20.begin(), f20.end()) - lo <= Tol<Scalar>::objective * lo);
}

TEMPLATE_TEST_CASE("Lasso recovers the support below the coherence bound (noiseless)",
                   "[lasso][recovery]", float, double) {
  // y = D Gamma with ||Gamma||_0 = k < (1 + 1/mu) / 2: Tropp's exact recovery condition holds
  // (Tropp, IEEE TIT 2004 and 2006), so for a small lambda the Lasso solution has exactly
  // Gamma's support and signs, with the closed form  G_S = Gamma_S - lambda (D_S^T D_S)^{-1} s.
  // D = [I, H / sqrt(n)], mu = 1/sqrt(n); |Gamma_i| >= 1 and lambda = 0.05 keep the signs.
  using Scalar = TestType;
  const Method method = GENERATE(Method::ISTA, Method::FISTA, Method::CoordinateDescent);
  const Index n = Index(1) << mlcsc_test::uniform_int(3, 6);
  MatD H = MatD::Ones(1, 1);
  while (H.rows() < n) {
    MatD H2(2 * H.rows(), 2 * H.rows());
    H2 << H, H, H, -H;
    H = H2;
  }
  MatD A(n, 2 * n);
  A << MatD::Identity(n, n), H / std::sqrt(double(n));
  const mlcsc::Dictionary<Scalar> D(A.cast<Scalar>());
  const double mu = double(mlcsc::mutual_coherence(D));
  const Index k = mlcsc_test::uniform_int(1, Index(std::ceil(0.5 * (1 + 1 / mu))) - 1);
  const Index B = mlcsc_test::uniform_int(1, 9);
  CAPTURE(name(method), n, k, B);
  MatD Gamma = MatD::Zero(2 * n, B);
  for (Index b = 0; b < B; ++b)
    for (Index placed = 0; placed < k;) {
      const Index i = mlcsc_test::uniform_int(0, 2 * n - 1);
      if (Gamma(i, b) != 0) continue;
      Gamma(i, b) = (mlcsc_test::uniform_int(0, 1) ? 1 : -1) *
                    (1 + double(mlcsc_test::uniform_int(0, 100)) / 100);
      ++placed;
    }
  const mlcsc::Matrix<Scalar> Y = (A * Gamma).cast<Scalar>();
  const double lambda = 0.05;
  const auto res = solve_and_check(D, Y, params<Scalar>(method, lambda, false));
  const MatD G = to_double(res.code);
  const MatD Ad = to_double(D.matrix());
  for (Index b = 0; b < B; ++b) {
    CAPTURE(b);
    REQUIRE(((G.col(b).array() != 0) == (Gamma.col(b).array() != 0)).all());
    std::vector<Index> S;
    for (Index i = 0; i < 2 * n; ++i)
      if (Gamma(i, b) != 0) S.push_back(i);
    MatD DS(n, Index(S.size()));
    VecD sign(Index(S.size())), gS(Index(S.size()));
    for (size_t a = 0; a < S.size(); ++a) {
      DS.col(Index(a)) = Ad.col(S[a]);
      sign(Index(a)) = Gamma(S[a], b) > 0 ? 1 : -1;
      gS(Index(a)) = Gamma(S[a], b);
    }
    const VecD expected = gS - lambda * (DS.transpose() * DS).ldlt().solve(sign);
    for (size_t a = 0; a < S.size(); ++a)
      REQUIRE(std::abs(G(S[a], b) - expected(Index(a))) <= Tol<Scalar>::kkt * 10);
  }
}

TEMPLATE_TEST_CASE("ISTA's objective never increases", "[lasso][ista]", float, double) {
  using Scalar = TestType;
  const bool nonneg = GENERATE(false, true);
  const Index n = mlcsc_test::uniform_int(5, 37), m = mlcsc_test::uniform_int(n, 3 * n);
  const Index B = mlcsc_test::uniform_int(1, 19);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = sparse_signals(D, B);
  auto p = params<Scalar>(Method::ISTA, 0.1 * lambda_max(D, Y), nonneg);
  p.max_iterations = 500;
  std::vector<double> trace;
  int expected = 1;
  bool in_order = true;
  p.callback = [&](int k, Scalar f) {
    in_order = in_order && k == expected++;
    trace.push_back(double(f));
    return true;
  };
  const auto res = mlcsc::lasso(D, Y, p);
  REQUIRE(in_order);
  REQUIRE(int(trace.size()) == res.iterations);
  // the objective is evaluated in Scalar: allow its rounding, 1e-5 (float) / 1e-12 (double)
  const double rounding = std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
  for (size_t k = 1; k < trace.size(); ++k) {
    CAPTURE(k, trace[k - 1], trace[k]);
    REQUIRE(trace[k] <= trace[k - 1] * (1 + rounding));
  }
  // and the first iterate improves on G = 0
  REQUIRE(trace.front() <= 0.5 * to_double(Y).squaredNorm() * (1 + rounding));
  REQUIRE(std::abs(trace.back() - double(res.objective)) <= rounding * trace.back());
}

TEST_CASE("a converged ISTA/FISTA code is certified by the stopping rule", "[lasso][stopping]") {
  // G_k = prox(Z_k - (1/L) grad f(Z_k)), so -grad f(G_k) + r lies in lambda d||G_k||_1 with
  // r = L (Z_k - G_k) + grad f(G_k) - grad f(Z_k), |r| <= 2 L ||G_k - Z_k||. A rule that bounds
  // ||G_k - Z_k|| by tol max(1, ||G_k||) therefore certifies every reported convergence:
  //   KKT violation <= 2 L tol max(1, ||G_k||_F).
  // (A rule on ||G_k - G_{k-1}|| alone does not: FISTA's momentum can turn with a small step far
  // from the optimum.) Loose tolerances, many random problems, plain and restarted FISTA, ISTA.
  using Scalar = double;
  int converged = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const Index n = mlcsc_test::uniform_int(5, 30), m = mlcsc_test::uniform_int(n, 4 * n);
    const Index B = mlcsc_test::uniform_int(1, 6);
    const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
    const mlcsc::Matrix<Scalar> Y = sparse_signals(D, B);
    for (const Method method : {Method::ISTA, Method::FISTA}) {
      for (const bool restart : {false, true}) {
        if (method == Method::ISTA && restart) continue;
        auto p = params<Scalar>(method, 0.1 * lambda_max(D, Y), trial % 2 == 1);
        p.tolerance = std::pow(10.0, -double(mlcsc_test::uniform_int(2, 6)));
        p.max_iterations = 100000;
        p.adaptive_restart = restart;
        const auto r = mlcsc::lasso(D, Y, p);
        CAPTURE(trial, n, m, B, name(method), restart, p.tolerance, r.iterations);
        if (!r.converged) continue;
        ++converged;
        const double L = double(D.lipschitz());
        const double bound = 2 * L * p.tolerance * std::max(1.0, to_double(r.code).norm());
        const VecD lam = VecD::Constant(m, p.lambda);
        REQUIRE(kkt_violation(D, Y, r.code, lam, p.nonnegative) <= bound * (1 + 1e-9) + 1e-12);
      }
    }
  }
  REQUIRE(converged >= 100);  // nearly all of the 120 solves converge
}

TEMPLATE_TEST_CASE("coordinate descent satisfies KKT across the lambda range, over several blocks",
                   "[lasso][kkt][cd]", float, double) {
  // From just below lambda_max (one atom enters) down to 1e-4 lambda_max (dense codes, many atoms
  // entering and leaving the working set), on batches longer than the driver's block of signals
  // (64), so that blocks, the partial last block and their per-block D^T Y are all exercised.
  // Some dictionaries carry exactly dependent atoms (a repeated atom and a combination of two),
  // which drive the null-space step.
  using Scalar = TestType;
  const double fraction = GENERATE(0.999, 0.5, 0.1, 0.01, 1e-4);
  const bool dependent = GENERATE(false, true);
  const bool nonneg = GENERATE(false, true);
  const Index n = mlcsc_test::uniform_int(5, 29);
  const Index m = mlcsc_test::uniform_int(n + 1, 4 * n + 3);
  const Index B = mlcsc_test::uniform_int(65, 150);
  CAPTURE(fraction, dependent, nonneg, n, m, B);
  auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  if (dependent) {
    MatD A = to_double(D.matrix());
    const Index i = mlcsc_test::uniform_int(0, m - 1), j = mlcsc_test::uniform_int(0, m - 1);
    A.col((i + 1) % m) = A.col(i);
    A.col((j + 2) % m) = (A.col(j) + 0.5 * A.col((j + 1) % m)).normalized();
    D = mlcsc::Dictionary<Scalar>(A.cast<Scalar>());
  }
  const mlcsc::Matrix<Scalar> Y = sparse_signals(D, B);
  const double lmax = lambda_max(D, Y);
  const auto p = params<Scalar>(Method::CoordinateDescent, fraction * lmax, nonneg);
  const auto res = solve_and_check(D, Y, p);
  // And signal by signal: each column solved alone gives the same code up to the tolerance.
  const Index b = mlcsc_test::uniform_int(0, B - 1);
  const mlcsc::Matrix<Scalar> yb = Y.col(b);
  const auto one = mlcsc::lasso(D, yb, p);
  const double fb = objective(D, yb, one.code, VecD::Constant(m, double(p.lambda)));
  const double fb_batch =
      objective(D, yb, mlcsc::Matrix<Scalar>(res.code.col(b)), VecD::Constant(m, double(p.lambda)));
  REQUIRE(std::abs(fb - fb_batch) <= Tol<Scalar>::objective * std::max(fb, 1e-30));
}

TEST_CASE("coordinate descent in float does not cycle on nearly dependent working sets",
          "[lasso][kkt][cd]") {
  // Float, nonnegative, lambda = 1e-4 lambda_max, dictionaries with a repeated atom and a
  // combination of two: about one problem in 70 (of 3,000) had a signal whose worst two
  // violators entered together, the second judged dependent by the float Gram (within ~1e-3 rad
  // of span(S), not exactly), both stepped out again, and the same S came back for ever: 20,000
  // iterations, and once a KKT violation of 1.8e-3 lambda_max (seed 6034 of this file). With the
  // anti-cycling rule (coordinate_descent.hpp), the most any signal took in those 3,000 problems
  // was 212 iterations; 2,000 here leaves a margin of ten. (The old code fails this at once.)
  using Scalar = float;
  for (int rep = 0; rep < 150; ++rep) {
    const Index n = mlcsc_test::uniform_int(5, 29);
    const Index m = mlcsc_test::uniform_int(n + 1, 4 * n + 3);
    MatD A = to_double(mlcsc_test::random_dictionary<Scalar>(n, m).matrix());
    const Index i = mlcsc_test::uniform_int(0, m - 1), j = mlcsc_test::uniform_int(0, m - 1);
    A.col((i + 1) % m) = A.col(i);
    A.col((j + 2) % m) = (A.col(j) + 0.5 * A.col((j + 1) % m)).normalized();
    const mlcsc::Dictionary<Scalar> D(A.cast<Scalar>());
    const mlcsc::Matrix<Scalar> Y = sparse_signals(D, 100);
    const double lmax = lambda_max(D, Y);
    const auto p = params<Scalar>(Method::CoordinateDescent, 1e-4 * lmax, true);
    const auto res = mlcsc::lasso(D, Y, p);
    CAPTURE(rep, n, m, i, j, lmax, res.signal_iterations.maxCoeff());
    REQUIRE(res.signal_iterations.maxCoeff() <= 2000);
    // A signal the rule stopped is reported unconverged (about one problem in 80 has one, its
    // KKT violation up to ~6e-4 lambda_max: seed 8009, rep 133); the converged ones meet KKT.
    for (Index b = 0; b < Y.cols(); ++b) {
      if (!res.signal_converged[b]) continue;
      const double kkt =
          kkt_violation(D, mlcsc::Matrix<Scalar>(Y.col(b)), mlcsc::Matrix<Scalar>(res.code.col(b)),
                        VecD::Constant(m, double(p.lambda)), true);
      CAPTURE(b, kkt);
      REQUIRE(kkt <= Tol<Scalar>::kkt * lmax);
    }
  }
}

TEMPLATE_TEST_CASE("lambda >= ||D^T y||_inf gives the zero code at once", "[lasso]", float,
                   double) {
  using Scalar = TestType;
  const Method method = GENERATE(Method::ISTA, Method::FISTA, Method::CoordinateDescent);
  const bool nonneg = GENERATE(false, true);
  const Index n = mlcsc_test::uniform_int(3, 33), m = mlcsc_test::uniform_int(2, 70);
  const Index B = GENERATE(Index(1), Index(13));
  CAPTURE(name(method), nonneg, n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  const mlcsc::Matrix<Scalar> C = D.analyze(Y);
  auto p = params<Scalar>(method, 0, nonneg);
  SECTION("scalar lambda, exactly lambda_max") {
    p.lambda = C.cwiseAbs().maxCoeff();
  }
  SECTION("scalar lambda above lambda_max") {
    p.lambda = Scalar(1.5) * C.cwiseAbs().maxCoeff();
  }
  SECTION("per-atom lambdas, exactly max_b |D^T y|_i") {
    p.lambdas = C.cwiseAbs().rowwise().maxCoeff();
  }
  const auto res = mlcsc::lasso(D, Y, p);
  REQUIRE(res.code.isZero(0));
  REQUIRE(res.converged);
  if (method == Method::CoordinateDescent) {
    REQUIRE(res.iterations <= 2);
  } else {
    REQUIRE(res.iterations == 1);
  }
  const double f0 = 0.5 * to_double(Y).squaredNorm();
  REQUIRE(std::abs(double(res.objective) - f0) <= Tol<Scalar>::objective * f0);
}

TEMPLATE_TEST_CASE("lambda = 0 with a tall full-rank D is least squares", "[lasso]", float,
                   double) {
  using Scalar = TestType;
  const Method method = GENERATE(Method::ISTA, Method::FISTA, Method::CoordinateDescent);
  const Index m = mlcsc_test::uniform_int(2, 17);
  const Index n = m + mlcsc_test::uniform_int(2 * m, 3 * m + 5);  // well conditioned, tall
  const Index B = GENERATE(Index(1), Index(9));
  CAPTURE(name(method), n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  const auto res = mlcsc::lasso(D, Y, params<Scalar>(method, 0, false));
  const MatD ls = to_double(D.matrix()).colPivHouseholderQr().solve(to_double(Y));
  // float: the least-squares solution itself is determined to ~cond(D) eps_f
  const double tol = std::is_same_v<Scalar, float> ? 1e-3 : 1e-8;
  CAPTURE(res.iterations, res.converged);
  REQUIRE((to_double(res.code) - ls).norm() <= tol * std::max(1.0, ls.norm()));
}

TEMPLATE_TEST_CASE("hitting max_iterations is reported, not hidden", "[lasso]", float, double) {
  using Scalar = TestType;
  const Method method = GENERATE(Method::ISTA, Method::FISTA, Method::CoordinateDescent);
  const Index n = mlcsc_test::uniform_int(9, 31), m = mlcsc_test::uniform_int(2 * n, 3 * n);
  const Index B = mlcsc_test::uniform_int(1, 11);
  CAPTURE(name(method), n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = sparse_signals(D, B);
  auto p = params<Scalar>(method, 0.05 * lambda_max(D, Y), false);
  p.tolerance = Scalar(0);
  p.max_iterations = GENERATE(1, 2, 3);
  CAPTURE(p.max_iterations);
  const auto res = mlcsc::lasso(D, Y, p);
  REQUIRE_FALSE(res.converged);
  REQUIRE(res.iterations == p.max_iterations);
  const VecD lam = VecD::Constant(m, double(p.lambda));
  const double f = objective(D, Y, res.code, lam);
  REQUIRE(std::abs(double(res.objective) - f) <= Tol<Scalar>::objective * f);
}

TEMPLATE_TEST_CASE("a callback returning false stops the solve", "[lasso][callback]", float,
                   double) {
  using Scalar = TestType;
  const Method method = GENERATE(Method::ISTA, Method::FISTA, Method::CoordinateDescent);
  const Index n = mlcsc_test::uniform_int(9, 31), m = mlcsc_test::uniform_int(2 * n, 3 * n);
  const Index B = mlcsc_test::uniform_int(1, 11);
  CAPTURE(name(method), n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = sparse_signals(D, B);
  auto p = params<Scalar>(method, 0.05 * lambda_max(D, Y), false);
  p.tolerance = Scalar(0);
  p.max_iterations = 1000;
  std::vector<int> calls;
  p.callback = [&](int k, Scalar f) {
    calls.push_back(k);
    REQUIRE(std::isfinite(double(f)));
    return k < 2;
  };
  const auto res = mlcsc::lasso(D, Y, p);
  REQUIRE(calls == std::vector<int>{1, 2});
  REQUIRE(res.iterations == 2);
  REQUIRE_FALSE(res.converged);
}

TEMPLATE_TEST_CASE("warm start: lasso(D, y, p, init)", "[lasso][warm-start]", float, double) {
  using Scalar = TestType;
  const Method method = GENERATE(Method::ISTA, Method::FISTA, Method::CoordinateDescent);
  const bool nonneg = GENERATE(false, true);
  const Index n = mlcsc_test::uniform_int(6, 29), m = mlcsc_test::uniform_int(n, 3 * n);
  const Index B = mlcsc_test::uniform_int(1, 13);
  CAPTURE(name(method), nonneg, n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = sparse_signals(D, B);
  const auto p = params<Scalar>(method, 0.2 * lambda_max(D, Y), nonneg);
  const VecD lam = VecD::Constant(m, double(p.lambda));
  const auto cold = solve_and_check(D, Y, p);

  SECTION("from the solution: stops at once, stays there") {
    const auto warm = mlcsc::lasso(D, Y, p, cold.code);
    // ISTA/FISTA: one step from a fixed point; CD: a screening pass, one sweep with the exact
    // polish, and the screening pass that confirms it
    REQUIRE(warm.iterations <= (method == Method::CoordinateDescent ? 3 : 2));
    REQUIRE(warm.converged);
    REQUIRE(kkt_violation(D, Y, warm.code, lam, nonneg) <= Tol<Scalar>::kkt * lambda_max(D, Y));
  }
  SECTION("from a random start: the same optimum") {
    mlcsc::Matrix<Scalar> init = mlcsc_test::randn<Scalar>(m, B);
    if (nonneg) init = init.cwiseAbs();
    const auto warm = mlcsc::lasso(D, Y, p, init);
    REQUIRE(kkt_violation(D, Y, warm.code, lam, nonneg) <= Tol<Scalar>::kkt * lambda_max(D, Y));
    const double fc = objective(D, Y, cold.code, lam), fw = objective(D, Y, warm.code, lam);
    REQUIRE(std::abs(fc - fw) <= Tol<Scalar>::objective * fc);
  }
  SECTION("the start is not modified and must be shaped like the code") {
    const mlcsc::Matrix<Scalar> init = cold.code;
    (void)mlcsc::lasso(D, Y, p, init);
    REQUIRE(init == cold.code);
    REQUIRE_THROWS_AS(mlcsc::lasso(D, Y, p, mlcsc::Matrix<Scalar>::Zero(m + 1, B)),
                      std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::lasso(D, Y, p, mlcsc::Matrix<Scalar>::Zero(m, B + 1)),
                      std::invalid_argument);
    REQUIRE(contains(invalid_argument_message(
                         [&] { mlcsc::lasso(D, Y, p, mlcsc::Matrix<Scalar>::Zero(m, B + 1)); }),
                     "'init'"));
    mlcsc::Matrix<Scalar> bad = cold.code;
    bad(0, 0) = std::numeric_limits<Scalar>::quiet_NaN();
    REQUIRE_THROWS_AS(mlcsc::lasso(D, Y, p, bad), std::invalid_argument);
  }
}

TEMPLATE_TEST_CASE("lasso rejects bad input", "[lasso][bad-input]", float, double) {
  using Scalar = TestType;
  const Method method = GENERATE(Method::ISTA, Method::FISTA, Method::CoordinateDescent);
  const Index n = mlcsc_test::uniform_int(3, 21), m = mlcsc_test::uniform_int(2, 40);
  const Index B = mlcsc_test::uniform_int(1, 7);
  CAPTURE(name(method), n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  const auto good = params<Scalar>(method, 0.1, false);
  const auto throws_naming = [&](const mlcsc::LassoParams<Scalar>& p,
                                 const mlcsc::Matrix<Scalar>& y, const char* what) {
    REQUIRE_THROWS_AS(mlcsc::lasso(D, y, p), std::invalid_argument);
    const std::string msg = invalid_argument_message([&] { mlcsc::lasso(D, y, p); });
    CAPTURE(msg);
    REQUIRE(contains(msg, what));
  };
  REQUIRE_NOTHROW(mlcsc::lasso(D, Y, good));

  SECTION("y rows mismatch") {
    throws_naming(good, mlcsc_test::randn<Scalar>(n + 1, B), "'y'");
    throws_naming(good, mlcsc_test::randn<Scalar>(n - 1, B), "'y'");
  }
  SECTION("NaN or Inf in y") {
    for (Scalar bad :
         {std::numeric_limits<Scalar>::quiet_NaN(), std::numeric_limits<Scalar>::infinity()}) {
      mlcsc::Matrix<Scalar> y = Y;
      y(mlcsc_test::uniform_int(0, n - 1), mlcsc_test::uniform_int(0, B - 1)) = bad;
      throws_naming(good, y, "'y'");
    }
  }
  SECTION("lambda < 0 or NaN") {
    auto p = good;
    p.lambda = Scalar(-1e-3);
    throws_naming(p, Y, "'lambda'");
    p.lambda = std::numeric_limits<Scalar>::quiet_NaN();
    throws_naming(p, Y, "'lambda'");
    p.lambda = std::numeric_limits<Scalar>::infinity();
    throws_naming(p, Y, "'lambda'");
  }
  SECTION("max_iterations <= 0") {
    auto p = good;
    p.max_iterations = 0;
    throws_naming(p, Y, "'max_iterations'");
    p.max_iterations = -5;
    throws_naming(p, Y, "'max_iterations'");
  }
  SECTION("bad tolerance") {
    auto p = good;
    p.tolerance = Scalar(-1);
    throws_naming(p, Y, "'tolerance'");
    p.tolerance = std::numeric_limits<Scalar>::quiet_NaN();
    throws_naming(p, Y, "'tolerance'");
  }
  SECTION("lambdas of the wrong length, negative or NaN") {
    auto p = good;
    p.lambdas = mlcsc::Vector<Scalar>::Constant(m + 1, Scalar(0.1));
    throws_naming(p, Y, "'lambdas'");
    p.lambdas = mlcsc::Vector<Scalar>::Constant(m - 1, Scalar(0.1));
    throws_naming(p, Y, "'lambdas'");
    p.lambdas = mlcsc::Vector<Scalar>::Constant(m, Scalar(0.1));
    p.lambdas(mlcsc_test::uniform_int(0, m - 1)) = Scalar(-0.01);
    throws_naming(p, Y, "'lambdas'");
    p.lambdas = mlcsc::Vector<Scalar>::Constant(m, Scalar(0.1));
    p.lambdas(m - 1) = std::numeric_limits<Scalar>::quiet_NaN();
    throws_naming(p, Y, "'lambdas'");
  }
}
