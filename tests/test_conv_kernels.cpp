// Tests of the convolution kernels (conv/kernels/*): the fast analyze / synthesize against the
// plain reference loops of internal/reference_conv.hpp on fresh random shapes, adjointness,
// thread-count independence, and the tile copy; for every register blocking (blocking.hpp: the
// 16- and the 32-register one, whichever this build's target would pick, and an irregular one),
// through ConvDictionary (the target's blocking) and through conv_analyze / conv_synthesize.
#include <cmath>
#include <limits>
#include <vector>

#include <mlcsc/internal/reference_conv.hpp>

#include "test_support.hpp"

using mlcsc_test::for_each_blocking;
using mlcsc_test::random_conv;
using mlcsc_test::random_maps;

#ifdef _OPENMP
#include <omp.h>
#endif

using mlcsc::Boundary;
using mlcsc::FeatureMaps;
using mlcsc::Index;

namespace {

struct Shape {
  Index K, C, kh, kw, H, W;
};

// A fresh random shape: sizes deliberately not multiples of any vector width; 1-D (H = 1) in a
// quarter of the draws, with filters up to 70 taps (the tap-phase kernel: kw >= 2 packets) and a
// single channel (synthesize into one map) in half of those; filters up to the image size.
inline Shape random_shape(Boundary b) {
  Shape s;
  // a quarter of the draws with many filters
  s.K = mlcsc_test::uniform_int(0, 3) == 0 ? mlcsc_test::uniform_int(16, 23)
                                           : mlcsc_test::uniform_int(1, 9);
  s.C = mlcsc_test::uniform_int(1, 4);
  const bool one_d = mlcsc_test::uniform_int(0, 3) == 0;
  s.H = one_d ? 1 : mlcsc_test::uniform_int(1, 19);
  if (one_d) {
    s.W = mlcsc_test::uniform_int(1, 150);
    s.kh = 1;
    s.kw = mlcsc_test::uniform_int(1, b == Boundary::Circular ? std::min<Index>(s.W, 70) : 70);
    if (mlcsc_test::uniform_int(0, 1) == 0) s.C = 1;
  } else {
    s.W = mlcsc_test::uniform_int(1, 45);
    s.kh = mlcsc_test::uniform_int(1, b == Boundary::Circular ? s.H : 8);
    s.kw = mlcsc_test::uniform_int(1, b == Boundary::Circular ? std::min<Index>(s.W, 12) : 12);
  }
  return s;
}

// |fast - ref| <= 4 n eps * sum|terms| per output value (n = number of terms): the standard
// bound on the rounding of a length-n sum, where the reference sums in double and the fast kernel
// in Scalar. sum|terms| is the reference applied to |d| and |x|. Index bugs give O(1) errors.
template <class Scalar>
void require_close(const FeatureMaps<Scalar>& fast, const FeatureMaps<Scalar>& ref,
                   const FeatureMaps<Scalar>& bound, Index n_terms) {
  REQUIRE(fast.same_shape(ref));
  const double eps = std::numeric_limits<Scalar>::epsilon();
  double worst = 0;
  for (Index r = 0; r < ref.data().rows(); ++r)
    for (Index q = 0; q < ref.data().cols(); ++q) {
      const double err = std::abs(double(fast.data()(r, q)) - double(ref.data()(r, q)));
      const double tol = 4.0 * double(n_terms) * eps * double(bound.data()(r, q)) + 1e-30;
      worst = std::max(worst, err / tol);
    }
  CHECK(worst <= 1.0);
}

template <class Scalar>
void check_against_reference(const Shape& s, Boundary b) {
  INFO("K " << s.K << " C " << s.C << " kh " << s.kh << " kw " << s.kw << " H " << s.H << " W "
            << s.W << " boundary " << mlcsc::to_string(b));
  auto D = random_conv<Scalar>(s.K, s.C, s.kh, s.kw, b);
  mlcsc::ConvDictionary<Scalar> Dabs = D;
  Dabs.filters() = D.filters().cwiseAbs();
  const auto x = random_maps<Scalar>(s.C, s.H, s.W);
  const auto g = random_maps<Scalar>(s.K, s.H, s.W);
  FeatureMaps<Scalar> xa(s.C, s.H, s.W), ga(s.K, s.H, s.W);
  xa.data() = x.data().cwiseAbs();
  ga.data() = g.data().cwiseAbs();

  FeatureMaps<Scalar> ref_a(s.K, s.H, s.W), bnd_a(s.K, s.H, s.W), ref_s(s.C, s.H, s.W),
      bnd_s(s.C, s.H, s.W);
  const Scalar* f = D.filters().data();
  mlcsc::internal::reference_analyze(f, s.K, s.C, s.kh, s.kw, b, x, ref_a);
  mlcsc::internal::reference_analyze(Dabs.filters().data(), s.K, s.C, s.kh, s.kw, b, xa, bnd_a);
  mlcsc::internal::reference_synthesize(f, s.K, s.C, s.kh, s.kw, b, g, ref_s);
  mlcsc::internal::reference_synthesize(Dabs.filters().data(), s.K, s.C, s.kh, s.kw, b, ga, bnd_s);

  const auto a = D.analyze(x);
  const auto y = D.synthesize(g);
  require_close(a, ref_a, bnd_a, s.C * s.kh * s.kw);
  require_close(y, ref_s, bnd_s, s.K * s.kh * s.kw);

  // every blocking, the direct kernel forced
  for_each_blocking([&](auto blocking, const char* name) {
    using B = decltype(blocking);
    INFO("blocking: " << name);
    FeatureMaps<Scalar> ab(s.K, s.H, s.W), yb(s.C, s.H, s.W);
    mlcsc::internal::conv_analyze<Scalar, B>(
        mlcsc::internal::conv_shape(f, s.K, s.C, s.kh, s.kw, b), x, ab,
        mlcsc::internal::ConvKernel::Direct);
    mlcsc::internal::conv_synthesize<Scalar, B>(
        mlcsc::internal::conv_shape(f, s.K, s.C, s.kh, s.kw, b), g, yb,
        mlcsc::internal::ConvKernel::Direct);
    require_close(ab, ref_a, bnd_a, s.C * s.kh * s.kw);
    require_close(yb, ref_s, bnd_s, s.K * s.kh * s.kw);
  });

  // adjointness <D g, x> == <g, D^T x>, both sides in double: their difference is the rounding
  // of the two kernels, bounded by n eps sum|terms| of the full bilinear form.
  const double lhs =
      (y.data().template cast<double>().array() * x.data().template cast<double>().array()).sum();
  const double rhs =
      (g.data().template cast<double>().array() * a.data().template cast<double>().array()).sum();
  const double scale =
      (bnd_s.data().template cast<double>().array() * xa.data().template cast<double>().array())
          .sum();
  const double n = double(s.K * s.C * s.kh * s.kw);
  CHECK(std::abs(lhs - rhs) <= 8.0 * n * std::numeric_limits<Scalar>::epsilon() * scale + 1e-30);
}

}  // namespace

TEMPLATE_TEST_CASE("conv kernels match the reference loops on random shapes", "[conv][kernels]",
                   float, double) {
  for (Boundary b : {Boundary::Zero, Boundary::Circular}) {
    for (int trial = 0; trial < 60; ++trial) check_against_reference<TestType>(random_shape(b), b);
  }
}

TEMPLATE_TEST_CASE("conv kernels: edge shapes", "[conv][kernels]", float, double) {
  for (Boundary b : {Boundary::Zero, Boundary::Circular}) {
    SECTION(std::string("1x1 filters, ") + mlcsc::to_string(b)) {
      check_against_reference<TestType>({5, 3, 1, 1, 7, 29}, b);
    }
    SECTION(std::string("filters as large as the image, ") + mlcsc::to_string(b)) {
      check_against_reference<TestType>({3, 2, 6, 9, 6, 9}, b);
      check_against_reference<TestType>({2, 1, 1, 17, 1, 17}, b);
    }
    SECTION(std::string("C = 1, even kernels, ") + mlcsc::to_string(b)) {
      check_against_reference<TestType>({7, 1, 4, 6, 11, 37}, b);
      check_against_reference<TestType>({8, 1, 2, 2, 8, 8}, b);
    }
    SECTION(std::string("1-D, long, ") + mlcsc::to_string(b)) {
      check_against_reference<TestType>({4, 1, 1, 16, 1, 1000}, b);
      check_against_reference<TestType>({1, 3, 1, 5, 1, 33}, b);
    }
    SECTION(std::string("long filter rows into one map (tap phases), ") + mlcsc::to_string(b)) {
      check_against_reference<TestType>({5, 1, 1, 64, 1, 700}, b);   // synthesize: 1 map
      check_against_reference<TestType>({1, 3, 1, 67, 1, 301}, b);   // analyze: 1 map
      check_against_reference<TestType>({7, 1, 2, 37, 9, 140}, b);   // 2-D, 7 = 6 + 1 maps
      check_against_reference<TestType>({2, 13, 3, 33, 11, 90}, b);  // 2 maps: rows blocked
    }
    SECTION(std::string("one map from planes read in place (tap phases), ") + mlcsc::to_string(b)) {
      // synthesize into one map: the planes are read in place inside a frame copied with its
      // border (2-D: the frame on all four sides; 1-D: several tiles of columns)
      check_against_reference<TestType>({6, 1, 5, 35, 23, 150}, b);
      check_against_reference<TestType>({3, 1, 1, 40, 1, 9001}, b);
    }
    SECTION(std::string("short rows into many maps (flat rows from shifted copies), ") +
            mlcsc::to_string(b)) {
      check_against_reference<TestType>({32, 4, 3, 3, 14, 12}, b);  // 12 wide: 3/4 of a packet
      check_against_reference<TestType>({9, 2, 5, 4, 11, 7}, b);    // even taps, odd width
      check_against_reference<TestType>({13, 3, 2, 6, 9, 15}, b);   // 15 wide, 6 taps
    }
    SECTION(std::string("wide and many maps (several tiles), ") + mlcsc::to_string(b)) {
      check_against_reference<TestType>({13, 2, 3, 5, 21, 300}, b);
      check_against_reference<TestType>({1, 13, 5, 3, 40, 70}, b);
    }
    SECTION(std::string("1 x 1 image, ") + mlcsc::to_string(b)) {
      check_against_reference<TestType>({3, 2, 1, 1, 1, 1}, b);
    }
  }
}

TEMPLATE_TEST_CASE("conv kernels: Zero with odd kernels is torch's conv2d(padding=k//2)",
                   "[conv][kernels]", float, double) {
  // torch conv2d: out[k,i,j] = sum_{c,u,v} w[k,c,u,v] xpad[c, i+u, j+v], pad k//2 on each side.
  const Index K = 3, C = 2, kh = 5, kw = 3, H = 9, W = 7;
  auto D = random_conv<TestType>(K, C, kh, kw, Boundary::Zero);
  const auto x = random_maps<TestType>(C, H, W);
  const auto a = D.analyze(x);
  for (Index k = 0; k < K; ++k)
    for (Index i = 0; i < H; ++i)
      for (Index j = 0; j < W; ++j) {
        double s = 0;
        for (Index c = 0; c < C; ++c)
          for (Index u = 0; u < kh; ++u)
            for (Index v = 0; v < kw; ++v) {
              const Index ii = i + u - kh / 2, jj = j + v - kw / 2;
              if (ii >= 0 && ii < H && jj >= 0 && jj < W)
                s += double(D.filter(k, c)(u, v)) * double(x.channel(c)(ii, jj));
            }
        CHECK(std::abs(s - double(a.channel(k)(i, j))) <= 1e-4 * (1 + std::abs(s)));
      }
}

TEMPLATE_TEST_CASE("conv kernels: identical results for 1 and 2 threads", "[conv][kernels][omp]",
                   float, double) {
#ifdef _OPENMP
  const int before = omp_get_max_threads();
  for (Boundary b : {Boundary::Zero, Boundary::Circular}) {
    for (int few_outputs = 0; few_outputs < 2; ++few_outputs) {
      // 11 filters over 3 channels, and 19 over 2 (synthesize blocks over output rows there)
      const Index K = few_outputs ? 19 : 11, C = few_outputs ? 2 : 3;
      auto D = random_conv<TestType>(K, C, 5, 4, b);
      const auto x = random_maps<TestType>(C, 37, 83);
      const auto g = random_maps<TestType>(K, 37, 83);
      omp_set_num_threads(1);
      const auto a1 = D.analyze(x);
      const auto s1 = D.synthesize(g);
      omp_set_num_threads(2);
      const auto a2 = D.analyze(x);
      const auto s2 = D.synthesize(g);
      // each output value is summed by one thread in a fixed order: bitwise equal
      CHECK(a1.data() == a2.data());
      CHECK(s1.data() == s2.data());
    }
    // every blocking, with long filter rows into one map (the tap-phase kernel) and 7 x 5 filters
    // into one map (rows blocked)
    for (const Index kw : {Index(5), Index(41)}) {
      const Index K = 9, C = 1, kh = kw == 5 ? 7 : 1, H = kw == 5 ? 37 : 3, W = 211;
      auto D = random_conv<TestType>(K, C, kh, kw, b);
      const TestType* f = D.filters().data();
      const auto x = random_maps<TestType>(C, H, W);
      const auto g = random_maps<TestType>(K, H, W);
      for_each_blocking([&](auto blocking, const char* name) {
        using B = decltype(blocking);
        INFO("blocking: " << name << ", kh " << kh << " kw " << kw);
        FeatureMaps<TestType> a1(K, H, W), a2(K, H, W), s1(C, H, W), s2(C, H, W);
        const auto direct = mlcsc::internal::ConvKernel::Direct;
        omp_set_num_threads(1);
        mlcsc::internal::conv_analyze<TestType, B>(mlcsc::internal::conv_shape(f, K, C, kh, kw, b),
                                                   x, a1, direct);
        mlcsc::internal::conv_synthesize<TestType, B>(
            mlcsc::internal::conv_shape(f, K, C, kh, kw, b), g, s1, direct);
        omp_set_num_threads(2);
        mlcsc::internal::conv_analyze<TestType, B>(mlcsc::internal::conv_shape(f, K, C, kh, kw, b),
                                                   x, a2, direct);
        mlcsc::internal::conv_synthesize<TestType, B>(
            mlcsc::internal::conv_shape(f, K, C, kh, kw, b), g, s2, direct);
        CHECK(a1.data() == a2.data());
        CHECK(s1.data() == s2.data());
      });
    }
  }
  omp_set_num_threads(before);
#else
  SUCCEED("built without OpenMP");
#endif
}

TEMPLATE_TEST_CASE("pad_tile resolves borders", "[conv][kernels]", float, double) {
  const Index n = 2, H = 3;
  // tile rows of one packet or less, of one to two packets (the masked rows of AVX and AVX-512
  // floats: pad_tile.hpp) and longer; the image's columns starting before, inside and past the
  // tile's
  struct Case {
    Index W, cols, c0;
  };
  for (const Case& k : {Case{4, 9, -3}, Case{4, 3, 1}, Case{11, 13, -1}, Case{19, 21, -2},
                        Case{30, 21, 5}, Case{5, 40, -17}, Case{37, 40, -1}}) {
    const Index W = k.W, rows = 6, cols = k.cols, r0 = -2, c0 = k.c0;
    std::vector<TestType> src(n * H * W);
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = TestType(i + 1);
    std::vector<TestType> dst(n * rows * cols + 1, TestType(-1));
    for (Boundary b : {Boundary::Zero, Boundary::Circular}) {
      INFO("W " << W << " cols " << cols << " col0 " << c0 << " " << mlcsc::to_string(b));
      mlcsc::internal::pad_tile(src.data(), n, H, W, r0, c0, rows, cols, b, dst.data(),
                                rows * cols);
      for (Index c = 0; c < n; ++c)
        for (Index r = 0; r < rows; ++r)
          for (Index q = 0; q < cols; ++q) {
            const Index sr = mlcsc::internal::reference_wrap(r0 + r, H, b);
            const Index sq = mlcsc::internal::reference_wrap(c0 + q, W, b);
            const TestType expect = (sr < 0 || sq < 0) ? TestType(0) : src[(c * H + sr) * W + sq];
            CHECK(dst[(c * rows + r) * cols + q] == expect);
          }
      CHECK(dst.back() == TestType(-1));  // nothing written past the tile
    }
  }
}

TEMPLATE_TEST_CASE("pad_tile_phases reads the phase planes of a strided signal in place",
                   "[conv][kernels]", float, double) {
  // plane (r_h s_w + r_w) C + c of the phase planes is x_c[s_h i + r_h, s_w j + r_w], 0 past the
  // signal (Zero) or wrapped over the phase plane (Circular: H, W multiples of the strides); the
  // tile's planes `stride` apart, the gaps between them untouched. Rows of a few values and of
  // several packets (s_w = 2 takes a row's two column phases in one vectorized pass)
  for (int trial = 0; trial < 40; ++trial) {
    const auto b = mlcsc_test::uniform_int(0, 1) == 0 ? Boundary::Zero : Boundary::Circular;
    const Index C = mlcsc_test::uniform_int(1, 3), sh = mlcsc_test::uniform_int(1, 3),
                sw = mlcsc_test::uniform_int(1, 3);
    Index H = mlcsc_test::uniform_int(1, 13), W = mlcsc_test::uniform_int(1, trial % 2 ? 41 : 173);
    if (b == Boundary::Circular) H = (H + sh - 1) / sh * sh, W = (W + sw - 1) / sw * sw;
    const Index Hp = (H + sh - 1) / sh, Wp = (W + sw - 1) / sw, planes = C * sh * sw;
    std::vector<TestType> x(C * H * W);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = TestType(i + 1);
    const Index p0 = mlcsc_test::uniform_int(0, planes - 1);
    const Index n = mlcsc_test::uniform_int(1, planes - p0);
    const Index rows = mlcsc_test::uniform_int(1, Hp + 4),
                cols = mlcsc_test::uniform_int(1, Wp + 20);
    const Index r0 = mlcsc_test::uniform_int(-2, 2), c0 = mlcsc_test::uniform_int(-3, 3);
    const Index stride = rows * cols + mlcsc_test::uniform_int(0, 5);
    std::vector<TestType> dst(n * stride, TestType(-1));
    const mlcsc::internal::PhaseSource ph{C, H, W, sh, sw};
    mlcsc::internal::pad_tile_phases(x.data(), ph, p0, n, Hp, Wp, r0, c0, rows, cols, b, dst.data(),
                                     stride);
    INFO("C " << C << " H " << H << " W " << W << " s " << sh << "," << sw << " planes " << p0
              << "+" << n << " tile " << rows << "x" << cols << " at " << r0 << "," << c0 << " "
              << mlcsc::to_string(b));
    for (Index k = 0; k < n; ++k) {
      const Index p = p0 + k, phase = p / C, c = p % C, rh = phase / sw, rw = phase % sw;
      for (Index r = 0; r < rows; ++r)
        for (Index q = 0; q < cols; ++q) {
          const Index i = mlcsc::internal::reference_wrap(r0 + r, Hp, b);
          const Index j = mlcsc::internal::reference_wrap(c0 + q, Wp, b);
          const Index si = sh * i + rh, sj = sw * j + rw;
          const bool inside = i >= 0 && j >= 0 && si < H && sj < W;
          const TestType expect = inside ? x[(c * H + si) * W + sj] : TestType(0);
          CHECK(dst[k * stride + r * cols + q] == expect);
        }
      for (Index g = rows * cols; g < stride; ++g) CHECK(dst[k * stride + g] == TestType(-1));
    }
  }
}

namespace {

// The definition of every geometry (docs/operator-concept.md), in double: analyze as a plain
// loop over the code, synthesize as the scatter of the same terms (its adjoint).
template <class Scalar>
void geometry_reference(const mlcsc::ConvDictionary<Scalar>& D, const FeatureMaps<Scalar>& x,
                        const FeatureMaps<Scalar>& g, FeatureMaps<double>& a,
                        FeatureMaps<double>& s) {
  const Index K = D.num_filters(), C = D.channels(), kh = D.kernel_height(), kw = D.kernel_width();
  const Index eh = D.dilation_h() * (kh - 1) + 1, ew = D.dilation_w() * (kw - 1) + 1;
  const bool valid = D.boundary() == Boundary::Valid;
  const bool circ = D.boundary() == Boundary::Circular;
  const Index ph = valid ? 0 : (eh - 1) / 2, pw = valid ? 0 : (ew - 1) / 2;
  const Index H = x.height(), W = x.width();
  a = FeatureMaps<double>(x.batch(), K, g.height(), g.width());
  s = FeatureMaps<double>(x.batch(), C, H, W);
  for (Index n = 0; n < x.batch(); ++n)
    for (Index k = 0; k < K; ++k)
      for (Index i = 0; i < g.height(); ++i)
        for (Index j = 0; j < g.width(); ++j)
          for (Index c = 0; c < C; ++c)
            for (Index u = 0; u < kh; ++u)
              for (Index v = 0; v < kw; ++v) {
                Index r = D.stride_h() * i + D.dilation_h() * u - ph;
                Index q = D.stride_w() * j + D.dilation_w() * v - pw;
                if (circ) {
                  r = ((r % H) + H) % H;
                  q = ((q % W) + W) % W;
                } else if (r < 0 || r >= H || q < 0 || q >= W) {
                  continue;
                }
                const double w = double(D.filter(k, c)(u, v));
                a.channel(n, k)(i, j) += w * double(x.channel(n, c)(r, q));
                s.channel(n, c)(r, q) += w * double(g.channel(n, k)(i, j));
              }
}

// A strided layer: K filters over C channels of kh x kw, strides sh x sw, H x W signals.
struct StridedCase {
  Boundary b;
  Index K, C, kh, kw, sh, sw, H, W;
};

// The direct kernels' analyze and the synthesize by `synthesis` (Direct or Scatter, where it can
// run) of a batch of N random signals and codes against geometry_reference (float: sums of up to
// C kh kw terms of unit scale, 2e-4 relative to the largest; double 1e-11). `threads`: also image
// by image and as a batch on 2 threads (one image's tiles or bands split over them, or the
// images), bitwise the result on one: each value is summed in an order fixed by the shape.
template <class Scalar>
void check_strided_case(
    const StridedCase& c, Index N, bool threads,
    mlcsc::internal::ConvKernel synthesis = mlcsc::internal::ConvKernel::Direct) {
  using mlcsc::internal::ConvKernel;
  const double tol = std::is_same_v<Scalar, float> ? 2e-4 : 1e-11;
  auto D = random_conv<Scalar>(c.K, c.C, c.kh, c.kw, c.b);
  D.set_stride(c.sh, c.sw);
  if (synthesis == ConvKernel::Scatter && !mlcsc::internal::scatter_able(D.shape())) return;
  FeatureMaps<Scalar> x(N, c.C, c.H, c.W);
  x.data() = mlcsc_test::randn<Scalar>(N * c.C, c.H * c.W);
  FeatureMaps<Scalar> g(N, c.K, D.code_height(c.H), D.code_width(c.W));
  g.data() = mlcsc_test::randn<Scalar>(N * c.K, g.height() * g.width());
  FeatureMaps<double> ra, rs;
  geometry_reference(D, x, g, ra, rs);
  const double scale =
      1.0 + std::max(ra.data().cwiseAbs().maxCoeff(), rs.data().cwiseAbs().maxCoeff());
  INFO(mlcsc::to_string(c.b) << " K" << c.K << " C" << c.C << " " << c.kh << "x" << c.kw
                             << " stride " << c.sh << "x" << c.sw << " " << c.H << "x" << c.W);
  FeatureMaps<Scalar> a = D.code_like(x), y(N, c.C, c.H, c.W);
  mlcsc::internal::conv_analyze(D.shape(), x, a, ConvKernel::Direct);
  mlcsc::internal::conv_synthesize(D.shape(), g, y, synthesis);
  CHECK((a.data().template cast<double>() - ra.data()).cwiseAbs().maxCoeff() <= tol * scale);
  CHECK((y.data().template cast<double>() - rs.data()).cwiseAbs().maxCoeff() <= tol * scale);
#ifdef _OPENMP
  if (!threads) return;
  const int before = omp_get_max_threads();
  FeatureMaps<Scalar> a2 = D.code_like(x), y2(N, c.C, c.H, c.W), y3(N, c.C, c.H, c.W);
  omp_set_num_threads(2);
  for (Index n = 0; n < N; ++n) {
    mlcsc::internal::conv_analyze(D.shape(), x.image(n), a2.image(n), ConvKernel::Direct);
    mlcsc::internal::conv_synthesize(D.shape(), g.image(n), y2.image(n), synthesis);
  }
  mlcsc::internal::conv_synthesize(D.shape(), g, y3, synthesis);  // the batch on 2 threads
  omp_set_num_threads(before);
  CHECK(a2.data() == a.data());
  CHECK(y2.data() == y.data());
  CHECK(y3.data() == y.data());
#else
  (void)threads;
#endif
}

}  // namespace

TEMPLATE_TEST_CASE("conv kernels: every geometry, direct and lowered, match the definition",
                   "[conv][kernels][geometry]", float, double) {
  using mlcsc::internal::ConvKernel;
  // float sums of up to C kh kw = 180 terms of unit scale: 1e-4 relative to the largest term sum
  const double tol = std::is_same_v<TestType, float> ? 2e-4 : 1e-11;
  int scattered = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const auto b = Boundary(mlcsc_test::uniform_int(0, 2));
    const Index K = mlcsc_test::uniform_int(1, 7), C = mlcsc_test::uniform_int(1, 3);
    const bool one_d = mlcsc_test::uniform_int(0, 3) == 0;
    // filter rows of up to 12 taps in a quarter of the draws (the lowered gather's runs of one
    // packet: 8 floats with AVX, 16 with AVX-512)
    const Index kh = one_d ? 1 : mlcsc_test::uniform_int(1, 5),
                kw = mlcsc_test::uniform_int(0, 3) == 0 ? mlcsc_test::uniform_int(7, 12)
                                                        : mlcsc_test::uniform_int(1, 6);
    auto D = random_conv<TestType>(K, C, kh, kw, b);
    D.set_stride(one_d ? 1 : mlcsc_test::uniform_int(1, 3), mlcsc_test::uniform_int(1, 3));
    D.set_dilation(one_d ? 1 : mlcsc_test::uniform_int(1, 2), mlcsc_test::uniform_int(1, 3));
    const Index eh = D.dilation_h() * (kh - 1) + 1, ew = D.dilation_w() * (kw - 1) + 1;
    Index H = one_d ? 1 : eh + mlcsc_test::uniform_int(0, 17);
    Index W = ew + mlcsc_test::uniform_int(0, 40);
    if (b == Boundary::Circular) {
      H = (H + D.stride_h() - 1) / D.stride_h() * D.stride_h();
      W = (W + D.stride_w() - 1) / D.stride_w() * D.stride_w();
    }
    const Index N = mlcsc_test::uniform_int(1, 3);
    FeatureMaps<TestType> x(N, C, H, W);
    x.data() = mlcsc_test::randn<TestType>(N * C, H * W);
    FeatureMaps<TestType> g(N, K, D.code_height(H), D.code_width(W));
    g.data() = mlcsc_test::randn<TestType>(N * K, g.height() * g.width());
    FeatureMaps<double> ra, rs;
    geometry_reference(D, x, g, ra, rs);
    const double scale =
        1.0 + std::max(ra.data().cwiseAbs().maxCoeff(), rs.data().cwiseAbs().maxCoeff());
    for (ConvKernel kernel : {ConvKernel::Direct, ConvKernel::Lowered, ConvKernel::Automatic}) {
      INFO("trial " << trial << " kernel " << int(kernel) << " " << mlcsc::to_string(b) << " K" << K
                    << " C" << C << " " << kh << "x" << kw << " stride " << D.stride_h() << "x"
                    << D.stride_w() << " dilation " << D.dilation_h() << "x" << D.dilation_w()
                    << " N" << N << " " << H << "x" << W);
      FeatureMaps<TestType> a = D.code_like(x), s(N, C, H, W);
      mlcsc::internal::conv_analyze(D.shape(), x, a, kernel);
      mlcsc::internal::conv_synthesize(D.shape(), g, s, kernel);
      CHECK((a.data().template cast<double>() - ra.data()).cwiseAbs().maxCoeff() <= tol * scale);
      CHECK((s.data().template cast<double>() - rs.data()).cwiseAbs().maxCoeff() <= tol * scale);
    }
    // the scattered synthesize wherever it can run (float, AVX / AVX-512, Zero or Valid), and its
    // refusal elsewhere
    INFO("trial " << trial << " scatter " << mlcsc::to_string(b) << " K" << K << " C" << C << " "
                  << kh << "x" << kw << " stride " << D.stride_h() << "x" << D.stride_w()
                  << " dilation " << D.dilation_h() << "x" << D.dilation_w() << " N" << N << " "
                  << H << "x" << W);
    FeatureMaps<TestType> s(N, C, H, W);
    if (mlcsc::internal::scatter_able(D.shape())) {
      ++scattered;
      mlcsc::internal::conv_synthesize(D.shape(), g, s, ConvKernel::Scatter);
      CHECK((s.data().template cast<double>() - rs.data()).cwiseAbs().maxCoeff() <= tol * scale);
    } else {
      CHECK_THROWS_AS(mlcsc::internal::conv_synthesize(D.shape(), g, s, ConvKernel::Scatter),
                      std::invalid_argument);
    }
    FeatureMaps<TestType> a = D.code_like(x);
    CHECK_THROWS_AS(mlcsc::internal::conv_analyze(D.shape(), x, a, ConvKernel::Scatter),
                    std::invalid_argument);
  }
#if MLCSC_MASKED_FLOAT_ROWS
  if (std::is_same_v<TestType, float>) CHECK(scattered > 0);
#endif
}

TEST_CASE("conv kernels: the scattered synthesize in bands of code rows, on 1 and 2 threads",
          "[conv][kernels][geometry]") {
  // Code rows of K maps beyond 256 KiB are taken in bands (scatter.hpp), the even bands and then
  // the odd ones in parallel: against the definition, and bitwise the same on 1 and 2 threads,
  // image by image (bands in parallel) and as a batch (images in parallel).
  for (const StridedCase& c : {StridedCase{Boundary::Zero, 40, 2, 5, 3, 1, 1, 23, 301},
                               StridedCase{Boundary::Valid, 64, 1, 7, 7, 2, 2, 61, 515},
                               StridedCase{Boundary::Zero, 48, 3, 4, 6, 3, 2, 40, 383}})
    check_strided_case<float>(c, 2, true, mlcsc::internal::ConvKernel::Scatter);
}

TEMPLATE_TEST_CASE("conv kernels: wide strided layers in row and column tiles match the definition",
                   "[conv][kernels][geometry]", float, double) {
  // Rows of more than 256 outputs take several column tiles; a synthesize's phase planes of more
  // than 64 KiB a row are handed over to the merge in tiles of a few rows (correlate.hpp's
  // tile_done), on 2 threads each merging its own tiles; an analyze reads both column phases of
  // a row at once (pad_tile_phases), and stride 3 one at a time.
  for (const StridedCase& c : {StridedCase{Boundary::Zero, 16, 3, 3, 3, 2, 2, 21, 601},
                               StridedCase{Boundary::Valid, 7, 5, 4, 5, 1, 2, 9, 1203},
                               StridedCase{Boundary::Circular, 5, 2, 4, 4, 2, 3, 24, 543}})
    check_strided_case<TestType>(c, 2, true);
}

TEMPLATE_TEST_CASE("conv kernels: the MNIST model's strided layers match the definition",
                   "[conv][kernels][geometry]", float, double) {
  // The first layer analyzes 4 phase planes of 14 x 14 into 32 maps of 12 x 12 by flat rows
  // from shifted copies of the planes (correlate.hpp; with 8- and 16-lane packets, the AVX and
  // AVX-512 builds); a Zero variant with unequal strides and two channels takes the same path
  // with per-plane tap boxes. Synthesize runs the flat rows without the copies.
  for (const StridedCase& c : {StridedCase{Boundary::Valid, 32, 1, 6, 6, 2, 2, 28, 28},
                               StridedCase{Boundary::Zero, 24, 2, 5, 3, 2, 1, 15, 13}})
    check_strided_case<TestType>(c, 3, false);
}
