// theory/bounds.hpp: the closed-form bounds, against the worked example of docs/theory.md and their
// formulas.
//   welch_bound(m, n)      = sqrt((m - n) / (n (m - 1)))        (0 when m <= n)
//   conv_welch_bound(m, n) = sqrt((m - 1) / (m (2n - 1) - 1))   = welch_bound(m (2n - 1), 2n - 1)
//   l0_uniqueness_bound(mu) = (1 + 1/mu) / 2,  lasso_stability_bound(mu) = (1 + 1/mu) / 3
// The worked example of docs/theory.md: m = 2 filters of length 64 give mu >= sqrt(1/253) =
// 0.0628695 and a global l0 bound of (1 + sqrt(253)) / 2 = 8.4530. Closed forms are checked to
// 1e-12 relative (a few double roundings); the printed digits to their last digit.
#include <cmath>
#include <limits>
#include <string>

#include "test_support.hpp"

using mlcsc::Index;

TEST_CASE("the worked example: 2 filters of length 64", "[theory][bounds]") {
  const double mu = mlcsc::conv_welch_bound(2, 64);
  REQUIRE(std::abs(mu - std::sqrt(1.0 / 253.0)) <= 1e-15);
  REQUIRE(std::abs(mu - 0.0628695) <= 1e-6);
  const double k = mlcsc::l0_uniqueness_bound(mu);
  REQUIRE(std::abs(k - 8.4530) <= 1e-3);
  REQUIRE(std::abs(k - 0.5 * (1 + std::sqrt(253.0))) <= 1e-12);
  // a source that rounds mu to 0.063 quotes ~8.43; from 0.063 exactly the bound is 8.4365
  REQUIRE(std::abs(mlcsc::l0_uniqueness_bound(0.063) - 8.4365) <= 1e-4);
  // so at most 8 nonzeros are guaranteed, globally
  REQUIRE(std::ceil(k) - 1 == 8);
  REQUIRE(std::abs(mlcsc::lasso_stability_bound(mu) - (1 + std::sqrt(253.0)) / 3) <= 1e-12);
}

TEST_CASE("welch_bound: closed form", "[theory][bounds]") {
  // 256 atoms of length 64: sqrt(192 / (64 * 255)) = sqrt(1/85)
  REQUIRE(std::abs(mlcsc::welch_bound(256, 64) - std::sqrt(192.0 / (64.0 * 255.0))) <= 1e-15);
  REQUIRE(std::abs(mlcsc::welch_bound(256, 64) - 0.1084652) <= 1e-7);
  REQUIRE(std::abs(mlcsc::welch_bound(256, 64) - std::sqrt(1.0 / 85.0)) <= 1e-15);
  // two orthonormal bases: m = 2n gives sqrt(1 / (2n - 1))
  for (Index n : {Index(8), Index(64), Index(1000)})
    REQUIRE(std::abs(mlcsc::welch_bound(2 * n, n) - std::sqrt(1.0 / double(2 * n - 1))) <= 1e-15);
  // m <= n: an orthonormal set exists
  REQUIRE(mlcsc::welch_bound(64, 64) == 0.0);
  REQUIRE(mlcsc::welch_bound(3, 64) == 0.0);
  REQUIRE(mlcsc::welch_bound(1, 1) == 0.0);
  // n = 1, m >= 2: every pair is parallel, mu = 1
  REQUIRE(std::abs(mlcsc::welch_bound(7, 1) - 1.0) <= 1e-15);
  for (int rep = 0; rep < 20; ++rep) {
    const Index n = mlcsc_test::uniform_int(1, 500), m = mlcsc_test::uniform_int(n + 1, 5 * n + 5);
    const double w = mlcsc::welch_bound(m, n);
    const double expected = std::sqrt(double(m - n) / (double(n) * double(m - 1)));
    CAPTURE(n, m);
    REQUIRE(std::abs(w - expected) <= 1e-12 * expected);
    REQUIRE(w > 0);
    REQUIRE(w <= 1);
    // more atoms in the same dimension: a larger bound
    REQUIRE(mlcsc::welch_bound(m + 1, n) >= w);
  }
}

TEST_CASE("conv_welch_bound is the Welch bound of one stripe", "[theory][bounds]") {
  for (int rep = 0; rep < 20; ++rep) {
    const Index m = mlcsc_test::uniform_int(1, 300), n = mlcsc_test::uniform_int(1, 300);
    CAPTURE(m, n);
    const double c = mlcsc::conv_welch_bound(m, n);
    // m = n = 1 is one atom (0 / 0 in the formula): no pair, no coherence to bound
    const double expected =
        m == 1 && n == 1 ? 0.0 : std::sqrt(double(m - 1) / (double(m) * double(2 * n - 1) - 1));
    REQUIRE(std::abs(c - expected) <= 1e-12 * std::max(expected, 1e-300));
    if (m * (2 * n - 1) > 2 * n - 1)
      REQUIRE(std::abs(c - mlcsc::welch_bound(m * (2 * n - 1), 2 * n - 1)) <= 1e-12);
  }
  REQUIRE(mlcsc::conv_welch_bound(1, 64) == 0.0);  // one filter: its shifts can be orthogonal
  REQUIRE(mlcsc::conv_welch_bound(1, 1) == 0.0);   // one atom (seed 2029 drew it: 0 / 0 before)
  REQUIRE(std::abs(mlcsc::conv_welch_bound(5, 1) - mlcsc::welch_bound(5, 1)) <= 1e-15);
}

TEST_CASE("l0_uniqueness_bound and lasso_stability_bound", "[theory][bounds]") {
  for (double mu : {1.0, 0.5, 0.25, 1.0 / 3.0, 0.1, 1e-3}) {
    CAPTURE(mu);
    REQUIRE(std::abs(mlcsc::l0_uniqueness_bound(mu) - 0.5 * (1 + 1 / mu)) <= 1e-12 / mu);
    REQUIRE(std::abs(mlcsc::lasso_stability_bound(mu) - (1 + 1 / mu) / 3) <= 1e-12 / mu);
  }
  REQUIRE(mlcsc::l0_uniqueness_bound(1.0) == 1.0);  // mu = 1: not even one nonzero (k < 1)
  // mu = 0 (an orthonormal basis, e.g. mutual_coherence of the identity): no limit
  REQUIRE(std::isinf(mlcsc::l0_uniqueness_bound(0.0)));
  REQUIRE(mlcsc::l0_uniqueness_bound(0.0) > 0);
  REQUIRE(std::isinf(mlcsc::lasso_stability_bound(0.0)));
  const mlcsc::Dictionary<double> I(Eigen::MatrixXd::Identity(5, 5));
  REQUIRE(std::isinf(mlcsc::l0_uniqueness_bound(mlcsc::mutual_coherence(I))));
}

TEST_CASE("the bounds reject bad arguments", "[theory][bounds][bad-input]") {
  REQUIRE_THROWS_AS(mlcsc::welch_bound(0, 5), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::welch_bound(5, 0), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::welch_bound(-3, 5), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::conv_welch_bound(0, 5), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::conv_welch_bound(2, 0), std::invalid_argument);
  for (double mu : {-0.1, 1.5, std::nan(""), std::numeric_limits<double>::infinity()}) {
    CAPTURE(mu);
    REQUIRE_THROWS_AS(mlcsc::l0_uniqueness_bound(mu), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::lasso_stability_bound(mu), std::invalid_argument);
  }
  try {
    mlcsc::l0_uniqueness_bound(2.0);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    REQUIRE(std::string(e.what()).find("'mu'") != std::string::npos);
  }
}
