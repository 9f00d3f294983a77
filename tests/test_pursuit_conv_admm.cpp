// pursuit/conv_admm.hpp: Method::ADMM for the convolutional Lasso (circular ConvDictionary).
//   * ADMM and FISTA reach the same optimum (objective within 1e-6 relative in double, 1e-4 in
//     float) on small random problems: one and several channels, batches, non-negative codes and
//     per-filter lambdas; the ADMM code meets the KKT conditions with r = D^T (y - D g) in double:
//     |r_i| <= lambda_i where g_i = 0 and r_i = lambda_i sign(g_i) where g_i != 0 (non-negative:
//     r_i <= lambda_i, equality where g_i > 0), to 1e-6 lambda_max (ADMM stops at relative
//     residuals of 1e-10; measured violations below 1e-8 lambda_max).
//   * The x-step, multi-channel and single-channel, against a dense solve of the same system:
//     with lambda = 0, relaxation 1 and one iteration from zero, the code is
//     (D^T D + rho I)^{-1} D^T y, D the explicit global matrix.
//   * Each image of a batch is its own problem: the batch's codes equal the single-image solves.
//   * The callback, warm starts and every input check.
#include <cmath>
#include <limits>

#include <Eigen/Cholesky>

#include "test_support.hpp"

namespace {

using mlcsc::Index;
using mlcsc::Method;
using mlcsc_test::contains;
using mlcsc_test::invalid_argument_message;

// The largest KKT violation of code g for min 0.5||y - D g||^2 + sum_k lambda_k ||g_k||_1,
// relative to lambda_max = ||D^T y||_inf.
double admm_kkt_violation(const mlcsc::ConvDictionary<double>& D,
                          const mlcsc::FeatureMaps<double>& y, const mlcsc::FeatureMaps<double>& g,
                          const Eigen::VectorXd& lambdas, bool nonneg) {
  auto res = D.synthesize(g);
  res.data() = y.data() - res.data();
  const auto r = D.analyze(res);
  const double lmax = D.analyze(y).data().cwiseAbs().maxCoeff();
  double worst = 0;
  const Index K = D.num_filters();
  for (Index row = 0; row < g.data().rows(); ++row)
    for (Index i = 0; i < g.data().cols(); ++i) {
      const double lam = lambdas(row % K), gi = g.data()(row, i), ri = r.data()(row, i);
      double v;
      if (nonneg)
        v = gi > 0 ? std::abs(ri - lam) : std::max(0.0, ri - lam);
      else
        v = gi != 0 ? std::abs(ri - lam * (gi > 0 ? 1 : -1)) : std::max(0.0, std::abs(ri) - lam);
      if (nonneg) CHECK(gi >= 0);
      worst = std::max(worst, v);
    }
  return worst / lmax;
}

struct AdmmCase {
  Index K, C, N, k, H, W;
  bool nonneg, per_filter;
};

}  // namespace

TEMPLATE_TEST_CASE("ADMM reaches FISTA's optimum and the KKT conditions", "[pursuit][admm]", float,
                   double) {
  using Scalar = TestType;
  const bool is_float = std::is_same_v<Scalar, float>;
  const AdmmCase cases[] = {{4, 1, 2, 5, 13, 10, false, false},
                            {5, 3, 1, 4, 9, 11, false, false},
                            {6, 1, 3, 3, 8, 7, true, false},
                            {3, 2, 2, 5, 10, 12, false, true},
                            {5, 1, 1, 1, 7, 9, false, false}};
  for (const AdmmCase& c : cases) {
    CAPTURE(c.K, c.C, c.N, c.k, c.H, c.W, c.nonneg, c.per_filter);
    const auto D = mlcsc_test::random_conv<Scalar>(c.K, c.C, c.k, c.k, mlcsc::Boundary::Circular);
    const auto y = mlcsc_test::random_maps<Scalar>(c.N, c.C, c.H, c.W);
    mlcsc::LassoParams<Scalar> p;
    p.lambda = Scalar(0.3);
    p.nonnegative = c.nonneg;
    if (c.per_filter) {
      p.lambdas.resize(c.K);
      for (Index k = 0; k < c.K; ++k) p.lambdas(k) = Scalar(0.1 + 0.15 * double(k));
    }
    p.max_iterations = 50000;
    p.method = Method::FISTA;
    p.tolerance = Scalar(is_float ? 1e-6 : 1e-12);
    const auto rf = mlcsc::lasso(D, y, p);
    p.method = Method::ADMM;
    p.tolerance = Scalar(is_float ? 1e-5 : 1e-10);
    const auto ra = mlcsc::lasso(D, y, p);
    CHECK(ra.converged);
    REQUIRE(ra.code.same_shape(rf.code));
    CHECK(ra.signal_iterations.size() == c.N);
    const double rel = std::abs(double(ra.objective) - double(rf.objective)) / double(rf.objective);
    CHECK(rel <= (is_float ? 1e-4 : 1e-6));
    // the objective reported is the one of the sparse code returned
    mlcsc::FeatureMaps<double> yd(c.N, c.C, c.H, c.W), gd(c.N, c.K, c.H, c.W);
    yd.data() = y.data().template cast<double>();
    gd.data() = ra.code.data().template cast<double>();
    mlcsc::ConvDictionary<double> Dd(c.K, c.C, c.k, c.k, mlcsc::Boundary::Circular);
    Dd.filters() = D.filters().template cast<double>();
    auto res = Dd.synthesize(gd);
    res.data() -= yd.data();
    const Eigen::VectorXd lambdas = p.lambda_vector(c.K).template cast<double>();
    double obj = 0.5 * res.data().squaredNorm();
    for (Index row = 0; row < gd.data().rows(); ++row)
      obj += lambdas(row % c.K) * gd.data().row(row).cwiseAbs().sum();
    CHECK(std::abs(obj - double(ra.objective)) <= (is_float ? 1e-5 : 1e-12) * obj);
    if (!is_float) CHECK(admm_kkt_violation(Dd, yd, gd, lambdas, c.nonneg) <= 1e-6);
  }
}

TEST_CASE("ADMM's x-step solves (D^T D + rho I) x = D^T y, one and several channels",
          "[pursuit][admm]") {
  for (Index C : {1, 3}) {
    CAPTURE(C);
    const Index K = 4, H = 5, W = 6;
    const auto D = mlcsc_test::random_conv<double>(K, C, 3, 2, mlcsc::Boundary::Circular);
    const auto y = mlcsc_test::random_maps<double>(1, C, H, W);
    mlcsc::LassoParams<double> p;
    p.method = Method::ADMM;
    p.lambda = 0;
    p.max_iterations = 1;
    p.admm.rho = 0.7;
    p.admm.relaxation = 1;
    p.admm.auto_rho = false;
    const auto r = mlcsc::lasso(D, y, p);
    const Eigen::MatrixXd M = mlcsc_test::global_matrix(D, H, W);
    const Eigen::VectorXd s = Eigen::Map<const Eigen::VectorXd>(y.data().data(), C * H * W);
    const Eigen::MatrixXd A =
        M.transpose() * M + 0.7 * Eigen::MatrixXd::Identity(K * H * W, K * H * W);
    const Eigen::VectorXd x = A.ldlt().solve(M.transpose() * s);
    const Eigen::VectorXd got = Eigen::Map<const Eigen::VectorXd>(r.code.data().data(), K * H * W);
    CHECK((got - x).norm() <= 1e-12 * x.norm());
  }
}

TEMPLATE_TEST_CASE("ADMM: each image of a batch is solved as if alone", "[pursuit][admm]", float,
                   double) {
  using Scalar = TestType;
  const auto D = mlcsc_test::random_conv<Scalar>(5, 2, 3, 3, mlcsc::Boundary::Circular);
  const Index N = 3, H = 11, W = 9;
  auto y = mlcsc_test::random_maps<Scalar>(N, 2, H, W);
  y.data().row(2) *= Scalar(4);  // images of different difficulty
  y.data().row(3) *= Scalar(4);
  mlcsc::LassoParams<Scalar> p;
  p.method = Method::ADMM;
  p.lambda = Scalar(0.25);
  p.tolerance = Scalar(std::is_same_v<Scalar, float> ? 1e-4 : 1e-9);
  p.max_iterations = 5000;
  const auto all = mlcsc::lasso(D, y, p);
  for (Index n = 0; n < N; ++n) {
    CAPTURE(n);
    const mlcsc::ConstFeatureMapsView<Scalar> one(y.image(n).ptr(), 1, 2, H, W);
    const auto alone = mlcsc::lasso(D, one, p);
    CHECK(all.signal_iterations(n) == alone.iterations);
    CHECK(all.signal_converged(n) == alone.converged);
    const mlcsc::ConstFeatureMapsView<Scalar> code(all.code.image(n).ptr(), 1, 5, H, W);
    CHECK((code.data().array() == alone.code.data().array()).all());
  }
}

TEST_CASE("ADMM: callback, warm start and the solver object", "[pursuit][admm]") {
  const auto D = mlcsc_test::random_conv<double>(4, 1, 4, 4, mlcsc::Boundary::Circular);
  const auto y = mlcsc_test::random_maps<double>(2, 1, 12, 12);
  mlcsc::LassoParams<double> p;
  p.method = Method::ADMM;
  p.lambda = 0.2;
  p.tolerance = 1e-9;
  p.max_iterations = 5000;
  int calls = 0;
  p.callback = [&](int it, double obj) {
    ++calls;
    CHECK(std::isfinite(obj));
    return it < 5;
  };
  const auto stopped = mlcsc::lasso(D, y, p);
  CHECK(calls == 5);
  CHECK(stopped.iterations == 5);
  CHECK(!stopped.converged);
  p.callback = nullptr;
  const auto cold = mlcsc::lasso(D, y, p);
  REQUIRE(cold.converged);
  const auto warm = mlcsc::lasso(D, y, p, cold.code);
  CHECK(warm.converged);
  CHECK(std::abs(warm.objective - cold.objective) <= 1e-8 * cold.objective);
  mlcsc::LassoSolver<mlcsc::ConvDictionary<double>> solver(D, p);
  auto code = D.code_like(y);
  for (int rep = 0; rep < 2; ++rep) {
    const auto& st = solver.solve(y, code);
    CHECK(st.iterations == cold.iterations);
    CHECK((code.data().array() == cold.code.data().array()).all());
  }
}

TEMPLATE_TEST_CASE("ADMM: runs that keep the dual variable continue one run", "[pursuit][admm]",
                   float, double) {
  // The convolutional dictionary learner's alternation (internal::ConvAdmm::run with keep_dual):
  // k runs of 1 iteration that continue the dual variable, the penalty and its adaptation are k
  // iterations of one run, bitwise (one and three channels).
  using Scalar = TestType;
  for (Index C : {Index(1), Index(3)}) {
    CAPTURE(C);
    const auto D = mlcsc_test::random_conv<Scalar>(4, C, 3, 4, mlcsc::Boundary::Circular);
    const auto y = mlcsc_test::random_maps<Scalar>(2, C, 9, 11);
    mlcsc::LassoParams<Scalar> p;
    p.method = Method::ADMM;
    p.lambda = Scalar(0.3);
    p.tolerance = Scalar(0);
    const int k = 12;
    p.max_iterations = k;
    const auto whole = mlcsc::lasso(D, y, p);
    mlcsc::internal::ConvAdmm<mlcsc::ConvDictionary<Scalar>> admm(D);
    auto code = D.code_like(y);
    mlcsc::PursuitStats<Scalar> st;
    p.max_iterations = 1;
    for (int i = 0; i < k; ++i)
      admm.run(mlcsc::ConstFeatureMapsView<Scalar>(y), mlcsc::FeatureMapsView<Scalar>(code), p, st,
               i > 0);
    CHECK((code.data().array() == whole.code.data().array()).all());
    CHECK(st.objective == whole.objective);
  }
}

TEST_CASE("ADMM: bad input throws std::invalid_argument naming the argument", "[pursuit][admm]") {
  const auto D = mlcsc_test::random_conv<double>(3, 1, 3, 3, mlcsc::Boundary::Circular);
  const auto y = mlcsc_test::random_maps<double>(1, 1, 8, 8);
  mlcsc::LassoParams<double> p;
  p.method = Method::ADMM;
  auto msg = [&](const mlcsc::LassoParams<double>& q) {
    return invalid_argument_message([&] { (void)mlcsc::lasso(D, y, q); });
  };
  auto q = p;
  q.admm.rho = -1;
  CHECK(contains(msg(q), "'admm.rho' must be finite and >= 0, got -1"));
  for (double a : {0.0, 2.0, std::nan("")}) {
    q = p;
    q.admm.relaxation = a;
    CHECK(contains(msg(q), "'admm.relaxation' must be in (0, 2)"));
  }
  q = p;
  q.admm.auto_rho_period = 0;
  CHECK(contains(msg(q), "'admm.auto_rho_period' must be >= 1, got 0"));
  q = p;
  q.admm.residual_ratio = 0.5;
  CHECK(contains(msg(q), "'admm.residual_ratio' must be finite and >= 1"));
  q = p;
  q.admm.max_rho_scaling = 1;
  CHECK(contains(msg(q), "'admm.max_rho_scaling' must be finite and > 1"));
  for (auto b : {mlcsc::Boundary::Zero, mlcsc::Boundary::Valid}) {
    const auto Dz = mlcsc_test::random_conv<double>(3, 1, 3, 3, b);
    CHECK(contains(invalid_argument_message([&] { (void)mlcsc::lasso(Dz, y, p); }),
                   "Method::ADMM needs a ConvDictionary with Boundary::Circular"));
  }
  auto Ds = D;
  Ds.set_stride(2, 2);
  CHECK(contains(invalid_argument_message([&] { (void)mlcsc::lasso(Ds, y, p); }),
                 "Method::ADMM needs stride 1, got stride 2 x 2"));
  const auto Dd = mlcsc_test::random_dictionary<double>(8, 12);
  CHECK(contains(
      invalid_argument_message([&] { (void)mlcsc::lasso(Dd, Eigen::MatrixXd::Random(8, 2), p); }),
      "Method::ADMM needs a ConvDictionary with Boundary::Circular"));
  const auto Dbig = mlcsc_test::random_conv<double>(3, 1, 9, 3, mlcsc::Boundary::Circular);
  CHECK(contains(invalid_argument_message([&] { (void)mlcsc::lasso(Dbig, y, p); }),
                 "at least as large as the dilated kernel (height 9"));
}
