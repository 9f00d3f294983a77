// Tests of the geometry of conv/conv_dictionary.hpp (boundaries, stride, dilation, batches and
// views) against plain loops written here from the definition, never against the library itself:
//   analyze    gamma[n,k,i,j] = sum_c sum_{u,v} f(k,c)(u,v) x[n,c, s_h i + d_h u - P_h,
//                                                            s_w j + d_w v - P_w]
//   synthesize its adjoint, the scatter x[n,c, s_h i + d_h u - P_h, ...] += f(k,c)(u,v) g[n,k,i,j]
// with e = d (k - 1) + 1, P = 0 (Valid) or floor((e - 1) / 2) (Zero, Circular), outside pixels
// 0 (Zero, Valid: dropped by the scatter) or wrapped modulo H, W (Circular).
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using geo_Index = mlcsc::Index;
using geo_Boundary = mlcsc::Boundary;
template <class S>
using geo_Maps = mlcsc::FeatureMaps<S>;

// ------------------------------------------------------------------------------------------------
// The geometry, per dimension, from the definition.

geo_Index geo_extent(geo_Index k, geo_Index d) {
  return d * (k - 1) + 1;
}
geo_Index geo_pad(geo_Boundary b, geo_Index k, geo_Index d) {
  return b == geo_Boundary::Valid ? 0 : (geo_extent(k, d) - 1) / 2;
}
// The code's size for a signal of n (0: none).
geo_Index geo_code_size(geo_Boundary b, geo_Index n, geo_Index k, geo_Index s, geo_Index d) {
  const geo_Index e = geo_extent(k, d);
  if (b == geo_Boundary::Valid) return n < e ? 0 : (n - e) / s + 1;
  if (b == geo_Boundary::Zero) return (n - 1) / s + 1;
  return (n % s != 0 || n < e) ? 0 : n / s;
}
// The smallest signal whose code has m entries.
geo_Index geo_smallest_signal(geo_Boundary b, geo_Index m, geo_Index k, geo_Index s, geo_Index d) {
  if (b == geo_Boundary::Valid) return (m - 1) * s + geo_extent(k, d);
  if (b == geo_Boundary::Zero) return (m - 1) * s + 1;
  return m * s;
}
// Index i of a signal of n: wrapped (Circular, true) or whether it is inside (Zero, Valid).
bool geo_resolve(geo_Boundary b, geo_Index& i, geo_Index n) {
  if (b == geo_Boundary::Circular) {
    i = ((i % n) + n) % n;
    return true;
  }
  return i >= 0 && i < n;
}

struct geo_Geometry {
  geo_Boundary b = geo_Boundary::Zero;
  geo_Index K = 1, C = 1, kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  geo_Index code_h(geo_Index H) const { return geo_code_size(b, H, kh, sh, dh); }
  geo_Index code_w(geo_Index W) const { return geo_code_size(b, W, kw, sw, dw); }
};

struct geo_Case {
  geo_Geometry g;
  geo_Index N = 1, H = 1, W = 1;
};

std::string geo_describe(const geo_Case& t) {
  std::ostringstream os;
  os << mlcsc::to_string(t.g.b) << ": N " << t.N << ", K " << t.g.K << ", C " << t.g.C
     << ", kernel " << t.g.kh << " x " << t.g.kw << ", stride " << t.g.sh << " x " << t.g.sw
     << ", dilation " << t.g.dh << " x " << t.g.dw << ", signal " << t.H << " x " << t.W;
  return os.str();
}

// A dictionary of the geometry with random filters, and the filters as the reference reads them
// (K x (C kh kw), f(k, (c kh + u) kw + v) = filter(k, c)(u, v)), written through filter(k, c).
template <class S>
mlcsc::ConvDictionary<S> geo_dictionary(const geo_Geometry& g, mlcsc::Matrix<S>& f) {
  mlcsc::ConvDictionary<S> D(g.K, g.C, g.kh, g.kw, g.b);
  D.set_stride(g.sh, g.sw);
  D.set_dilation(g.dh, g.dw);
  f = mlcsc_test::randn<S>(g.K, g.C * g.kh * g.kw);
  for (geo_Index k = 0; k < g.K; ++k)
    for (geo_Index c = 0; c < g.C; ++c)
      for (geo_Index u = 0; u < g.kh; ++u)
        for (geo_Index v = 0; v < g.kw; ++v) D.filter(k, c)(u, v) = f(k, (c * g.kh + u) * g.kw + v);
  return D;
}

template <class S>
geo_Maps<S> geo_random_maps(geo_Index N, geo_Index C, geo_Index H, geo_Index W) {
  geo_Maps<S> m(N, C, H, W);
  m.data() = mlcsc_test::randn<S>(N * C, H * W);
  return m;
}

// A reference result, NCHW flat, with the sum of |terms| of every value (the scale of its
// rounding error).
struct geo_Ref {
  geo_Index N = 0, C = 0, H = 0, W = 0;
  std::vector<double> val, mag;
};

// analyze from the definition, in double, for x (N x C x H x W, NCHW at `x`).
template <class S>
geo_Ref geo_ref_analyze(const geo_Geometry& g, const mlcsc::Matrix<S>& f, const S* x, geo_Index N,
                        geo_Index H, geo_Index W) {
  const geo_Index Hc = g.code_h(H), Wc = g.code_w(W);
  const geo_Index Ph = geo_pad(g.b, g.kh, g.dh), Pw = geo_pad(g.b, g.kw, g.dw);
  geo_Ref r{N,
            g.K,
            Hc,
            Wc,
            std::vector<double>(N * g.K * Hc * Wc, 0.0),
            std::vector<double>(N * g.K * Hc * Wc, 0.0)};
  for (geo_Index n = 0; n < N; ++n)
    for (geo_Index k = 0; k < g.K; ++k)
      for (geo_Index i = 0; i < Hc; ++i)
        for (geo_Index j = 0; j < Wc; ++j) {
          double s = 0, m = 0;
          for (geo_Index c = 0; c < g.C; ++c)
            for (geo_Index u = 0; u < g.kh; ++u)
              for (geo_Index v = 0; v < g.kw; ++v) {
                geo_Index ii = g.sh * i + g.dh * u - Ph, jj = g.sw * j + g.dw * v - Pw;
                if (!geo_resolve(g.b, ii, H) || !geo_resolve(g.b, jj, W)) continue;
                const double t = double(f(k, (c * g.kh + u) * g.kw + v)) *
                                 double(x[((n * g.C + c) * H + ii) * W + jj]);
                s += t;
                m += std::abs(t);
              }
          const geo_Index o = ((n * g.K + k) * Hc + i) * Wc + j;
          r.val[o] = s;
          r.mag[o] = m;
        }
  return r;
}

// synthesize from the definition (the scatter), in double, into an N x C x H x W signal; gamma
// (N x K x code_h(H) x code_w(W)) at `gamma`.
template <class S>
geo_Ref geo_ref_synthesize(const geo_Geometry& g, const mlcsc::Matrix<S>& f, const S* gamma,
                           geo_Index N, geo_Index H, geo_Index W) {
  const geo_Index Hc = g.code_h(H), Wc = g.code_w(W);
  const geo_Index Ph = geo_pad(g.b, g.kh, g.dh), Pw = geo_pad(g.b, g.kw, g.dw);
  geo_Ref r{N,
            g.C,
            H,
            W,
            std::vector<double>(N * g.C * H * W, 0.0),
            std::vector<double>(N * g.C * H * W, 0.0)};
  for (geo_Index n = 0; n < N; ++n)
    for (geo_Index k = 0; k < g.K; ++k)
      for (geo_Index i = 0; i < Hc; ++i)
        for (geo_Index j = 0; j < Wc; ++j) {
          const double gv = double(gamma[((n * g.K + k) * Hc + i) * Wc + j]);
          for (geo_Index c = 0; c < g.C; ++c)
            for (geo_Index u = 0; u < g.kh; ++u)
              for (geo_Index v = 0; v < g.kw; ++v) {
                geo_Index ii = g.sh * i + g.dh * u - Ph, jj = g.sw * j + g.dw * v - Pw;
                if (!geo_resolve(g.b, ii, H) || !geo_resolve(g.b, jj, W)) continue;
                const double t = double(f(k, (c * g.kh + u) * g.kw + v)) * gv;
                const geo_Index o = ((n * g.C + c) * H + ii) * W + jj;
                r.val[o] += t;
                r.mag[o] += std::abs(t);
              }
        }
  return r;
}

// Tolerance relative to the sum of |terms| of each value. The reference sums the same products
// (of the same Scalar inputs) exactly enough in double; the library sums at most C kh kw <= 75
// terms per value (analyze; synthesize at most K ceil(kh / s) ceil(kw / s)) in Scalar, so its
// error is at most ~ 75 eps sum|terms|: 75 x 1.1e-16 ~ 1e-14 in double (1e-10 leaves room for any
// summation order, yet a wrong or missing tap errs by O(1) relative), 75 x 6e-8 ~ 4.5e-6 in float
// (1e-4). A value whose terms are all outside must be 0 exactly.
template <class S>
double geo_tol() {
  return std::is_same<S, float>::value ? 1e-4 : 1e-10;
}

// "" when `got` (the library's result, NCHW flat of the reference's shape) matches, else the
// first mismatch.
template <class S>
std::string geo_compare(const S* got, const geo_Ref& ref, double tol) {
  for (std::size_t o = 0; o < ref.val.size(); ++o) {
    const double err = std::abs(double(got[o]) - ref.val[o]);
    if (!(err <= tol * ref.mag[o])) {
      const geo_Index plane = geo_Index(o) / (ref.H * ref.W), pix = geo_Index(o) % (ref.H * ref.W);
      std::ostringstream os;
      os.precision(17);
      os << "at [n " << plane / ref.C << ", c " << plane % ref.C << ", i " << pix / ref.W << ", j "
         << pix % ref.W << "]: got " << double(got[o]) << ", expected " << ref.val[o]
         << " (sum |terms| " << ref.mag[o] << ")";
      return os.str();
    }
  }
  return "";
}

template <class S>
std::string geo_shape(const geo_Maps<S>& m) {
  std::ostringstream os;
  os << m.batch() << " x " << m.channels() << " x " << m.height() << " x " << m.width();
  return os.str();
}
std::string geo_shape(geo_Index n, geo_Index c, geo_Index h, geo_Index w) {
  std::ostringstream os;
  os << n << " x " << c << " x " << h << " x " << w;
  return os.str();
}

// A random signal size along one axis for the geometry (k, s, d): odd where the boundary allows
// (Circular with an even stride needs an even size), never a multiple of 8, at least the extent
// (Valid, Circular) or anything >= 1 (Zero: also smaller than the kernel), a multiple of the
// stride (Circular), at most `extra` above the smallest allowed.
geo_Index geo_random_size(geo_Boundary b, geo_Index k, geo_Index s, geo_Index d, geo_Index extra) {
  const geo_Index lo = b == geo_Boundary::Zero ? 1 : geo_extent(k, d);
  const bool even_ok = b == geo_Boundary::Circular && s % 2 == 0;
  for (;;) {
    const geo_Index n = mlcsc_test::uniform_int(lo, lo + extra);
    if (n % 8 == 0) continue;
    if (b == geo_Boundary::Circular && n % s != 0) continue;
    if (!even_ok && n % 2 == 0) continue;
    return n;
  }
}

// A random geometry and signal: K 1..5, C 1..3, kernels 1..5 (odd and even), stride 1..3 and
// dilation 1..3 per dimension, N 1..max_batch; 1-D (height 1, kh 1) in a quarter of the draws.
geo_Case geo_random_case(geo_Index max_batch = 3) {
  using mlcsc_test::uniform_int;
  geo_Case t;
  geo_Geometry& g = t.g;
  g.b = geo_Boundary(uniform_int(0, 2));
  g.K = uniform_int(1, 5);
  g.C = uniform_int(1, 3);
  const bool one_d = uniform_int(0, 3) == 0;
  g.kh = one_d ? 1 : uniform_int(1, 5);
  g.kw = uniform_int(1, 5);
  // a 1-D Circular signal (height 1) has a code only at stride 1
  g.sh = one_d && g.b == geo_Boundary::Circular ? 1 : uniform_int(1, 3);
  g.sw = uniform_int(1, 3);
  g.dh = uniform_int(1, 3);
  g.dw = uniform_int(1, 3);
  t.N = uniform_int(1, max_batch);
  t.H = one_d ? 1 : geo_random_size(g.b, g.kh, g.sh, g.dh, 10);
  t.W = geo_random_size(g.b, g.kw, g.sw, g.dw, 10);
  return t;
}

template <class S>
bool geo_bitwise_equal(const S* a, const S* b, geo_Index n) {
  return std::equal(a, a + n, b);
}

// Batch vs alone: bitwise on the direct and Winograd kernels (each value summed in an order fixed
// by the shape); the lowered form (im2col + one matrix product per group of images) may round an
// image's values differently with the group's size, so there: within 4 R eps of the largest
// value, R = C kh kw terms per sum (a wrong index gives O(1) errors).
template <class S>
bool geo_batch_equal(const mlcsc::ConvDictionary<S>& D, bool analyze, geo_Index H, geo_Index W,
                     const S* a, const S* b, geo_Index n) {
  const geo_Index cout = analyze ? D.num_filters() : D.channels();
  if (!mlcsc::internal::lowered_chosen<S>(mlcsc::internal::ConvKernel::Automatic, D.shape(), cout,
                                          H, W))
    return geo_bitwise_equal(a, b, n);
  double scale = 1;
  for (geo_Index i = 0; i < n; ++i) scale = std::max(scale, double(std::abs(b[i])));
  const double R = double(D.channels() * D.kernel_height() * D.kernel_width());
  const double tol = 4 * R * double(std::numeric_limits<S>::epsilon()) * scale;
  for (geo_Index i = 0; i < n; ++i)
    if (!(std::abs(double(a[i]) - double(b[i])) <= tol)) return false;
  return true;
}

#ifdef _OPENMP
// Sets the OpenMP thread count for a scope, then restores it.
struct geo_Threads {
  int before;
  explicit geo_Threads(int n) : before(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~geo_Threads() { omp_set_num_threads(before); }
  geo_Threads(const geo_Threads&) = delete;
  geo_Threads& operator=(const geo_Threads&) = delete;
};
#else
struct geo_Threads {
  explicit geo_Threads(int) {}
};
#endif

}  // namespace

// ------------------------------------------------------------------------------------------------
// 1. analyze

TEMPLATE_TEST_CASE("Geometry: analyze equals the plain loop on random geometries",
                   "[conv][geometry]", float, double) {
  using S = TestType;
  for (int trial = 0; trial < 200; ++trial) {
    const geo_Case t = geo_random_case();
    const geo_Geometry& g = t.g;
    INFO("trial " << trial << ": " << geo_describe(t));
    mlcsc::Matrix<S> f;
    const auto D = geo_dictionary<S>(g, f);
    const geo_Index Hc = g.code_h(t.H), Wc = g.code_w(t.W);
    REQUIRE(Hc >= 1);
    REQUIRE(Wc >= 1);
    CHECK(D.code_height(t.H) == Hc);
    CHECK(D.code_width(t.W) == Wc);

    const auto x = geo_random_maps<S>(t.N, g.C, t.H, t.W);
    const geo_Ref ref = geo_ref_analyze(g, f, x.data().data(), t.N, t.H, t.W);

    const auto gamma = D.analyze(x);
    REQUIRE(geo_shape(gamma) == geo_shape(t.N, g.K, Hc, Wc));
    CHECK(geo_compare(gamma.data().data(), ref, geo_tol<S>()) == "");

    // into a caller-sized output holding garbage: overwritten, not accumulated, same bits
    geo_Maps<S> out(t.N, g.K, Hc, Wc);
    out.data().setConstant(S(1e6));
    D.analyze(x, out);
    CHECK(out.data() == gamma.data());
  }
}

TEMPLATE_TEST_CASE("Geometry: analyze and synthesize, chosen geometries", "[conv][geometry]", float,
                   double) {
  using S = TestType;
  // each: boundary, K, C, kh, kw, sh, sw, dh, dw, N, H, W
  struct Row {
    geo_Boundary b;
    geo_Index K, C, kh, kw, sh, sw, dh, dw, N, H, W;
  };
  const Row rows[] = {
      // Zero with an even extent: the "same" size, P = (e - 1) / 2 on top / left only
      {geo_Boundary::Zero, 2, 2, 4, 2, 1, 1, 1, 1, 2, 9, 11},
      {geo_Boundary::Zero, 3, 1, 2, 4, 1, 1, 3, 1, 1, 7, 13},  // e_h = 4, e_w = 4
      // Zero, kernel larger than the signal
      {geo_Boundary::Zero, 2, 2, 5, 5, 1, 2, 3, 2, 1, 3, 5},
      // Zero, stride larger than the extent (pixels no tap reads)
      {geo_Boundary::Zero, 2, 3, 1, 2, 3, 3, 1, 1, 2, 11, 13},
      // Valid: H - e not a multiple of the stride
      {geo_Boundary::Valid, 4, 2, 3, 4, 2, 3, 2, 1, 3, 13, 15},
      {geo_Boundary::Valid, 1, 1, 5, 5, 1, 1, 3, 3, 1, 13, 13},  // e = 13 = H: a 1 x 1 code
      // Circular: dilated extent equal to the size, stride 3
      {geo_Boundary::Circular, 3, 2, 4, 3, 3, 3, 3, 4, 2, 15, 9},
      {geo_Boundary::Circular, 2, 1, 2, 2, 2, 2, 1, 1, 1, 6, 10},  // even extent, even stride
      // 1-D
      {geo_Boundary::Circular, 2, 3, 1, 5, 1, 2, 3, 3, 2, 1, 26},
      {geo_Boundary::Zero, 3, 1, 1, 4, 2, 3, 1, 2, 1, 1, 19},
      {geo_Boundary::Valid, 5, 2, 1, 3, 1, 3, 1, 3, 3, 1, 23},
      // Circular, stride 3, phase filters larger than the phase grid: e = 9 = H, phase taps 4
      // over 9 / 3 = 3 phase rows (they wrap more than once)
      {geo_Boundary::Circular, 3, 2, 5, 5, 3, 3, 2, 2, 2, 9, 9},
      {geo_Boundary::Circular, 2, 2, 4, 5, 3, 2, 3, 2, 1, 12, 10},  // 4 taps over 4, 5 over 5
      {geo_Boundary::Circular, 2, 1, 1, 5, 1, 3, 1, 2, 2, 1, 9},    // 1-D, 4 taps over 3
      // more maps than one register block holds, leftover maps
      {geo_Boundary::Zero, 13, 5, 3, 3, 2, 1, 1, 2, 2, 17, 19},
      {geo_Boundary::Valid, 11, 6, 4, 2, 1, 3, 2, 1, 3, 15, 23},
      {geo_Boundary::Circular, 17, 3, 3, 5, 2, 2, 1, 1, 2, 14, 18},
      // 3 x 3 between 16 and 16 maps at stride 1: the Winograd kernel (Zero, Circular)
      {geo_Boundary::Zero, 16, 16, 3, 3, 1, 1, 1, 1, 2, 20, 21},
      {geo_Boundary::Circular, 16, 16, 3, 3, 1, 1, 1, 1, 2, 18, 19},
      {geo_Boundary::Valid, 16, 16, 3, 3, 1, 1, 1, 1, 1, 18, 19},
  };
  for (const Row& r : rows) {
    geo_Case t;
    t.g = {r.b, r.K, r.C, r.kh, r.kw, r.sh, r.sw, r.dh, r.dw};
    t.N = r.N;
    t.H = r.H;
    t.W = r.W;
    INFO(geo_describe(t));
    mlcsc::Matrix<S> f;
    const auto D = geo_dictionary<S>(t.g, f);
    const auto x = geo_random_maps<S>(t.N, t.g.C, t.H, t.W);
    const geo_Ref ref = geo_ref_analyze(t.g, f, x.data().data(), t.N, t.H, t.W);
    const auto gamma = D.analyze(x);
    REQUIRE(geo_shape(gamma) == geo_shape(t.N, t.g.K, ref.H, ref.W));
    CHECK(geo_compare(gamma.data().data(), ref, geo_tol<S>()) == "");
    const auto g = geo_random_maps<S>(t.N, t.g.K, ref.H, ref.W);
    geo_Maps<S> xs(t.N, t.g.C, t.H, t.W);
    D.synthesize(g, xs);
    CHECK(geo_compare(xs.data().data(), geo_ref_synthesize(t.g, f, g.data().data(), t.N, t.H, t.W),
                      geo_tol<S>()) == "");
  }
}

// ------------------------------------------------------------------------------------------------
// 2. synthesize

TEMPLATE_TEST_CASE("Geometry: synthesize equals the plain adjoint loop", "[conv][geometry]", float,
                   double) {
  using S = TestType;
  SECTION("random geometries, signal sizes mostly not the smallest for their code") {
    for (int trial = 0; trial < 200; ++trial) {
      const geo_Case t = geo_random_case();
      const geo_Geometry& g = t.g;
      INFO("trial " << trial << ": " << geo_describe(t));
      mlcsc::Matrix<S> f;
      const auto D = geo_dictionary<S>(g, f);
      const geo_Index Hc = g.code_h(t.H), Wc = g.code_w(t.W);
      const auto gamma = geo_random_maps<S>(t.N, g.K, Hc, Wc);

      // into the signal of the trial's size, holding garbage
      const geo_Ref ref = geo_ref_synthesize(g, f, gamma.data().data(), t.N, t.H, t.W);
      geo_Maps<S> x(t.N, g.C, t.H, t.W);
      x.data().setConstant(S(-3e5));
      D.synthesize(gamma, x);
      CHECK(geo_compare(x.data().data(), ref, geo_tol<S>()) == "");

      // the allocating form: the smallest signal with this code size
      const geo_Index Hs = geo_smallest_signal(g.b, Hc, g.kh, g.sh, g.dh);
      const geo_Index Ws = geo_smallest_signal(g.b, Wc, g.kw, g.sw, g.dw);
      const auto xs = D.synthesize(gamma);
      REQUIRE(geo_shape(xs) == geo_shape(t.N, g.C, Hs, Ws));
      CHECK(D.code_height(Hs) == Hc);
      CHECK(D.code_width(Ws) == Wc);
      const geo_Ref ref_s = geo_ref_synthesize(g, f, gamma.data().data(), t.N, Hs, Ws);
      CHECK(geo_compare(xs.data().data(), ref_s, geo_tol<S>()) == "");

      // the test's own references are adjoint (in double, exact up to rounding): <S g, y> =
      // <g, A y> for a random y
      const auto y = geo_random_maps<S>(t.N, g.C, t.H, t.W);
      const geo_Ref ay = geo_ref_analyze(g, f, y.data().data(), t.N, t.H, t.W);
      double lhs = 0, rhs = 0, scale = 0;
      for (std::size_t o = 0; o < ref.val.size(); ++o) {
        lhs += ref.val[o] * double(y.data().data()[o]);
        scale += ref.mag[o] * std::abs(double(y.data().data()[o]));
      }
      for (std::size_t o = 0; o < ay.val.size(); ++o)
        rhs += double(gamma.data().data()[o]) * ay.val[o];
      CHECK(std::abs(lhs - rhs) <= 1e-12 * scale);
    }
  }

  SECTION("chosen signal sizes that are not the smallest for their code") {
    struct Row {
      geo_Boundary b;
      geo_Index kh, kw, sh, sw, dh, dw, H, W;
    };
    const Row rows[] = {
        // Zero stride 2, even H and W: code H / 2, the smallest signal H - 1
        {geo_Boundary::Zero, 3, 3, 2, 2, 1, 1, 10, 14},
        {geo_Boundary::Zero, 4, 2, 2, 2, 1, 1, 12, 6},   // even kernels
        {geo_Boundary::Zero, 3, 5, 3, 2, 2, 1, 11, 10},  // H = 3 Hc - 1, W = 2 Wc
        // Valid with H - e not a multiple of s: pixels past the last window get nothing
        {geo_Boundary::Valid, 3, 3, 2, 2, 1, 1, 10, 12},  // e = 3: 10 - 3 = 7, 12 - 3 = 9
        {geo_Boundary::Valid, 3, 2, 3, 2, 2, 3, 13, 11},  // e_h = 5: 8, e_w = 4: 7
        {geo_Boundary::Valid, 1, 4, 1, 3, 1, 1, 1, 21},   // 1-D: 21 - 4 = 17
    };
    for (const Row& r : rows) {
      geo_Case t;
      t.g = {r.b, 3, 2, r.kh, r.kw, r.sh, r.sw, r.dh, r.dw};
      t.N = 2;
      t.H = r.H;
      t.W = r.W;
      INFO(geo_describe(t));
      const geo_Geometry& g = t.g;
      const geo_Index Hc = g.code_h(t.H), Wc = g.code_w(t.W);
      // the size really is larger than the smallest one, along both axes (1-D: the width)
      if (t.H > 1) REQUIRE(geo_smallest_signal(g.b, Hc, g.kh, g.sh, g.dh) < t.H);
      REQUIRE(geo_smallest_signal(g.b, Wc, g.kw, g.sw, g.dw) < t.W);
      mlcsc::Matrix<S> f;
      const auto D = geo_dictionary<S>(g, f);
      const auto gamma = geo_random_maps<S>(t.N, g.K, Hc, Wc);
      geo_Maps<S> x(t.N, g.C, t.H, t.W);
      x.data().setConstant(S(7));
      D.synthesize(gamma, x);
      CHECK(geo_compare(x.data().data(),
                        geo_ref_synthesize(g, f, gamma.data().data(), t.N, t.H, t.W),
                        geo_tol<S>()) == "");
    }
  }
}

// ------------------------------------------------------------------------------------------------
// 3. the explicit global matrix

TEMPLATE_TEST_CASE("Geometry: the global matrix, its transpose and ||A||^2 on small sizes",
                   "[conv][geometry][lipschitz]", float, double) {
  using S = TestType;
  using mlcsc_test::uniform_int;
  int done = 0;
  for (int attempt = 0; done < 24 && attempt < 1000; ++attempt) {
    geo_Case t;
    geo_Geometry& g = t.g;
    g.b = geo_Boundary(done % 3);  // each boundary in turn
    g.K = uniform_int(1, 3);
    g.C = uniform_int(1, 3);
    const bool one_d = uniform_int(0, 4) == 0;
    g.kh = one_d ? 1 : uniform_int(1, 4);
    g.kw = uniform_int(1, 4);
    g.sh = one_d && g.b == geo_Boundary::Circular ? 1 : uniform_int(1, 3);
    g.sw = uniform_int(1, 3);
    g.dh = uniform_int(1, 2);
    g.dw = uniform_int(1, 2);
    t.H = one_d ? 1 : uniform_int(1, 9);
    t.W = uniform_int(1, 9);
    const geo_Index Hc = g.code_h(t.H), Wc = g.code_w(t.W);
    if (Hc < 1 || Wc < 1 || g.K * Hc * Wc > 200) continue;
    ++done;
    INFO(geo_describe(t));
    mlcsc::Matrix<S> f;
    const auto D = geo_dictionary<S>(g, f);
    const geo_Index rows = g.K * Hc * Wc, cols = g.C * t.H * t.W;

    // A from the definition: row (k, i, j), column (c, ii, jj), in double
    mlcsc::Matrix<double> A = mlcsc::Matrix<double>::Zero(rows, cols);
    const geo_Index Ph = geo_pad(g.b, g.kh, g.dh), Pw = geo_pad(g.b, g.kw, g.dw);
    for (geo_Index k = 0; k < g.K; ++k)
      for (geo_Index i = 0; i < Hc; ++i)
        for (geo_Index j = 0; j < Wc; ++j)
          for (geo_Index c = 0; c < g.C; ++c)
            for (geo_Index u = 0; u < g.kh; ++u)
              for (geo_Index v = 0; v < g.kw; ++v) {
                geo_Index ii = g.sh * i + g.dh * u - Ph, jj = g.sw * j + g.dw * v - Pw;
                if (!geo_resolve(g.b, ii, t.H) || !geo_resolve(g.b, jj, t.W)) continue;
                A((k * Hc + i) * Wc + j, (c * t.H + ii) * t.W + jj) +=
                    double(f(k, (c * g.kh + u) * g.kw + v));
              }

    // Every entry of A is one filter tap (the taps of one output land on distinct pixels: e <= H
    // for Circular), and analyzing / synthesizing a unit vector sums one tap with zeros: the
    // library's columns are exact, whatever the Scalar.
    geo_Maps<S> e(1, g.C, t.H, t.W), col(1, g.K, Hc, Wc);
    double worst_analyze = 0;
    for (geo_Index p = 0; p < cols; ++p) {
      e.setZero();
      e.data().data()[p] = S(1);
      D.analyze(e, col);
      for (geo_Index q = 0; q < rows; ++q)
        worst_analyze = std::max(worst_analyze, std::abs(double(col.data().data()[q]) - A(q, p)));
    }
    CHECK(worst_analyze == 0);
    // synthesize(unit code q) = column q of A^T = row q of A, for this signal size
    geo_Maps<S> unit(1, g.K, Hc, Wc), x(1, g.C, t.H, t.W);
    double worst_synthesize = 0;
    for (geo_Index q = 0; q < rows; ++q) {
      unit.setZero();
      unit.data().data()[q] = S(1);
      D.synthesize(unit, x);
      for (geo_Index p = 0; p < cols; ++p)
        worst_synthesize =
            std::max(worst_synthesize, std::abs(double(x.data().data()[p]) - A(q, p)));
    }
    CHECK(worst_synthesize == 0);

    // ||A||_2^2: the largest eigenvalue of the smaller Gram matrix
    const mlcsc::Matrix<double> G = rows <= cols ? mlcsc::Matrix<double>(A * A.transpose())
                                                 : mlcsc::Matrix<double>(A.transpose() * A);
    // lambda_max by Householder tridiagonalization + bisection (tested on its own against known
    // spectra in test_internal_symmetric_lambda_max.cpp; Eigen's eigensolver costs ~9 s of compile
    // time in this translation unit)
    const double lambda = mlcsc::internal::symmetric_lambda_max(G);
    const double L = double(D.lipschitz(t.H, t.W));
    INFO(std::setprecision(17) << "lambda_max(A A^T) " << lambda << ", lipschitz " << L
                               << ", relative difference " << (L - lambda) / lambda);
    if (g.b == geo_Boundary::Circular) {
      // exact in double (the DFT of the polyphase filters) to ~1e-12 here; in float the double
      // value is rounded once (6e-8 relative)
      const double tol = std::is_same<S, float>::value ? 1e-6 : 1e-8;
      CHECK(std::abs(L - lambda) <= tol * lambda);
    } else {
      // a Lanczos estimate raised by 0.2%, capped by the exact norm of a larger circular
      // operator: [lambda, 1.003 lambda]. When that cap is tight (e.g. 1 x 1 filters, or a
      // subsampling), L and lambda are the same number computed two ways (a DFT, an
      // eigensolver): equal to ~1e-15, either below; 1e-12 relative covers it. In float the
      // operator Lanczos runs on and L itself are rounded (~1e-7 relative): 1e-5.
      const double low = lambda * (1 - (std::is_same<S, float>::value ? 1e-5 : 1e-12));
      CHECK(L >= low);
      CHECK(L <= lambda * 1.003 + 1e-12);
    }
  }
  CHECK(done == 24);
}

// ------------------------------------------------------------------------------------------------
// 4. batches

namespace {
// Checks that the batch results of D for x (analyze) and gamma (synthesize into N x C x H x W)
// are those of each image alone (geo_batch_equal: bitwise except on the lowered form) (copied into
// its own object), computed under `alone_threads` OpenMP threads, the batch under `batch_threads`.
template <class S>
void geo_check_batch(const mlcsc::ConvDictionary<S>& D, const geo_Maps<S>& x,
                     const geo_Maps<S>& gamma, int batch_threads, int alone_threads) {
  const geo_Index N = x.batch();
  geo_Maps<S> ga(N, gamma.channels(), gamma.height(), gamma.width());
  geo_Maps<S> xs(N, x.channels(), x.height(), x.width());
  {
    geo_Threads threads(batch_threads);
    D.analyze(x, ga);
    D.synthesize(gamma, xs);
  }
  geo_Threads threads(alone_threads);
  for (geo_Index n = 0; n < N; ++n) {
    INFO("image " << n << " of " << N);
    const geo_Maps<S> xn(x.image(n)), gn(gamma.image(n));  // copies
    REQUIRE(xn.batch() == 1);
    const auto an = D.analyze(xn);
    geo_Maps<S> sn(1, x.channels(), x.height(), x.width());
    D.synthesize(gn, sn);
    CHECK(geo_batch_equal(D, true, x.height(), x.width(), ga.image(n).ptr(), an.data().data(),
                          an.size()));
    CHECK(geo_batch_equal(D, false, x.height(), x.width(), xs.image(n).ptr(), sn.data().data(),
                          sn.size()));
  }
}
}  // namespace

TEMPLATE_TEST_CASE("Geometry: a batch gives the results of each image alone",
                   "[conv][geometry][batch]", float, double) {
  using S = TestType;
  SECTION("random geometries, one and two threads") {
    for (int trial = 0; trial < 40; ++trial) {
      geo_Case t = geo_random_case(4);
      t.N = std::max<geo_Index>(t.N, 2);
      INFO("trial " << trial << ": " << geo_describe(t));
      mlcsc::Matrix<S> f;
      const auto D = geo_dictionary<S>(t.g, f);
      const auto x = geo_random_maps<S>(t.N, t.g.C, t.H, t.W);
      const auto gamma = geo_random_maps<S>(t.N, t.g.K, t.g.code_h(t.H), t.g.code_w(t.W));
      geo_check_batch(D, x, gamma, 1, 1);
      geo_check_batch(D, x, gamma, 2, 1);  // in parallel over images when N >= 2
    }
  }
  SECTION("8 images of 4 x 32 x 32, 16 filters 3 x 3, stride 2: in parallel over images") {
    for (geo_Boundary b : {geo_Boundary::Zero, geo_Boundary::Valid, geo_Boundary::Circular}) {
      geo_Case t;
      t.g = {b, 16, 4, 3, 3, 2, 2, 1, 1};
      t.N = 8;
      t.H = t.W = 32;
      INFO(geo_describe(t));
      mlcsc::Matrix<S> f;
      const auto D = geo_dictionary<S>(t.g, f);
      const auto x = geo_random_maps<S>(t.N, t.g.C, t.H, t.W);
      const auto gamma = geo_random_maps<S>(t.N, t.g.K, t.g.code_h(t.H), t.g.code_w(t.W));
      geo_check_batch(D, x, gamma, 2, 1);
      geo_check_batch(D, x, gamma, 2, 2);
      // and the values are right
      const auto ga = D.analyze(x);
      CHECK(geo_compare(ga.data().data(), geo_ref_analyze(t.g, f, x.data().data(), t.N, t.H, t.W),
                        geo_tol<S>()) == "");
      geo_Maps<S> xs(t.N, t.g.C, t.H, t.W);
      D.synthesize(gamma, xs);
      CHECK(geo_compare(xs.data().data(),
                        geo_ref_synthesize(t.g, f, gamma.data().data(), t.N, t.H, t.W),
                        geo_tol<S>()) == "");
    }
  }
  SECTION("large images (>= 2e7 multiply-adds each): in parallel over tiles") {
    // 16 filters of 4 x 5 x 5 on 4 x 128 x 128: 16 4 25 128^2 = 2.6e7 multiply-adds per image
    geo_Case t;
    t.g = {geo_Boundary::Zero, 16, 4, 5, 5, 1, 1, 1, 1};
    t.N = 2;
    t.H = t.W = 128;
    INFO(geo_describe(t));
    mlcsc::Matrix<S> f;
    const auto D = geo_dictionary<S>(t.g, f);
    const auto x = geo_random_maps<S>(t.N, t.g.C, t.H, t.W);
    const auto gamma = geo_random_maps<S>(t.N, t.g.K, t.H, t.W);
    geo_check_batch(D, x, gamma, 2, 1);
  }
  SECTION("a single large image: 2 threads give the 1-thread bits and the right values") {
    // 1 x 3 x 101 x 97, 12 filters 5 x 4, stride 1 x 2, dilation 2 x 1, Valid and Zero
    for (geo_Boundary b : {geo_Boundary::Zero, geo_Boundary::Valid, geo_Boundary::Circular}) {
      geo_Case t;
      t.g = {b, 12, 3, 5, 4, 1, 2, 2, 1};
      t.N = 1;
      t.H = 101;
      t.W = b == geo_Boundary::Circular ? 98 : 97;
      INFO(geo_describe(t));
      mlcsc::Matrix<S> f;
      const auto D = geo_dictionary<S>(t.g, f);
      const auto x = geo_random_maps<S>(1, t.g.C, t.H, t.W);
      const auto gamma = geo_random_maps<S>(1, t.g.K, t.g.code_h(t.H), t.g.code_w(t.W));
      geo_Maps<S> a1(1, t.g.K, gamma.height(), gamma.width()), a2 = a1;
      geo_Maps<S> s1(1, t.g.C, t.H, t.W), s2 = s1;
      {
        geo_Threads one(1);
        D.analyze(x, a1);
        D.synthesize(gamma, s1);
      }
      {
        geo_Threads two(2);
        D.analyze(x, a2);
        D.synthesize(gamma, s2);
      }
      CHECK(a1.data() == a2.data());
      CHECK(s1.data() == s2.data());
      CHECK(geo_compare(a2.data().data(), geo_ref_analyze(t.g, f, x.data().data(), 1, t.H, t.W),
                        geo_tol<S>()) == "");
      CHECK(geo_compare(s2.data().data(),
                        geo_ref_synthesize(t.g, f, gamma.data().data(), 1, t.H, t.W),
                        geo_tol<S>()) == "");
    }
  }
}

// ------------------------------------------------------------------------------------------------
// 5. views

TEMPLATE_TEST_CASE("Geometry: views give bitwise the owned objects' results", "[conv][geometry]",
                   float, double) {
  using S = TestType;
  for (int trial = 0; trial < 30; ++trial) {
    const geo_Case t = geo_random_case();
    const geo_Geometry& g = t.g;
    INFO("trial " << trial << ": " << geo_describe(t));
    mlcsc::Matrix<S> f;
    const auto D = geo_dictionary<S>(g, f);
    const geo_Index Hc = g.code_h(t.H), Wc = g.code_w(t.W);
    const geo_Index xsize = t.N * g.C * t.H * t.W, gsize = t.N * g.K * Hc * Wc;
    const auto x = geo_random_maps<S>(t.N, g.C, t.H, t.W);
    const auto gamma = geo_random_maps<S>(t.N, g.K, Hc, Wc);
    const auto ga = D.analyze(x);
    geo_Maps<S> xs(t.N, g.C, t.H, t.W);
    D.synthesize(gamma, xs);

    {  // views over std::vector memory
      const std::vector<S> xv(x.data().data(), x.data().data() + xsize);
      const std::vector<S> gv(gamma.data().data(), gamma.data().data() + gsize);
      std::vector<S> out_g(gsize, S(5)), out_x(xsize, S(5));
      const mlcsc::ConstFeatureMapsView<S> xview(xv.data(), t.N, g.C, t.H, t.W);
      const mlcsc::ConstFeatureMapsView<S> gview(gv.data(), t.N, g.K, Hc, Wc);
      D.analyze(xview, mlcsc::FeatureMapsView<S>(out_g.data(), t.N, g.K, Hc, Wc));
      D.synthesize(gview, mlcsc::FeatureMapsView<S>(out_x.data(), t.N, g.C, t.H, t.W));
      CHECK(geo_bitwise_equal(out_g.data(), ga.data().data(), gsize));
      CHECK(geo_bitwise_equal(out_x.data(), xs.data().data(), xsize));
      // the allocating forms from views
      CHECK(D.analyze(xview).data() == ga.data());
      const auto smallest = D.synthesize(gview);
      CHECK(smallest.data() == D.synthesize(gamma).data());
    }

    {  // image(n) views read and write image n of the batch
      for (geo_Index n = 0; n < t.N; ++n) {
        geo_Maps<S> gn(t.N, g.K, Hc, Wc), xn(t.N, g.C, t.H, t.W);
        gn.data().setConstant(S(9));
        xn.data().setConstant(S(9));
        D.analyze(x.image(n), gn.image(n));
        D.synthesize(gamma.image(n), xn.image(n));
        CHECK(geo_batch_equal(D, true, t.H, t.W, gn.image(n).ptr(), ga.image(n).ptr(),
                              g.K * Hc * Wc));
        CHECK(geo_batch_equal(D, false, t.H, t.W, xn.image(n).ptr(), xs.image(n).ptr(),
                              g.C * t.H * t.W));
        // the other images are untouched
        for (geo_Index m = 0; m < t.N; ++m) {
          if (m == n) continue;
          CHECK((gn.image(m).data().array() == S(9)).all());
          CHECK((xn.image(m).data().array() == S(9)).all());
        }
      }
    }

    {  // views at an offset into a larger buffer stay inside their range:
      // unaligned offsets; the inputs' neighbours are NaN (a read outside would show in the
      // results), the outputs' neighbours a sentinel (a write outside would change it)
      const geo_Index pre = 3, post = 19;
      const S nan = std::numeric_limits<S>::quiet_NaN(), sentinel = S(-777.25);
      std::vector<S> xbuf(pre + xsize + post, nan), gbuf(pre + gsize + post, nan);
      std::copy(x.data().data(), x.data().data() + xsize, xbuf.begin() + pre);
      std::copy(gamma.data().data(), gamma.data().data() + gsize, gbuf.begin() + pre);
      std::vector<S> out_g(pre + gsize + post, sentinel), out_x(pre + xsize + post, sentinel);
      std::fill(out_g.begin() + pre, out_g.begin() + pre + gsize, S(1e5));
      std::fill(out_x.begin() + pre, out_x.begin() + pre + xsize, S(1e5));
      D.analyze(mlcsc::ConstFeatureMapsView<S>(xbuf.data() + pre, t.N, g.C, t.H, t.W),
                mlcsc::FeatureMapsView<S>(out_g.data() + pre, t.N, g.K, Hc, Wc));
      D.synthesize(mlcsc::ConstFeatureMapsView<S>(gbuf.data() + pre, t.N, g.K, Hc, Wc),
                   mlcsc::FeatureMapsView<S>(out_x.data() + pre, t.N, g.C, t.H, t.W));
      CHECK(geo_bitwise_equal(out_g.data() + pre, ga.data().data(), gsize));
      CHECK(geo_bitwise_equal(out_x.data() + pre, xs.data().data(), xsize));
      auto guards_intact = [&](const std::vector<S>& buf, geo_Index size) {
        for (geo_Index i = 0; i < pre; ++i)
          if (!(buf[i] == sentinel)) return false;
        for (geo_Index i = pre + size; i < geo_Index(buf.size()); ++i)
          if (!(buf[i] == sentinel)) return false;
        return true;
      };
      CHECK(guards_intact(out_g, gsize));
      CHECK(guards_intact(out_x, xsize));
    }
  }
}

// ------------------------------------------------------------------------------------------------
// 6. bad input

// CHECKs that the message m holds `part`, printing m when it does not.
#define GEO_CHECK_HAS(m, part)                \
  do {                                        \
    INFO("message: " << (m));                 \
    CHECK(mlcsc_test::contains((m), (part))); \
  } while (false)

TEMPLATE_TEST_CASE("Geometry: bad input throws std::invalid_argument naming the argument",
                   "[conv][geometry][errors]", float, double) {
  using S = TestType;
  using mlcsc_test::invalid_argument_message;

  SECTION("set_stride and set_dilation below 1") {
    mlcsc::ConvDictionary<S> D(2, 1, 3, 3, geo_Boundary::Zero);
    std::string m = invalid_argument_message([&] { D.set_stride(0, 1); });
    GEO_CHECK_HAS(m, "set_stride");
    GEO_CHECK_HAS(m, "0 x 1");
    m = invalid_argument_message([&] { D.set_stride(2, -1); });
    GEO_CHECK_HAS(m, "set_stride");
    m = invalid_argument_message([&] { D.set_dilation(1, 0); });
    GEO_CHECK_HAS(m, "set_dilation");
    GEO_CHECK_HAS(m, "1 x 0");
    m = invalid_argument_message([&] { D.set_dilation(-2, 1); });
    GEO_CHECK_HAS(m, "set_dilation");
    // a rejected geometry leaves the old one
    CHECK(D.stride_h() == 1);
    CHECK(D.stride_w() == 1);
    CHECK(D.dilation_h() == 1);
    CHECK(D.dilation_w() == 1);
  }

  SECTION("Circular: a height not a multiple of the stride") {
    mlcsc::ConvDictionary<S> D(2, 1, 3, 3, geo_Boundary::Circular);
    D.filters().setOnes();
    D.set_stride(2, 1);
    const geo_Maps<S> x(1, 1, 7, 8);
    std::string m = invalid_argument_message([&] { (void)D.analyze(x); });
    GEO_CHECK_HAS(m, "'x'");
    GEO_CHECK_HAS(m, "height");
    GEO_CHECK_HAS(m, "stride 2");
    geo_Maps<S> gamma(1, 2, 3, 8);
    m = invalid_argument_message([&] { D.analyze(x, gamma); });
    GEO_CHECK_HAS(m, "'x'");
    GEO_CHECK_HAS(m, "stride");
    m = invalid_argument_message([&] { (void)D.code_height(7); });
    GEO_CHECK_HAS(m, "code_height");
    GEO_CHECK_HAS(m, "stride 2");
    GEO_CHECK_HAS(m, "7");
    m = invalid_argument_message([&] { (void)D.lipschitz(7, 8); });
    GEO_CHECK_HAS(m, "lipschitz");
    GEO_CHECK_HAS(m, "7 x 8");
    // a multiple of the stride is fine
    CHECK(D.code_height(8) == 4);
  }

  SECTION("Valid: a signal smaller than the dilated kernel") {
    mlcsc::ConvDictionary<S> D(2, 1, 5, 3, geo_Boundary::Valid);
    D.filters().setOnes();
    D.set_dilation(2, 1);  // e_h = 9
    const geo_Maps<S> x(1, 1, 8, 8);
    std::string m = invalid_argument_message([&] { (void)D.analyze(x); });
    GEO_CHECK_HAS(m, "'x'");
    GEO_CHECK_HAS(m, "dilated kernel");
    GEO_CHECK_HAS(m, "height 9");
    m = invalid_argument_message([&] { (void)D.code_height(8); });
    GEO_CHECK_HAS(m, "code_height");
    CHECK(D.code_height(9) == 1);
    CHECK(D.code_width(3) == 1);
    m = invalid_argument_message([&] { (void)D.code_width(2); });
    GEO_CHECK_HAS(m, "code_width");
    geo_Maps<S> xs(1, 1, 8, 8);
    const geo_Maps<S> g(1, 2, 1, 6);
    m = invalid_argument_message([&] { D.synthesize(g, xs); });
    GEO_CHECK_HAS(m, "'x'");
  }

  SECTION("views: null pointer, negative size") {
    std::vector<S> buf(16);
    std::string m =
        invalid_argument_message([&] { mlcsc::FeatureMapsView<S> v(nullptr, 1, 1, 4, 4); });
    GEO_CHECK_HAS(m, "FeatureMapsView");
    GEO_CHECK_HAS(m, "'data'");
    GEO_CHECK_HAS(m, "null");
    m = invalid_argument_message([&] { mlcsc::ConstFeatureMapsView<S> v(nullptr, 1, 1, 4, 4); });
    GEO_CHECK_HAS(m, "ConstFeatureMapsView");
    GEO_CHECK_HAS(m, "'data'");
    m = invalid_argument_message([&] { mlcsc::FeatureMapsView<S> v(buf.data(), 1, -1, 4, 4); });
    GEO_CHECK_HAS(m, "FeatureMapsView");
    GEO_CHECK_HAS(m, "non-negative");
    GEO_CHECK_HAS(m, "-1");
    m = invalid_argument_message(
        [&] { mlcsc::ConstFeatureMapsView<S> v(buf.data(), -2, 1, 4, 4); });
    GEO_CHECK_HAS(m, "ConstFeatureMapsView");
    GEO_CHECK_HAS(m, "-2");
  }

  SECTION("gamma of another batch than x") {
    mlcsc::ConvDictionary<S> D(4, 2, 3, 3, geo_Boundary::Zero);
    D.filters().setOnes();
    D.set_stride(2, 2);
    const geo_Maps<S> x(3, 2, 9, 9);
    geo_Maps<S> gamma(2, 4, 5, 5);  // right code size, wrong batch
    std::string m = invalid_argument_message([&] { D.analyze(x, gamma); });
    GEO_CHECK_HAS(m, "'gamma'");
    GEO_CHECK_HAS(m, "3 x 4 x 5 x 5");  // the expected shape
    GEO_CHECK_HAS(m, "2 x 4 x 5 x 5");  // the given one
    geo_Maps<S> xo(3, 2, 9, 9);
    m = invalid_argument_message([&] { D.synthesize(gamma, xo); });
    GEO_CHECK_HAS(m, "'gamma'");
    // wrong channels
    const geo_Maps<S> x3(3, 3, 9, 9);
    m = invalid_argument_message([&] { (void)D.analyze(x3); });
    GEO_CHECK_HAS(m, "'x'");
    geo_Maps<S> g5(3, 5, 5, 5);
    m = invalid_argument_message([&] { D.analyze(x, g5); });
    GEO_CHECK_HAS(m, "'gamma'");
  }

  SECTION("synthesize into an x whose code size is not gamma's") {
    mlcsc::ConvDictionary<S> D(2, 1, 3, 3, geo_Boundary::Zero);
    D.filters().setOnes();
    D.set_stride(2, 2);
    const geo_Maps<S> gamma(1, 2, 4, 4);
    geo_Maps<S> x10(1, 1, 10, 10);  // code 5 x 5
    std::string m = invalid_argument_message([&] { D.synthesize(gamma, x10); });
    GEO_CHECK_HAS(m, "'gamma'");
    GEO_CHECK_HAS(m, "1 x 2 x 5 x 5");  // the code x10 has
    GEO_CHECK_HAS(m, "1 x 2 x 4 x 4");  // gamma
    // both 7 x 7 (the smallest) and 8 x 8 have a 4 x 4 code
    geo_Maps<S> x7(1, 1, 7, 7), x8(1, 1, 8, 8);
    CHECK_NOTHROW(D.synthesize(gamma, x7));
    CHECK_NOTHROW(D.synthesize(gamma, x8));
  }
}

#undef GEO_CHECK_HAS

// ------------------------------------------------------------------------------------------------
// 7. PyTorch-convention spot checks, by hand

TEMPLATE_TEST_CASE("Geometry: hand-computed PyTorch-convention values", "[conv][geometry]", float,
                   double) {
  using S = TestType;
  // x = arange(25).reshape(1, 1, 5, 5): x[i, j] = 5 i + j
  geo_Maps<S> x(1, 1, 5, 5);
  for (geo_Index i = 0; i < 5; ++i)
    for (geo_Index j = 0; j < 5; ++j) x.channel(0, 0)(i, j) = S(5 * i + j);
  auto expect = [](const geo_Maps<S>& g, std::vector<double> want, geo_Index h, geo_Index w) {
    REQUIRE(g.batch() == 1);
    REQUIRE(g.channels() == 1);
    REQUIRE(g.height() == h);
    REQUIRE(g.width() == w);
    for (geo_Index i = 0; i < h; ++i)
      for (geo_Index j = 0; j < w; ++j) {
        INFO("at [" << i << ", " << j << "]");
        CHECK(double(g.channel(0, 0)(i, j)) == want[i * w + j]);
      }
  };

  SECTION("3 x 3 ones, Valid, stride 2: conv2d(x, ones, stride=2)") {
    mlcsc::ConvDictionary<S> D(1, 1, 3, 3, geo_Boundary::Valid);
    D.filters().setOnes();
    D.set_stride(2, 2);
    // windows rows/cols {0,1,2} and {2,3,4}:
    //  [0,0]: (0+1+2) + (5+6+7) + (10+11+12)        = 3 + 18 + 33  = 54
    //  [0,1]: (2+3+4) + (7+8+9) + (12+13+14)        = 9 + 24 + 39  = 72
    //  [1,0]: (10+11+12) + (15+16+17) + (20+21+22)  = 33 + 48 + 63 = 144
    //  [1,1]: (12+13+14) + (17+18+19) + (22+23+24)  = 39 + 54 + 69 = 162
    expect(D.analyze(x), {54, 72, 144, 162}, 2, 2);
  }
  SECTION("3 x 3 ones, Zero, stride 2: conv2d(x, ones, stride=2, padding=1)") {
    mlcsc::ConvDictionary<S> D(1, 1, 3, 3, geo_Boundary::Zero);
    D.filters().setOnes();
    D.set_stride(2, 2);
    // code 3 x 3, window centered at (2i, 2j), clipped to the image:
    //  [0,0] rows 0-1 cols 0-1: 0+1+5+6                 = 12
    //  [0,1] rows 0-1 cols 1-3: 1+2+3+6+7+8             = 27
    //  [0,2] rows 0-1 cols 3-4: 3+4+8+9                 = 24
    //  [1,0] rows 1-3 cols 0-1: 5+6+10+11+15+16         = 63
    //  [1,1] rows 1-3 cols 1-3: 9 x 12 (the center)     = 108
    //  [1,2] rows 1-3 cols 3-4: 8+9+13+14+18+19         = 81
    //  [2,0] rows 3-4 cols 0-1: 15+16+20+21             = 72
    //  [2,1] rows 3-4 cols 1-3: 16+17+18+21+22+23       = 117
    //  [2,2] rows 3-4 cols 3-4: 18+19+23+24             = 84
    expect(D.analyze(x), {12, 27, 24, 63, 108, 81, 72, 117, 84}, 3, 3);
  }
  SECTION("3 x 3 ones, Valid, dilation 2: conv2d(x, ones, dilation=2)") {
    mlcsc::ConvDictionary<S> D(1, 1, 3, 3, geo_Boundary::Valid);
    D.filters().setOnes();
    D.set_dilation(2, 2);
    // e = 5: one output, the taps at rows/cols {0, 2, 4}:
    // (0+2+4) + (10+12+14) + (20+22+24) = 6 + 36 + 66 = 108
    expect(D.analyze(x), {108}, 1, 1);
  }
  SECTION("a 3 x 3 filter 1..9, Valid: a correlation (no flip)") {
    mlcsc::ConvDictionary<S> D(1, 1, 3, 3, geo_Boundary::Valid);
    for (geo_Index u = 0; u < 3; ++u)
      for (geo_Index v = 0; v < 3; ++v) D.filter(0, 0)(u, v) = S(3 * u + v + 1);
    // [0,0] = sum (3u+v+1)(5u+v): u=0: 1*0+2*1+3*2 = 8; u=1: 4*5+5*6+6*7 = 92;
    // u=2: 7*10+8*11+9*12 = 266; total 366. Moving one column adds sum(w) = 45, one row 5*45.
    expect(D.analyze(x), {366, 411, 456, 591, 636, 681, 816, 861, 906}, 3, 3);
  }
  SECTION("1-D, Circular, filter [1 2 3]: gamma[j] = x[j-1] + 2 x[j] + 3 x[j+1] (mod 5)") {
    mlcsc::ConvDictionary<S> D(1, 1, 1, 3, geo_Boundary::Circular);
    D.filter(0, 0) << S(1), S(2), S(3);
    geo_Maps<S> s(1, 1, 1, 5);
    for (geo_Index j = 0; j < 5; ++j) s.channel(0, 0)(0, j) = S(j);
    // j=0: 4 + 0 + 3 = 7; j=1: 0 + 2 + 6 = 8; j=2: 1 + 4 + 9 = 14; j=3: 2 + 6 + 12 = 20;
    // j=4: 3 + 8 + 0 = 11
    expect(D.analyze(s), {7, 8, 14, 20, 11}, 1, 5);
  }
  SECTION("1-D, Zero, even filter [1 10]: padding 0 left, 1 right (torch padding='same')") {
    mlcsc::ConvDictionary<S> D(1, 1, 1, 2, geo_Boundary::Zero);
    D.filter(0, 0) << S(1), S(10);
    geo_Maps<S> s(1, 1, 1, 5);
    for (geo_Index j = 0; j < 5; ++j) s.channel(0, 0)(0, j) = S(j);
    // gamma[j] = x[j] + 10 x[j+1]: 10, 21, 32, 43, 4 + 0
    expect(D.analyze(s), {10, 21, 32, 43, 4}, 1, 5);
  }
  SECTION("1-D, Valid, stride 2 synthesize: conv_transpose1d([1, 10], [1 2 3], stride=2)") {
    mlcsc::ConvDictionary<S> D(1, 1, 1, 3, geo_Boundary::Valid);
    D.filter(0, 0) << S(1), S(2), S(3);
    D.set_stride(1, 2);
    geo_Maps<S> g(1, 1, 1, 2);
    g.channel(0, 0) << S(1), S(10);
    // smallest signal (2 - 1) 2 + 3 = 5: [1 2 3 0 0] + 10 [0 0 1 2 3] = [1 2 13 20 30]
    expect(D.synthesize(g), {1, 2, 13, 20, 30}, 1, 5);
    // into 6 samples (also a code of 2): the last one gets nothing
    geo_Maps<S> x6(1, 1, 1, 6);
    x6.data().setConstant(S(-1));
    D.synthesize(g, x6);
    expect(x6, {1, 2, 13, 20, 30, 0}, 1, 6);
  }
}
