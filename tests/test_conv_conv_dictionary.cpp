// Tests of conv/conv_dictionary.hpp: construction, filters, normalize, the operator concept,
// Lipschitz constants against the explicit global matrix, the Lasso's KKT conditions,
// thresholding, and every input check.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

#include <Eigen/SVD>

#include "test_support.hpp"

using mlcsc_test::random_conv;
using mlcsc_test::random_maps;

using mlcsc::Boundary;
using mlcsc::ConvDictionary;
using mlcsc::FeatureMaps;
using mlcsc::Index;

using mlcsc_test::global_matrix;

namespace {

double largest_sv_squared(const mlcsc::Matrix<double>& M) {
  Eigen::JacobiSVD<mlcsc::Matrix<double>> svd(M);
  return svd.singularValues()(0) * svd.singularValues()(0);
}

}  // namespace

TEMPLATE_TEST_CASE("ConvDictionary: construction and filters", "[conv][dictionary]", float,
                   double) {
  ConvDictionary<TestType> D(4, 2, 5, 3);
  CHECK(D.num_filters() == 4);
  CHECK(D.channels() == 2);
  CHECK(D.kernel_height() == 5);
  CHECK(D.kernel_width() == 3);
  CHECK(D.boundary() == Boundary::Circular);
  CHECK(D.code_rows() == 4);
  CHECK(D.filters().isZero(0));
  D.filter(2, 1)(4, 2) = TestType(3);
  CHECK(D.filter(2, 1).rows() == 5);
  CHECK(D.filter(2, 1).cols() == 3);
  const ConvDictionary<TestType>& cD = D;
  CHECK(cD.filter(2, 1)(4, 2) == TestType(3));
  // K x C x kh x kw storage, torch's weight layout
  CHECK(D.filters()(2, 1 * 15 + 4 * 3 + 2) == TestType(3));
  REQUIRE_THROWS_AS(D.filter(4, 0), std::invalid_argument);
  REQUIRE_THROWS_AS(D.filter(0, -1), std::invalid_argument);
  REQUIRE_THROWS_AS(ConvDictionary<TestType>(0, 1, 3, 3), std::invalid_argument);
  REQUIRE_THROWS_AS(ConvDictionary<TestType>(1, 0, 3, 3), std::invalid_argument);
  REQUIRE_THROWS_AS(ConvDictionary<TestType>(1, 1, 0, 3), std::invalid_argument);
  REQUIRE_THROWS_AS(ConvDictionary<TestType>(1, 1, 3, -1), std::invalid_argument);
}

TEMPLATE_TEST_CASE("ConvDictionary: normalize", "[conv][dictionary]", float, double) {
  auto D = random_conv<TestType>(5, 3, 4, 2, Boundary::Zero);
  D.filters() *= TestType(3);
  D.normalize();
  for (Index k = 0; k < 5; ++k) {
    double s = 0;
    for (Index c = 0; c < 3; ++c) s += double(D.filter(k, c).squaredNorm());
    CHECK(std::abs(s - 1.0) <= 1e-5);
  }
  D.filters().row(3).setZero();
  REQUIRE_THROWS_AS(D.normalize(), std::invalid_argument);
}

TEMPLATE_TEST_CASE("ConvDictionary: the operator concept", "[conv][dictionary]", float, double) {
  for (Boundary b : {Boundary::Circular, Boundary::Zero}) {
    auto D = random_conv<TestType>(4, 2, 3, 4, b);
    const auto x = random_maps<TestType>(2, 9, 13);
    const auto y = D.signal_view(x);
    CHECK(D.signal_view(x).ptr() == x.data().data());  // a view, no copy
    const auto g = D.code_like(x);
    CHECK((g.channels() == 4 && g.height() == 9 && g.width() == 13));
    CHECK(g.data().isZero(0));
    const auto s = D.signal_like(g);
    CHECK((s.channels() == 2 && s.height() == 9 && s.width() == 13));
    const auto a = D.analyze(x);
    FeatureMaps<TestType> a2(4, 9, 13);
    D.analyze(x, a2);
    CHECK(a.data() == a2.data());
    const auto r = D.synthesize(a);
    FeatureMaps<TestType> r2(2, 9, 13);
    D.synthesize(a, r2);
    CHECK(r.data() == r2.data());
    CHECK(D.lipschitz_for(y) == D.lipschitz(9, 13));
    REQUIRE_NOTHROW(D.check_signal(x, "test", "x"));
  }
}

TEMPLATE_TEST_CASE("ConvDictionary: bad input throws std::invalid_argument", "[conv][dictionary]",
                   float, double) {
  auto D = random_conv<TestType>(4, 2, 5, 3, Boundary::Circular);
  auto Dz = random_conv<TestType>(4, 2, 5, 3, Boundary::Zero);
  SECTION("channel mismatch") {
    FeatureMaps<TestType> x(3, 8, 8), g(5, 8, 8);
    REQUIRE_THROWS_AS(D.analyze(x), std::invalid_argument);
    REQUIRE_THROWS_AS(D.synthesize(g), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::thresholding(D, x, TestType(0.1), mlcsc::Shrinkage::Soft),
                      std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::lasso(D, x, mlcsc::LassoParams<TestType>{}), std::invalid_argument);
    try {
      (void)D.analyze(x);
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      CHECK(msg.find("3 x 8 x 8") != std::string::npos);  // names the shapes
      CHECK(msg.find("'x'") != std::string::npos);
    }
  }
  SECTION("a filter larger than a circular signal") {
    FeatureMaps<TestType> x(2, 4, 8), x2(2, 8, 2);
    REQUIRE_THROWS_AS(D.analyze(x), std::invalid_argument);
    REQUIRE_THROWS_AS(D.analyze(x2), std::invalid_argument);
    REQUIRE_THROWS_AS(D.lipschitz(4, 8), std::invalid_argument);
    REQUIRE_THROWS_AS(D.synthesize(FeatureMaps<TestType>(4, 4, 8)), std::invalid_argument);
    // a zero boundary takes any size
    REQUIRE_NOTHROW(Dz.analyze(x));
    REQUIRE_NOTHROW(Dz.lipschitz(4, 8));
  }
  SECTION("empty maps") {
    for (auto* d : {&D, &Dz}) {
      REQUIRE_THROWS_AS(d->analyze(FeatureMaps<TestType>(2, 0, 8)), std::invalid_argument);
      REQUIRE_THROWS_AS(d->analyze(FeatureMaps<TestType>(2, 8, 0)), std::invalid_argument);
      REQUIRE_THROWS_AS(d->analyze(FeatureMaps<TestType>()), std::invalid_argument);
      REQUIRE_THROWS_AS(d->synthesize(FeatureMaps<TestType>(4, 0, 0)), std::invalid_argument);
      REQUIRE_THROWS_AS(d->lipschitz(0, 8), std::invalid_argument);
    }
  }
  SECTION("NaN and Inf") {
    auto x = random_maps<TestType>(2, 8, 8);
    x.channel(1)(3, 3) = std::numeric_limits<TestType>::quiet_NaN();
    REQUIRE_THROWS_AS(D.analyze(x), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::lasso(D, x, mlcsc::LassoParams<TestType>{}), std::invalid_argument);
    auto g = random_maps<TestType>(4, 8, 8);
    g.channel(0)(0, 0) = std::numeric_limits<TestType>::infinity();
    REQUIRE_THROWS_AS(D.synthesize(g), std::invalid_argument);
  }
  SECTION("wrong output shape in the non-allocating forms (never resized)") {
    const auto x = random_maps<TestType>(2, 8, 8);
    FeatureMaps<TestType> g_bad(4, 8, 7), g_bad2(3, 8, 8), x_bad(2, 9, 8);
    REQUIRE_THROWS_AS(D.analyze(x, g_bad), std::invalid_argument);
    REQUIRE_THROWS_AS(D.analyze(x, g_bad2), std::invalid_argument);
    CHECK(g_bad.width() == 7);
    const auto g = random_maps<TestType>(4, 8, 8);
    REQUIRE_THROWS_AS(D.synthesize(g, x_bad), std::invalid_argument);
    CHECK(x_bad.height() == 9);
  }
  SECTION("normalize a zero dictionary") {
    ConvDictionary<TestType> Z(2, 1, 3, 3);
    REQUIRE_THROWS_AS(Z.normalize(), std::invalid_argument);
  }
}

TEMPLATE_TEST_CASE("ConvDictionary: lipschitz(H, W) is ||D||_2^2 of the global matrix",
                   "[conv][dictionary][lipschitz]", float, double) {
  // Circular: computed exactly (in double) from the DFT of the filters; the explicit matrix holds
  // the filter values exactly, so both agree to double rounding, then L is rounded to Scalar.
  const double tol_circ = std::is_same_v<TestType, float> ? 1e-6 : 1e-10;
  for (int trial = 0; trial < 6; ++trial) {
    const Index K = mlcsc_test::uniform_int(1, 4), C = mlcsc_test::uniform_int(1, 3);
    const Index kh = mlcsc_test::uniform_int(1, 4), kw = mlcsc_test::uniform_int(1, 4);
    const Index H = mlcsc_test::uniform_int(kh, 7), W = mlcsc_test::uniform_int(kw, 8);
    INFO("K " << K << " C " << C << " kh " << kh << " kw " << kw << " H " << H << " W " << W);
    {
      auto D = random_conv<TestType>(K, C, kh, kw, Boundary::Circular);
      const double L = largest_sv_squared(global_matrix(D, H, W));
      CHECK(std::abs(double(D.lipschitz(H, W)) - L) <= tol_circ * L);
    }
    {
      // Zero: a Lanczos estimate raised by 0.2% and capped by a proven upper bound. At these
      // sizes Lanczos converges to rounding, so L <= estimate <= 1.002 L (+ float rounding).
      auto D = random_conv<TestType>(K, C, kh, kw, Boundary::Zero);
      const double L = largest_sv_squared(global_matrix(D, H, W));
      const double est = double(D.lipschitz(H, W));
      CHECK(est >= L * (1 - 1e-5));
      CHECK(est <= L * 1.0021);
    }
  }
  SECTION("1-D") {
    auto D = random_conv<TestType>(3, 2, 1, 5, Boundary::Circular);
    const double L = largest_sv_squared(global_matrix(D, 1, 11));
    CHECK(std::abs(double(D.lipschitz(1, 11)) - L) <= tol_circ * L);
  }
  SECTION("more channels than filters (the C x C side is the larger one)") {
    auto D = random_conv<TestType>(2, 5, 2, 3, Boundary::Circular);
    const double L = largest_sv_squared(global_matrix(D, 4, 5));
    CHECK(std::abs(double(D.lipschitz(4, 5)) - L) <= tol_circ * L);
  }
}

TEMPLATE_TEST_CASE("ConvDictionary: Lipschitz cache follows filter changes and copies",
                   "[conv][dictionary][lipschitz]", float, double) {
  auto D = random_conv<TestType>(3, 2, 3, 3, Boundary::Circular);
  const TestType L1 = D.lipschitz(8, 8);
  CHECK(D.lipschitz(8, 8) == L1);  // cached
  auto f = D.filter(0, 0);
  f *= TestType(4);  // a write through a map obtained earlier
  const TestType L2 = D.lipschitz(8, 8);
  CHECK(L2 > L1);
  const double L = largest_sv_squared(global_matrix(D, 8, 8));
  CHECK(std::abs(double(L2) - L) <= 1e-5 * L);
  ConvDictionary<TestType> E = D;  // copies keep filters (and cache)
  CHECK(E.lipschitz(8, 8) == L2);
  E.filters() *= TestType(2);
  CHECK(std::abs(double(E.lipschitz(8, 8)) - 4 * double(L2)) <= 1e-5 * 4 * double(L2));
  CHECK(D.lipschitz(8, 8) == L2);
  ConvDictionary<TestType> F(1, 1, 1, 1);
  F = std::move(E);
  CHECK(F.num_filters() == 3);
  CHECK(std::abs(double(F.lipschitz(8, 8)) - 4 * double(L2)) <= 1e-5 * 4 * double(L2));
}

TEMPLATE_TEST_CASE("ConvDictionary: const operations from several threads", "[conv][dictionary]",
                   float, double) {
  auto D = random_conv<TestType>(4, 2, 3, 3, Boundary::Zero);
  const auto x = random_maps<TestType>(2, 12, 12);
  const auto a = D.analyze(x);
  TestType L[4];
  FeatureMaps<TestType> out[4] = {a, a, a, a};
  std::thread t[4];
  for (int i = 0; i < 4; ++i)
    t[i] = std::thread([&, i] {
      L[i] = D.lipschitz(12 + i % 2, 12);
      D.analyze(x, out[i]);
    });
  for (auto& th : t) th.join();
  CHECK(L[0] == L[2]);
  CHECK(L[1] == L[3]);
  for (const auto& o : out) CHECK(o.data() == a.data());
}

TEMPLATE_TEST_CASE("ConvDictionary: thresholding is S_b(D^T y)", "[conv][dictionary]", float,
                   double) {
  auto D = random_conv<TestType>(5, 2, 3, 3, Boundary::Zero);
  const auto y = random_maps<TestType>(2, 10, 11);
  const auto a = D.analyze(y);
  const auto t = mlcsc::thresholding(D, y, TestType(0.5), mlcsc::Shrinkage::Soft);
  REQUIRE(t.same_shape(a));
  for (Index i = 0; i < a.size(); ++i) {
    const TestType v = a.data().data()[i];
    const TestType e =
        std::abs(v) > TestType(0.5) ? v - std::copysign(TestType(0.5), v) : TestType(0);
    CHECK(std::abs(t.data().data()[i] - e) <= TestType(1e-6));
  }
  // per-filter thresholds (one per channel of the code), ReLU(D^T y - b)
  mlcsc::Vector<TestType> b(5);
  b << TestType(0.1), TestType(-0.2), TestType(0.3), TestType(0), TestType(1);
  const auto tn = mlcsc::thresholding(D, y, b, mlcsc::Shrinkage::NonnegSoft);
  for (Index k = 0; k < 5; ++k)
    for (Index i = 0; i < 10; ++i)
      for (Index j = 0; j < 11; ++j)
        CHECK(tn.channel(k)(i, j) == std::max(TestType(0), a.channel(k)(i, j) - b(k)));
}

TEMPLATE_TEST_CASE("ConvDictionary: the Lasso (FISTA) satisfies the KKT conditions",
                   "[conv][dictionary][lasso]", float, double) {
  // KKT of min 0.5||y - D g||^2 + lambda ||g||_1:  c = D^T (y - D g) has |c| <= lambda, and
  // c = lambda sign(g) on the support. Tolerances: double solves to 1e-12 and checks 1e-6 of
  // max|D^T y|; float is limited by the rounding of the gradient (~1e-6 ||y|| over C kh kw
  // terms), so it checks 2e-3 of max|D^T y|.
  const bool dbl = std::is_same_v<TestType, double>;
  for (Boundary bd : {Boundary::Circular, Boundary::Zero}) {
    auto D = random_conv<TestType>(4, 2, 3, 3, bd);
    const auto y = random_maps<TestType>(2, 10, 12);
    const double scale = double(D.analyze(y).data().cwiseAbs().maxCoeff());
    mlcsc::LassoParams<TestType> p;
    p.lambda = TestType(0.2 * scale);
    p.tolerance = TestType(dbl ? 1e-12 : 1e-7);
    p.max_iterations = dbl ? 50000 : 5000;
    p.method = mlcsc::Method::FISTA;
    const auto r = mlcsc::lasso(D, y, p);
    REQUIRE(r.code.channels() == 4);
    auto res = y;
    res.data() -= D.synthesize(r.code).data();
    const auto c = D.analyze(res);
    const double tol = (dbl ? 1e-6 : 2e-3) * scale;
    const double lambda = double(p.lambda);
    Index support = 0;
    for (Index i = 0; i < c.size(); ++i) {
      const double ci = double(c.data().data()[i]), gi = double(r.code.data().data()[i]);
      CHECK(std::abs(ci) <= lambda + tol);
      if (gi != 0) {
        ++support;
        CHECK(std::abs(ci - lambda * (gi > 0 ? 1 : -1)) <= tol);
      }
    }
    CHECK(support > 0);
    CHECK(support < c.size());
    // the reported objective
    const double obj = 0.5 * res.data().template cast<double>().squaredNorm() +
                       lambda * r.code.data().template cast<double>().cwiseAbs().sum();
    CHECK(std::abs(obj - double(r.objective)) <= 1e-4 * obj);
    // ISTA reaches the same objective (to the accuracy of its fewer effective iterations)
    p.method = mlcsc::Method::ISTA;
    p.tolerance = TestType(dbl ? 1e-10 : 1e-7);
    const auto ri = mlcsc::lasso(D, y, p);
    CHECK(double(ri.objective) <= obj * (1 + 1e-3));
  }
}
