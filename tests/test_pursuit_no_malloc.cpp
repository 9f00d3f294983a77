// No heap allocation inside the solvers' iteration loops, under the throwing malloc guard of
// malloc_guard.hpp.
//
// Small problems exercise every code path; one problem at the scale of bench_dense (64 x 256,
// thousands of signals, where a plain Eigen product takes its packing buffers from the heap and,
// with OpenMP, splits itself across threads) checks the products of internal/gemm.hpp, on one and
// two OpenMP threads. A counting operator new checks that a warm Dictionary::analyze/synthesize
// makes no heap allocation at all (outside Eigen's allocator too).
#include "malloc_guard.hpp"

#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <mlcsc/internal/no_malloc.hpp>

#include "count_new.hpp"
#include "test_support.hpp"

using mlcsc_test::g_news;

using mlcsc::Index;
using mlcsc::Method;
using mlcsc_test::EigenAssertion;

TEST_CASE("NoMallocScope forbids Eigen heap allocation, and the guard catches it", "[no-malloc]") {
  REQUIRE(Eigen::internal::is_malloc_allowed());
  {
    mlcsc::internal::NoMallocScope guard;
    REQUIRE_FALSE(Eigen::internal::is_malloc_allowed());
    // a deliberately allocating call is caught
    REQUIRE_THROWS_AS(Eigen::MatrixXd(40, 40), EigenAssertion);
    REQUIRE_THROWS_AS(Eigen::VectorXf::Zero(7).eval(), EigenAssertion);
    // fixed-size work is fine
    Eigen::Matrix4d a = Eigen::Matrix4d::Identity();
    REQUIRE_NOTHROW(a = a * a);
    {
      mlcsc::internal::NoMallocScope nested;
      REQUIRE_FALSE(Eigen::internal::is_malloc_allowed());
    }
    REQUIRE_FALSE(Eigen::internal::is_malloc_allowed());  // the nested scope restores "forbidden"
  }
  REQUIRE(Eigen::internal::is_malloc_allowed());  // restored on exit
  REQUIRE_NOTHROW(Eigen::MatrixXd(40, 40));
  // restored on an exception too
  try {
    mlcsc::internal::NoMallocScope guard;
    throw std::runtime_error("unwind");
  } catch (const std::runtime_error&) {
  }
  REQUIRE(Eigen::internal::is_malloc_allowed());
}

TEMPLATE_TEST_CASE("the pursuits do not allocate inside their loops", "[no-malloc]", float,
                   double) {
  using Scalar = TestType;
  // (n, m): m < 2n uses the cached Gram matrix in ISTA/FISTA, m >= 2n the two products
  const Index n = GENERATE(Index(12), Index(9));
  const Index m = n == 12 ? 20 : 23;
  const Index B = GENERATE(Index(1), Index(7));
  CAPTURE(n, m, B);
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  const Scalar lmax = D.analyze(Y).cwiseAbs().maxCoeff();

  for (Method method : {Method::ISTA, Method::FISTA, Method::CoordinateDescent})
    for (bool nonneg : {false, true})
      for (bool per_atom : {false, true}) {
        CAPTURE(int(method), nonneg, per_atom);
        mlcsc::LassoParams<Scalar> p;
        p.method = method;
        p.lambda = Scalar(0.1) * lmax;
        p.nonnegative = nonneg;
        p.max_iterations = 300;
        if (per_atom) p.lambdas = mlcsc::Vector<Scalar>::Constant(m, Scalar(0.2) * lmax);
        int calls = 0;
        p.callback = [&calls](int, Scalar) { return ++calls < 1000; };
        mlcsc::PursuitResult<mlcsc::Matrix<Scalar>, Scalar> res;
        REQUIRE_NOTHROW(res = mlcsc::lasso(D, Y, p));
        REQUIRE(Eigen::internal::is_malloc_allowed());
        REQUIRE(res.iterations >= 1);
        REQUIRE_NOTHROW(mlcsc::lasso(D, Y, p, res.code));  // warm start
        REQUIRE(Eigen::internal::is_malloc_allowed());
      }

  for (Scalar tol : {Scalar(0), Scalar(0.3)}) {
    mlcsc::OmpParams<Scalar> p;
    p.max_atoms = 5;
    p.tolerance = tol * Y.colwise().norm().minCoeff();
    REQUIRE_NOTHROW(mlcsc::omp(D, Y, p));
    REQUIRE(Eigen::internal::is_malloc_allowed());
  }

  mlcsc::BasisPursuitParams<Scalar> bp;
  bp.max_iterations = 200;
  mlcsc::PursuitResult<mlcsc::Matrix<Scalar>, Scalar> res;
  REQUIRE_NOTHROW(res = mlcsc::basis_pursuit(D, Y, bp));
  REQUIRE(res.iterations >= 10);  // the loop, including a residual-balancing step, ran
  REQUIRE(Eigen::internal::is_malloc_allowed());
}

TEMPLATE_TEST_CASE("coordinate descent: no allocation with dense codes, dependent atoms, blocks",
                   "[no-malloc][cd]", float, double) {
  // Small lambda on an overcomplete dictionary with a repeated atom: many atoms enter and leave
  // the working set (the factor's row appends and Givens downdates, the null-space step), over
  // more signals than one block of the driver, on 1 and 2 threads, with and without a callback.
  using Scalar = TestType;
  const Index n = 19, m = 61, B = 150;
  mlcsc::Matrix<Scalar> A = mlcsc_test::random_dictionary<Scalar>(n, m).matrix();
  A.col(7) = A.col(3);
  const mlcsc::Dictionary<Scalar> D(A);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  const Scalar lmax = D.analyze(Y).cwiseAbs().maxCoeff();
  for (int threads : {1, 2}) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    for (double f : {0.999, 0.1, 0.001})
      for (bool callback : {false, true}) {
        CAPTURE(threads, f, callback);
        mlcsc::LassoParams<Scalar> p;
        p.method = Method::CoordinateDescent;
        p.lambda = Scalar(f) * lmax;
        p.max_iterations = callback ? 12 : 1000;
        if (callback) p.callback = [](int, Scalar) { return true; };
        mlcsc::PursuitResult<mlcsc::Matrix<Scalar>, Scalar> res;
        REQUIRE_NOTHROW(res = mlcsc::lasso(D, Y, p));
        REQUIRE(Eigen::internal::is_malloc_allowed());
        REQUIRE(res.code.allFinite());
      }
  }
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
}

TEMPLATE_TEST_CASE("no allocation at the benchmark's scale, on 1 and 2 OpenMP threads",
                   "[no-malloc]", float, double) {
  using Scalar = TestType;
  const Index n = 64, m = GENERATE(Index(256), Index(100)), B = 3001;  // m = 100 < 2n: Gram path
  const auto D = mlcsc_test::random_dictionary<Scalar>(n, m);
  const mlcsc::Matrix<Scalar> Y = mlcsc_test::randn<Scalar>(n, B);
  for (int threads : {1, 2}) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    CAPTURE(m, threads);
    for (Method method : {Method::FISTA, Method::ISTA, Method::CoordinateDescent}) {
      mlcsc::LassoParams<Scalar> p;
      p.method = method;
      p.lambda = Scalar(0.5);
      p.max_iterations = 4;
      REQUIRE_NOTHROW(mlcsc::lasso(D, Y, p));
      REQUIRE(Eigen::internal::is_malloc_allowed());
    }
    mlcsc::BasisPursuitParams<Scalar> bp;
    bp.max_iterations = 3;
    REQUIRE_NOTHROW(mlcsc::basis_pursuit(D, Y, bp));
    mlcsc::OmpParams<Scalar> op;
    op.max_atoms = 3;
    REQUIRE_NOTHROW(mlcsc::omp(D, Y, op));
    REQUIRE(Eigen::internal::is_malloc_allowed());

    // warm products: no heap allocation at all per call
    mlcsc::Matrix<Scalar> G(m, B), X(n, B);
    D.analyze(Y, G);
    D.synthesize(G, X);
    const long before = g_news.load();
    for (int it = 0; it < 3; ++it) {
      D.analyze(Y, G);
      D.synthesize(G, X);
    }
    if (MLCSC_COUNT_NEW) CHECK(g_news.load() == before);
    // and they are the products
    const Eigen::MatrixXd Gd =
        D.matrix().template cast<double>().transpose() * Y.template cast<double>();
    CHECK((G.template cast<double>() - Gd).norm() <= 1e-4 * Gd.norm());
  }
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
}
