// Tests of the Winograd F(2x2, 3x3) path (conv/kernels/winograd.hpp): forced on fresh random
// shapes (any cin, cout, odd and tiny H, W, both boundaries) against the plain reference loops
// with a derived error bound, for every register blocking (blocking.hpp: the 16- and the
// 32-register one whatever this build targets, and an irregular one); adjointness of the pair;
// bitwise thread-count independence; the choice rule and that ConvDictionary follows it.
#include <cmath>
#include <limits>

#include <mlcsc/internal/reference_conv.hpp>

#include "test_support.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

using mlcsc_test::for_each_blocking;
using mlcsc_test::random_conv;
using mlcsc_test::random_maps;

using mlcsc::Boundary;
using mlcsc::FeatureMaps;
using mlcsc::Index;
using mlcsc::internal::ConvKernel;

namespace {

/// The rounding bound of F(2x2, 3x3) for one output of a correlation with cin input planes:
///   |fast - exact| <= 2 (cin + 8) eps 4 sum_c |g_c|_1 |x_c on the 5 x 5 window|_1.
/// Derivation: V = B^T d B is two levels of 2-term sums (<= 2 roundings per term); U = G g G^T is
/// computed in double and rounded once to float (up to 4 roundings in double); the sum over the
/// channels adds 2 roundings per channel without a fused multiply-add (1 with it); the output
/// transform A^T M A is two levels of 3-term sums (<= 4); the reference's own rounding to Scalar
/// adds 1: 2 cin + 11 <= 2 (cin + 8) in all. Without cancellation each output is
/// sum_xi |A||U_xi||V_xi| <= the sum over filter taps and patch pixels of w |g||d|, where
/// w = sum_xi |A||G||B| <= 2 per dimension (so 4), and the 4 x 4 patch of an output lies in the
/// 5 x 5 window centred on it. The bound is loose for a single wrong term among many, so a second
/// test checks exactness on small integers, where every step is exact.
template <class Scalar>
FeatureMaps<double> winograd_bound(const Scalar* g, Index cin, Index cout,
                                   const FeatureMaps<Scalar>& x, Boundary b) {
  using mlcsc::internal::reference_wrap;
  const Index H = x.height(), W = x.width();
  FeatureMaps<double> window(cin, H, W), bound(cout, H, W);
  for (Index c = 0; c < cin; ++c)
    for (Index i = 0; i < H; ++i)
      for (Index j = 0; j < W; ++j) {
        double s = 0;
        for (Index p = i - 2; p <= i + 2; ++p)
          for (Index q = j - 2; q <= j + 2; ++q) {
            const Index pp = reference_wrap(p, H, b), qq = reference_wrap(q, W, b);
            if (pp >= 0 && qq >= 0) s += std::abs(double(x.channel(c)(pp, qq)));
          }
        window.channel(c)(i, j) = s;
      }
  const double eps = std::numeric_limits<Scalar>::epsilon();
  bound.data().setZero();
  for (Index o = 0; o < cout; ++o)
    for (Index c = 0; c < cin; ++c) {
      double l1 = 0;
      for (Index t = 0; t < 9; ++t) l1 += std::abs(double(g[(o * cin + c) * 9 + t]));
      bound.channel(o) += (2.0 * double(cin + 8) * eps * 4.0 * l1) * window.channel(c);
    }
  return bound;
}

template <class Scalar>
double worst_ratio(const FeatureMaps<Scalar>& fast, const FeatureMaps<Scalar>& ref,
                   const FeatureMaps<double>& bound) {
  double worst = 0;
  for (Index r = 0; r < ref.data().rows(); ++r)
    for (Index q = 0; q < ref.data().cols(); ++q) {
      const double err = std::abs(double(fast.data()(r, q)) - double(ref.data()(r, q)));
      worst = std::max(worst, err / (bound.data()(r, q) + 1e-300));
    }
  return worst;
}

struct WinogradShape {
  Index K, C, H, W;
};

template <class Scalar, class B = mlcsc::internal::DefaultConvBlocking>
void check_winograd(const WinogradShape& s, Boundary b) {
  INFO("K " << s.K << " C " << s.C << " H " << s.H << " W " << s.W << " boundary "
            << mlcsc::to_string(b) << " blocking " << B::maps << " x " << B::packets);
  auto D = random_conv<Scalar>(s.K, s.C, 3, 3, b);
  const Scalar* f = D.filters().data();
  const auto x = random_maps<Scalar>(s.C, s.H, s.W);
  const auto g = random_maps<Scalar>(s.K, s.H, s.W);
  FeatureMaps<Scalar> ref_a(s.K, s.H, s.W), ref_s(s.C, s.H, s.W), a(s.K, s.H, s.W),
      y(s.C, s.H, s.W);
  mlcsc::internal::reference_analyze(f, s.K, s.C, 3, 3, b, x, ref_a);
  mlcsc::internal::reference_synthesize(f, s.K, s.C, 3, 3, b, g, ref_s);
  mlcsc::internal::conv_analyze<Scalar, B>(mlcsc::internal::conv_shape(f, s.K, s.C, 3, 3, b), x, a,
                                           ConvKernel::Winograd);
  mlcsc::internal::conv_synthesize<Scalar, B>(mlcsc::internal::conv_shape(f, s.K, s.C, 3, 3, b), g,
                                              y, ConvKernel::Winograd);

  // analyze: cin = C, g_{k,c} = d_{k,c}; synthesize: cin = K, g_{c,k} = d_{k,c} flipped (the same
  // l1 norms, so the bound takes the transposed bank)
  std::vector<Scalar> transposed(std::size_t(s.K * s.C * 9));
  for (Index k = 0; k < s.K; ++k)
    for (Index c = 0; c < s.C; ++c)
      for (Index t = 0; t < 9; ++t) transposed[(c * s.K + k) * 9 + t] = f[(k * s.C + c) * 9 + t];
  // (each bound once: its loops over every filter and pixel are what this test spends its time
  // on under the sanitizers)
  const FeatureMaps<double> bound_a = winograd_bound(f, s.C, s.K, x, b),
                            bound_s = winograd_bound(transposed.data(), s.K, s.C, g, b);
  CHECK(worst_ratio(a, ref_a, bound_a) <= 1.0);
  CHECK(worst_ratio(y, ref_s, bound_s) <= 1.0);

  // adjointness <D g, x> == <g, D^T x> of the Winograd pair, in double
  const double lhs =
      (y.data().template cast<double>().array() * x.data().template cast<double>().array()).sum();
  const double rhs =
      (g.data().template cast<double>().array() * a.data().template cast<double>().array()).sum();
  const double scale =
      (bound_s.data().array() * x.data().template cast<double>().array().abs()).sum() +
      (bound_a.data().array() * g.data().template cast<double>().array().abs()).sum();
  CHECK(std::abs(lhs - rhs) <= scale + 1e-300);
}

WinogradShape random_winograd_shape(Boundary b) {
  const Index lo = b == Boundary::Circular ? 3 : 1;  // a circular signal holds the filter
  WinogradShape s;
  s.K = mlcsc_test::uniform_int(1, 40);
  s.C = mlcsc_test::uniform_int(1, 40);
  s.H = mlcsc_test::uniform_int(lo, 37);
  s.W = mlcsc_test::uniform_int(lo, 151);  // up to 76 tiles: more than one column segment
  return s;
}

}  // namespace

TEMPLATE_TEST_CASE("Winograd F(2x2, 3x3) matches the reference loops on random shapes",
                   "[conv][winograd]", float, double) {
  for (Boundary b : {Boundary::Zero, Boundary::Circular})
    for (int trial = 0; trial < 16; ++trial) {
      const WinogradShape s = random_winograd_shape(b);
      for_each_blocking(
          [&](auto blocking, const char*) { check_winograd<TestType, decltype(blocking)>(s, b); });
    }
}

TEMPLATE_TEST_CASE("Winograd F(2x2, 3x3) is exact on small integers", "[conv][winograd]", float,
                   double) {
  // Integer filters and maps in [-3, 3]: V holds sums of 4 integers, U quarter-integers, every
  // product and partial sum is a multiple of 1/4 below 2^16, all exact in float. So the result
  // must equal the reference exactly, and any wrong tap, channel, border pixel or tile shows.
  for (Boundary b : {Boundary::Zero, Boundary::Circular})
    for (int trial = 0; trial < 12; ++trial) {
      const WinogradShape s = random_winograd_shape(b);
      INFO("K " << s.K << " C " << s.C << " H " << s.H << " W " << s.W << " boundary "
                << mlcsc::to_string(b));
      auto small = [](Index n) {
        mlcsc::RowMatrix<TestType> m(1, n);
        for (Index i = 0; i < n; ++i) m(0, i) = TestType(mlcsc_test::uniform_int(-3, 3));
        return m;
      };
      mlcsc::ConvDictionary<TestType> D(s.K, s.C, 3, 3, b);
      D.filters() = small(s.K * s.C * 9).reshaped(s.K, s.C * 9);
      FeatureMaps<TestType> x(s.C, s.H, s.W), g(s.K, s.H, s.W);
      x.data() = small(s.C * s.H * s.W).reshaped(s.C, s.H * s.W);
      g.data() = small(s.K * s.H * s.W).reshaped(s.K, s.H * s.W);
      FeatureMaps<TestType> ref_a(s.K, s.H, s.W), ref_s(s.C, s.H, s.W), a(s.K, s.H, s.W),
          y(s.C, s.H, s.W);
      const TestType* f = D.filters().data();
      mlcsc::internal::reference_analyze(f, s.K, s.C, 3, 3, b, x, ref_a);
      mlcsc::internal::reference_synthesize(f, s.K, s.C, 3, 3, b, g, ref_s);
      for_each_blocking([&](auto blocking, const char* name) {
        using B = decltype(blocking);
        INFO("blocking: " << name);
        mlcsc::internal::conv_analyze<TestType, B>(
            mlcsc::internal::conv_shape(f, s.K, s.C, 3, 3, b), x, a, ConvKernel::Winograd);
        mlcsc::internal::conv_synthesize<TestType, B>(
            mlcsc::internal::conv_shape(f, s.K, s.C, 3, 3, b), g, y, ConvKernel::Winograd);
        CHECK(a.data() == ref_a.data());
        CHECK(y.data() == ref_s.data());
      });
    }
}

TEMPLATE_TEST_CASE("Winograd F(2x2, 3x3): edge shapes", "[conv][winograd]", float, double) {
  for (Boundary b : {Boundary::Zero, Boundary::Circular}) {
    SECTION(std::string("the smallest circular image, C = K = 1, ") + mlcsc::to_string(b)) {
      check_winograd<TestType>({1, 1, 3, 3}, b);
      check_winograd<TestType>({2, 3, 3, 4}, b);
    }
    SECTION(std::string("odd sizes, many maps (partial micro-tile blocks), ") +
            mlcsc::to_string(b)) {
      for_each_blocking([&](auto blocking, const char*) {
        using B = decltype(blocking);
        check_winograd<TestType, B>({13, 17, 19, 33}, b);
        check_winograd<TestType, B>({7, 29, 5, 131}, b);
      });
    }
  }
  SECTION("1 x 1, 1 x W and H x 1 images (Zero)") {
    check_winograd<TestType>({3, 2, 1, 1}, Boundary::Zero);
    check_winograd<TestType>({4, 5, 1, 9}, Boundary::Zero);
    check_winograd<TestType>({5, 4, 8, 1}, Boundary::Zero);
    check_winograd<TestType>({2, 2, 2, 2}, Boundary::Zero);
  }
}

TEST_CASE("Winograd F(2x2, 3x3) is refused for other filter sizes", "[conv][winograd]") {
  auto D = random_conv<float>(4, 2, 5, 3, Boundary::Zero);
  const auto x = random_maps<float>(2, 9, 9);
  FeatureMaps<float> a(4, 9, 9);
  const std::string msg = mlcsc_test::invalid_argument_message([&] {
    mlcsc::internal::conv_analyze(
        mlcsc::internal::conv_shape(D.filters().data(), 4, 2, 5, 3, Boundary::Zero), x, a,
        ConvKernel::Winograd);
  });
  CHECK(mlcsc_test::contains(msg, "3 x 3"));
  CHECK(mlcsc_test::contains(msg, "5"));
}

TEMPLATE_TEST_CASE("Winograd F(2x2, 3x3): identical results for 1 and 2 threads",
                   "[conv][winograd][omp]", float, double) {
#ifdef _OPENMP
  const int before = omp_get_max_threads();
  for (Boundary b : {Boundary::Zero, Boundary::Circular}) {
    const Index K = 23, C = 17, H = 37, W = 150;
    auto D = random_conv<TestType>(K, C, 3, 3, b);
    const auto x = random_maps<TestType>(C, H, W);
    const auto g = random_maps<TestType>(K, H, W);
    FeatureMaps<TestType> a1(K, H, W), a2(K, H, W), s1(C, H, W), s2(C, H, W);
    const TestType* f = D.filters().data();
    for_each_blocking([&](auto blocking, const char* name) {
      using B = decltype(blocking);
      INFO("blocking: " << name);
      omp_set_num_threads(1);
      mlcsc::internal::conv_analyze<TestType, B>(mlcsc::internal::conv_shape(f, K, C, 3, 3, b), x,
                                                 a1, ConvKernel::Winograd);
      mlcsc::internal::conv_synthesize<TestType, B>(mlcsc::internal::conv_shape(f, K, C, 3, 3, b),
                                                    g, s1, ConvKernel::Winograd);
      omp_set_num_threads(2);
      mlcsc::internal::conv_analyze<TestType, B>(mlcsc::internal::conv_shape(f, K, C, 3, 3, b), x,
                                                 a2, ConvKernel::Winograd);
      mlcsc::internal::conv_synthesize<TestType, B>(mlcsc::internal::conv_shape(f, K, C, 3, 3, b),
                                                    g, s2, ConvKernel::Winograd);
      CHECK(a1.data() == a2.data());
      CHECK(s1.data() == s2.data());
    });
  }
  omp_set_num_threads(before);
#else
  SUCCEED("built without OpenMP");
#endif
}

TEMPLATE_TEST_CASE("the kernel choice rule, and ConvDictionary follows it", "[conv][winograd]",
                   float, double) {
  using mlcsc::internal::use_winograd;
  // benchmark shape (b) and the 3 x 3 layers of the multi-layer benchmark
  CHECK(use_winograd<TestType>(64, 128, 3, 3, 64, 64));
  CHECK(use_winograd<TestType>(128, 64, 3, 3, 64, 64));
  CHECK(use_winograd<TestType>(128, 128, 3, 3, 64, 64));
  // few maps on either side, other filter sizes, one-pixel rows or columns stay direct
  CHECK_FALSE(use_winograd<TestType>(1, 64, 3, 3, 64, 64));
  CHECK_FALSE(use_winograd<TestType>(64, 1, 3, 3, 64, 64));
  CHECK_FALSE(use_winograd<TestType>(64, 64, 5, 5, 64, 64));
  CHECK_FALSE(use_winograd<TestType>(64, 64, 3, 3, 64, 1));
  CHECK_FALSE(use_winograd<TestType>(64, 64, 3, 3, 1, 64));
  // the padding rule: in a 5-pixel-wide image, 3 tiles a row padded to 4 or more slots need
  // 16 x 4 = 64 multiply-adds per 2 x 5 pixels, more than 0.6 x 9 x 10 = 54; in a 16 x 16 image,
  // 8 tiles a row fill packets of up to 8 lanes but only half of AVX-512's 16 float lanes
  constexpr Index L = mlcsc::internal::packet_size<TestType>;
  CHECK(use_winograd<TestType>(64, 64, 3, 3, 64, 5) == (L < 2));
  CHECK(use_winograd<TestType>(64, 64, 3, 3, 16, 16) == (L < 16));

  for (Boundary b : {Boundary::Zero, Boundary::Circular}) {
    for (Index C : {Index(5), Index(16)}) {  // direct, then Winograd
      const Index K = 19, H = 21, W = 64;
      const bool wino = use_winograd<TestType>(C, K, 3, 3, H, W);
      CHECK(wino == (C == 16));
      auto D = random_conv<TestType>(K, C, 3, 3, b);
      const auto x = random_maps<TestType>(C, H, W);
      const auto g = random_maps<TestType>(K, H, W);
      FeatureMaps<TestType> a(K, H, W), s(C, H, W);
      const ConvKernel k = wino ? ConvKernel::Winograd : ConvKernel::Direct;
      mlcsc::internal::conv_analyze(mlcsc::internal::conv_shape(D.filters().data(), K, C, 3, 3, b),
                                    x, a, k);
      mlcsc::internal::conv_synthesize(
          mlcsc::internal::conv_shape(D.filters().data(), K, C, 3, 3, b), g, s, k);
      CHECK(D.analyze(x).data() == a.data());
      CHECK(D.synthesize(g).data() == s.data());
    }
  }
}
