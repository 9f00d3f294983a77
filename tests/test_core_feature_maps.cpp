// Tests of core/feature_maps.hpp: shape, CHW layout, views, values(), bad dimensions.
#include <stdexcept>
#include <type_traits>

#include "test_support.hpp"

using mlcsc::FeatureMaps;
using mlcsc::Index;

TEMPLATE_TEST_CASE("FeatureMaps: zero-filled C x H x W, channel-major", "[core][feature_maps]",
                   float, double) {
  FeatureMaps<TestType> x(3, 4, 5);
  CHECK(x.channels() == 3);
  CHECK(x.height() == 4);
  CHECK(x.width() == 5);
  CHECK(x.size() == 60);
  CHECK(x.data().rows() == 3);
  CHECK(x.data().cols() == 20);
  CHECK(x.data().isZero(0));
  STATIC_REQUIRE(std::decay_t<decltype(x.data())>::IsRowMajor);

  SECTION("channel(c) is an H x W row-major view into the contiguous CHW buffer") {
    for (Index c = 0; c < 3; ++c)
      for (Index i = 0; i < 4; ++i)
        for (Index j = 0; j < 5; ++j) x.channel(c)(i, j) = TestType(100 * c + 10 * i + j);
    const TestType* p = x.data().data();
    for (Index c = 0; c < 3; ++c)
      for (Index i = 0; i < 4; ++i)
        for (Index j = 0; j < 5; ++j) {
          CHECK(p[(c * 4 + i) * 5 + j] == TestType(100 * c + 10 * i + j));
          CHECK(x.data()(c, i * 5 + j) == TestType(100 * c + 10 * i + j));
        }
    CHECK(x.channel(1).rows() == 4);
    CHECK(x.channel(1).cols() == 5);
    const FeatureMaps<TestType>& cx = x;
    CHECK(cx.channel(2)(3, 4) == TestType(234));
    CHECK(cx.channel(2).data() == x.data().data() + 40);
  }

  SECTION("values() is data(), for the generic pursuits") {
    CHECK(&mlcsc::values(x) == &x.data());
    const FeatureMaps<TestType>& cx = x;
    CHECK(&mlcsc::values(cx) == &cx.data());
  }

  SECTION("copies are deep") {
    FeatureMaps<TestType> y = x;
    y.channel(0)(0, 0) = TestType(7);
    CHECK(x.channel(0)(0, 0) == TestType(0));
    CHECK(y.same_shape(x));
  }
}

TEMPLATE_TEST_CASE("FeatureMaps: 1-D signals are height 1", "[core][feature_maps]", float, double) {
  FeatureMaps<TestType> s(2, 1, 9);
  s.channel(1)(0, 8) = TestType(3);
  CHECK(s.data()(1, 8) == TestType(3));
  CHECK(s.channel(1).rows() == 1);
}

TEMPLATE_TEST_CASE("FeatureMaps: bad dimensions", "[core][feature_maps]", float, double) {
  REQUIRE_THROWS_AS(FeatureMaps<TestType>(-1, 2, 2), std::invalid_argument);
  REQUIRE_THROWS_AS(FeatureMaps<TestType>(1, -2, 2), std::invalid_argument);
  REQUIRE_THROWS_AS(FeatureMaps<TestType>(1, 2, -3), std::invalid_argument);
  // empty maps are constructible (the dictionary operations reject them)
  FeatureMaps<TestType> e(0, 4, 4);
  CHECK(e.empty());
  FeatureMaps<TestType> d;
  CHECK(d.empty());
  CHECK(d.channels() == 0);
}
