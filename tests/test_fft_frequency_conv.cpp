// fft/frequency_conv.hpp (with filter_spectra.hpp) through ConvDictionary: analyze and synthesize
// by FFT (FrequencyDomain::Always) equal the direct kernels (FrequencyDomain::Never) to rounding,
// on random odd, even and non-power-of-two sizes, C > 1, K > 1, dilations and batches; the
// spectra cache follows changed filters and geometry; the cost model's choices; bad input.
// Tolerance: relative Frobenius error <= 100 eps; both sides round like eps sqrt(C kh kw) and
// eps log(H W) relative (measured below 3 eps).
#include <cmath>
#include <complex>
#include <limits>

#include "test_support.hpp"

namespace {
using mlcsc::FrequencyDomain;
using mlcsc::Index;

template <class A, class B>
double fc_relative_error(const A& got, const B& want) {
  const auto g = got.template cast<double>(), w = want.template cast<double>();
  return (g - w).norm() / std::max(w.norm(), 1e-300);
}
}  // namespace

TEMPLATE_TEST_CASE("ConvDictionary: analyze and synthesize by FFT equal the direct kernels",
                   "[fft][conv]", float, double) {
  using Scalar = TestType;
  const double eps = double(std::numeric_limits<Scalar>::epsilon());
  for (int trial = 0; trial < 12; ++trial) {
    const Index K = mlcsc_test::uniform_int(1, 6), C = mlcsc_test::uniform_int(1, 3),
                N = mlcsc_test::uniform_int(1, 3), kh = mlcsc_test::uniform_int(1, 7),
                kw = mlcsc_test::uniform_int(1, 7), dh = mlcsc_test::uniform_int(1, 2),
                dw = trial % 3 == 0 ? 2 : 1;
    auto D = mlcsc_test::random_conv<Scalar>(K, C, kh, kw, mlcsc::Boundary::Circular);
    D.set_dilation(dh, dw);
    const Index H = dh * (kh - 1) + 1 + mlcsc_test::uniform_int(0, 13),
                W = dw * (kw - 1) + 1 + mlcsc_test::uniform_int(0, 13);
    CAPTURE(K, C, N, kh, kw, dh, dw, H, W);
    const auto x = mlcsc_test::random_maps<Scalar>(N, C, H, W);
    const auto g = mlcsc_test::random_maps<Scalar>(N, K, H, W);
    D.set_frequency_domain(FrequencyDomain::Never);
    const auto ga_direct = D.analyze(x);
    const auto xs_direct = D.synthesize(g);
    D.set_frequency_domain(FrequencyDomain::Always);
    REQUIRE(D.uses_frequency_domain(H, W));
    CHECK(fc_relative_error(D.analyze(x).data(), ga_direct.data()) <= 100 * eps);
    CHECK(fc_relative_error(D.synthesize(g).data(), xs_direct.data()) <= 100 * eps);
    // into views of the caller's memory
    mlcsc::FeatureMaps<Scalar> out(N, K, H, W);
    D.analyze(x, mlcsc::FeatureMapsView<Scalar>(out.image(0).ptr(), N, K, H, W));
    CHECK(fc_relative_error(out.data(), ga_direct.data()) <= 100 * eps);
  }
}

TEST_CASE("ConvDictionary: the spectra cache follows the filters and the geometry", "[fft][conv]") {
  auto D = mlcsc_test::random_conv<double>(3, 2, 4, 3, mlcsc::Boundary::Circular);
  D.set_frequency_domain(FrequencyDomain::Always);
  const auto x = mlcsc_test::random_maps<double>(2, 2, 10, 9);
  const auto s1 = D.spectra(10, 9);
  CHECK(D.spectra(10, 9) == s1);  // cached
  CHECK(D.spectra(10, 8) != s1);  // per shape
  (void)D.analyze(x);
  D.filter(1, 0)(2, 1) += 0.5;  // the filters change: the next call sees them
  CHECK(D.spectra(10, 9) != s1);
  auto want = [&] {
    auto E = D;
    E.set_frequency_domain(FrequencyDomain::Never);
    return E.analyze(x);
  };
  CHECK(fc_relative_error(D.analyze(x).data(), want().data()) <= 1e-13);
  D.set_dilation(2, 1);  // so does the geometry
  CHECK(fc_relative_error(D.analyze(x).data(), want().data()) <= 1e-13);
  // a copy carries the mode and shares nothing mutable
  const auto E = D;
  CHECK(E.frequency_domain() == FrequencyDomain::Always);
}

TEST_CASE("ConvDictionary: the frequency domain's cost model", "[fft][conv]") {
  const auto large = mlcsc_test::random_conv<float>(36, 1, 12, 12, mlcsc::Boundary::Circular);
  const auto small = mlcsc_test::random_conv<float>(64, 16, 3, 3, mlcsc::Boundary::Circular);
  auto zero = mlcsc_test::random_conv<float>(36, 1, 12, 12, mlcsc::Boundary::Zero);
  CHECK(!small.uses_frequency_domain(256, 256));  // 3 x 3: Winograd or direct
  CHECK(!zero.uses_frequency_domain(256, 256));   // not circular
  // measured (bench_admm --rule): 36 filters of 12 x 12 run faster direct with either FFT, 16 of
  // 16 x 16 faster by FFTW, 8 of 32 x 32 by either
  CHECK(!large.uses_frequency_domain(256, 256));
  const auto huge = mlcsc_test::random_conv<float>(8, 1, 32, 32, mlcsc::Boundary::Circular);
  CHECK(huge.uses_frequency_domain(128, 128));
  const auto mid = mlcsc_test::random_conv<float>(16, 1, 16, 16, mlcsc::Boundary::Circular);
#ifdef MLCSC_FFTW
  CHECK(mid.uses_frequency_domain(256, 256));
#else
  CHECK(!mid.uses_frequency_domain(256, 256));
#endif
  zero.set_frequency_domain(FrequencyDomain::Always);
  const auto x = mlcsc_test::random_maps<float>(1, 1, 16, 16);
  CHECK(mlcsc_test::contains(mlcsc_test::invalid_argument_message([&] { (void)zero.analyze(x); }),
                             "ConvDictionary::analyze: FrequencyDomain::Always needs a Circular, "
                             "stride-1 dictionary, got Zero"));
  auto strided = mlcsc_test::random_conv<float>(2, 1, 3, 3, mlcsc::Boundary::Circular);
  strided.set_stride(2, 2);
  CHECK(mlcsc_test::contains(
      mlcsc_test::invalid_argument_message([&] { (void)strided.spectra(8, 8); }),
      "ConvDictionary::spectra: the frequency domain needs a Circular, stride-1 dictionary"));
}
