// Dictionary<Scalar> (dense/dictionary.hpp): shapes, normalize, analyze / synthesize against
// explicit products, adjointness, the cached Lipschitz constant against an SVD, gram() and its
// cache (shared_gram: values, invalidation by normalize, sharing by copies, concurrent first use),
// and every input check.
//
// Tolerances. A dot product of length n computed in floating point differs from the exact one by at
// most gamma_n |a|^T |x| with gamma_n ~ n u (u = eps / 2, Higham, "Accuracy and Stability of
// Numerical Algorithms", 3.1); the products are compared against a long double reference with the
// bound 2 n eps |a|^T |x| elementwise, which holds whatever order or FMA use the GEMM picks.
// lipschitz() is an eigen-solve in double rounded to Scalar: relative 1e-10 (double) and 1e-6
// (float, a few float ulps) against JacobiSVD in double.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <Eigen/SVD>

#include "test_support.hpp"

using mlcsc_test::contains;
using mlcsc_test::invalid_argument_message;

namespace {

using mlcsc::Index;
using LMatrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;

/// max over entries of |P - exact(A^T X)| / (2 n eps (|A|^T |X|) + tiny); <= 1 passes.
template <class Scalar>
double product_error_ratio(const mlcsc::Matrix<Scalar>& P, const LMatrix& exact,
                           const LMatrix& bound_base, Index depth) {
  const long double eps = std::numeric_limits<Scalar>::epsilon();
  const long double tiny = std::numeric_limits<Scalar>::min();
  const LMatrix err = (P.template cast<long double>() - exact).cwiseAbs();
  const LMatrix bound = (2.0L * depth * eps * bound_base).array() + tiny;
  return double((err.array() / bound.array()).maxCoeff());
}

}  // namespace

TEMPLATE_TEST_CASE("Dictionary keeps its atoms and reports its shape", "[dense][dictionary]", float,
                   double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(1, 37), m = mlcsc_test::uniform_int(1, 53);
  const mlcsc::Matrix<Scalar> A = mlcsc_test::randn<Scalar>(n, m);
  const mlcsc::Dictionary<Scalar> D(A);
  REQUIRE(D.signal_size() == n);
  REQUIRE(D.num_atoms() == m);
  REQUIRE(D.matrix().rows() == n);
  REQUIRE(D.matrix().cols() == m);
  REQUIRE(D.matrix() == A);

  SECTION("from an expression and from another scalar type") {
    const mlcsc::Dictionary<Scalar> D2(Scalar(2) * A);
    REQUIRE(D2.matrix() == (Scalar(2) * A).eval());
    const Eigen::MatrixXd Ad = A.template cast<double>();
    const mlcsc::Dictionary<Scalar> D3(Ad);
    REQUIRE(D3.matrix() == A);
  }
}

TEMPLATE_TEST_CASE("normalize gives unit atoms with the same directions", "[dense][dictionary]",
                   float, double) {
  using Scalar = TestType;
  const Scalar eps = std::numeric_limits<Scalar>::epsilon();
  const Index n = mlcsc_test::uniform_int(1, 41), m = mlcsc_test::uniform_int(1, 47);
  // atoms of very different lengths
  mlcsc::Matrix<Scalar> A = mlcsc_test::randn<Scalar>(n, m);
  for (Index j = 0; j < m; ++j) A.col(j) *= Scalar(std::pow(10.0, double(j % 7) - 3));
  mlcsc::Dictionary<Scalar> D(A);
  D.normalize();
  for (Index j = 0; j < m; ++j) {
    const double nrm = D.matrix().col(j).template cast<double>().norm();
    REQUIRE(std::abs(nrm - 1.0) <= 8 * double(eps) * std::sqrt(double(n)));
    // same direction: d_j = a_j / ||a_j||
    const Eigen::VectorXd a = A.col(j).template cast<double>();
    const double dev = (D.matrix().col(j).template cast<double>() - a / a.norm()).norm();
    REQUIRE(dev <= 8 * double(eps) * std::sqrt(double(n)));
  }
  // the cached Lipschitz constant follows the new atoms
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(D.matrix().template cast<double>());
  const double s2 = svd.singularValues()(0) * svd.singularValues()(0);
  const double rel = std::is_same_v<Scalar, float> ? 1e-6 : 1e-10;
  REQUIRE(std::abs(double(D.lipschitz()) - s2) <= rel * s2);
}

TEMPLATE_TEST_CASE("normalize throws on a zero atom and leaves the atoms unchanged",
                   "[dense][dictionary][bad-input]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(2, 19), m = mlcsc_test::uniform_int(2, 23);
  mlcsc::Matrix<Scalar> A = mlcsc_test::randn<Scalar>(n, m);
  const Index zero = mlcsc_test::uniform_int(0, m - 1);
  A.col(zero).setZero();
  mlcsc::Dictionary<Scalar> D(A);  // a zero atom is a valid dictionary; it cannot be normalized
  REQUIRE_THROWS_AS(D.normalize(), std::invalid_argument);
  const std::string msg = invalid_argument_message([&] { D.normalize(); });
  REQUIRE(contains(msg, "atom " + std::to_string(zero)));
  REQUIRE(D.matrix() == A);
}

TEMPLATE_TEST_CASE("analyze and synthesize are D^T x and D g", "[dense][dictionary]", float,
                   double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(1, 45), m = mlcsc_test::uniform_int(1, 61);
  const Index B = GENERATE(Index(1), Index(0));  // 0: a random batch size
  const Index cols = B == 1 ? 1 : mlcsc_test::uniform_int(2, 29);
  const mlcsc::Dictionary<Scalar> D(mlcsc_test::randn<Scalar>(n, m));
  const mlcsc::Matrix<Scalar> X = mlcsc_test::randn<Scalar>(n, cols);
  const mlcsc::Matrix<Scalar> G = mlcsc_test::randn<Scalar>(m, cols);
  const LMatrix Al = D.matrix().template cast<long double>();
  const LMatrix Xl = X.template cast<long double>(), Gl = G.template cast<long double>();

  const mlcsc::Matrix<Scalar> DtX = D.analyze(X);
  REQUIRE(DtX.rows() == m);
  REQUIRE(DtX.cols() == cols);
  REQUIRE(product_error_ratio<Scalar>(DtX, Al.transpose() * Xl,
                                      Al.cwiseAbs().transpose() * Xl.cwiseAbs(), n) <= 1.0);
  const mlcsc::Matrix<Scalar> DG = D.synthesize(G);
  REQUIRE(DG.rows() == n);
  REQUIRE(DG.cols() == cols);
  REQUIRE(product_error_ratio<Scalar>(DG, Al * Gl, Al.cwiseAbs() * Gl.cwiseAbs(), m) <= 1.0);

  SECTION("the non-allocating forms give the same values") {
    mlcsc::Matrix<Scalar> g(m, cols), x(n, cols);
    D.analyze(X, g);
    D.synthesize(G, x);
    REQUIRE(g == DtX);
    REQUIRE(x == DG);
  }
  SECTION("blocks and expressions are accepted") {
    const mlcsc::Matrix<Scalar> X2 = mlcsc_test::randn<Scalar>(n, cols + 3);
    REQUIRE(D.analyze(X2.leftCols(cols)) == D.analyze(mlcsc::Matrix<Scalar>(X2.leftCols(cols))));
    const mlcsc::Matrix<Scalar> twice = D.synthesize(Scalar(2) * G);
    REQUIRE(twice == D.synthesize(mlcsc::Matrix<Scalar>(Scalar(2) * G)));
  }
}

TEMPLATE_TEST_CASE("analyze is the adjoint of synthesize", "[dense][dictionary]", float, double) {
  using Scalar = TestType;
  const double eps = std::numeric_limits<Scalar>::epsilon();
  for (int rep = 0; rep < 5; ++rep) {
    const Index n = mlcsc_test::uniform_int(1, 53), m = mlcsc_test::uniform_int(1, 67);
    const Index B = mlcsc_test::uniform_int(1, 7);
    const mlcsc::Dictionary<Scalar> D = mlcsc_test::random_dictionary<Scalar>(n, m);
    const mlcsc::Matrix<Scalar> x = mlcsc_test::randn<Scalar>(n, B);
    const mlcsc::Matrix<Scalar> g = mlcsc_test::randn<Scalar>(m, B);
    // <D g, x> and <g, D^T x>, each accumulated in double from the Scalar products
    const double lhs =
        (D.synthesize(g).template cast<double>().array() * x.template cast<double>().array()).sum();
    const double rhs =
        (g.template cast<double>().array() * D.analyze(x).template cast<double>().array()).sum();
    // |error| <= (n + m) eps ||D|| ||g|| ||x|| (each product's rounding, then the sums)
    const double scale = std::sqrt(double(D.lipschitz())) * g.template cast<double>().norm() *
                         x.template cast<double>().norm();
    REQUIRE(std::abs(lhs - rhs) <= 2 * double(n + m) * eps * scale);
  }
}

TEMPLATE_TEST_CASE("lipschitz() is the largest squared singular value", "[dense][dictionary]",
                   float, double) {
  using Scalar = TestType;
  const double rel = std::is_same_v<Scalar, float> ? 1e-6 : 1e-10;
  // tall, wide, square, a single atom, a single row
  const Index n0 = mlcsc_test::uniform_int(2, 40);
  const std::pair<Index, Index> shapes[] = {
      {n0 + 9, n0}, {n0, 3 * n0 + 1}, {n0, n0}, {n0, 1}, {1, n0}};
  for (const auto& [n, m] : shapes) {
    CAPTURE(n, m);
    mlcsc::Matrix<Scalar> A = mlcsc_test::randn<Scalar>(n, m);
    A *= Scalar(0.5 + double(mlcsc_test::uniform_int(0, 100)) / 25.0);  // not unit scale
    const mlcsc::Dictionary<Scalar> D(A);
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(A.template cast<double>());
    const double s = svd.singularValues()(0);
    REQUIRE(std::abs(double(D.lipschitz()) - s * s) <= rel * s * s);
  }
  SECTION("an orthonormal dictionary has L = 1") {
    const Index n = mlcsc_test::uniform_int(1, 30);
    const mlcsc::Dictionary<Scalar> D(mlcsc::Matrix<Scalar>::Identity(n, n));
    REQUIRE(std::abs(double(D.lipschitz()) - 1.0) <= rel);
  }
}

TEMPLATE_TEST_CASE("lipschitz() beyond the exact eigen-solve (both sides > 1024)",
                   "[dense][dictionary]", float, double) {
  using Scalar = TestType;
  // D = I + sigma u u^T (u a unit vector orthogonal to the all-ones vector, which a power
  // iteration started from ones would never leave): D^T D has eigenvalue (1 + sigma)^2 on u and
  // 1 elsewhere (the Lanczos path: the Gram matrix is larger than 1024)
  const Index n = 1025 + 2 * mlcsc_test::uniform_int(0, 8);
  Eigen::VectorXd u = Eigen::VectorXd::NullaryExpr(
      n, [](Index i) { return std::sin(0.37 * double(i * i)) + 0.2 * double(i % 3); });
  u.array() -= u.mean();
  u.normalize();
  const double sigma = 0.3;
  const Eigen::MatrixXd A = Eigen::MatrixXd::Identity(n, n) + sigma * u * u.transpose();
  const mlcsc::Dictionary<Scalar> D(A.template cast<Scalar>());
  const double exact = (1 + sigma) * (1 + sigma);
  // from below, times the 0.2% margin; float: the matrix itself is rounded (relative 1e-7)
  REQUIRE(double(D.lipschitz()) >= exact * (1 - 1e-6));
  REQUIRE(double(D.lipschitz()) <= exact * 1.0021);
}

/// G is the m x m Gram matrix of D's atoms: symmetric, and D^T D (in long double) to within the
/// product's rounding bound.
template <class Scalar>
void require_gram_of(const mlcsc::Dictionary<Scalar>& D, const mlcsc::Matrix<Scalar>& G) {
  REQUIRE(G.rows() == D.num_atoms());
  REQUIRE(G.cols() == D.num_atoms());
  REQUIRE(G == G.transpose());
  const LMatrix Al = D.matrix().template cast<long double>();
  REQUIRE(product_error_ratio<Scalar>(G, Al.transpose() * Al,
                                      Al.cwiseAbs().transpose() * Al.cwiseAbs(),
                                      D.signal_size()) <= 1.0);
}

TEMPLATE_TEST_CASE("gram() is D^T D and symmetric", "[dense][dictionary]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(1, 33), m = mlcsc_test::uniform_int(1, 71);
  const mlcsc::Dictionary<Scalar> D(mlcsc_test::randn<Scalar>(n, m));
  require_gram_of(D, D.gram());
}

TEMPLATE_TEST_CASE("shared_gram() caches D^T D until the atoms change", "[dense][dictionary][gram]",
                   float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(1, 33), m = mlcsc_test::uniform_int(1, 71);
  CAPTURE(n, m);
  mlcsc::Dictionary<Scalar> D(mlcsc_test::randn<Scalar>(n, m));
  auto check_values = [&](const mlcsc::Matrix<Scalar>& G) { require_gram_of(D, G); };
  const std::shared_ptr<const mlcsc::Matrix<Scalar>> G1 = D.shared_gram();
  REQUIRE(G1 != nullptr);
  check_values(*G1);
  SECTION("cached: the same matrix on every call, gram() a copy of it") {
    REQUIRE(D.shared_gram() == G1);
    REQUIRE(D.shared_gram().get() == G1.get());
    REQUIRE(D.gram() == *G1);
    const mlcsc::Dictionary<Scalar> copy = D;  // a copy has the same atoms: shares the cache
    REQUIRE(copy.shared_gram() == G1);
  }
  SECTION("normalize starts a new cache; the old matrix stays valid for its holders") {
    const mlcsc::Matrix<Scalar> before = *G1;
    const mlcsc::Dictionary<Scalar> copy = D;
    D.normalize();
    const auto G2 = D.shared_gram();
    REQUIRE(G2 != G1);
    check_values(*G2);  // against the new (unit) atoms
    for (Index j = 0; j < m; ++j)
      REQUIRE(std::abs(double((*G2)(j, j)) - 1.0) <=
              4 * n * std::numeric_limits<Scalar>::epsilon());
    REQUIRE(*G1 == before);             // unchanged
    REQUIRE(copy.shared_gram() == G1);  // the copy keeps its atoms and their Gram matrix
    REQUIRE(D.gram() == *G2);
  }
  SECTION("a failed normalize keeps the cache") {
    mlcsc::Matrix<Scalar> A = D.matrix();
    A.col(m - 1).setZero();
    mlcsc::Dictionary<Scalar> Z(A);
    const auto GZ = Z.shared_gram();
    REQUIRE_THROWS_AS(Z.normalize(), std::invalid_argument);
    REQUIRE(Z.shared_gram() == GZ);
  }
}

TEMPLATE_TEST_CASE("shared_gram() on many threads at once: computed once, the same for all",
                   "[dense][dictionary][gram][threads]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(20, 70), m = mlcsc_test::uniform_int(100, 300);
  CAPTURE(n, m);
  for (int round = 0; round < 3; ++round) {
    const mlcsc::Dictionary<Scalar> D(mlcsc_test::randn<Scalar>(n, m));  // a fresh, empty cache
    const mlcsc::Matrix<Scalar> expected = mlcsc::Dictionary<Scalar>(D.matrix()).gram();
    const int threads = 6;
    std::vector<std::shared_ptr<const mlcsc::Matrix<Scalar>>> got(threads);
    std::vector<mlcsc::Matrix<Scalar>> copies(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        got[t] = D.shared_gram();
        copies[t] = D.gram();
      });
    for (auto& th : pool) th.join();
    for (int t = 0; t < threads; ++t) {
      REQUIRE(got[t] == got[0]);  // one matrix, computed once
      REQUIRE(*got[t] == expected);
      REQUIRE(copies[t] == expected);
    }
  }
}

TEMPLATE_TEST_CASE("Dictionary rejects bad input with the argument's name",
                   "[dense][dictionary][bad-input]", float, double) {
  using Scalar = TestType;
  using M = mlcsc::Matrix<Scalar>;
  const Index n = mlcsc_test::uniform_int(2, 17), m = mlcsc_test::uniform_int(2, 19);
  const Index B = mlcsc_test::uniform_int(1, 5);

  SECTION("empty dictionary") {
    REQUIRE_THROWS_AS(mlcsc::Dictionary<Scalar>(M(0, m)), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::Dictionary<Scalar>(M(n, 0)), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::Dictionary<Scalar>(M(0, 0)), std::invalid_argument);
    REQUIRE(contains(invalid_argument_message([&] { mlcsc::Dictionary<Scalar> D(M(n, 0)); }),
                     "'atoms'"));
  }
  SECTION("NaN or infinite atoms") {
    for (Scalar bad :
         {std::numeric_limits<Scalar>::quiet_NaN(), std::numeric_limits<Scalar>::infinity(),
          -std::numeric_limits<Scalar>::infinity()}) {
      M A = mlcsc_test::randn<Scalar>(n, m);
      A(mlcsc_test::uniform_int(0, n - 1), mlcsc_test::uniform_int(0, m - 1)) = bad;
      REQUIRE_THROWS_AS(mlcsc::Dictionary<Scalar>(A), std::invalid_argument);
      REQUIRE(
          contains(invalid_argument_message([&] { mlcsc::Dictionary<Scalar> D(A); }), "'atoms'"));
    }
  }

  const mlcsc::Dictionary<Scalar> D(mlcsc_test::randn<Scalar>(n, m));
  SECTION("wrong signal rows") {
    const M x = mlcsc_test::randn<Scalar>(n + 1, B);
    REQUIRE_THROWS_AS(D.analyze(x), std::invalid_argument);
    const std::string msg = invalid_argument_message([&] { D.analyze(x); });
    REQUIRE(contains(msg, "'x'"));
    REQUIRE(contains(msg, mlcsc::internal::shape(n + 1, B)));  // names the shape it got
    const M g = mlcsc_test::randn<Scalar>(m - 1, B);
    REQUIRE_THROWS_AS(D.synthesize(g), std::invalid_argument);
    REQUIRE(contains(invalid_argument_message([&] { D.synthesize(g); }), "'gamma'"));
  }
  SECTION("non-finite signals and codes") {
    M x = mlcsc_test::randn<Scalar>(n, B);
    x(0, B - 1) = std::numeric_limits<Scalar>::quiet_NaN();
    REQUIRE_THROWS_AS(D.analyze(x), std::invalid_argument);
    M g = mlcsc_test::randn<Scalar>(m, B);
    g(m - 1, 0) = std::numeric_limits<Scalar>::infinity();
    REQUIRE_THROWS_AS(D.synthesize(g), std::invalid_argument);
    REQUIRE(contains(invalid_argument_message([&] { D.synthesize(g); }), "'gamma'"));
  }
  SECTION("wrong output shapes for the non-allocating forms") {
    const M x = mlcsc_test::randn<Scalar>(n, B), g = mlcsc_test::randn<Scalar>(m, B);
    const std::pair<Index, Index> bad_codes[] = {{m + 1, B}, {m, B + 1}, {m - 1, B}};
    for (const auto& [r, c] : bad_codes) {
      M out(r, c);
      REQUIRE_THROWS_AS(D.analyze(x, out), std::invalid_argument);
      REQUIRE(contains(invalid_argument_message([&] { D.analyze(x, out); }), "'gamma'"));
    }
    const std::pair<Index, Index> bad_signals[] = {{n + 1, B}, {n, B + 1}, {n, 0}};
    for (const auto& [r, c] : bad_signals) {
      M out(r, c);
      REQUIRE_THROWS_AS(D.synthesize(g, out), std::invalid_argument);
      REQUIRE(contains(invalid_argument_message([&] { D.synthesize(g, out); }), "'x'"));
    }
    // right output, wrong input rows: the input is named
    M gout(m, B);
    const M xbad = mlcsc_test::randn<Scalar>(n + 2, B);
    REQUIRE_THROWS_AS(D.analyze(xbad, gout), std::invalid_argument);
    REQUIRE(contains(invalid_argument_message([&] { D.analyze(xbad, gout); }), "'x'"));
    M xout(n, B);
    const M gbad = mlcsc_test::randn<Scalar>(m + 2, B);
    REQUIRE_THROWS_AS(D.synthesize(gbad, xout), std::invalid_argument);
    REQUIRE(contains(invalid_argument_message([&] { D.synthesize(gbad, xout); }), "'gamma'"));
  }
}
