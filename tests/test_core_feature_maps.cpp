// Tests of core/feature_maps.hpp: shape, CHW layout, views, values(), bad dimensions.
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

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

// --- batches (NCHW) and views ------------------------------------------------------------------

TEMPLATE_TEST_CASE("FeatureMaps: N x C x H x W batches, NCHW", "[core][feature_maps][batch]", float,
                   double) {
  const Index N = 3, C = 2, H = 4, W = 5;
  FeatureMaps<TestType> x(N, C, H, W);
  CHECK(x.batch() == N);
  CHECK(x.channels() == C);
  CHECK(x.height() == H);
  CHECK(x.width() == W);
  CHECK(x.size() == N * C * H * W);
  CHECK(x.image_size() == C * H * W);
  CHECK(x.data().rows() == N * C);
  CHECK(x.data().cols() == H * W);
  CHECK(x.data().isZero(0));

  // value 1000 n + 100 c + 10 i + j at [n, c, i, j], written through channel(n, c)
  for (Index n = 0; n < N; ++n)
    for (Index c = 0; c < C; ++c)
      for (Index i = 0; i < H; ++i)
        for (Index j = 0; j < W; ++j)
          x.channel(n, c)(i, j) = TestType(1000 * n + 100 * c + 10 * i + j);

  SECTION("data() is NCHW: plane n C + c, pixel i W + j, contiguous") {
    const TestType* p = x.data().data();
    for (Index n = 0; n < N; ++n)
      for (Index c = 0; c < C; ++c)
        for (Index i = 0; i < H; ++i)
          for (Index j = 0; j < W; ++j) {
            const TestType v = TestType(1000 * n + 100 * c + 10 * i + j);
            CHECK(p[((n * C + c) * H + i) * W + j] == v);
            CHECK(x.data()(n * C + c, i * W + j) == v);
          }
    const FeatureMaps<TestType>& cx = x;
    CHECK(cx.channel(2, 1).data() == p + (2 * C + 1) * H * W);
    CHECK(cx.channel(2, 1)(3, 4) == TestType(2134));
    CHECK(x.channel(1, 0).rows() == H);
    CHECK(x.channel(1, 0).cols() == W);
    // channel(c) is image 0's
    CHECK(x.channel(1).data() == p + H * W);
    CHECK(cx.channel(1).data() == p + H * W);
  }

  SECTION("image(n) is a batch-1 view at offset n C H W") {
    for (Index n = 0; n < N; ++n) {
      auto v = x.image(n);
      STATIC_REQUIRE(std::is_same_v<decltype(v), mlcsc::FeatureMapsView<TestType>>);
      CHECK(v.ptr() == x.data().data() + n * C * H * W);
      CHECK(v.batch() == 1);
      CHECK(v.channels() == C);
      CHECK(v.height() == H);
      CHECK(v.width() == W);
      CHECK(v.channel(0, 1)(2, 3) == TestType(1000 * n + 123));
      const FeatureMaps<TestType>& cx = x;
      auto cv = cx.image(n);
      STATIC_REQUIRE(std::is_same_v<decltype(cv), mlcsc::ConstFeatureMapsView<TestType>>);
      CHECK(cv.ptr() == x.data().data() + n * C * H * W);
      CHECK(cv.batch() == 1);
      CHECK(cv.data().rows() == C);
      CHECK(cv.data()(1, 2 * W + 3) == TestType(1000 * n + 123));
    }
    // writes through an image view land in the batch
    x.image(1).channel(0, 1)(3, 2) = TestType(-5);
    CHECK(x.channel(1, 1)(3, 2) == TestType(-5));
    // image(n) of a view, and of a const view
    mlcsc::FeatureMapsView<TestType> whole = x;
    CHECK(whole.image(2).ptr() == x.data().data() + 2 * C * H * W);
    mlcsc::ConstFeatureMapsView<TestType> cwhole = whole;
    CHECK(cwhole.image(2).ptr() == x.data().data() + 2 * C * H * W);
    CHECK(cwhole.image(2).batch() == 1);
  }

  SECTION("images(first, count) views images [first, first + count); out of range is refused") {
    for (Index first = 0; first <= N; ++first)
      for (Index count = 0; first + count <= N; ++count) {
        CAPTURE(first, count);
        auto v = x.images(first, count);
        STATIC_REQUIRE(std::is_same_v<decltype(v), mlcsc::FeatureMapsView<TestType>>);
        CHECK(v.ptr() == x.data().data() + first * C * H * W);
        CHECK(v.batch() == count);
        CHECK(v.channels() == C);
        CHECK(v.height() == H);
        CHECK(v.width() == W);
        for (Index n = 0; n < count; ++n)
          CHECK(v.channel(n, 1)(2, 3) == TestType(1000 * (first + n) + 123));
        const FeatureMaps<TestType>& cx = x;
        const mlcsc::ConstFeatureMapsView<TestType> cv = cx.images(first, count);
        CHECK(cv.ptr() == v.ptr());
        CHECK(cv.batch() == count);
        // of a view and of a const view: relative to the view's own first image
        if (first >= 1) {
          mlcsc::FeatureMapsView<TestType> tail = x.images(1, N - 1);
          CHECK(tail.images(first - 1, count).ptr() == v.ptr());
          mlcsc::ConstFeatureMapsView<TestType> ctail = tail;
          CHECK(ctail.images(first - 1, count).ptr() == v.ptr());
        }
      }
    x.images(1, 2).channel(1, 0)(0, 4) = TestType(-7);
    CHECK(x.channel(2, 0)(0, 4) == TestType(-7));
    for (const auto& range : {std::pair<Index, Index>{-1, 1}, {0, -1}, {2, 2}, {4, 0}, {0, 4}}) {
      const Index first = range.first, count = range.second;
      CAPTURE(first, count);
      const std::string m = mlcsc_test::invalid_argument_message([&] { x.images(first, count); });
      CHECK(mlcsc_test::contains(m, "images"));
      CHECK(mlcsc_test::contains(m, "batch of 3"));
      mlcsc::ConstFeatureMapsView<TestType> cv = x;
      REQUIRE_THROWS_AS(cv.images(first, count), std::invalid_argument);
    }
    REQUIRE_THROWS_AS(x.image(3), std::invalid_argument);
  }

  SECTION("a copy from a view is deep, of the view's shape") {
    FeatureMaps<TestType> y(x.image(2));
    CHECK(y.batch() == 1);
    CHECK(y.channels() == C);
    CHECK(y.data().data() != x.data().data() + 2 * C * H * W);
    CHECK(y.channel(0, 1)(3, 4) == TestType(2134));
    y.channel(0, 0)(0, 0) = TestType(1);
    CHECK(x.channel(2, 0)(0, 0) == TestType(2000));
  }
}

TEMPLATE_TEST_CASE("FeatureMaps: the 3-argument constructor is a batch of one",
                   "[core][feature_maps][batch]", float, double) {
  FeatureMaps<TestType> a(2, 3, 4), b(1, 2, 3, 4);
  CHECK(a.batch() == 1);
  CHECK(a.same_shape(b));
  CHECK(a.size() == 24);
  CHECK(a.image_size() == 24);
  a.channel(1)(2, 3) = TestType(7);
  CHECK(a.channel(0, 1)(2, 3) == TestType(7));
  CHECK(a.image(0).ptr() == a.data().data());
}

TEMPLATE_TEST_CASE("FeatureMaps: implicit conversion to views shares the buffer",
                   "[core][feature_maps][view]", float, double) {
  FeatureMaps<TestType> x(2, 3, 4, 5);
  mlcsc::FeatureMapsView<TestType> v = x;
  mlcsc::ConstFeatureMapsView<TestType> cv = x;
  mlcsc::ConstFeatureMapsView<TestType> cvv = v;
  CHECK(v.ptr() == x.data().data());
  CHECK(cv.ptr() == x.data().data());
  CHECK(cvv.ptr() == x.data().data());
  CHECK(v.data().data() == x.data().data());
  CHECK(cv.data().data() == x.data().data());
  CHECK(v.same_shape(x));
  CHECK(cv.same_shape(x));
  CHECK(cvv.same_shape(x));
  CHECK(v.data().rows() == 6);
  CHECK(v.data().cols() == 20);
  // a write through the view is a write to x
  v.channel(1, 2)(3, 4) = TestType(9);
  CHECK(x.channel(1, 2)(3, 4) == TestType(9));
  CHECK(cv.channel(1, 2)(3, 4) == TestType(9));
  // functions taking views accept owned objects (no copy)
  auto first = [](mlcsc::ConstFeatureMapsView<TestType> m) { return m.ptr(); };
  CHECK(first(x) == x.data().data());
}

TEMPLATE_TEST_CASE("FeatureMaps: views over caller memory, bad arguments",
                   "[core][feature_maps][view]", float, double) {
  std::vector<TestType> buf(2 * 3 * 4 * 5);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = TestType(i);
  mlcsc::FeatureMapsView<TestType> v(buf.data(), 2, 3, 4, 5);
  CHECK(v.ptr() == buf.data());
  CHECK(v.size() == 120);
  CHECK(v.channel(1, 2)(3, 4) == TestType(((1 * 3 + 2) * 4 + 3) * 5 + 4));
  CHECK(v.image(1).ptr() == buf.data() + 60);
  const mlcsc::ConstFeatureMapsView<TestType> cv(buf.data(), 2, 3, 4, 5);
  CHECK(cv.data()(5, 19) == TestType(119));

  REQUIRE_THROWS_AS(FeatureMaps<TestType>(-1, 1, 2, 2), std::invalid_argument);
  REQUIRE_THROWS_AS(FeatureMaps<TestType>(1, 1, 2, -2), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::FeatureMapsView<TestType>(buf.data(), -1, 1, 2, 2),
                    std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::FeatureMapsView<TestType>(buf.data(), 1, 1, -2, 2),
                    std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::ConstFeatureMapsView<TestType>(buf.data(), 1, -3, 2, 2),
                    std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::FeatureMapsView<TestType>(nullptr, 1, 1, 2, 2), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::ConstFeatureMapsView<TestType>(nullptr, 1, 1, 2, 2),
                    std::invalid_argument);
  const std::string m =
      mlcsc_test::invalid_argument_message([] { FeatureMaps<TestType> bad(2, 3, -4, 5); });
  CHECK(mlcsc_test::contains(m, "FeatureMaps"));
  CHECK(mlcsc_test::contains(m, "-4"));
}
