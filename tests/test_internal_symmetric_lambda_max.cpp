// internal::symmetric_lambda_max and tridiagonal_lambda_max against closed forms: S = Q diag(l) Q^T
// with a random orthogonal Q and chosen spectra (repeated, negative, rank-deficient, zero), and
// the Toeplitz tridiagonal matrix, whose eigenvalues are a + 2 b cos(k pi / (n + 1)).
// Tolerance: Householder tridiagonalization is backward stable (||E|| <= c n eps ||S||) and
// bisection resolves the Sturm bracket to a few ulps, so |error| <= 64 n eps max|l|.
#include "test_support.hpp"

#include <mlcsc/internal/symmetric_lambda_max.hpp>

using mlcsc::Index;
using mlcsc::internal::symmetric_lambda_max;
using mlcsc::internal::tridiagonal_lambda_max;

namespace {

Eigen::MatrixXd with_spectrum(const Eigen::VectorXd& l) {
  const Index n = l.size();
  // a random orthogonal Q: the product of n reflectors I - 2 v v^T / v^T v
  Eigen::MatrixXd Q = Eigen::MatrixXd::Identity(n, n);
  for (Index i = 0; i < n; ++i) {
    const Eigen::VectorXd v = mlcsc_test::randn<double>(n, 1);
    const Eigen::VectorXd Qv = Q * v;
    Q -= (2 / v.squaredNorm()) * Qv * v.transpose();
  }
  Eigen::MatrixXd S = Q * l.asDiagonal() * Q.transpose();
  return 0.5 * (S + S.transpose());
}

double bound(const Eigen::VectorXd& l) {
  return 64 * double(l.size()) * std::numeric_limits<double>::epsilon() *
         std::max(1e-300, l.cwiseAbs().maxCoeff());
}

}  // namespace

TEST_CASE("symmetric_lambda_max on matrices of known spectrum", "[internal][lambda_max]") {
  for (int trial = 0; trial < 40; ++trial) {
    const Index n = trial < 4 ? Index(trial + 1) : mlcsc_test::uniform_int(1, 61);
    Eigen::VectorXd l = mlcsc_test::randn<double>(n, 1);
    switch (trial % 5) {
      case 0:
        l = l.cwiseAbs();
        break;  // positive definite
      case 1:
        l.head(n / 2).setZero();
        l = l.cwiseAbs();
        break;  // rank-deficient Gram
      case 2:
        l = -l.cwiseAbs();
        break;  // negative definite
      case 3:
        l.setConstant(2.5);
        break;  // one eigenvalue, n times
      case 4:
        l(0) = l.maxCoeff() + 1;
        l(n - 1) = l(0);
        break;  // a repeated largest
    }
    const Eigen::MatrixXd S = with_spectrum(l);
    CAPTURE(n, trial);
    REQUIRE(std::abs(symmetric_lambda_max(S) - l.maxCoeff()) <= bound(l));
    // only the lower triangle is read
    Eigen::MatrixXd T = S;
    T.triangularView<Eigen::StrictlyUpper>().setConstant(1e9);
    REQUIRE(symmetric_lambda_max(T) == symmetric_lambda_max(S));
  }
  REQUIRE(symmetric_lambda_max(Eigen::MatrixXd::Zero(7, 7)) == 0.0);
  REQUIRE(symmetric_lambda_max(Eigen::MatrixXd(0, 0)) == 0.0);
}

TEST_CASE("tridiagonal_lambda_max on the Toeplitz tridiagonal matrix", "[internal][lambda_max]") {
  for (int trial = 0; trial < 20; ++trial) {
    const Index n = mlcsc_test::uniform_int(1, 301);
    const double a = mlcsc_test::randn<double>(1, 1)(0), b = mlcsc_test::randn<double>(1, 1)(0);
    const Eigen::VectorXd d = Eigen::VectorXd::Constant(n, a);
    const Eigen::VectorXd e = Eigen::VectorXd::Constant(n - 1, b);
    const double pi = 3.141592653589793;
    const double ref = a + 2 * std::abs(b) * std::cos(pi / double(n + 1));
    CAPTURE(n, a, b);
    const double tol =
        64 * double(n) * std::numeric_limits<double>::epsilon() * (std::abs(a) + 2 * std::abs(b));
    REQUIRE(std::abs(tridiagonal_lambda_max(d, e) - (n == 1 ? a : ref)) <= tol);
  }
  // a zero off-diagonal splits the matrix: the larger block's maximum wins
  Eigen::VectorXd d(4), e(3);
  d << 1, 5, -2, 3;
  e << 0.5, 0, 0.25;
  const double top = 0.5 * (6 + std::sqrt(16 + 4 * 0.25));  // of [[1, .5], [.5, 5]]
  REQUIRE(std::abs(tridiagonal_lambda_max(d, e) - top) <= 1e-14 * top);
}
