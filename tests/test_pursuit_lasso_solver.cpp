// LassoSolver (pursuit/lasso.hpp) and the per-signal contract of the batch Lasso
// (proximal_gradient.hpp, coordinate_descent.hpp): every signal of a batch (a column of a dense Y,
// an image of a batch of feature maps) is its own problem, with its own stopping rule, FISTA
// momentum and restart, frozen once it has converged; so its code, iterations and convergence are
// those it has when solved alone. Everything is checked against a reference computed
// independently of the batch under test:
//  * the signal solved alone (dense: up to GEMM rounding; conv: bitwise) and the signal inside a
//    batch whose other signals are different (dense: bitwise);
//  * the Lasso's optimality (KKT) conditions of each signal's code, with bounds derived from the
//    stopping rule, and the objective recomputed in double;
//  * LassoSolver's outputs (a Matrix, a Map over a std::vector, a block of a larger matrix, a
//    FeatureMapsView) against lasso(), warm starts, shape checks and dictionary changes.
//
// Tolerances (double unless said):
//  * Dense batch vs alone. Per signal the two runs do the same arithmetic except in the products:
//    a batch goes through Eigen's GEBP kernel, a single column through GEMV (internal/gemm.hpp),
//    which round differently. Measured over 400 seeds x 7 signals x {ISTA, FISTA, FISTA+restart,
//    CD} x {Gram path, products}: codes differ by at most 1.3e-12 max(1, ||g||) (ISTA after 2e5
//    iterations; typically < 1e-13) and the iteration counts never differed, not even by 1, on
//    either path. So codes must agree to 1e-10 max(1, ||g||) (100x the worst seen, and 100x below
//    the 1e-8 max(1, ||g||) by which one ISTA/FISTA iteration more or less moves a code at the
//    solver tolerance 1e-8), iterations and convergence exactly.
//  * Dense batch vs the same batch with the other signals replaced: bitwise. GEBP computes each
//    column of a product from that column alone, in an order fixed by its position, so a column
//    at the same position of a batch of the same size sees the same rounding whatever its
//    neighbours hold.
//  * Conv batch vs alone: bitwise (float and double). The kernels run image by image in an order
//    fixed by the shape (conv/kernels/conv_ops.hpp), the fused update runs per image, and the
//    Lipschitz constant is cached per signal size.
//  * KKT, ISTA/FISTA: G_k = prox(Z - grad f(Z) / L) gives D^T(y - D G_k) + e in lambda d|G_k|_1
//    with ||e||_inf <= 2 L ||Z - G_k||, and the stopping rule bounds ||Z - G_k|| (ISTA: Z =
//    G_{k-1}, the change; FISTA: the residual) by tol max(1, ||G_k||). So the violation of a
//    converged signal is at most 2 L tol max(1, ||g||), plus 1e-11 (1 + ||y|| + ||g||) for the
//    rounding of the double computations (~1e-15 of that). If the rule were taken over the batch
//    (||G|| of all signals), a small signal in the batch would stop with a violation up to
//    ||G|| / ||g|| times that bound.
//  * KKT, coordinate descent: converged means no violator by more than tol max(1, ||D^T y||_inf)
//    (coordinate_descent.hpp), equality on the support to rounding; 1e-11 max(1, ||D^T y||_inf)
//    added for the rounding.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using mlcsc::Index;
using mlcsc::Method;
using LsvMat = Eigen::MatrixXd;
using LsvVec = Eigen::VectorXd;
using LsvDenseSolver = mlcsc::LassoSolver<mlcsc::Dictionary<double>>;

struct LsvMethod {
  Method method;
  bool restart;
  const char* name;
};
const LsvMethod lsv_ista{Method::ISTA, false, "ISTA"};
const LsvMethod lsv_fista{Method::FISTA, false, "FISTA"};
const LsvMethod lsv_fista_restart{Method::FISTA, true, "FISTA+restart"};
const LsvMethod lsv_cd{Method::CoordinateDescent, false, "CoordinateDescent"};
const std::vector<LsvMethod> lsv_dense_methods{lsv_ista, lsv_fista, lsv_fista_restart, lsv_cd};
const std::vector<LsvMethod> lsv_conv_methods{lsv_ista, lsv_fista, lsv_fista_restart};

template <class Scalar>
mlcsc::LassoParams<Scalar> lsv_params(const LsvMethod& m, double lambda, double tol, int max_it) {
  mlcsc::LassoParams<Scalar> p;
  p.method = m.method;
  p.adaptive_restart = m.restart;
  p.lambda = Scalar(lambda);
  p.tolerance = Scalar(tol);
  p.max_iterations = max_it;
  return p;
}

// The dense setup: lambda = 0.5 on signals of these scales (times a standard Gaussian). The first
// is below lambda / ||D^T y||_inf (zero code, converged at iteration 1); the others range from
// sparse codes to nearly full supports, so they converge at very different iterations.
constexpr double lsv_lambda = 0.5;
const std::vector<double> lsv_scales{1e-3, 0.25, 0.5, 1.0, 1.5, 2.5, 4.0};

LsvMat lsv_scaled_signals(Index n, const std::vector<double>& scales) {
  LsvMat Y = mlcsc_test::randn<double>(n, Index(scales.size()));
  for (Index j = 0; j < Y.cols(); ++j) Y.col(j) *= scales[std::size_t(j)];
  return Y;
}

// iterations / converged summarize the per-signal entries.
template <class Stats>
void lsv_check_summary(const Stats& st, Index signals, int max_iterations) {
  REQUIRE(st.signal_iterations.size() == signals);
  REQUIRE(st.signal_converged.size() == signals);
  CHECK(st.iterations == st.signal_iterations.maxCoeff());
  CHECK(st.converged == bool(st.signal_converged.all()));
  CHECK(st.signal_iterations.minCoeff() >= 1);
  CHECK(st.signal_iterations.maxCoeff() <= max_iterations);
  for (Index i = 0; i < signals; ++i)  // a signal that did not converge ran to the cap
    if (!st.signal_converged(i)) CHECK(st.signal_iterations(i) == max_iterations);
}

template <class A, class B>
void lsv_check_same_stats(const A& a, const B& b) {
  REQUIRE(a.signal_iterations.size() == b.signal_iterations.size());
  REQUIRE(a.signal_converged.size() == b.signal_converged.size());
  CHECK(a.iterations == b.iterations);
  CHECK(a.converged == b.converged);
  CHECK(a.objective == b.objective);
  CHECK(a.signal_iterations == b.signal_iterations);
  CHECK((a.signal_converged == b.signal_converged).all());
}

double lsv_dense_objective(const LsvMat& A, const LsvVec& y, const LsvVec& g, double lambda) {
  return 0.5 * (y - A * g).squaredNorm() + lambda * g.lpNorm<1>();
}

// The largest KKT violation of g for min 0.5||y - A g||^2 + lambda ||g||_1 (see the file comment).
double lsv_kkt_violation(const LsvMat& A, const LsvVec& y, const LsvVec& g, double lambda) {
  const LsvVec r = A.transpose() * (y - A * g);
  double worst = 0;
  for (Index j = 0; j < g.size(); ++j)
    worst = std::max(worst, g(j) == 0 ? std::abs(r(j)) - lambda
                                      : std::abs(r(j) - lambda * (g(j) > 0 ? 1.0 : -1.0)));
  return worst;
}

int lsv_distinct(const Eigen::VectorXi& v) {
  return int(std::set<int>(v.data(), v.data() + v.size()).size());
}

// --- convolutional setup ---------------------------------------------------------------------

// 4 filters of 2 channels, 3 x 5 taps, zero boundary, the given stride.
template <class Scalar>
mlcsc::ConvDictionary<Scalar> lsv_conv_dictionary(Index stride) {
  auto D = mlcsc_test::random_conv<Scalar>(4, 2, 3, 5, mlcsc::Boundary::Zero);
  D.set_stride(stride, stride);
  return D;
}

// 3 images of 2 x 11 x 13: Gaussian, all zeros, 10 x Gaussian.
template <class Scalar>
mlcsc::FeatureMaps<Scalar> lsv_conv_batch() {
  mlcsc::FeatureMaps<Scalar> x(3, 2, 11, 13);
  const Index P = x.image_size();
  const mlcsc::Matrix<Scalar> g = mlcsc_test::randn<Scalar>(P, 2);
  Eigen::Map<mlcsc::Vector<Scalar>>(x.image(0).ptr(), P) = g.col(0);
  Eigen::Map<mlcsc::Vector<Scalar>>(x.image(2).ptr(), P) = Scalar(10) * g.col(1);
  return x;
}

template <class Scalar>
bool lsv_same_maps(const mlcsc::ConstFeatureMapsView<Scalar>& a,
                   const mlcsc::ConstFeatureMapsView<Scalar>& b) {
  return a.same_shape(b) && (a.data().array() == b.data().array()).all();
}

// 0.5||x - D g||^2 + lambda ||g||_1 of one image, in double (a double copy of the dictionary).
template <class Scalar>
double lsv_conv_objective(const mlcsc::ConvDictionary<Scalar>& D,
                          const mlcsc::ConstFeatureMapsView<Scalar>& x,
                          const mlcsc::ConstFeatureMapsView<Scalar>& g, double lambda) {
  mlcsc::ConvDictionary<double> Dd(D.num_filters(), D.channels(), D.kernel_height(),
                                   D.kernel_width(), D.boundary());
  Dd.filters() = D.filters().template cast<double>();
  Dd.set_stride(D.stride_h(), D.stride_w());
  Dd.set_dilation(D.dilation_h(), D.dilation_w());
  mlcsc::FeatureMaps<double> gd(g.batch(), g.channels(), g.height(), g.width());
  gd.data() = g.data().template cast<double>();
  mlcsc::FeatureMaps<double> xd(x.batch(), x.channels(), x.height(), x.width());
  Dd.synthesize(gd, xd);
  return 0.5 * (xd.data() - x.data().template cast<double>()).squaredNorm() +
         lambda * gd.data().cwiseAbs().sum();
}

}  // namespace

// --- 1. batch == one by one ----------------------------------------------------------------------

TEST_CASE("LassoSolver dense: each signal of a batch is solved as if alone",
          "[lasso-solver][per-signal]") {
  const Index n = 13;
  const Index m = GENERATE(Index(29), Index(21));  // m >= 2n: two products; m < 2n: Gram matrix
  CAPTURE(n, m);
  const auto D = mlcsc_test::random_dictionary<double>(n, m);
  const LsvMat Y = lsv_scaled_signals(n, lsv_scales);
  const Index B = Y.cols();
  for (const LsvMethod& me : lsv_dense_methods) {
    CAPTURE(me.name);
    const auto p = lsv_params<double>(me, lsv_lambda, 1e-8, 50000);
    const auto batch = mlcsc::lasso(D, Y, p);
    lsv_check_summary(batch, B, p.max_iterations);
    // the setup does what it is meant to: most signals converge, at different iterations
    CAPTURE(batch.signal_iterations.transpose());
    REQUIRE(batch.signal_converged.count() >= B - 1);
    REQUIRE(lsv_distinct(batch.signal_iterations) >=
            (me.method == Method::CoordinateDescent ? 2 : 4));
    // the zero code: lambda >= ||D^T y||_inf, found at the first iteration
    CHECK(batch.code.col(0).isZero(0));
    CHECK(batch.signal_iterations(0) == 1);
    CHECK(batch.signal_converged(0));

    double sum_alone = 0, sum_ref = 0;
    for (Index i = 0; i < B; ++i) {
      CAPTURE(i);
      const auto alone = mlcsc::lasso(D, Y.col(i), p);
      REQUIRE(alone.code.cols() == 1);
      const double scale = std::max(1.0, alone.code.norm());
      CHECK((batch.code.col(i) - alone.code).norm() <= 1e-10 * scale);
      CHECK(batch.signal_iterations(i) == alone.iterations);
      CHECK(batch.signal_converged(i) == alone.converged);
      sum_alone += double(alone.objective);
      sum_ref += lsv_dense_objective(D.matrix(), Y.col(i), batch.code.col(i), lsv_lambda);
    }
    // the objective is the sum of the signals' objectives
    CHECK(std::abs(double(batch.objective) - sum_ref) <= 1e-12 * sum_ref);
    CHECK(std::abs(double(batch.objective) - sum_alone) <= 1e-10 * sum_alone);
  }
}

TEST_CASE("LassoSolver dense: a signal's result does not depend on the other signals (bitwise)",
          "[lasso-solver][per-signal]") {
  const Index n = 13;
  const Index m = GENERATE(Index(29), Index(21));
  const bool nonnegative = GENERATE(false, true);
  CAPTURE(m, nonnegative);
  const auto D = mlcsc_test::random_dictionary<double>(n, m);
  const LsvMat Y = lsv_scaled_signals(n, lsv_scales);
  const Index B = Y.cols();
  // the odd columns kept, the even ones (among them the hardest, scale 4) replaced: by other
  // signals, converging at other iterations, or by zeros, which stop at the first iteration (so
  // the batch stops earlier than Y's, and a signal that went on iterating after converging, or
  // that saw another signal's state, would differ)
  LsvMat Y2 = Y, Y3 = Y;
  const LsvMat others = lsv_scaled_signals(n, {0.7, 0, 3.0, 0, 0.1, 0, 2.0});
  for (Index j = 0; j < B; j += 2) {
    Y2.col(j) = others.col(j);
    Y3.col(j).setZero();
  }
  for (const LsvMethod& me : lsv_dense_methods) {
    CAPTURE(me.name);
    auto p = lsv_params<double>(me, lsv_lambda, 1e-8, 50000);
    p.nonnegative = nonnegative;
    LsvDenseSolver solver(D, p);
    const auto r = solver.solve(Y);
    const auto r2 = solver.solve(Y2);
    const auto r3 = mlcsc::lasso(D, Y3, p);
    // the replaced signals do run on another schedule
    CHECK(r2.signal_iterations != r.signal_iterations);
    for (Index j = 0; j < B; j += 2) {
      CHECK(r3.code.col(j).isZero(0));
      CHECK(r3.signal_iterations(j) == 1);
    }
    for (Index j = 1; j < B; j += 2) {
      CAPTURE(j);
      CHECK(r2.code.col(j) == r.code.col(j));
      CHECK(r3.code.col(j) == r.code.col(j));
      CHECK(r2.signal_iterations(j) == r.signal_iterations(j));
      CHECK(r3.signal_iterations(j) == r.signal_iterations(j));
      CHECK(r2.signal_converged(j) == r.signal_converged(j));
      CHECK(r3.signal_converged(j) == r.signal_converged(j));
    }
  }
}

TEMPLATE_TEST_CASE("LassoSolver conv: each image of a batch is solved as if alone (bitwise)",
                   "[lasso-solver][per-signal][conv]", float, double) {
  using Scalar = TestType;
  const Index stride = GENERATE(Index(1), Index(2));
  CAPTURE(stride);
  const auto D = lsv_conv_dictionary<Scalar>(stride);
  auto x = lsv_conv_batch<Scalar>();
  const Index N = x.batch();
  // the same images in another order: image n of x is image perm[n] of xp
  const Index perm[3] = {1, 2, 0};
  mlcsc::FeatureMaps<Scalar> xp(N, x.channels(), x.height(), x.width());
  for (Index k = 0; k < N; ++k) xp.image(perm[k]).data() = x.image(k).data();
  const double tol = std::is_same_v<Scalar, float> ? 1e-5 : 1e-9;
  for (const LsvMethod& me : lsv_conv_methods) {
    CAPTURE(me.name);
    const auto p = lsv_params<Scalar>(me, 0.5, tol, 2000);
    const auto batch = mlcsc::lasso(D, x, p);
    REQUIRE(batch.code.batch() == N);
    REQUIRE(batch.code.channels() == D.num_filters());
    REQUIRE(batch.code.height() == D.code_height(x.height()));
    lsv_check_summary(batch, N, p.max_iterations);
    CAPTURE(batch.signal_iterations.transpose(), batch.signal_converged.transpose());
    // the zero image: zero code at the first iteration; the others need more
    CHECK(batch.code.image(1).data().isZero(0));
    CHECK(batch.signal_iterations(1) == 1);
    CHECK(batch.signal_converged(1));
    CHECK(batch.signal_iterations(0) > 1);
    CHECK(batch.signal_iterations(2) > 1);
    CHECK(!batch.code.image(2).data().isZero(0));

    const auto permuted = mlcsc::lasso(D, xp, p);
    double sum_alone = 0, sum_ref = 0;
    for (Index k = 0; k < N; ++k) {
      CAPTURE(k);
      const auto alone = mlcsc::lasso(D, x.image(k), p);  // a view of the image
      const mlcsc::FeatureMaps<Scalar> copy(x.image(k));
      const auto alone_copy = mlcsc::lasso(D, copy, p);  // an owned copy of it
      REQUIRE(alone.code.batch() == 1);
      CHECK(lsv_same_maps<Scalar>(batch.code.image(k), alone.code));
      CHECK(lsv_same_maps<Scalar>(batch.code.image(k), alone_copy.code));
      CHECK(lsv_same_maps<Scalar>(batch.code.image(k), permuted.code.image(perm[k])));
      CHECK(batch.signal_iterations(k) == alone.iterations);
      CHECK(batch.signal_iterations(k) == alone_copy.iterations);
      CHECK(batch.signal_iterations(k) == permuted.signal_iterations(perm[k]));
      CHECK(batch.signal_converged(k) == alone.converged);
      CHECK(batch.signal_converged(k) == permuted.signal_converged(perm[k]));
      sum_alone += double(alone.objective);
      sum_ref += lsv_conv_objective<Scalar>(D, x.image(k), batch.code.image(k), 0.5);
    }
    const double rel = std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
    CHECK(std::abs(double(batch.objective) - sum_ref) <= rel * sum_ref);
    CHECK(std::abs(double(batch.objective) - sum_alone) <= rel * sum_alone);
  }
}

// --- 2. per-signal convergence flags ------------------------------------------------------------

TEST_CASE("LassoSolver: a signal that cannot converge in max_iterations is flagged alone",
          "[lasso-solver][per-signal]") {
  const Index n = 13, m = 29;
  const auto D = mlcsc_test::random_dictionary<double>(n, m);
  // signals 0 and 2 have the zero code (converged at iteration 1), 1 and 3 need many iterations:
  // made from 3 atoms each, so that their solutions' supports are small and every method
  // converges in the end (on Gaussian signals a nearly square 13-atom support left ISTA short
  // of 1e-10 after 200,000 iterations for some dictionaries)
  LsvMat Y = lsv_scaled_signals(n, {1e-3, 4.0, 1e-3, 2.5});
  for (Index j : {Index(1), Index(3)}) {
    Eigen::VectorXd x0 = Eigen::VectorXd::Zero(m);
    for (int k = 0; k < 3; ++k) x0(mlcsc_test::uniform_int(0, int(m) - 1)) = 2.0 + double(k);
    Y.col(j) = D.matrix() * x0;
  }
  for (const LsvMethod& me : lsv_dense_methods) {
    CAPTURE(me.name);
    // coordinate descent needs a screening, an exact solve and a final screening at least for a
    // nonzero code: 2 iterations cannot do
    const int cap = me.method == Method::CoordinateDescent ? 2 : 20;
    const auto p = lsv_params<double>(me, lsv_lambda, 1e-10, cap);
    const auto r = mlcsc::lasso(D, Y, p);
    lsv_check_summary(r, 4, cap);
    CAPTURE(r.signal_iterations.transpose(), r.signal_converged.transpose());
    CHECK(r.signal_converged(0));
    CHECK(!r.signal_converged(1));
    CHECK(r.signal_converged(2));
    CHECK(!r.signal_converged(3));
    CHECK(r.signal_iterations(0) == 1);
    CHECK(r.signal_iterations(1) == cap);
    CHECK(r.signal_iterations(2) == 1);
    CHECK(r.signal_iterations(3) == cap);
    CHECK(!r.converged);
    CHECK(r.iterations == cap);
    CHECK(r.code.col(0).isZero(0));
    CHECK(r.code.col(2).isZero(0));
    // with a cap that lets all converge, all are flagged converged
    const auto full = mlcsc::lasso(D, Y, lsv_params<double>(me, lsv_lambda, 1e-10, 200000));
    CHECK(full.converged);
    CHECK(full.signal_converged.all());
    CHECK(full.iterations > cap);
  }
}

TEMPLATE_TEST_CASE("LassoSolver conv: an image that cannot converge is flagged alone",
                   "[lasso-solver][per-signal][conv]", float, double) {
  using Scalar = TestType;
  const auto D = lsv_conv_dictionary<Scalar>(2);
  auto x = lsv_conv_batch<Scalar>();
  for (const LsvMethod& me : lsv_conv_methods) {
    CAPTURE(me.name);
    const int cap = 5;
    const auto p = lsv_params<Scalar>(me, 0.5, 1e-7, cap);
    const auto r = mlcsc::lasso(D, x, p);
    lsv_check_summary(r, 3, cap);
    CAPTURE(r.signal_iterations.transpose(), r.signal_converged.transpose());
    CHECK(!r.signal_converged(0));
    CHECK(r.signal_converged(1));  // the zero image
    CHECK(!r.signal_converged(2));
    CHECK(r.signal_iterations(0) == cap);
    CHECK(r.signal_iterations(1) == 1);
    CHECK(r.signal_iterations(2) == cap);
    CHECK(!r.converged);
    CHECK(r.iterations == cap);
    // and the unconverged images are where they are alone after `cap` iterations
    for (Index k : {Index(0), Index(2)}) {
      const auto alone = mlcsc::lasso(D, x.image(k), p);
      CHECK(lsv_same_maps<Scalar>(r.code.image(k), alone.code));
      CHECK(!alone.converged);
    }
  }
}

// --- 3. optimality of each signal's code ---------------------------------------------------------

TEST_CASE("LassoSolver dense: every converged signal of a batch satisfies its own KKT conditions",
          "[lasso-solver][kkt]") {
  const Index n = 13;
  const Index m = GENERATE(Index(29), Index(21));
  CAPTURE(m);
  const auto D = mlcsc_test::random_dictionary<double>(n, m);
  const LsvMat A = D.matrix();
  const double L = D.lipschitz();
  const LsvMat Y = lsv_scaled_signals(n, lsv_scales);
  const Index B = Y.cols();
  const double tol = 1e-7;
  for (const LsvMethod& me : lsv_dense_methods) {
    CAPTURE(me.name);
    const auto r = mlcsc::lasso(D, Y, lsv_params<double>(me, lsv_lambda, tol, 50000));
    lsv_check_summary(r, B, 50000);
    REQUIRE(r.signal_converged.count() >= B - 1);
    for (Index i = 0; i < B; ++i) {
      if (!r.signal_converged(i)) continue;
      CAPTURE(i, r.signal_iterations(i));
      const LsvVec y = Y.col(i), g = r.code.col(i);
      const double viol = lsv_kkt_violation(A, y, g, lsv_lambda);
      double bound;
      if (me.method == Method::CoordinateDescent) {
        const double cmax = (A.transpose() * y).cwiseAbs().maxCoeff();
        bound = tol * std::max(1.0, cmax) + 1e-11 * std::max(1.0, cmax);
      } else {
        bound = 2 * L * tol * std::max(1.0, g.norm()) + 1e-11 * (1 + y.norm() + g.norm());
      }
      CAPTURE(viol, bound, g.norm());
      CHECK(viol <= bound);
    }
  }
}

// --- 4. LassoSolver's interface ------------------------------------------------------------------

TEST_CASE("LassoSolver dense: solve(Y) and solve(Y, code) into matrices, maps and blocks",
          "[lasso-solver][views]") {
  const Index n = 13;
  struct Case {
    LsvMethod method;
    Index m;
  };
  // FISTA on both paths, ISTA on the products, coordinate descent
  for (const Case& c :
       {Case{lsv_fista, 21}, Case{lsv_fista, 29}, Case{lsv_ista, 29}, Case{lsv_cd, 29}}) {
    CAPTURE(c.method.name, c.m);
    const Index m = c.m, B = 6;
    const auto D = mlcsc_test::random_dictionary<double>(n, m);
    const LsvMat Y = lsv_scaled_signals(n, {0.3, 1, 2, 1e-3, 3, 0.7});
    const auto p = lsv_params<double>(c.method, 0.4, 1e-9, 100000);
    const auto ref = mlcsc::lasso(D, Y, p);
    REQUIRE(ref.converged);
    REQUIRE(!ref.code.isZero(0));

    LsvDenseSolver solver(D, p);
    CHECK(&solver.dictionary() == &D);
    // solve(Y), repeated and after a solve of another batch size: the state does not leak
    const auto r1 = solver.solve(Y);
    CHECK(r1.code == ref.code);
    lsv_check_same_stats(r1, ref);
    const auto other = solver.solve(lsv_scaled_signals(n, {2, 0.5, 1}));
    CHECK(other.code.cols() == 3);
    CHECK(other.signal_iterations.size() == 3);
    const auto r2 = solver.solve(Y);
    CHECK(r2.code == ref.code);
    lsv_check_same_stats(r2, ref);

    // into a Matrix holding stale values (solve starts from zero)
    LsvMat code = LsvMat::Constant(m, B, 42.0);
    {
      const auto& st = solver.solve(Y, code);
      CHECK(code == ref.code);
      lsv_check_same_stats(st, ref);
    }
    // into an Eigen::Map over a std::vector, the signals a Map over another one
    std::vector<double> code_buf(std::size_t(m * B), -3.0);
    std::vector<double> y_buf(Y.data(), Y.data() + Y.size());
    Eigen::Map<LsvMat> code_map(code_buf.data(), m, B);
    const Eigen::Map<const LsvMat> y_map(y_buf.data(), n, B);
    {
      const auto& st = solver.solve(y_map, code_map);
      CHECK(code_map == ref.code);
      lsv_check_same_stats(st, ref);
    }
    // into a block of a larger matrix (NaN around it: neither read nor written), the signals a
    // block of another larger matrix
    const double nan = std::numeric_limits<double>::quiet_NaN();
    LsvMat big = LsvMat::Constant(m + 5, B + 4, nan);
    LsvMat ybig = LsvMat::Constant(n + 3, B + 2, nan);
    ybig.block(2, 1, n, B) = Y;
    {
      const auto& st = solver.solve(ybig.block(2, 1, n, B), big.block(3, 2, m, B));
      CHECK(big.block(3, 2, m, B) == ref.code);
      lsv_check_same_stats(st, ref);
    }
    LsvMat outside = big;
    outside.block(3, 2, m, B).setConstant(nan);
    CHECK(outside.array().isNaN().all());  // every neighbour still NaN
    // the statistics belong to the solver: the next solve replaces them
    const auto& st1 = solver.solve(Y, code);
    const auto& st2 = solver.solve(Y.leftCols(2), code.leftCols(2));
    CHECK(&st1 == &st2);
    CHECK(st2.signal_iterations.size() == 2);
  }
}

TEMPLATE_TEST_CASE("LassoSolver conv: solve(x) and solve(x, code) into views over std::vector",
                   "[lasso-solver][views][conv]", float, double) {
  using Scalar = TestType;
  const Index stride = GENERATE(Index(1), Index(2));
  CAPTURE(stride);
  const auto D = lsv_conv_dictionary<Scalar>(stride);
  auto x = lsv_conv_batch<Scalar>();
  const auto p =
      lsv_params<Scalar>(lsv_fista, 0.5, std::is_same_v<Scalar, float> ? 1e-5 : 1e-7, 3000);
  const auto ref = mlcsc::lasso(D, x, p);
  REQUIRE(!ref.code.data().isZero(0));
  mlcsc::LassoSolver<mlcsc::ConvDictionary<Scalar>> solver(D, p);
  const auto r1 = solver.solve(x);
  CHECK(lsv_same_maps<Scalar>(r1.code, ref.code));
  lsv_check_same_stats(r1, ref);

  const Index N = x.batch(), K = D.num_filters(), Hc = ref.code.height(), Wc = ref.code.width();
  std::vector<Scalar> code_buf(std::size_t(N * K * Hc * Wc), Scalar(7));
  std::vector<Scalar> x_buf(x.data().data(), x.data().data() + x.size());
  mlcsc::FeatureMapsView<Scalar> code(code_buf.data(), N, K, Hc, Wc);
  const mlcsc::ConstFeatureMapsView<Scalar> xv(x_buf.data(), N, x.channels(), x.height(),
                                               x.width());
  {
    const auto& st = solver.solve(xv, code);
    CHECK(lsv_same_maps<Scalar>(code, ref.code));
    lsv_check_same_stats(st, ref);
  }
  // one image of a larger buffer, written through a view of a batch of one
  std::fill(code_buf.begin(), code_buf.end(), Scalar(7));
  {
    const auto& st = solver.solve(x.image(2), code.image(1));
    CHECK(lsv_same_maps<Scalar>(code.image(1), ref.code.image(2)));
    CHECK(st.iterations == ref.signal_iterations(2));
    CHECK(st.signal_iterations.size() == 1);
    // the other images of the buffer untouched
    CHECK((code.image(0).data().array() == Scalar(7)).all());
    CHECK((code.image(2).data().array() == Scalar(7)).all());
  }
  // a FeatureMaps code
  auto owned = D.code_like(x);
  owned.data().setConstant(Scalar(-1));
  {
    const auto& st = solver.solve(x, owned);
    CHECK(lsv_same_maps<Scalar>(owned, ref.code));
    lsv_check_same_stats(st, ref);
  }
}

TEST_CASE("LassoSolver dense: resume from a solution stops at once and keeps it",
          "[lasso-solver][warm-start]") {
  const Index n = 13;
  const Index m = GENERATE(Index(29), Index(21));
  CAPTURE(m);
  const auto D = mlcsc_test::random_dictionary<double>(n, m);
  const LsvMat Y = lsv_scaled_signals(n, lsv_scales);
  const Index B = Y.cols();
  const double tol = 1e-9;
  for (const LsvMethod& me : lsv_dense_methods) {
    CAPTURE(me.name);
    const auto p = lsv_params<double>(me, lsv_lambda, tol, 200000);
    LsvDenseSolver solver(D, p);
    LsvMat code(m, B);
    const auto cold = solver.solve(Y, code);  // a copy of the statistics
    REQUIRE(cold.converged);
    const LsvMat solution = code;
    const auto& st = solver.resume(Y, code);
    lsv_check_summary(st, B, p.max_iterations);
    CAPTURE(cold.signal_iterations.transpose(), st.signal_iterations.transpose());
    CHECK(st.converged);
    for (Index i = 0; i < B; ++i) {
      CAPTURE(i);
      // a code that already meets the stopping rule: coordinate descent solves exactly on its
      // support (one iteration, none for the zero code) and certifies it with one screening;
      // ISTA/FISTA take one step (ISTA's steps shrink, so it is within the bound again), or a
      // few more where the cold solve stopped right at the bound
      if (me.method == Method::CoordinateDescent)
        CHECK(st.signal_iterations(i) == (solution.col(i).isZero(0) ? 1 : 2));
      else
        CHECK(st.signal_iterations(i) <= 3);
      // and the code stays (ISTA/FISTA: within a few steps of at most the stopping bound)
      const double scale = std::max(1.0, solution.col(i).norm());
      CHECK((code.col(i) - solution.col(i)).norm() <= 10 * tol * scale);
    }
    // the hard signals needed many more iterations cold
    if (me.method == Method::CoordinateDescent)
      CHECK(cold.iterations > st.iterations);
    else
      CHECK(cold.iterations >= 10 * st.iterations);
    // lasso(D, Y, p, init) is the same warm start
    const auto warm = mlcsc::lasso(D, Y, p, solution);
    CHECK(warm.code == code);
    lsv_check_same_stats(warm, st);
    // resume from a zero code is solve (the same arithmetic)
    LsvMat zero = LsvMat::Zero(m, B);
    const auto& stz = solver.resume(Y, zero);
    lsv_check_same_stats(stz, cold);
    CHECK(zero == solution);
  }
}

TEMPLATE_TEST_CASE("LassoSolver conv: resume from a solution stops at once and keeps it",
                   "[lasso-solver][warm-start][conv]", float, double) {
  using Scalar = TestType;
  const auto D = lsv_conv_dictionary<Scalar>(GENERATE(Index(1), Index(2)));
  auto x = lsv_conv_batch<Scalar>();
  // ISTA needs up to ~1e4 iterations (stride 1, the image x 10) at 1e-6 in double
  const double tol = std::is_same_v<Scalar, float> ? 1e-5 : 1e-6;
  for (const LsvMethod& me : lsv_conv_methods) {
    CAPTURE(me.name);
    const auto p = lsv_params<Scalar>(me, 0.5, tol, 200000);
    mlcsc::LassoSolver<mlcsc::ConvDictionary<Scalar>> solver(D, p);
    auto code = D.code_like(x);
    const auto cold = solver.solve(x, code);
    REQUIRE(cold.converged);
    const mlcsc::FeatureMaps<Scalar> solution = code;
    const auto& st = solver.resume(x, code);
    CAPTURE(cold.signal_iterations.transpose(), st.signal_iterations.transpose());
    CHECK(st.converged);
    // In float the tolerance (1e-5) is within a few roundings of a step on these codes: a signal
    // that converged slowly (ISTA, ~9000 iterations) can take 4 steps to pass the rule again
    // (seed 1796432051).
    CHECK(st.iterations <= (std::is_same_v<Scalar, float> ? 5 : 3));
    CHECK(cold.iterations >= 10 * st.iterations);
    for (Index k = 0; k < x.batch(); ++k) {
      const double scale =
          std::max(1.0, double(solution.image(k).data().template cast<double>().norm()));
      CHECK(double(
                (code.image(k).data() - solution.image(k).data()).template cast<double>().norm()) <=
            10 * tol * scale);
    }
    // a zero warm start is a cold start
    code.setZero();
    const auto& stz = solver.resume(x, code);
    lsv_check_same_stats(stz, cold);
    CHECK(lsv_same_maps<Scalar>(code, solution));
  }
}

TEST_CASE("LassoSolver: wrong code shapes and invalid parameters are rejected",
          "[lasso-solver][bad-input]") {
  using mlcsc_test::contains;
  using mlcsc_test::invalid_argument_message;
  const Index n = 13, m = 29;
  const auto D = mlcsc_test::random_dictionary<double>(n, m);
  const LsvMat Y = mlcsc_test::randn<double>(n, 4);
  for (const LsvMethod& me : lsv_dense_methods) {
    CAPTURE(me.name);
    LsvDenseSolver solver(D, lsv_params<double>(me, 0.3, 1e-8, 1000));
    for (auto shape : {std::pair<Index, Index>{m, 3}, {m, 5}, {m - 1, 4}, {n, 4}, {m + 1, 4}}) {
      CAPTURE(shape.first, shape.second);
      LsvMat code = LsvMat::Constant(shape.first, shape.second, 5.0);
      const std::string msg = invalid_argument_message([&] { solver.solve(Y, code); });
      CAPTURE(msg);
      CHECK(contains(msg, "'code'"));
      CHECK(contains(msg, "29 x 4"));  // the shape it must have
      CHECK(invalid_argument_message([&] { solver.resume(Y, code); }) !=
            "<no std::invalid_argument>");
      CHECK((code.array() == 5.0).all());  // not touched
    }
    // a wrong signal is named 'y'
    LsvMat code(m, 4);
    CHECK(contains(invalid_argument_message([&] { solver.solve(LsvMat(n + 1, 4), code); }), "'y'"));
    // a non-finite warm start is rejected
    code.setZero();
    code(3, 1) = std::numeric_limits<double>::quiet_NaN();
    CHECK(contains(invalid_argument_message([&] { solver.resume(Y, code); }), "'code'"));
    // and the solver still works after the errors
    const auto r = solver.solve(Y);
    const auto ref = mlcsc::lasso(D, Y, lsv_params<double>(me, 0.3, 1e-8, 1000));
    CHECK(r.code == ref.code);
  }

  // invalid parameters throw at construction, naming the field
  auto p = lsv_params<double>(lsv_fista, 0.3, 1e-8, 1000);
  p.lambda = -1;
  CHECK(contains(invalid_argument_message([&] { LsvDenseSolver s(D, p); }), "'lambda'"));
  p.lambda = 0.3;
  p.max_iterations = 0;
  CHECK(contains(invalid_argument_message([&] { LsvDenseSolver s(D, p); }), "'max_iterations'"));
  p.max_iterations = 10;
  p.tolerance = -1;
  CHECK(contains(invalid_argument_message([&] { LsvDenseSolver s(D, p); }), "'tolerance'"));
  p.tolerance = 1e-8;
  p.lambdas = LsvVec::Constant(m + 1, 0.1);
  CHECK(contains(invalid_argument_message([&] { LsvDenseSolver s(D, p); }), "'lambdas'"));

  // conv: the code's batch, filters or size
  const auto C = lsv_conv_dictionary<double>(2);
  auto x = lsv_conv_batch<double>();
  mlcsc::LassoSolver<mlcsc::ConvDictionary<double>> conv(
      C, lsv_params<double>(lsv_fista, 0.5, 1e-8, 100));
  const Index N = x.batch(), K = C.num_filters(), Hc = C.code_height(x.height()),
              Wc = C.code_width(x.width());
  REQUIRE(Hc == 6);
  REQUIRE(Wc == 7);
  for (auto dims : {std::array<Index, 4>{N - 1, K, Hc, Wc},
                    {N + 1, K, Hc, Wc},
                    {N, K + 1, Hc, Wc},
                    {N, K, Hc + 1, Wc},
                    {N, K, Hc, Wc - 1},
                    {N, K, x.height(), x.width()},
                    {N, K, Wc, Hc}}) {
    CAPTURE(dims[0], dims[1], dims[2], dims[3]);
    mlcsc::FeatureMaps<double> code(dims[0], dims[1], dims[2], dims[3]);
    code.data().setConstant(5.0);
    const std::string msg = invalid_argument_message([&] { conv.solve(x, code); });
    CAPTURE(msg);
    CHECK(contains(msg, "'code'"));
    CHECK(contains(msg, "3 x 4 x 6 x 7"));
    CHECK(invalid_argument_message([&] { conv.resume(x, code); }) != "<no std::invalid_argument>");
    CHECK((code.data().array() == 5.0).all());
  }

  // coordinate descent needs a dense dictionary: rejected when the solver is built
  const std::string msg = invalid_argument_message([&] {
    mlcsc::LassoSolver<mlcsc::ConvDictionary<double>> s(C,
                                                        lsv_params<double>(lsv_cd, 0.5, 1e-8, 100));
  });
  CAPTURE(msg);
  CHECK(contains(msg, "CoordinateDescent"));
  CHECK(contains(invalid_argument_message(
                     [&] { mlcsc::lasso(C, x, lsv_params<double>(lsv_cd, 0.5, 1e-8, 100)); }),
                 "CoordinateDescent"));
}

// --- 5. dictionary changes between solves
// ---------------------------------------------------------

TEST_CASE("LassoSolver dense: a change of the dictionary's atoms between solves is picked up",
          "[lasso-solver][dictionary-change]") {
  const Index n = 13;
  struct Case {
    LsvMethod method;
    Index m;
  };
  for (const Case& c : {Case{lsv_fista, 21}, Case{lsv_fista, 29}, Case{lsv_ista, 21},
                        Case{lsv_fista_restart, 21}, Case{lsv_cd, 29}, Case{lsv_cd, 21}}) {
    CAPTURE(c.method.name, c.m);
    const Index m = c.m;
    // atoms of norms between 0.3 and 3: the Gram matrix and L change under normalize()
    LsvMat atoms = mlcsc_test::randn<double>(n, m);
    atoms.colwise().normalize();
    for (Index j = 0; j < m; ++j) atoms.col(j) *= 0.3 + 2.7 * double(j % 7) / 6.0;
    mlcsc::Dictionary<double> D(atoms);
    const mlcsc::Dictionary<double> unnormalized = D;  // shares the cache of these atoms
    const LsvMat Y = lsv_scaled_signals(n, {0.5, 1, 2, 1e-3, 3});
    const auto p = lsv_params<double>(c.method, 0.3, 1e-9, 200000);
    LsvDenseSolver solver(D, p);
    LsvMat code(m, Y.cols());
    const auto before = solver.solve(Y);
    const auto ref_before = mlcsc::lasso(unnormalized, Y, p);
    CHECK(before.code == ref_before.code);
    solver.solve(Y, code);  // the cached Gram matrix / L in use by the solver

    D.normalize();
    const auto after = solver.solve(Y);
    const auto ref_after = mlcsc::lasso(D, Y, p);  // a fresh solver on the normalized atoms
    REQUIRE(ref_after.converged);
    CHECK(after.code == ref_after.code);
    lsv_check_same_stats(after, ref_after);
    CHECK((after.code - before.code).norm() > 1e-3 * after.code.norm());  // the change mattered
    {
      const auto& st = solver.solve(Y, code);
      CHECK(code == ref_after.code);
      lsv_check_same_stats(st, ref_after);
    }
    // and it solves the normalized problem: KKT on the new atoms
    for (Index i = 0; i < Y.cols(); ++i) {
      const double viol = lsv_kkt_violation(D.matrix(), Y.col(i), after.code.col(i), 0.3);
      CHECK(viol <= 1e-6);
    }

    // assigning another dictionary of the same shape to the referenced object
    D = mlcsc_test::random_dictionary<double>(n, m);
    const auto assigned = solver.solve(Y);
    const auto ref_assigned = mlcsc::lasso(D, Y, p);
    CHECK(assigned.code == ref_assigned.code);
    lsv_check_same_stats(assigned, ref_assigned);
  }
}

TEMPLATE_TEST_CASE("LassoSolver conv: a change of the filters between solves is picked up",
                   "[lasso-solver][dictionary-change][conv]", float, double) {
  using Scalar = TestType;
  auto D = lsv_conv_dictionary<Scalar>(GENERATE(Index(1), Index(2)));
  auto x = lsv_conv_batch<Scalar>();
  const auto p =
      lsv_params<Scalar>(lsv_fista, 0.5, std::is_same_v<Scalar, float> ? 1e-5 : 1e-7, 3000);
  mlcsc::LassoSolver<mlcsc::ConvDictionary<Scalar>> solver(D, p);
  const auto before = solver.solve(x);
  // filters scaled by 1.7 (L by 2.89), then a new random bank
  D.filters() *= Scalar(1.7);
  const auto scaled = solver.solve(x);
  const auto ref_scaled = mlcsc::lasso(D, x, p);
  CHECK(lsv_same_maps<Scalar>(scaled.code, ref_scaled.code));
  lsv_check_same_stats(scaled, ref_scaled);
  CHECK(!lsv_same_maps<Scalar>(scaled.code, before.code));
  D.filters() = mlcsc_test::randn<Scalar>(D.num_filters(), D.filters().cols());
  D.normalize();
  auto code = D.code_like(x);
  const auto& st = solver.solve(x, code);
  const auto ref_new = mlcsc::lasso(D, x, p);
  CHECK(lsv_same_maps<Scalar>(code, ref_new.code));
  lsv_check_same_stats(st, ref_new);
}

// A change of the dictionary that changes the code's shape for the same signal
// (ConvDictionary::set_stride / set_dilation, or assigning a Dictionary with another number of
// atoms) is picked up by the next solve.
TEMPLATE_TEST_CASE("LassoSolver: a change of the code's shape by the dictionary is picked up",
                   "[lasso-solver][dictionary-change]", float, double) {
  using Scalar = TestType;
  SECTION("conv: set_stride") {
    auto D = lsv_conv_dictionary<Scalar>(1);
    auto x = lsv_conv_batch<Scalar>();
    const auto p = lsv_params<Scalar>(lsv_fista, 0.5, 1e-5, 500);
    mlcsc::LassoSolver<mlcsc::ConvDictionary<Scalar>> solver(D, p);
    const auto before = solver.solve(x);
    CHECK(before.code.height() == x.height());
    D.set_stride(2, 2);
    const auto ref = mlcsc::lasso(D, x, p);
    REQUIRE(ref.code.height() == 6);
    mlcsc::PursuitResult<mlcsc::FeatureMaps<Scalar>, Scalar> after;
    REQUIRE_NOTHROW(after = solver.solve(x));
    CHECK(lsv_same_maps<Scalar>(after.code, ref.code));
  }
  SECTION("dense: another number of atoms") {
    const Index n = 13;
    mlcsc::Dictionary<Scalar> D = mlcsc_test::random_dictionary<Scalar>(n, 29);
    const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, 3);
    const auto p = lsv_params<Scalar>(lsv_fista, 0.5, 1e-5, 500);
    mlcsc::LassoSolver<mlcsc::Dictionary<Scalar>> solver(D, p);
    solver.solve(Y);
    D = mlcsc_test::random_dictionary<Scalar>(n, 31);
    const auto ref = mlcsc::lasso(D, Y, p);
    mlcsc::PursuitResult<mlcsc::Matrix<Scalar>, Scalar> after;
    REQUIRE_NOTHROW(after = solver.solve(Y));
    CHECK(after.code == ref.code);
  }
}
