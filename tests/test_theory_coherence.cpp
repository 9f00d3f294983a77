// theory/coherence.hpp: mutual_coherence against a naive double loop, the Welch bound, and the
// dictionaries whose coherence is known exactly: orthonormal (0), [I, H / sqrt(n)] (1/sqrt(n)),
// duplicated atoms (1). It is computed in double, so double dictionaries match the reference to
// 1e-12; a float dictionary's value is the double one rounded to float (relative 1e-6).
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/QR>

#include "test_support.hpp"

using mlcsc_test::hadamard;

namespace {

using mlcsc::Index;
using MatD = Eigen::MatrixXd;

/// max_{i != j} |<d_i, d_j>| / (||d_i|| ||d_j||) by a double loop.
double naive_coherence(const MatD& A) {
  double mu = 0;
  for (Index i = 0; i < A.cols(); ++i)
    for (Index j = 0; j < A.cols(); ++j)
      if (i != j)
        mu = std::max(mu, std::abs(A.col(i).dot(A.col(j))) / (A.col(i).norm() * A.col(j).norm()));
  return mu;
}

template <class Scalar>
constexpr double rel() {
  return std::is_same_v<Scalar, float> ? 1e-6 : 1e-12;
}

}  // namespace

TEMPLATE_TEST_CASE("mutual_coherence matches a naive double loop", "[theory][coherence]", float,
                   double) {
  using Scalar = TestType;
  for (int rep = 0; rep < 8; ++rep) {
    const Index n = mlcsc_test::uniform_int(1, 41), m = mlcsc_test::uniform_int(2, 67);
    CAPTURE(n, m);
    mlcsc::Matrix<Scalar> A = mlcsc_test::randn<Scalar>(n, m);
    // unnormalized on purpose: the definition divides by the norms
    for (Index j = 0; j < m; ++j) A.col(j) *= Scalar(0.1 + double(j % 5));
    const mlcsc::Dictionary<Scalar> D(A);
    const double mu = double(mlcsc::mutual_coherence(D));
    const double ref = naive_coherence(A.template cast<double>());
    REQUIRE(std::abs(mu - ref) <= rel<Scalar>() * ref + 1e-15);
    // scale invariance: normalizing the atoms does not change it
    mlcsc::Dictionary<Scalar> N(A);
    N.normalize();
    REQUIRE(std::abs(double(mlcsc::mutual_coherence(N)) - mu) <= 4 * rel<Scalar>() * mu + 1e-15);
  }
}

TEMPLATE_TEST_CASE("mutual_coherence is at least the Welch bound", "[theory][coherence]", float,
                   double) {
  using Scalar = TestType;
  for (int rep = 0; rep < 10; ++rep) {
    const Index n = mlcsc_test::uniform_int(1, 50), m = mlcsc_test::uniform_int(2, 4 * n + 3);
    CAPTURE(n, m);
    const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
    const double mu = double(mlcsc::mutual_coherence(D));
    REQUIRE(mu >= mlcsc::welch_bound(m, n) * (1 - rel<Scalar>()));
    REQUIRE(mu <= 1.0);
  }
  SECTION("[I, H / sqrt(n)]: mu = 1/sqrt(n), above the Welch bound sqrt(1/(2n - 1))") {
    const Index n = Index(1) << mlcsc_test::uniform_int(1, 7);
    MatD A(n, 2 * n);
    A << MatD::Identity(n, n), hadamard(n) / std::sqrt(double(n));
    const mlcsc::Dictionary<Scalar> D(A.cast<Scalar>());
    const double mu = double(mlcsc::mutual_coherence(D));
    CAPTURE(n, mu);
    REQUIRE(std::abs(mu - 1 / std::sqrt(double(n))) <= rel<Scalar>());
    REQUIRE(mu >= mlcsc::welch_bound(2 * n, n));
  }
}

TEMPLATE_TEST_CASE("mutual_coherence of known dictionaries", "[theory][coherence]", float, double) {
  using Scalar = TestType;
  using M = mlcsc::Matrix<Scalar>;
  SECTION("identity and a random orthonormal basis: 0") {
    const Index n = mlcsc_test::uniform_int(2, 40);
    const mlcsc::Dictionary<Scalar> I(M::Identity(n, n));
    REQUIRE(mlcsc::mutual_coherence(I) == Scalar(0));
    const MatD Q = Eigen::HouseholderQR<MatD>(mlcsc_test::randn<double>(n, n)).householderQ();
    const mlcsc::Dictionary<Scalar> D(Q.cast<Scalar>());
    REQUIRE(double(mlcsc::mutual_coherence(D)) <= 1e3 * std::numeric_limits<Scalar>::epsilon());
  }
  SECTION("a duplicated atom, scaled or negated: 1") {
    const Index n = mlcsc_test::uniform_int(2, 30), m = mlcsc_test::uniform_int(3, 40);
    M A = mlcsc_test::randn<Scalar>(n, m);
    const Index i = mlcsc_test::uniform_int(0, m - 1);
    Index j = mlcsc_test::uniform_int(0, m - 2);
    if (j >= i) ++j;
    for (Scalar s : {Scalar(1), Scalar(-1), Scalar(3.5), Scalar(-0.25)}) {
      A.col(j) = s * A.col(i);
      const mlcsc::Dictionary<Scalar> D(A);
      CAPTURE(n, m, i, j, s);
      REQUIRE(std::abs(double(mlcsc::mutual_coherence(D)) - 1.0) <= rel<Scalar>());
      REQUIRE(mlcsc::mutual_coherence(D) <= Scalar(1));  // never above 1 by rounding
    }
  }
  SECTION("one row: every pair is parallel") {
    const mlcsc::Dictionary<Scalar> D(mlcsc_test::randn<Scalar>(1, 5));
    REQUIRE(std::abs(double(mlcsc::mutual_coherence(D)) - 1.0) <= rel<Scalar>());
  }
  SECTION("two atoms at a known angle") {
    M A(2, 2);
    const double t = 0.3;
    A << Scalar(1), Scalar(std::cos(t)), Scalar(0), Scalar(std::sin(t));
    const mlcsc::Dictionary<Scalar> D(A);
    REQUIRE(std::abs(double(mlcsc::mutual_coherence(D)) - std::cos(t)) <= rel<Scalar>());
  }
}

TEMPLATE_TEST_CASE("mutual_coherence rejects zero atoms and single-atom dictionaries",
                   "[theory][coherence][bad-input]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(1, 20), m = mlcsc_test::uniform_int(2, 30);
  mlcsc::Matrix<Scalar> A = mlcsc_test::randn<Scalar>(n, m);
  const Index z = mlcsc_test::uniform_int(0, m - 1);
  A.col(z).setZero();
  const mlcsc::Dictionary<Scalar> D(A);
  REQUIRE_THROWS_AS(mlcsc::mutual_coherence(D), std::invalid_argument);
  try {
    mlcsc::mutual_coherence(D);
  } catch (const std::invalid_argument& e) {
    REQUIRE(std::string(e.what()).find("atom " + std::to_string(z)) != std::string::npos);
  }
  const mlcsc::Dictionary<Scalar> one(mlcsc_test::randn<Scalar>(n, 1));
  REQUIRE_THROWS_AS(mlcsc::mutual_coherence(one), std::invalid_argument);
}
