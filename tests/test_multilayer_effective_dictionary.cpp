// ComposedOperator (the effective dictionary D_1 ... D_l): equality with the explicit product,
// adjointness, the Lipschitz constant, and single-layer pursuits running on it unchanged.
#include <cmath>
#include <thread>
#include <vector>

#include <Eigen/SVD>

#include "test_support.hpp"

using mlcsc::Index;
template <class S>
using Mat = mlcsc::Matrix<S>;

TEMPLATE_TEST_CASE("dense effective dictionary equals the explicit product", "[multilayer]", float,
                   double) {
  using S = TestType;
  const Index n = mlcsc_test::uniform_int(5, 21), m1 = mlcsc_test::uniform_int(7, 33),
              m2 = mlcsc_test::uniform_int(3, 27), m3 = mlcsc_test::uniform_int(2, 19),
              B = mlcsc_test::uniform_int(1, 6);
  auto D1 = mlcsc_test::random_dictionary<S>(n, m1);
  auto D2 = mlcsc_test::random_dictionary<S>(m1, m2);
  auto D3 = mlcsc_test::random_dictionary<S>(m2, m3);
  mlcsc::MultiLayer<mlcsc::Dictionary<S>> net;
  net.add_layer(D1, S(0));
  net.add_layer(D2, S(0));
  net.add_layer(D3, S(0));
  const Mat<double> P2 = (D1.matrix() * D2.matrix()).template cast<double>();
  const Mat<double> P3 = P2 * D3.matrix().template cast<double>();
  const double tol = std::is_same<S, float>::value ? 1e-4 : 1e-11;
  const auto E1 = net.effective(0);
  const auto E2 = net.effective(1);
  const auto E3 = net.effective(2);
  REQUIRE(E3.depth() == 3);
  REQUIRE(E3.code_rows() == m3);
  const Mat<S> Y = mlcsc_test::randn<S>(n, B);
  const Mat<S> G2 = mlcsc_test::randn<S>(m2, B), G3 = mlcsc_test::randn<S>(m3, B);
  REQUIRE((E1.analyze(Y) - D1.analyze(Y)).norm() <= tol * (1 + Y.norm()));
  REQUIRE((E2.synthesize(G2).template cast<double>() - P2 * G2.template cast<double>()).norm() <=
          tol * (1 + P2.norm() * G2.norm()));
  REQUIRE((E3.synthesize(G3).template cast<double>() - P3 * G3.template cast<double>()).norm() <=
          tol * (1 + P3.norm() * G3.norm()));
  REQUIRE(
      (E3.analyze(Y).template cast<double>() - P3.transpose() * Y.template cast<double>()).norm() <=
      tol * (1 + P3.norm() * Y.norm()));
  // adjointness <D g, y> = <g, D^T y>
  const double lhs = double((E3.synthesize(G3).array() * Y.array()).sum());
  const double rhs = double((G3.array() * E3.analyze(Y).array()).sum());
  REQUIRE(std::abs(lhs - rhs) <= tol * (1 + P3.norm() * G3.norm() * Y.norm()));
  // ||D1 D2 D3||^2: the product's exact norm (in double, rounded to S: relative 1e-6 for float)
  Eigen::JacobiSVD<Mat<double>> svd(P3);
  const double exact = svd.singularValues()(0) * svd.singularValues()(0);
  const double L = double(E3.lipschitz_for(Y));
  REQUIRE(std::abs(L - exact) <= 1e-5 * exact);
  // the batch size does not change it
  const Mat<S> Y1 = Y.col(0);
  REQUIRE(double(E3.lipschitz_for(Y1)) == L);
  // a one-layer composition is the layer itself
  REQUIRE(std::abs(double(E1.lipschitz_for(Y)) - double(D1.lipschitz())) <=
          1e-6 * double(D1.lipschitz()));
}

// A power iteration whose rule is "the estimate stopped changing" returned the second eigenvalue
// (12% low, an unsafe step) for one random 7 x 31 dictionary in a few hundred; every draw here
// must be exact.
TEST_CASE("one-layer effective dictionaries have the layer's exact norm", "[multilayer]") {
  for (int trial = 0; trial < 200; ++trial) {
    const Index n = mlcsc_test::uniform_int(3, 12), m = mlcsc_test::uniform_int(2, 40);
    auto D = mlcsc_test::random_dictionary<float>(n, m);
    const mlcsc::ComposedOperator<mlcsc::Dictionary<float>> E({D});
    const Mat<float> Y = Mat<float>::Zero(n, 1);
    INFO("trial " << trial << ": " << n << " x " << m);
    REQUIRE(std::abs(double(E.lipschitz_for(Y)) - double(D.lipschitz())) <=
            1e-6 * double(D.lipschitz()));
  }
}

TEMPLATE_TEST_CASE("conv effective dictionary: Lipschitz constant of the explicit matrix",
                   "[multilayer][conv]", float, double) {
  using S = TestType;
  // small enough to form D_1 D_2 column by column: synthesize every unit code
  const Index H = mlcsc_test::uniform_int(4, 9), W = mlcsc_test::uniform_int(3, 8);
  const Index C = mlcsc_test::uniform_int(1, 2), K1 = mlcsc_test::uniform_int(2, 4),
              K2 = mlcsc_test::uniform_int(1, 3);
  for (const auto bd : {mlcsc::Boundary::Zero, mlcsc::Boundary::Circular}) {
    const std::vector<mlcsc::ConvDictionary<S>> Ds{mlcsc_test::random_conv<S>(K1, C, 3, 3, bd),
                                                   mlcsc_test::random_conv<S>(K2, K1, 3, 1, bd)};
    const mlcsc::ComposedOperator<mlcsc::ConvDictionary<S>> E(Ds);
    const Index N = K2 * H * W;
    Mat<double> A(C * H * W, N);
    mlcsc::FeatureMaps<S> g(K2, H, W);
    for (Index j = 0; j < N; ++j) {
      g.data().setZero();
      g.data()(j % K2, j / K2) = S(1);
      A.col(j) = E.synthesize(g).data().template cast<double>().reshaped();
    }
    Eigen::JacobiSVD<Mat<double>> svd(A);
    const double exact = svd.singularValues()(0) * svd.singularValues()(0);
    const double L = double(E.lipschitz_for(mlcsc::FeatureMaps<S>(C, H, W)));
    INFO(mlcsc::to_string(bd) << ": exact " << exact << ", L " << L);
    // Lanczos from below, times its 0.2% margin; float rounds the operator to ~1e-6
    REQUIRE(L >= exact * (1 - 1e-5));
    REQUIRE(L <= exact * 1.0021);
  }
}

TEMPLATE_TEST_CASE("single-layer pursuits run on the effective dictionary", "[multilayer]", float,
                   double) {
  using S = TestType;
  auto D1 = mlcsc_test::random_dictionary<S>(17, 29);
  auto D2 = mlcsc_test::random_dictionary<S>(29, 23);
  const mlcsc::ComposedOperator<mlcsc::Dictionary<S>> E({D1, D2});
  const mlcsc::Dictionary<S> P(Mat<S>(D1.matrix() * D2.matrix()));
  const Mat<S> Y = mlcsc_test::randn<S>(17, 3);
  mlcsc::LassoParams<S> p;
  p.lambda = S(0.2);
  p.max_iterations = 3000;
  p.tolerance = S(1e-7);
  const auto r = mlcsc::lasso(E, Y, p);
  const auto q = mlcsc::lasso(P, Y, p);
  REQUIRE(r.code.rows() == 23);
  const double tol = std::is_same<S, float>::value ? 2e-2 : 1e-4;
  REQUIRE(std::abs(double(r.objective) - double(q.objective)) <= tol * (1 + double(q.objective)));
  const auto t = mlcsc::thresholding(E, Y, S(0.3), mlcsc::Shrinkage::Soft);
  const auto u = mlcsc::thresholding(P, Y, S(0.3), mlcsc::Shrinkage::Soft);
  REQUIRE((t - u).norm() <= (std::is_same<S, float>::value ? 1e-4 : 1e-10) * (1 + u.norm()));
}

TEMPLATE_TEST_CASE("conv effective dictionary: adjointness and Lipschitz", "[multilayer][conv]",
                   float, double) {
  using S = TestType;
  for (auto bd : {mlcsc::Boundary::Circular, mlcsc::Boundary::Zero}) {
    mlcsc::synthetic::ConvSpec<S> spec;
    spec.channels = 2;
    spec.height = mlcsc_test::uniform_int(9, 17);
    spec.width = mlcsc_test::uniform_int(8, 15);
    spec.filters = {4, 5, 3};
    spec.kernel = {3, 5, 3};
    spec.atom_nnz = {0, 0, 0};
    spec.nonnegative = false;
    spec.boundary = bd;
    spec.seed = mlcsc_test::seed();
    const auto Ds = mlcsc::synthetic::conv_dictionaries(spec);
    const mlcsc::ComposedOperator<mlcsc::ConvDictionary<S>> E(Ds);
    mlcsc::FeatureMaps<S> x(2, spec.height, spec.width), g(3, spec.height, spec.width);
    x.data() = mlcsc_test::randn<S>(2, spec.height * spec.width);
    g.data() = mlcsc_test::randn<S>(3, spec.height * spec.width);
    const auto Eg = E.synthesize(g);
    const auto Etx = E.analyze(x);
    REQUIRE(Eg.channels() == 2);
    REQUIRE(Etx.channels() == 3);
    // the chain, by hand
    const auto ref = Ds[0].synthesize(Ds[1].synthesize(Ds[2].synthesize(g)));
    const double tol = std::is_same<S, float>::value ? 1e-4 : 1e-11;
    REQUIRE((Eg.data() - ref.data()).norm() <= tol * (1 + ref.data().norm()));
    const double lhs =
        (Eg.data().template cast<double>().array() * x.data().template cast<double>().array())
            .sum();
    const double rhs =
        (g.data().template cast<double>().array() * Etx.data().template cast<double>().array())
            .sum();
    REQUIRE(std::abs(lhs - rhs) <= tol * (1 + std::abs(lhs)) * 10);
    // Lipschitz: above every Rayleigh quotient, below the product bound
    const double L = double(E.lipschitz_for(x));
    const double q = double(Etx.data().squaredNorm()) / double(x.data().squaredNorm());
    REQUIRE(L >= q);
    double prod = double(Ds[0].lipschitz(spec.height, spec.width)) *
                  double(Ds[1].lipschitz(spec.height, spec.width)) *
                  double(Ds[2].lipschitz(spec.height, spec.width));
    REQUIRE(L <= prod * (1 + 1e-6));
    // lasso runs on it
    mlcsc::LassoParams<S> p;
    p.lambda = S(0.1);
    p.max_iterations = 50;
    const auto r = mlcsc::lasso(E, x, p);
    REQUIRE(r.code.channels() == 3);
  }
}

TEST_CASE("ComposedOperator input checks", "[multilayer][errors]") {
  std::vector<mlcsc::Dictionary<double>> none;
  REQUIRE_THROWS_AS(mlcsc::ComposedOperator<mlcsc::Dictionary<double>>(none),
                    std::invalid_argument);
  std::vector<mlcsc::Dictionary<double>> bad{mlcsc_test::random_dictionary<double>(5, 8),
                                             mlcsc_test::random_dictionary<double>(7, 3)};
  REQUIRE_THROWS_AS(mlcsc::ComposedOperator<mlcsc::Dictionary<double>>(bad), std::invalid_argument);
  std::vector<mlcsc::Dictionary<double>> ok{mlcsc_test::random_dictionary<double>(5, 8),
                                            mlcsc_test::random_dictionary<double>(8, 3)};
  const mlcsc::ComposedOperator<mlcsc::Dictionary<double>> E(ok);
  REQUIRE_THROWS_AS(E.analyze(mlcsc_test::randn<double>(6, 2)), std::invalid_argument);
  REQUIRE_THROWS_AS(E.synthesize(mlcsc_test::randn<double>(4, 2)), std::invalid_argument);
  REQUIRE_THROWS_AS(E.layer(2), std::invalid_argument);
}

// Const calls on one shared ComposedOperator from several std::threads at once (its workspace
// pool and Lipschitz cache) give the results of the same calls made serially.
using mlcsc_test::kThreads;
using mlcsc_test::run_concurrently;

TEST_CASE("a shared effective dictionary is safe to use from several threads",
          "[multilayer][threads]") {
#ifdef EIGEN_RUNTIME_NO_MALLOC
  // Eigen's malloc guard is one process-wide flag: a solver loop in one thread would flag the
  // set-up allocations of another. Thread safety is tested in the builds without the guard.
  WARN("skipped: EIGEN_RUNTIME_NO_MALLOC is process-wide");
  return;
#endif
  SECTION("dense") {
    auto D1 = mlcsc_test::random_dictionary<double>(19, 33);
    auto D2 = mlcsc_test::random_dictionary<double>(33, 21);
    auto D3 = mlcsc_test::random_dictionary<double>(21, 12);
    const mlcsc::ComposedOperator<mlcsc::Dictionary<double>> E({D1, D2, D3});
    std::vector<Mat<double>> Y, G;
    for (int t = 0; t < kThreads; ++t) {
      Y.push_back(mlcsc_test::randn<double>(19, 2 + t % 2));  // two batch sizes: two shapes
      G.push_back(mlcsc_test::randn<double>(12, 1 + t));
    }
    mlcsc::LassoParams<double> p;
    p.lambda = 0.2;
    p.max_iterations = 200;
    // serial results on a fresh copy (so the shared instance starts with a cold cache and pool)
    std::vector<Mat<double>> s_lasso, s_an, s_syn;
    {
      const auto Ec = E;
      for (int t = 0; t < kThreads; ++t) {
        s_lasso.push_back(mlcsc::lasso(Ec, Y[t], p).code);
        s_an.push_back(Ec.analyze(Y[t]));
        s_syn.push_back(Ec.synthesize(G[t]));
      }
    }
    std::vector<Mat<double>> p_lasso(kThreads), p_an(kThreads), p_syn(kThreads);
    std::vector<double> lips(kThreads);
    run_concurrently([&](int t) {
      for (int rep = 0; rep < 3; ++rep) {
        lips[t] = E.lipschitz_for(Y[t]);
        p_lasso[t] = mlcsc::lasso(E, Y[t], p).code;
        p_an[t] = E.analyze(Y[t]);
        p_syn[t] = E.synthesize(G[t]);
      }
    });
    for (int t = 0; t < kThreads; ++t) {
      REQUIRE(lips[t] == lips[0]);
      REQUIRE((p_lasso[t] - s_lasso[t]).cwiseAbs().maxCoeff() <= 1e-12);
      REQUIRE((p_an[t] - s_an[t]).cwiseAbs().maxCoeff() <= 1e-12);
      REQUIRE((p_syn[t] - s_syn[t]).cwiseAbs().maxCoeff() <= 1e-12);
    }
  }
  SECTION("conv") {
    mlcsc::synthetic::ConvSpec<double> spec;
    spec.channels = 1;
    spec.filters = {4, 6};
    spec.kernel = {3, 3};
    spec.atom_nnz = {0, 0};
    spec.nonnegative = false;
    spec.seed = mlcsc_test::seed();
    const auto Ds = mlcsc::synthetic::conv_dictionaries(spec);
    const mlcsc::ComposedOperator<mlcsc::ConvDictionary<double>> E(Ds);
    std::vector<mlcsc::FeatureMaps<double>> X, G;
    for (int t = 0; t < kThreads; ++t) {
      const Index h = 9 + t % 2, w = 11;  // two shapes: two Lipschitz cache entries
      X.emplace_back(1, h, w);
      X.back().data() = mlcsc_test::randn<double>(1, h * w);
      G.emplace_back(6, h, w);
      G.back().data() = mlcsc_test::randn<double>(6, h * w);
    }
    mlcsc::LassoParams<double> p;
    p.lambda = 0.1;
    p.max_iterations = 100;
    std::vector<Mat<double>> s_lasso, s_an, s_syn;
    {
      const auto Ec = E;
      for (int t = 0; t < kThreads; ++t) {
        s_lasso.push_back(mlcsc::lasso(Ec, X[t], p).code.data());
        s_an.push_back(Ec.analyze(X[t]).data());
        s_syn.push_back(Ec.synthesize(G[t]).data());
      }
    }
    std::vector<Mat<double>> p_lasso(kThreads), p_an(kThreads), p_syn(kThreads);
    run_concurrently([&](int t) {
      for (int rep = 0; rep < 3; ++rep) {
        p_lasso[t] = mlcsc::lasso(E, X[t], p).code.data();
        p_an[t] = E.analyze(X[t]).data();
        p_syn[t] = E.synthesize(G[t]).data();
      }
    });
    for (int t = 0; t < kThreads; ++t) {
      REQUIRE((p_lasso[t] - s_lasso[t]).cwiseAbs().maxCoeff() <= 1e-12);
      REQUIRE((p_an[t] - s_an[t]).cwiseAbs().maxCoeff() <= 1e-12);
      REQUIRE((p_syn[t] - s_syn[t]).cwiseAbs().maxCoeff() <= 1e-12);
    }
  }
}
