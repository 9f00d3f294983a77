// omp() (pursuit/omp.hpp): orthogonal matching pursuit against a naive reference loop, exact
// recovery below the coherence bound, the max_atoms bound, the tolerance stop, and bad input.
//
// Exact recovery (Tropp 2004; Donoho, Elad, Temlyakov 2006): if x = D Gamma with
// ||Gamma||_0 < (1 + 1/mu) / 2, OMP picks a correct atom at every step and stops with Gamma.
//
// Tolerances. The library's Batch-OMP updates correlations as c - G_:I g_I and solves with a
// Cholesky factor in double; the reference recomputes D^T r and solves by Householder QR. On
// generic random data the two pick the same atoms (ties have probability zero; the comparison is
// done in double, where near-ties within rounding do not occur in practice) and their values agree
// to 1e-8 relative to ||g||_inf. Recovered values: 1e-9 (double), 1e-4 (float) relative.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include <Eigen/QR>

#include "test_support.hpp"

using mlcsc_test::contains;
using mlcsc_test::hadamard;
using mlcsc_test::identity_hadamard;
using mlcsc_test::invalid_argument_message;

namespace {

using mlcsc::Index;
using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

using mlcsc_test::recoverable_sparsity;
using mlcsc_test::sparse_codes;

/// Textbook OMP on one signal: pick argmax |D^T r|, least squares on the chosen atoms by QR,
/// r = y - D_S g_S; stop at L atoms or when ||r|| <= tol.
VecD reference_omp(const MatD& D, const VecD& y, Index L, double tol) {
  std::vector<Index> S;
  VecD r = y, gS;
  while (Index(S.size()) < L && r.norm() > tol) {
    Index j;
    (D.transpose() * r).cwiseAbs().maxCoeff(&j);
    S.push_back(j);
    MatD DS(D.rows(), Index(S.size()));
    for (size_t a = 0; a < S.size(); ++a) DS.col(Index(a)) = D.col(S[a]);
    gS = DS.colPivHouseholderQr().solve(y);
    r = y - DS * gS;
  }
  VecD g = VecD::Zero(D.cols());
  for (size_t a = 0; a < S.size(); ++a) g(S[a]) = gS(Index(a));
  return g;
}

std::set<Index> support(const VecD& g) {
  std::set<Index> s;
  for (Index i = 0; i < g.size(); ++i)
    if (g(i) != 0) s.insert(i);
  return s;
}

template <class Scalar>
constexpr double value_tol() {
  return std::is_same_v<Scalar, float> ? 1e-4 : 1e-9;
}

template <class Scalar>
void check_exact_recovery(const mlcsc::Dictionary<Scalar>& D, const MatD& Gamma, Index k) {
  const MatD Xd = D.matrix().template cast<double>() * Gamma;
  const mlcsc::Matrix<Scalar> X = Xd.cast<Scalar>();
  SECTION("max_atoms = ||Gamma||_0") {
    mlcsc::OmpParams<Scalar> p;
    p.max_atoms = int(k);
    const auto res = mlcsc::omp(D, X, p);
    const MatD g = res.code.template cast<double>();
    for (Index b = 0; b < Gamma.cols(); ++b) {
      CAPTURE(b);
      REQUIRE(support(g.col(b)) == support(Gamma.col(b)));
    }
    REQUIRE((g - Gamma).cwiseAbs().maxCoeff() <= value_tol<Scalar>() * Gamma.cwiseAbs().maxCoeff());
    REQUIRE(res.iterations == int(k));
    REQUIRE(res.converged);  // tolerance 0: the goal is max_atoms atoms
  }
  SECTION("more atoms allowed, stopped by the tolerance") {
    mlcsc::OmpParams<Scalar> p;
    p.max_atoms = int(std::min<Index>(D.num_atoms(), 3 * k + 2));
    p.tolerance = Scalar(std::is_same_v<Scalar, float> ? 1e-3 : 1e-8);  // well above rounding
    const auto res = mlcsc::omp(D, X, p);
    const MatD g = res.code.template cast<double>();
    for (Index b = 0; b < Gamma.cols(); ++b) {
      CAPTURE(b);
      REQUIRE(support(g.col(b)) == support(Gamma.col(b)));
    }
    REQUIRE((g - Gamma).cwiseAbs().maxCoeff() <= value_tol<Scalar>() * Gamma.cwiseAbs().maxCoeff());
    REQUIRE(res.iterations == int(k));
    REQUIRE(res.converged);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("OMP recovers support and values below the coherence bound, [I, H]",
                   "[omp][recovery]", float, double) {
  using Scalar = TestType;
  const Index n = Index(1) << mlcsc_test::uniform_int(3, 7);  // 8 .. 128
  const mlcsc::Dictionary<Scalar> D(identity_hadamard(n).cast<Scalar>());
  const double mu = double(mlcsc::mutual_coherence(D));
  const Index k = mlcsc_test::uniform_int(1, recoverable_sparsity(mu));
  const Index B = GENERATE(Index(1), Index(23));
  CAPTURE(n, mu, k, B);
  check_exact_recovery(D, sparse_codes(2 * n, k, B), k);
}

TEMPLATE_TEST_CASE("OMP recovers support and values below the coherence bound, random D",
                   "[omp][recovery]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(31, 97), m = n + mlcsc_test::uniform_int(1, n / 3);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const double mu = double(mlcsc::mutual_coherence(D));
  const Index k = recoverable_sparsity(mu);
  REQUIRE(k >= 1);
  const Index B = GENERATE(Index(1), Index(19));
  CAPTURE(n, m, mu, k, B);
  check_exact_recovery(D, sparse_codes(m, k, B), k);
}

TEST_CASE("OMP matches a naive reference loop on random problems", "[omp][reference]") {
  for (int rep = 0; rep < 6; ++rep) {
    // odd shapes, under- and overcomplete; y generic (not sparse)
    const Index n = mlcsc_test::uniform_int(3, 45), m = mlcsc_test::uniform_int(2, 3 * n + 7);
    const Index B = rep % 2 ? 1 : mlcsc_test::uniform_int(2, 31);
    const auto D = mlcsc_test::random_dictionary<double>(n, m);
    const MatD Y = mlcsc_test::randn<double>(n, B);
    mlcsc::OmpParams<double> p;
    p.max_atoms = int(mlcsc_test::uniform_int(1, std::min(n, m)));
    // half the time a tolerance that stops some signals early
    p.tolerance = rep < 3 ? 0.0 : 0.6 * Y.colwise().norm().mean();
    CAPTURE(rep, n, m, B, p.max_atoms, p.tolerance);
    const auto res = mlcsc::omp(D, Y, p);
    int most = 0;
    for (Index b = 0; b < B; ++b) {
      CAPTURE(b);
      const VecD ref = reference_omp(D.matrix(), Y.col(b), p.max_atoms, p.tolerance);
      const VecD g = res.code.col(b);
      REQUIRE(support(g) == support(ref));
      REQUIRE((g - ref).cwiseAbs().maxCoeff() <= 1e-8 * std::max(1.0, ref.cwiseAbs().maxCoeff()));
      most = std::max(most, int(support(g).size()));
      if (p.tolerance == 0) {
        REQUIRE(int(support(g).size()) == p.max_atoms);  // generic y: always L atoms
      } else {
        const double r = (Y.col(b) - D.matrix() * g).norm();
        // stopped early only when the residual met the tolerance
        if (int(support(g).size()) < p.max_atoms) REQUIRE(r <= p.tolerance);
      }
    }
    REQUIRE(res.iterations == most);
    const double f = 0.5 * (Y - D.matrix() * res.code).squaredNorm();
    REQUIRE(std::abs(res.objective - f) <= 1e-10 * std::max(1.0, f));
    const bool all_met = (Y - D.matrix() * res.code).colwise().norm().maxCoeff() <= p.tolerance;
    REQUIRE(res.converged == (p.tolerance == 0 || all_met));
  }
}

TEMPLATE_TEST_CASE("OMP never uses more than max_atoms atoms", "[omp]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(4, 40), m = mlcsc_test::uniform_int(n, 3 * n + 3);
  const Index B = mlcsc_test::uniform_int(1, 29);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  mlcsc::OmpParams<Scalar> p;
  p.max_atoms = int(mlcsc_test::uniform_int(1, m));
  CAPTURE(n, m, B, p.max_atoms);
  const auto res = mlcsc::omp(D, Y, p);
  const auto nnz = (res.code.array() != Scalar(0)).colwise().count();
  REQUIRE(nnz.maxCoeff() <= p.max_atoms);
  // n atoms already fit any y exactly; a generic y needs min(L, n) of them
  REQUIRE(nnz.minCoeff() >= std::min<Index>(p.max_atoms, n));
  REQUIRE(res.iterations == nnz.maxCoeff());
  // each added atom lowers the residual: L atoms do no worse than L - 1
  if (p.max_atoms > 1) {
    auto q = p;
    q.max_atoms = p.max_atoms - 1;
    const auto fewer = mlcsc::omp(D, Y, q);
    // slack: the rounding of a residual that may be ~0 (once L >= n atoms fit y exactly)
    const double slack = (std::is_same_v<Scalar, float> ? 1e-6 : 1e-12) *
                         (0.5 * Y.template cast<double>().squaredNorm());
    REQUIRE(double(res.objective) <= double(fewer.objective) + slack);
  }
}

TEMPLATE_TEST_CASE("OMP's tolerance stops each signal early", "[omp]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(8, 40), m = mlcsc_test::uniform_int(n, 3 * n);
  const Index B = mlcsc_test::uniform_int(2, 17);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  mlcsc::OmpParams<Scalar> p;
  p.max_atoms = int(std::min(n, m));
  p.tolerance = Scalar(0.5) * Y.colwise().norm().minCoeff();
  CAPTURE(n, m, B, p.max_atoms, p.tolerance);
  const auto res = mlcsc::omp(D, Y, p);
  REQUIRE(res.converged);
  const MatD R = Y.template cast<double>() - (D.matrix() * res.code).template cast<double>();
  const double slack = std::is_same_v<Scalar, float> ? 1e-4 : 1e-10;
  for (Index b = 0; b < B; ++b) {
    CAPTURE(b);
    REQUIRE(R.col(b).norm() <= double(p.tolerance) * (1 + slack));
    // stopped as soon as it met the tolerance: one atom fewer would not have
    const Index k = (res.code.col(b).array() != Scalar(0)).count();
    REQUIRE(k >= 1);
    REQUIRE(k <= p.max_atoms);
    mlcsc::OmpParams<Scalar> q;
    q.max_atoms = int(k - (k > 1 ? 1 : 0));
    if (k > 1) {
      const auto fewer = mlcsc::omp(D, mlcsc::Matrix<Scalar>(Y.col(b)), q);
      const double rf =
          (Y.col(b).template cast<double>() - (D.matrix() * fewer.code).template cast<double>())
              .norm();
      REQUIRE(rf > double(p.tolerance) * (1 - slack));
    }
  }
  SECTION("a tolerance it cannot meet with max_atoms atoms is reported") {
    mlcsc::OmpParams<Scalar> q;
    q.max_atoms = 1;
    q.tolerance = Scalar(1e-6) * Y.colwise().norm().minCoeff();
    const auto r = mlcsc::omp(D, Y, q);
    REQUIRE_FALSE(r.converged);
    REQUIRE(r.iterations == 1);
  }
}

TEMPLATE_TEST_CASE("OMP rejects bad input", "[omp][bad-input]", float, double) {
  using Scalar = TestType;
  using M = mlcsc::Matrix<Scalar>;
  const Index n = mlcsc_test::uniform_int(3, 25), m = mlcsc_test::uniform_int(2, 40);
  const Index B = mlcsc_test::uniform_int(1, 6);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const M Y = mlcsc_test::randn<Scalar>(n, B);
  mlcsc::OmpParams<Scalar> p;
  p.max_atoms = 1;
  REQUIRE_NOTHROW(mlcsc::omp(D, Y, p));
  SECTION("max_atoms = 0, < 0 or > m") {
    for (int L : {0, -1, int(m) + 1}) {
      p.max_atoms = L;
      REQUIRE_THROWS_AS(mlcsc::omp(D, Y, p), std::invalid_argument);
      REQUIRE(contains(invalid_argument_message([&] { mlcsc::omp(D, Y, p); }), "'max_atoms'"));
    }
    p.max_atoms = int(m);
    REQUIRE_NOTHROW(mlcsc::omp(D, Y, p));
  }
  SECTION("negative or NaN tolerance") {
    p.tolerance = Scalar(-1);
    REQUIRE_THROWS_AS(mlcsc::omp(D, Y, p), std::invalid_argument);
    p.tolerance = std::numeric_limits<Scalar>::quiet_NaN();
    REQUIRE_THROWS_AS(mlcsc::omp(D, Y, p), std::invalid_argument);
  }
  SECTION("y of the wrong shape or not finite") {
    const M y = mlcsc_test::randn<Scalar>(n + 1, B);
    REQUIRE_THROWS_AS(mlcsc::omp(D, y, p), std::invalid_argument);
    REQUIRE(contains(invalid_argument_message([&] { mlcsc::omp(D, y, p); }), "'y'"));
    M z = Y;
    z(n - 1, B - 1) = std::numeric_limits<Scalar>::infinity();
    REQUIRE_THROWS_AS(mlcsc::omp(D, z, p), std::invalid_argument);
  }
}
