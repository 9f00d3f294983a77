// Numerical edge cases: a lambda that zeroes everything, all-zero signals, duplicate atoms
// (mu = 1), and data scaled by 1e20 and 1e-20.
#include <cmath>
#include <limits>

#include "test_support.hpp"

TEMPLATE_TEST_CASE("edge: lambda just above ||D^T y||_inf, every dense method at once", "[edge]",
                   float, double) {
  using Scalar = TestType;
  const auto n = mlcsc_test::uniform_int(3, 30), m = mlcsc_test::uniform_int(3, 50);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, 4);
  mlcsc::LassoParams<Scalar> p;
  p.lambda = D.analyze(Y).cwiseAbs().maxCoeff() * Scalar(1.0001);
  for (auto method :
       {mlcsc::Method::ISTA, mlcsc::Method::FISTA, mlcsc::Method::CoordinateDescent}) {
    p.method = method;
    const auto r = mlcsc::lasso(D, Y, p);
    REQUIRE(r.code.isZero(0));
    REQUIRE(r.converged);
    REQUIRE(r.iterations == 1);
    REQUIRE(std::abs(double(r.objective) - 0.5 * double(Y.squaredNorm())) <=
            1e-5 * double(Y.squaredNorm()));
  }
  // The same on a convolutional dictionary.
  mlcsc::ConvDictionary<Scalar> C(3, 1, 3, 3, mlcsc::Boundary::Zero);
  for (mlcsc::Index k = 0; k < 3; ++k) C.filter(k, 0) = mlcsc_test::randn<Scalar>(3, 3);
  C.normalize();
  mlcsc::FeatureMaps<Scalar> x(1, 9, 7);
  x.data() = mlcsc_test::randn<Scalar>(1, 63);
  mlcsc::LassoParams<Scalar> q;
  q.lambda = C.analyze(x).data().cwiseAbs().maxCoeff() * Scalar(1.0001);
  const auto rc = mlcsc::lasso(C, x, q);
  REQUIRE(rc.code.data().isZero(0));
  REQUIRE(rc.iterations == 1);
  REQUIRE(rc.converged);
}

TEMPLATE_TEST_CASE("an all-zero signal codes to zero in every pursuit", "[edge]", float, double) {
  using Scalar = TestType;
  const auto D = mlcsc_test::random_dictionary<Scalar>(9, 20);
  const mlcsc::Matrix<Scalar> Y = mlcsc::Matrix<Scalar>::Zero(9, 3);
  mlcsc::LassoParams<Scalar> p;
  for (auto method :
       {mlcsc::Method::ISTA, mlcsc::Method::FISTA, mlcsc::Method::CoordinateDescent}) {
    p.method = method;
    const auto r = mlcsc::lasso(D, Y, p);
    REQUIRE(r.code.isZero(0));
    REQUIRE(r.converged);
    REQUIRE(r.objective == Scalar(0));
  }
  REQUIRE(mlcsc::thresholding(D, Y, Scalar(0), mlcsc::Shrinkage::Soft).isZero(0));
  const auto o = mlcsc::omp(D, Y, mlcsc::OmpParams<Scalar>{});
  REQUIRE(o.code.isZero(0));
  const auto b = mlcsc::basis_pursuit(D, Y, mlcsc::BasisPursuitParams<Scalar>{});
  REQUIRE(b.code.cwiseAbs().maxCoeff() <= Scalar(1e-6));
}

TEST_CASE("duplicate atoms: mu = 1 and the Lasso still meets its KKT conditions", "[edge]") {
  Eigen::MatrixXd A = mlcsc_test::randn<double>(12, 20);
  A.col(7) = A.col(3);
  mlcsc::Dictionary<double> D(A);
  D.normalize();
  REQUIRE(std::abs(mlcsc::mutual_coherence(D) - 1.0) <= 1e-12);
  const Eigen::MatrixXd Y = mlcsc_test::randn<double>(12, 5);
  mlcsc::LassoParams<double> p;
  p.lambda = 0.1;
  p.tolerance = 1e-10;
  p.max_iterations = 20000;
  // The solution set is a segment (the duplicate pair shares its weight in any proportion), so
  // the problem is not strongly convex: textbook FISTA's iterates can take more than 20,000 steps
  // to settle to 1e-10 there (seen at --rng-seed 1796196391); the gradient restart settles them.
  p.adaptive_restart = true;
  for (auto method : {mlcsc::Method::FISTA, mlcsc::Method::CoordinateDescent}) {
    p.method = method;
    CAPTURE(int(method));
    const auto r = mlcsc::lasso(D, Y, p);
    CAPTURE(r.iterations, r.objective);
    REQUIRE(r.converged);
    const Eigen::MatrixXd corr = D.analyze(Eigen::MatrixXd(Y - D.synthesize(r.code)));
    REQUIRE(corr.cwiseAbs().maxCoeff() <= p.lambda * (1 + 1e-6));
  }
}

TEST_CASE("scaled data: 1e20 and 1e-20 give the scaled solution or a clear error", "[edge]") {
  // Lasso is scale-equivariant: (s y, s lambda) -> s G. The stopping rule is absolute below
  // ||G|| = 1, so the tolerance is scaled with the data.
  const auto D = mlcsc_test::random_dictionary<double>(10, 25);
  const Eigen::MatrixXd Y = mlcsc_test::randn<double>(10, 3);
  mlcsc::LassoParams<double> p;
  p.lambda = 0.2;
  p.tolerance = 1e-12;
  p.max_iterations = 50000;
  // The solution set is a segment (the duplicate pair shares its weight in any proportion), so
  // the problem is not strongly convex: textbook FISTA's iterates can take more than 20,000 steps
  // to settle to 1e-10 there (seen at --rng-seed 1796196391); the gradient restart settles them.
  p.adaptive_restart = true;
  for (auto method : {mlcsc::Method::FISTA, mlcsc::Method::CoordinateDescent}) {
    p.method = method;
    const Eigen::MatrixXd G = mlcsc::lasso(D, Y, p).code;
    for (double s : {1e20, 1e-20}) {
      auto q = p;
      q.lambda = p.lambda * s;
      q.tolerance = p.tolerance * std::min(1.0, s);
      const auto r = mlcsc::lasso(D, Eigen::MatrixXd(s * Y), q);
      INFO("scale " << s << " method " << int(method));
      REQUIRE(r.code.allFinite());
      REQUIRE(std::isfinite(r.objective));
      REQUIRE((r.code / s - G).cwiseAbs().maxCoeff() <= 1e-6 * (1 + G.cwiseAbs().maxCoeff()));
    }
  }
  // In float, 1e20 squared overflows: the Lasso refuses with a message, thresholding stays finite.
  const mlcsc::Dictionary<float> Df(D.matrix().cast<float>());
  const Eigen::MatrixXf Yf = (1e20 * Y).cast<float>();
  mlcsc::LassoParams<float> pf;
  REQUIRE_THROWS_AS(mlcsc::lasso(Df, Yf, pf), std::invalid_argument);
  REQUIRE(mlcsc::thresholding(Df, Yf, 1e19f, mlcsc::Shrinkage::Soft).allFinite());
  // Values whose squares underflow stay finite (and exact zeros stay zero).
  const Eigen::MatrixXf tiny = (1e-20 * Y).cast<float>();
  const auto rt = mlcsc::lasso(Df, tiny, pf);
  REQUIRE(rt.code.allFinite());
  REQUIRE(std::isfinite(rt.objective));
}

TEMPLATE_TEST_CASE("require_finite finds a single NaN or infinity anywhere in a strided block",
                   "[edge]", float, double) {
  using Scalar = TestType;
  const Scalar bad[] = {std::numeric_limits<Scalar>::quiet_NaN(),
                        std::numeric_limits<Scalar>::infinity(),
                        -std::numeric_limits<Scalar>::infinity()};
  for (int trial = 0; trial < 20; ++trial) {
    const auto rows = mlcsc_test::uniform_int(1, 37), cols = mlcsc_test::uniform_int(1, 13);
    mlcsc::Matrix<Scalar> M = mlcsc_test::randn<Scalar>(rows + 3, cols + 2);
    // Extreme finite values pass: their products with 0 are 0, and no sum can overflow.
    M(0, 0) = std::numeric_limits<Scalar>::max();
    M(rows + 2, cols + 1) = -std::numeric_limits<Scalar>::max();
    M(1, 0) = std::numeric_limits<Scalar>::denorm_min();
    const auto i = mlcsc_test::uniform_int(0, rows - 1), j = mlcsc_test::uniform_int(0, cols - 1);
    const Eigen::Ref<const mlcsc::Matrix<Scalar>> inner = M.block(1, 1, rows, cols);
    REQUIRE_NOTHROW(mlcsc::internal::require_finite(M, "test", "M"));
    REQUIRE_NOTHROW(mlcsc::internal::require_finite(inner, "test", "inner"));
    const Scalar v = bad[trial % 3];
    M(1 + i, 1 + j) = v;
    INFO("value " << v << " at " << i << ", " << j << " of " << rows << " x " << cols);
    REQUIRE_THROWS_WITH(mlcsc::internal::require_finite(inner, "test", "inner"),
                        Catch::Contains("'inner'") && Catch::Contains("NaN or infinite"));
    // Outside the block it is not seen.
    M(1 + i, 1 + j) = Scalar(1);
    M(0, cols + 1) = v;
    REQUIRE_NOTHROW(mlcsc::internal::require_finite(inner, "test", "inner"));
  }
}

TEST_CASE("the Lasso refuses a float signal whose ||y||^2 overflows float, naming y", "[edge]") {
  // ||y||^2 = 0.98 FLT_MAX is accepted and its objective is finite; 1.02 FLT_MAX overflows the
  // fit term the solvers compute in float: refused, for every dense method.
  const auto D = mlcsc_test::random_dictionary<float>(4, 6);
  for (auto method :
       {mlcsc::Method::ISTA, mlcsc::Method::FISTA, mlcsc::Method::CoordinateDescent}) {
    for (const double fraction : {0.98, 1.02}) {
      const double big = std::sqrt(0.5 * fraction * double(std::numeric_limits<float>::max()));
      Eigen::MatrixXf Y = Eigen::MatrixXf::Zero(4, 1);
      Y(0, 0) = float(big);
      Y(2, 0) = float(-big);
      mlcsc::LassoParams<float> p;
      p.method = method;
      p.lambda = 1e30f;  // above ||D^T y||_inf: the code is 0, the objective 0.5||y||^2
      INFO("method " << int(method) << ", ||y||^2 = " << fraction << " FLT_MAX");
      if (fraction < 1) {
        const auto r = mlcsc::lasso(D, Y, p);
        REQUIRE(r.code.isZero(0));
        REQUIRE(std::isfinite(r.objective));
        REQUIRE(std::abs(double(r.objective) /
                             (0.5 * fraction * double(std::numeric_limits<float>::max())) -
                         1) < 1e-5);
      } else {
        REQUIRE_THROWS_WITH(mlcsc::lasso(D, Y, p),
                            Catch::Contains("'y'") && Catch::Contains("overflows"));
      }
    }
  }
}
