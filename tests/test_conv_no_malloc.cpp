// No allocation in the convolutional Lasso's iteration loop, under the throwing malloc guard of
// malloc_guard.hpp, and a counting operator new checks that analyze / synthesize make no heap
// allocation at all per call once their per-thread buffers have grown (the guard does not see
// std::vector).
#include "malloc_guard.hpp"

#include "count_new.hpp"
#include "test_support.hpp"

using mlcsc_test::random_conv;

using mlcsc_test::g_news;

using mlcsc::Boundary;
using mlcsc::ConvDictionary;
using mlcsc::FeatureMaps;
using mlcsc::Index;

TEMPLATE_TEST_CASE("conv Lasso (FISTA, ISTA) runs its loop without allocation", "[conv][no_malloc]",
                   float, double) {
  for (Boundary b : {Boundary::Circular, Boundary::Zero}) {
    auto D = random_conv<TestType>(6, 2, 5, 4, b);
    FeatureMaps<TestType> y(2, 23, 37);
    y.data() = mlcsc_test::randn<TestType>(2, 23 * 37);
    for (auto method : {mlcsc::Method::FISTA, mlcsc::Method::ISTA}) {
      mlcsc::LassoParams<TestType> p;
      p.lambda = TestType(0.2);
      p.max_iterations = 30;
      p.method = method;
      p.nonnegative = method == mlcsc::Method::ISTA;
      const auto r = mlcsc::lasso(D, y, p);  // asserts if the loop allocates through Eigen
      CHECK(r.iterations > 0);
      CHECK(Eigen::internal::is_malloc_allowed());
    }
  }
}

TEMPLATE_TEST_CASE("conv analyze / synthesize make no heap allocation per call",
                   "[conv][no_malloc]", float, double) {
  for (Boundary b : {Boundary::Circular, Boundary::Zero}) {
    // the direct kernel (3 x 7), then the Winograd path (3 x 3 between 16 and 17 maps)
    for (const bool winograd : {false, true}) {
      const Index K = winograd ? 17 : 9, C = winograd ? 16 : 3, kw = winograd ? 3 : 7;
      const Index H = 40, W = winograd ? 61 : 70;
      REQUIRE(mlcsc::internal::use_winograd<TestType>(C, K, 3, kw, H, W) == winograd);
      REQUIRE(mlcsc::internal::use_winograd<TestType>(K, C, 3, kw, H, W) == winograd);
      auto D = random_conv<TestType>(K, C, 3, kw, b);
      FeatureMaps<TestType> x(C, H, W), g(K, H, W);
      x.data() = mlcsc_test::randn<TestType>(C, H * W);
      D.analyze(x, g);  // first call: the per-thread buffers grow
      D.synthesize(g, x);
      const long before = g_news.load();
      Eigen::internal::set_is_malloc_allowed(false);
      for (int it = 0; it < 5; ++it) {
        D.analyze(x, g);
        D.synthesize(g, x);
      }
      Eigen::internal::set_is_malloc_allowed(true);
      if (MLCSC_COUNT_NEW) CHECK(g_news.load() == before);
    }
  }
}
