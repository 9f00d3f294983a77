// LassoSolver (pursuit/lasso.hpp): after the first solve for a shape, solving further batches of
// that shape makes no heap allocation. A loop of 100 batches (solve and resume, the signals column
// blocks or views of one large buffer, the codes in the caller's memory) must call no operator new
// at all (count_new.hpp counts every call, outside Eigen's allocator too), on one OpenMP thread:
// dense FISTA with the cached Gram matrix (m < 2n) and with the two products (m >= 2n), dense
// ISTA and coordinate descent, and FISTA on a stride-2 convolutional dictionary over batches of 2
// images. Eigen's own allocator (malloc, which count_new.hpp does not see) is checked separately
// with its runtime guard (malloc_guard.hpp) around the whole warm loop.
// Every loop also checks that it solved: its last batch against a fresh lasso(), bitwise.
#include "malloc_guard.hpp"

#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <mlcsc/internal/no_malloc.hpp>

#include "count_new.hpp"
#include "test_support.hpp"

namespace {

using mlcsc::Index;
using mlcsc::Method;

constexpr int lsvnm_batches = 100;

// One OpenMP thread for the scope of a test (the contract: OpenMP off or one thread).
struct LsvnmOneThread {
  LsvnmOneThread() {
#ifdef _OPENMP
    previous = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
  }
  ~LsvnmOneThread() {
#ifdef _OPENMP
    omp_set_num_threads(previous);
#endif
  }
  LsvnmOneThread(const LsvnmOneThread&) = delete;
  LsvnmOneThread& operator=(const LsvnmOneThread&) = delete;
  int previous = 1;
};

// Calls solve(b) once (the first solve for the shape: buffers are sized), then for b = 0 ..
// lsvnm_batches - 1; returns the operator new calls made by the latter.
template <class F>
long lsvnm_news_after_first(F&& solve) {
  solve(0);
  const long before = mlcsc_test::g_news.load();
  for (int b = 0; b < lsvnm_batches; ++b) solve(b);
  return mlcsc_test::g_news.load() - before;
}

struct LsvnmDenseCase {
  Method method;
  Index m;  // n = 13: m < 26 takes the Gram path of ISTA/FISTA
  bool per_atom;
  const char* name;
};
const LsvnmDenseCase lsvnm_dense_cases[] = {
    {Method::FISTA, 21, false, "FISTA, Gram matrix"},
    {Method::FISTA, 29, false, "FISTA, products"},
    {Method::FISTA, 21, true, "FISTA, Gram matrix, per-atom lambdas"},
    {Method::ISTA, 29, false, "ISTA, products"},
    {Method::CoordinateDescent, 29, false, "CoordinateDescent"},
    {Method::CoordinateDescent, 21, true, "CoordinateDescent, per-atom lambdas"},
};

template <class Scalar>
mlcsc::LassoParams<Scalar> lsvnm_dense_params(const LsvnmDenseCase& c) {
  mlcsc::LassoParams<Scalar> p;
  p.method = c.method;
  p.lambda = Scalar(0.3);
  p.tolerance = Scalar(std::is_same_v<Scalar, float> ? 1e-5 : 1e-8);
  p.max_iterations = 200;  // not all converge: the loop is what is measured
  if (c.per_atom) p.lambdas = mlcsc::Vector<Scalar>::LinSpaced(c.m, Scalar(0.1), Scalar(0.5));
  return p;
}

// All batches' signals side by side (n x (batches B)), scales varying by column.
template <class Scalar>
mlcsc::Matrix<Scalar> lsvnm_signals(Index n, Index B) {
  mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B * lsvnm_batches);
  for (Index j = 0; j < Y.cols(); ++j) Y.col(j) *= Scalar(0.2 + double(j % 5));
  return Y;
}

template <class Scalar>
mlcsc::ConvDictionary<Scalar> lsvnm_conv_dictionary() {
  auto D = mlcsc_test::random_conv<Scalar>(4, 2, 3, 3, mlcsc::Boundary::Zero);
  D.set_stride(2, 2);
  return D;
}

}  // namespace

TEMPLATE_TEST_CASE("LassoSolver dense: 100 batches of one shape call no operator new",
                   "[no-malloc][lasso-solver]", float, double) {
  using Scalar = TestType;
  LsvnmOneThread one_thread;
  const Index n = 13, B = 7;
  for (const LsvnmDenseCase& c : lsvnm_dense_cases) {
    CAPTURE(c.name);
    const auto D = mlcsc_test::random_dictionary<Scalar>(n, c.m);
    const mlcsc::Matrix<Scalar> Y = lsvnm_signals<Scalar>(n, B);
    const auto p = lsvnm_dense_params<Scalar>(c);
    mlcsc::LassoSolver<mlcsc::Dictionary<Scalar>> solver(D, p);
    // the codes in a std::vector, through a Map; the signals column blocks of Y
    std::vector<Scalar> buf(std::size_t(c.m * B));
    Eigen::Map<mlcsc::Matrix<Scalar>> code(buf.data(), c.m, B);
    long iterations = 0;
    const long news = lsvnm_news_after_first([&](int b) {
      const auto& st = solver.solve(Y.middleCols(b * B, B), code);
      iterations += st.iterations;
    });
    if (MLCSC_COUNT_NEW) CHECK(news == 0);
    CHECK(iterations > 2 * lsvnm_batches);  // the loop did solve
    // warm starts: resume every batch from the previous batch's code
    const long resume_news =
        lsvnm_news_after_first([&](int b) { solver.resume(Y.middleCols(b * B, B), code); });
    if (MLCSC_COUNT_NEW) CHECK(resume_news == 0);
    // the last batch, solved, is lasso()'s answer
    const auto& st = solver.solve(Y.rightCols(B), code);
    const auto ref = mlcsc::lasso(D, mlcsc::Matrix<Scalar>(Y.rightCols(B)), p);
    CHECK(code == ref.code);
    CHECK(st.signal_iterations == ref.signal_iterations);
  }
}

TEMPLATE_TEST_CASE("LassoSolver conv: 100 batches of 2 images call no operator new",
                   "[no-malloc][lasso-solver][conv]", float, double) {
  using Scalar = TestType;
  LsvnmOneThread one_thread;
  const auto D = lsvnm_conv_dictionary<Scalar>();
  const Index N = 2, C = D.channels(), H = 12, W = 11;
  // all batches' images in one buffer; batch b is a view of images 2b, 2b + 1
  mlcsc::FeatureMaps<Scalar> all(N * lsvnm_batches, C, H, W);
  all.data() = mlcsc_test::randn<Scalar>(all.data().rows(), all.data().cols());
  auto batch = [&](int b) {
    return mlcsc::ConstFeatureMapsView<Scalar>(all.image(N * b).ptr(), N, C, H, W);
  };
  for (bool restart : {false, true}) {
    CAPTURE(restart);
    mlcsc::LassoParams<Scalar> p;
    p.method = Method::FISTA;
    p.adaptive_restart = restart;
    p.lambda = Scalar(0.4);
    p.tolerance = Scalar(std::is_same_v<Scalar, float> ? 1e-5 : 1e-8);
    p.max_iterations = 300;
    mlcsc::LassoSolver<mlcsc::ConvDictionary<Scalar>> solver(D, p);
    auto code = D.code_like(batch(0));
    REQUIRE(code.height() == 6);
    REQUIRE(code.width() == 6);
    long iterations = 0;
    const long news = lsvnm_news_after_first([&](int b) {
      const auto& st = solver.solve(batch(b), code);
      iterations += st.iterations;
    });
    if (MLCSC_COUNT_NEW) CHECK(news == 0);
    CHECK(iterations > 2 * lsvnm_batches);
    const long resume_news = lsvnm_news_after_first([&](int b) { solver.resume(batch(b), code); });
    if (MLCSC_COUNT_NEW) CHECK(resume_news == 0);
    const auto& st = solver.solve(batch(lsvnm_batches - 1), code);
    const auto ref = mlcsc::lasso(D, batch(lsvnm_batches - 1), p);
    CHECK((code.data().array() == ref.code.data().array()).all());
    CHECK(st.signal_iterations == ref.signal_iterations);
  }
}

// Method::ADMM (pursuit/conv_admm.hpp, with the FFT backend's plans and scratch made once per
// shape): 100 batches of 2 images of an odd size call no operator new after the first solve.
TEMPLATE_TEST_CASE("LassoSolver ADMM: 100 batches of 2 images call no operator new",
                   "[no-malloc][lasso-solver][admm]", float, double) {
  using Scalar = TestType;
  LsvnmOneThread one_thread;
  const auto D = mlcsc_test::random_conv<Scalar>(4, 2, 3, 3, mlcsc::Boundary::Circular);
  const Index N = 2, C = 2, H = 11, W = 9;
  mlcsc::FeatureMaps<Scalar> all(N * lsvnm_batches, C, H, W);
  all.data() = mlcsc_test::randn<Scalar>(all.data().rows(), all.data().cols());
  auto batch = [&](int b) {
    return mlcsc::ConstFeatureMapsView<Scalar>(all.image(N * b).ptr(), N, C, H, W);
  };
  mlcsc::LassoParams<Scalar> p;
  p.method = Method::ADMM;
  p.lambda = Scalar(0.3);
  p.tolerance = Scalar(std::is_same_v<Scalar, float> ? 1e-4 : 1e-8);
  p.max_iterations = 300;
  mlcsc::LassoSolver<mlcsc::ConvDictionary<Scalar>> solver(D, p);
  auto code = D.code_like(batch(0));
  long iterations = 0;
  const long news = lsvnm_news_after_first([&](int b) {
    const auto& st = solver.solve(batch(b), code);
    iterations += st.iterations;
  });
  if (MLCSC_COUNT_NEW) CHECK(news == 0);
  CHECK(iterations > 2 * lsvnm_batches);
  const long resume_news = lsvnm_news_after_first([&](int b) { solver.resume(batch(b), code); });
  if (MLCSC_COUNT_NEW) CHECK(resume_news == 0);
  const auto& st = solver.solve(batch(lsvnm_batches - 1), code);
  const auto ref = mlcsc::lasso(D, batch(lsvnm_batches - 1), p);
  CHECK((code.data().array() == ref.code.data().array()).all());
  CHECK(st.signal_iterations == ref.signal_iterations);
}

// Warm solves make no heap allocation through Eigen's allocator either (malloc, which the
// operator new count above cannot see): Eigen's runtime guard (malloc_guard.hpp: it throws on any
// heap allocation by Eigen while forbidden) around warm solves.
TEMPLATE_TEST_CASE("LassoSolver: warm solves make no allocation through Eigen's allocator either",
                   "[no-malloc][lasso-solver]", float, double) {
  using Scalar = TestType;
  LsvnmOneThread one_thread;
  const Index n = 13, B = 7;
  for (const LsvnmDenseCase& c : lsvnm_dense_cases) {
    CAPTURE(c.name);
    const auto D = mlcsc_test::random_dictionary<Scalar>(n, c.m);
    const mlcsc::Matrix<Scalar> Y = lsvnm_signals<Scalar>(n, B);
    mlcsc::LassoSolver<mlcsc::Dictionary<Scalar>> solver(D, lsvnm_dense_params<Scalar>(c));
    mlcsc::Matrix<Scalar> code(c.m, B);
    solver.solve(Y.leftCols(B), code);
    {
      mlcsc::internal::NoMallocScope guard;
      CHECK_NOTHROW(solver.solve(Y.middleCols(B, B), code));
      CHECK_NOTHROW(solver.resume(Y.middleCols(B, B), code));
    }
    REQUIRE(Eigen::internal::is_malloc_allowed());
  }
  const auto D = lsvnm_conv_dictionary<Scalar>();
  mlcsc::FeatureMaps<Scalar> x(4, D.channels(), 12, 11);
  x.data() = mlcsc_test::randn<Scalar>(x.data().rows(), x.data().cols());
  const mlcsc::ConstFeatureMapsView<Scalar> x0(x.image(0).ptr(), 2, D.channels(), 12, 11),
      x1(x.image(2).ptr(), 2, D.channels(), 12, 11);
  mlcsc::LassoParams<Scalar> p;
  p.lambda = Scalar(0.4);
  p.max_iterations = 300;
  mlcsc::LassoSolver<mlcsc::ConvDictionary<Scalar>> solver(D, p);
  auto code = D.code_like(x0);
  solver.solve(x0, code);
  {
    mlcsc::internal::NoMallocScope guard;
    CHECK_NOTHROW(solver.solve(x1, code));
    CHECK_NOTHROW(solver.resume(x1, code));
  }
  REQUIRE(Eigen::internal::is_malloc_allowed());
}
