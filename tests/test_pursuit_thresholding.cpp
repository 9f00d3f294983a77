// thresholding() (pursuit/thresholding.hpp): S_b(D^T y) against an independent computation,
// scalar and per-atom thresholds, support recovery in the classical regime, and bad input.
//
// Support recovery (the thresholding guarantee; Papyan, Romano, Elad, JMLR 2017, single layer):
// with x = D Gamma, ||Gamma||_0 = k and |Gamma_min| / |Gamma_max| > (2k - 1) mu, every on-support
// correlation has |d_i^T x| >= |Gamma_min| - (k - 1) mu |Gamma_max| and every off-support one
// |d_i^T x| <= k mu |Gamma_max|; a threshold between the two finds exactly supp(Gamma).
//
// Tolerances. The reference is D^T y in long double; an entry of the computed D^T y differs from
// it by at most delta = 2 n eps (|D|^T |y|) (Higham 3.1). Entries farther than delta from the
// threshold must match the reference shrinkage to delta; entries within delta of it may fall on
// either side and are not compared.
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/QR>

#include "test_support.hpp"

using mlcsc_test::contains;
using mlcsc_test::hadamard;
using mlcsc_test::invalid_argument_message;

namespace {

using mlcsc::Index;
using mlcsc::Shrinkage;
using MatD = Eigen::MatrixXd;
using LMatrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;

long double reference(long double x, long double b, Shrinkage kind) {
  switch (kind) {
    case Shrinkage::Soft:
      return x > b ? x - b : (x < -b ? x + b : 0.0L);
    case Shrinkage::Hard:
      return std::abs(x) > b ? x : 0.0L;
    case Shrinkage::NonnegSoft:
      return x > b ? x - b : 0.0L;
  }
  return 0;
}

/// Checks G against S_{b_i}(D^T Y) computed in long double (see the file comment).
template <class Scalar, class Thr>
void check_against_reference(const mlcsc::Dictionary<Scalar>& D, const mlcsc::Matrix<Scalar>& Y,
                             const mlcsc::Matrix<Scalar>& G, const Thr& b_of_row, Shrinkage kind) {
  const LMatrix A = D.matrix().template cast<long double>(), X = Y.template cast<long double>();
  const LMatrix C = A.transpose() * X;
  const LMatrix bound = A.cwiseAbs().transpose() * X.cwiseAbs();
  const long double eps = std::numeric_limits<Scalar>::epsilon();
  REQUIRE(G.rows() == D.num_atoms());
  REQUIRE(G.cols() == Y.cols());
  Index compared = 0;
  for (Index j = 0; j < G.cols(); ++j)
    for (Index i = 0; i < G.rows(); ++i) {
      const long double b = b_of_row(i), c = C(i, j);
      const long double delta =
          2 * D.signal_size() * eps * bound(i, j) + std::numeric_limits<Scalar>::min();
      const bool near_edge = std::abs(std::abs(c) - std::abs(b)) <= delta ||
                             (kind == Shrinkage::NonnegSoft && std::abs(c - b) <= delta);
      if (near_edge) continue;
      ++compared;
      CAPTURE(i, j, double(c), double(b));
      // plus one rounding of the shrinkage's own subtraction, c - b
      REQUIRE(std::abs(G(i, j) - reference(c, b, kind)) <=
              delta + eps * (std::abs(c) + std::abs(b)));
    }
  REQUIRE(compared >= G.size() / 2);  // the skipped entries are rare
}

/// B codes with k nonzeros each, magnitudes in [lo, 1]; signs random unless nonnegative.
MatD sparse_codes(Index m, Index k, Index B, double lo, bool nonnegative) {
  MatD G = MatD::Zero(m, B);
  for (Index b = 0; b < B; ++b) {
    Index placed = 0;
    while (placed < k) {
      const Index i = mlcsc_test::uniform_int(0, m - 1);
      if (G(i, b) != 0) continue;
      const double mag = lo + (1 - lo) * double(mlcsc_test::uniform_int(0, 1000)) / 1000.0;
      G(i, b) = nonnegative || mlcsc_test::uniform_int(0, 1) ? mag : -mag;
      ++placed;
    }
  }
  return G;
}

/// Codes within the thresholding guarantee for D, and a threshold inside the safe interval;
/// requires that supp(thresholding(D, D Gamma, beta)) == supp(Gamma) for all three kinds.
template <class Scalar>
void check_support_recovery(const mlcsc::Dictionary<Scalar>& D, Index B) {
  const double mu = double(mlcsc::mutual_coherence(D));
  // the largest k with (2k - 1) mu < 1, then |Gamma_min| halfway between (2k - 1) mu and 1
  const Index kmax = Index(std::ceil(0.5 * (1.0 + 1.0 / mu))) - 1;
  REQUIRE(kmax >= 1);
  const Index k = mlcsc_test::uniform_int(1, kmax);
  const double ratio = double(2 * k - 1) * mu;
  REQUIRE(ratio < 1);
  const double gmin = 0.5 * (ratio + 1);
  const double beta = 0.5 * (double(k) * mu + gmin - double(k - 1) * mu);
  CAPTURE(mu, k, gmin, beta, B);
  for (Shrinkage kind : {Shrinkage::Hard, Shrinkage::Soft, Shrinkage::NonnegSoft}) {
    CAPTURE(mlcsc::to_string(kind));
    const bool nonneg = kind == Shrinkage::NonnegSoft;
    const MatD Gamma = sparse_codes(D.num_atoms(), k, B, gmin, nonneg);
    const mlcsc::Matrix<Scalar> X =
        (D.matrix().template cast<double>() * Gamma).template cast<Scalar>();
    const mlcsc::Matrix<Scalar> G = mlcsc::thresholding(D, X, Scalar(beta), kind);
    REQUIRE(((G.array() != Scalar(0)) == (Gamma.array() != 0.0)).all());
    if (nonneg) REQUIRE((G.array() >= Scalar(0)).all());
    // signs are right too
    REQUIRE(((G.template cast<double>().array() * Gamma.array()) >= 0.0).all());
  }
}

}  // namespace

TEMPLATE_TEST_CASE("thresholding is S_b(D^T y) with a scalar threshold", "[thresholding]", float,
                   double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(1, 43), m = mlcsc_test::uniform_int(1, 77);
  const Index B = GENERATE(Index(1), Index(0));
  const Index cols = B == 1 ? 1 : mlcsc_test::uniform_int(2, 33);
  const mlcsc::Dictionary<Scalar> D(mlcsc_test::randn<Scalar>(n, m));  // not normalized
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, cols);
  const Scalar b = Scalar(0.6 * std::sqrt(double(n)));  // about half the correlations survive
  for (Shrinkage kind : {Shrinkage::Soft, Shrinkage::Hard, Shrinkage::NonnegSoft}) {
    CAPTURE(mlcsc::to_string(kind), n, m, cols);
    const mlcsc::Matrix<Scalar> G = mlcsc::thresholding(D, Y, b, kind);
    check_against_reference(
        D, Y, G, [&](Index) { return (long double)b; }, kind);
    // and it is exactly the library's own shrink of the library's own analyze
    REQUIRE(G == mlcsc::shrink(D.analyze(Y), b, kind));
    // a double threshold for a float dictionary is converted
    REQUIRE(mlcsc::thresholding(D, Y, double(b), kind) == G);
  }
  SECTION("NonnegSoft accepts a negative threshold (a positive CNN bias)") {
    const Scalar nb = -b / Scalar(3);
    const mlcsc::Matrix<Scalar> G = mlcsc::thresholding(D, Y, nb, Shrinkage::NonnegSoft);
    check_against_reference(
        D, Y, G, [&](Index) { return (long double)nb; }, Shrinkage::NonnegSoft);
  }
  SECTION("threshold 0: Soft and Hard give D^T y, NonnegSoft its positive part") {
    const mlcsc::Matrix<Scalar> C = D.analyze(Y);
    REQUIRE(mlcsc::thresholding(D, Y, Scalar(0), Shrinkage::Soft) == C);
    REQUIRE(mlcsc::thresholding(D, Y, Scalar(0), Shrinkage::Hard) == C);
    REQUIRE(mlcsc::thresholding(D, Y, Scalar(0), Shrinkage::NonnegSoft) ==
            mlcsc::Matrix<Scalar>(C.cwiseMax(Scalar(0))));
  }
}

TEMPLATE_TEST_CASE("thresholding with one threshold per atom", "[thresholding]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(1, 37), m = mlcsc_test::uniform_int(1, 71);
  const Index B = mlcsc_test::uniform_int(1, 29);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  for (Shrinkage kind : {Shrinkage::Soft, Shrinkage::Hard, Shrinkage::NonnegSoft}) {
    CAPTURE(mlcsc::to_string(kind), n, m, B);
    mlcsc::Vector<Scalar> b(m);
    for (Index i = 0; i < m; ++i) {
      b(i) = Scalar(0.05 + 1.5 * double(mlcsc_test::uniform_int(0, 1000)) / 1000.0);
      if (kind == Shrinkage::NonnegSoft && i % 3 == 0) b(i) = -b(i);
    }
    const mlcsc::Matrix<Scalar> G = mlcsc::thresholding(D, Y, b, kind);
    check_against_reference(
        D, Y, G, [&](Index i) { return (long double)b(i); }, kind);
    REQUIRE(G == mlcsc::shrink(D.analyze(Y), b, kind));
    // a row vector and a vector of another scalar type are accepted too
    const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> brow = b.transpose();
    REQUIRE(mlcsc::thresholding(D, Y, brow, kind) == G);
    const Eigen::VectorXd bd = b.template cast<double>();
    REQUIRE(mlcsc::thresholding(D, Y, bd, kind) == G);
    // a constant vector equals the scalar form
    const mlcsc::Vector<Scalar> c = mlcsc::Vector<Scalar>::Constant(m, b(0));
    REQUIRE(mlcsc::thresholding(D, Y, c, kind) == mlcsc::thresholding(D, Y, b(0), kind));
  }
}

TEMPLATE_TEST_CASE("thresholding recovers the support on an orthonormal dictionary",
                   "[thresholding][recovery]", float, double) {
  using Scalar = TestType;
  const Index n = mlcsc_test::uniform_int(3, 47), B = mlcsc_test::uniform_int(1, 13);
  const MatD Q = Eigen::HouseholderQR<MatD>(mlcsc_test::randn<double>(n, n)).householderQ();
  const mlcsc::Dictionary<Scalar> D(Q.cast<Scalar>());
  const Index k = mlcsc_test::uniform_int(1, n);  // any sparsity: D^T D Gamma = Gamma
  const MatD Gamma = sparse_codes(n, k, B, 0.5, false);
  const mlcsc::Matrix<Scalar> X = (Q * Gamma).cast<Scalar>();
  const double tol = std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
  CAPTURE(n, k, B);
  const mlcsc::Matrix<Scalar> H = mlcsc::thresholding(D, X, Scalar(0.25), Shrinkage::Hard);
  REQUIRE(((H.array() != Scalar(0)) == (Gamma.array() != 0.0)).all());
  REQUIRE((H.template cast<double>() - Gamma).cwiseAbs().maxCoeff() <= tol * std::sqrt(double(n)));
  const mlcsc::Matrix<Scalar> S = mlcsc::thresholding(D, X, Scalar(0.25), Shrinkage::Soft);
  const MatD expected = (Gamma.array().abs() - 0.25).max(0.0) * Gamma.array().sign();
  REQUIRE(((S.array() != Scalar(0)) == (Gamma.array() != 0.0)).all());
  REQUIRE((S.template cast<double>() - expected).cwiseAbs().maxCoeff() <=
          tol * std::sqrt(double(n)));
}

TEMPLATE_TEST_CASE("thresholding recovers the support when |G_min|/|G_max| > (2k - 1) mu",
                   "[thresholding][recovery]", float, double) {
  using Scalar = TestType;
  SECTION("[I, H / sqrt(n)], mu = 1/sqrt(n)") {
    const Index n = Index(1) << mlcsc_test::uniform_int(3, 7);
    MatD A(n, 2 * n);
    A << MatD::Identity(n, n), hadamard(n) / std::sqrt(double(n));
    const mlcsc::Dictionary<Scalar> D(A.cast<Scalar>());
    check_support_recovery(D, GENERATE(Index(1), Index(21)));
  }
  SECTION("a random dictionary of odd size") {
    const Index n = mlcsc_test::uniform_int(41, 99), m = n + mlcsc_test::uniform_int(1, 9);
    const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
    check_support_recovery(D, mlcsc_test::uniform_int(1, 17));
  }
}

TEMPLATE_TEST_CASE("thresholding rejects bad input", "[thresholding][bad-input]", float, double) {
  using Scalar = TestType;
  using M = mlcsc::Matrix<Scalar>;
  const Index n = mlcsc_test::uniform_int(2, 23), m = mlcsc_test::uniform_int(2, 31);
  const Index B = mlcsc_test::uniform_int(1, 5);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const M Y = mlcsc_test::randn<Scalar>(n, B);
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  SECTION("negative threshold for Soft and Hard") {
    for (Shrinkage kind : {Shrinkage::Soft, Shrinkage::Hard}) {
      REQUIRE_THROWS_AS(mlcsc::thresholding(D, Y, Scalar(-0.1), kind), std::invalid_argument);
      REQUIRE(
          contains(invalid_argument_message([&] { mlcsc::thresholding(D, Y, Scalar(-0.1), kind); }),
                   "'threshold'"));
      mlcsc::Vector<Scalar> b = mlcsc::Vector<Scalar>::Constant(m, Scalar(0.1));
      b(m - 1) = Scalar(-0.1);
      REQUIRE_THROWS_AS(mlcsc::thresholding(D, Y, b, kind), std::invalid_argument);
    }
  }
  SECTION("NaN or infinite thresholds") {
    for (Shrinkage kind : {Shrinkage::Soft, Shrinkage::Hard, Shrinkage::NonnegSoft}) {
      REQUIRE_THROWS_AS(mlcsc::thresholding(D, Y, nan, kind), std::invalid_argument);
      REQUIRE_THROWS_AS(mlcsc::thresholding(D, Y, std::numeric_limits<Scalar>::infinity(), kind),
                        std::invalid_argument);
      mlcsc::Vector<Scalar> b = mlcsc::Vector<Scalar>::Constant(m, Scalar(0.1));
      b(0) = nan;
      REQUIRE_THROWS_AS(mlcsc::thresholding(D, Y, b, kind), std::invalid_argument);
    }
  }
  SECTION("per-atom thresholds of the wrong length or shape") {
    for (Index len : {m - 1, m + 1}) {
      const mlcsc::Vector<Scalar> b = mlcsc::Vector<Scalar>::Constant(len, Scalar(0.1));
      REQUIRE_THROWS_AS(mlcsc::thresholding(D, Y, b, Shrinkage::Soft), std::invalid_argument);
      REQUIRE(
          contains(invalid_argument_message([&] { mlcsc::thresholding(D, Y, b, Shrinkage::Soft); }),
                   "'threshold'"));
    }
    const M b2 = M::Constant(m, 2, Scalar(0.1));  // a matrix is not a vector of thresholds
    REQUIRE_THROWS_AS(mlcsc::thresholding(D, Y, b2, Shrinkage::Soft), std::invalid_argument);
  }
  SECTION("y of the wrong shape or not finite") {
    const M y = mlcsc_test::randn<Scalar>(n + 1, B);
    REQUIRE_THROWS_AS(mlcsc::thresholding(D, y, Scalar(0.1), Shrinkage::Soft),
                      std::invalid_argument);
    REQUIRE(contains(
        invalid_argument_message([&] { mlcsc::thresholding(D, y, Scalar(0.1), Shrinkage::Soft); }),
        "'y'"));
    M z = Y;
    z(0, 0) = nan;
    REQUIRE_THROWS_AS(mlcsc::thresholding(D, z, Scalar(0.1), Shrinkage::Hard),
                      std::invalid_argument);
  }
}
