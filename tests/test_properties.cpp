// Property tests over fresh random shapes (the seed is printed by Catch; replay with --rng-seed):
// adjointness of every operator, the convergence guarantees of ISTA and FISTA against the exact
// optimum, and float/double agreement.
#include <cmath>
#include <vector>

#include "test_support.hpp"

using mlcsc_test::random_conv;
using mlcsc_test::random_maps;

namespace {

// <D g, x> and <g, D^T x> in double.
template <class Op, class Code, class Signal>
void require_adjoint(const Op& D, const Code& g, const Signal& x, double rel) {
  const auto Dg = D.synthesize(g);
  const auto Dtx = D.analyze(x);
  const double lhs = (mlcsc::values(Dg).template cast<double>().array() *
                      mlcsc::values(x).template cast<double>().array())
                         .sum();
  const double rhs = (mlcsc::values(g).template cast<double>().array() *
                      mlcsc::values(Dtx).template cast<double>().array())
                         .sum();
  const double scale = mlcsc::values(Dg).template cast<double>().norm() *
                           mlcsc::values(x).template cast<double>().norm() +
                       1e-300;
  INFO("lhs " << lhs << " rhs " << rhs << " scale " << scale);
  REQUIRE(std::abs(lhs - rhs) <= rel * scale);
}

// Rounding of a sum of N products in Scalar, relative to the Cauchy-Schwarz scale.
template <class Scalar>
double adjoint_tolerance() {
  return sizeof(Scalar) == 4 ? 2e-4 : 1e-11;
}

}  // namespace

TEMPLATE_TEST_CASE("every operator is the exact adjoint of its synthesis", "[property][adjoint]",
                   float, double) {
  using Scalar = TestType;
  const double tol = adjoint_tolerance<Scalar>();
  SECTION("dense") {
    for (int trial = 0; trial < 5; ++trial) {
      const auto n = mlcsc_test::uniform_int(1, 40), m = mlcsc_test::uniform_int(1, 70),
                 B = mlcsc_test::uniform_int(1, 9);
      const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
      require_adjoint(D, mlcsc_test::randn<Scalar>(m, B), mlcsc_test::randn<Scalar>(n, B), tol);
    }
  }
  SECTION("convolutional, both boundaries, 1-D and 2-D") {
    for (int trial = 0; trial < 5; ++trial) {
      for (auto b : {mlcsc::Boundary::Circular, mlcsc::Boundary::Zero}) {
        const auto H = mlcsc_test::uniform_int(1, 3) == 1 ? 1 : mlcsc_test::uniform_int(5, 23);
        const auto W = mlcsc_test::uniform_int(5, 41);
        const auto kh = std::min<mlcsc::Index>(H, mlcsc_test::uniform_int(1, 6));
        const auto kw = std::min<mlcsc::Index>(W, mlcsc_test::uniform_int(1, 8));
        const auto K = mlcsc_test::uniform_int(1, 9), C = mlcsc_test::uniform_int(1, 5);
        INFO("K " << K << " C " << C << " kernel " << kh << "x" << kw << " signal " << H << "x"
                  << W);
        const auto D = random_conv<Scalar>(K, C, kh, kw, b);
        require_adjoint(D, random_maps<Scalar>(K, H, W), random_maps<Scalar>(C, H, W), tol);
      }
    }
  }
  SECTION("composed multi-layer effective dictionaries") {
    for (int trial = 0; trial < 5; ++trial) {
      const auto n = mlcsc_test::uniform_int(3, 20), m1 = mlcsc_test::uniform_int(3, 30),
                 m2 = mlcsc_test::uniform_int(2, 25);
      mlcsc::ComposedOperator<mlcsc::Dictionary<Scalar>> Deff(
          std::vector<mlcsc::Dictionary<Scalar>>{mlcsc_test::random_dictionary<Scalar>(n, m1),
                                                 mlcsc_test::random_dictionary<Scalar>(m1, m2)});
      require_adjoint(Deff, mlcsc_test::randn<Scalar>(m2, 3), mlcsc_test::randn<Scalar>(n, 3), tol);
      const auto b =
          mlcsc_test::uniform_int(0, 1) ? mlcsc::Boundary::Zero : mlcsc::Boundary::Circular;
      mlcsc::ComposedOperator<mlcsc::ConvDictionary<Scalar>> Ceff(
          std::vector<mlcsc::ConvDictionary<Scalar>>{random_conv<Scalar>(4, 1, 3, 3, b),
                                                     random_conv<Scalar>(5, 4, 3, 2, b)});
      require_adjoint(Ceff, random_maps<Scalar>(5, 11, 13), random_maps<Scalar>(1, 11, 13), tol);
    }
  }
}

// F(G) for the Lasso, in double.
template <class Scalar>
double lasso_objective(const mlcsc::Dictionary<Scalar>& D, const mlcsc::Matrix<Scalar>& Y,
                       const mlcsc::Matrix<Scalar>& G, double lambda) {
  const Eigen::MatrixXd R =
      D.matrix().template cast<double>() * G.template cast<double>() - Y.template cast<double>();
  return 0.5 * R.squaredNorm() + lambda * G.template cast<double>().cwiseAbs().sum();
}

TEST_CASE("ISTA decreases monotonically and meets its O(1/k) bound; FISTA meets O(1/k^2)",
          "[property][convergence]") {
  // Beck & Teboulle 2009: ISTA  F(G_k) - F* <= L ||G_0 - G*||^2 / (2k)        (Thm 3.1)
  //                       FISTA F(G_k) - F* <= 2 L ||G_0 - G*||^2 / (k + 1)^2  (Thm 4.4)
  // F* and G* from exact coordinate descent (double). The bounds are checked with a slack of
  // 1e-9 F* for rounding.
  for (int trial = 0; trial < 3; ++trial) {
    const auto n = mlcsc_test::uniform_int(8, 40), m = mlcsc_test::uniform_int(n + 1, 3 * n),
               B = mlcsc_test::uniform_int(1, 7);
    const auto D = mlcsc_test::random_dictionary<double>(n, m);
    const Eigen::MatrixXd Y = mlcsc_test::randn<double>(n, B);
    mlcsc::LassoParams<double> p;
    p.lambda = 0.1 * D.analyze(Y).cwiseAbs().maxCoeff();
    p.method = mlcsc::Method::CoordinateDescent;
    p.tolerance = 1e-12;
    p.max_iterations = 100000;
    const auto exact = mlcsc::lasso(D, Y, p);
    REQUIRE(exact.converged);
    const double Fstar = exact.objective, R2 = exact.code.squaredNorm(), L = D.lipschitz();
    const double slack = 1e-9 * std::max(1.0, Fstar);

    std::vector<double> ista, fista;
    p.tolerance = 0;
    p.max_iterations = 200;
    p.method = mlcsc::Method::ISTA;
    p.callback = [&](int, double f) {
      ista.push_back(f);
      return true;
    };
    (void)mlcsc::lasso(D, Y, p);
    p.method = mlcsc::Method::FISTA;
    p.adaptive_restart = false;  // the O(1/k^2) theorem is for the plain momentum sequence
    p.callback = [&](int, double f) {
      fista.push_back(f);
      return true;
    };
    (void)mlcsc::lasso(D, Y, p);
    REQUIRE(ista.size() == 200);
    REQUIRE(fista.size() == 200);
    for (size_t k = 1; k <= ista.size(); ++k) {
      INFO("iteration " << k);
      if (k > 1) REQUIRE(ista[k - 1] <= ista[k - 2] + slack);
      REQUIRE(ista[k - 1] - Fstar <= L * R2 / (2.0 * double(k)) + slack);
      REQUIRE(fista[k - 1] - Fstar <= 2.0 * L * R2 / double((k + 1) * (k + 1)) + slack);
      REQUIRE(ista[k - 1] >= Fstar - slack);
      REQUIRE(fista[k - 1] >= Fstar - slack);
    }
  }
}

TEST_CASE("float and double solve the same problems alike", "[property][precision]") {
  // The same data in both precisions; the float solution's objective (evaluated in double) is
  // within 1e-4 (relative) of the double optimum: float rounding (6e-8) amplified by the
  // conditioning of the support and by the float stopping rule.
  for (int trial = 0; trial < 3; ++trial) {
    const auto n = mlcsc_test::uniform_int(8, 33), m = mlcsc_test::uniform_int(n, 3 * n),
               B = mlcsc_test::uniform_int(1, 11);
    const auto Dd = mlcsc_test::random_dictionary<double>(n, m);
    const mlcsc::Dictionary<float> Df(Dd.matrix().cast<float>());
    const Eigen::MatrixXd Y = mlcsc_test::randn<double>(n, B);
    const Eigen::MatrixXf Yf = Y.cast<float>();
    const double lambda = 0.2 * Dd.analyze(Y).cwiseAbs().maxCoeff();
    for (auto method : {mlcsc::Method::FISTA, mlcsc::Method::CoordinateDescent}) {
      mlcsc::LassoParams<double> pd;
      pd.lambda = lambda;
      pd.method = method;
      pd.max_iterations = 20000;
      pd.tolerance = 1e-10;
      mlcsc::LassoParams<float> pf;
      pf.lambda = float(lambda);
      pf.method = method;
      pf.max_iterations = 20000;
      pf.tolerance = 1e-6f;
      const auto rd = mlcsc::lasso(Dd, Y, pd);
      const auto rf = mlcsc::lasso(Df, Yf, pf);
      const double Fd = lasso_objective(Dd, Y, rd.code, lambda);
      const double Ff = lasso_objective(Dd, Y, Eigen::MatrixXd(rf.code.cast<double>()), lambda);
      INFO("double " << Fd << " float " << Ff);
      REQUIRE(std::abs(Ff - Fd) <= 1e-4 * Fd);
    }
    // thresholding agrees to float rounding
    const Eigen::MatrixXd Td = mlcsc::thresholding(Dd, Y, 0.3, mlcsc::Shrinkage::Soft);
    const Eigen::MatrixXf Tf = mlcsc::thresholding(Df, Yf, 0.3f, mlcsc::Shrinkage::Soft);
    REQUIRE((Td - Tf.cast<double>()).cwiseAbs().maxCoeff() <=
            1e-5 * (1 + Td.cwiseAbs().maxCoeff()));
  }
}

#ifdef _OPENMP
#include <omp.h>

TEST_CASE("OpenMP threads do not change the results", "[property][threads]") {
  // Coordinate descent splits the batch over threads (each signal is solved alone: identical);
  // FISTA's fused pass sums its statistics per thread (rounding may differ in the last bits of
  // the stopping test only, so the codes agree to rounding).
  const auto n = mlcsc_test::uniform_int(10, 30), m = mlcsc_test::uniform_int(n, 3 * n);
  const auto D = mlcsc_test::random_dictionary<double>(n, m);
  const Eigen::MatrixXd Y = mlcsc_test::randn<double>(n, 301);
  mlcsc::LassoParams<double> p;
  p.lambda = 0.2;
  p.tolerance = 1e-10;
  p.max_iterations = 5000;
  const int before = omp_get_max_threads();
  for (auto method : {mlcsc::Method::CoordinateDescent, mlcsc::Method::FISTA}) {
    p.method = method;
    omp_set_num_threads(1);
    const auto one = mlcsc::lasso(D, Y, p);
    omp_set_num_threads(2);
    const auto two = mlcsc::lasso(D, Y, p);
    REQUIRE((one.code - two.code).cwiseAbs().maxCoeff() <= 1e-8);
    if (method == mlcsc::Method::CoordinateDescent) REQUIRE(one.code == two.code);
  }
  omp_set_num_threads(before);
}
#endif
