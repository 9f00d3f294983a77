// fft/real_fft2.hpp: the 2-D DFT of real planes against its definition, summed in double
//   X[p, q] = sum_{h,w} x[h, w] e^{-2 pi i (p h / H + q w / W)},  q <= W / 2,
// and the unscaled inverse (H W x), on odd, even, prime and 1-wide sizes and several planes.
// Tolerances: the transforms' rounding grows like eps log(H W) ||x||_2 per value; against the
// largest |X| (about sqrt(H W) for Gaussian x) the error stays below 50 eps for these sizes
// (measured below 7 eps, double and float alike, with both backends).
#include <cmath>
#include <complex>
#include <limits>
#include <vector>

#include <mlcsc/fft/real_fft2.hpp>

#include "test_support.hpp"

namespace {

using mlcsc::Index;

template <class Scalar>
void check_real_fft2(Index H, Index W, Index planes) {
  CAPTURE(H, W, planes);
  const double eps = double(std::numeric_limits<Scalar>::epsilon());
  mlcsc::internal::RealFFT2<Scalar> fft(H, W);
  REQUIRE(fft.spectrum_width() == W / 2 + 1);
  REQUIRE(fft.spectrum_size() == H * (W / 2 + 1));
  const mlcsc::Matrix<Scalar> x = mlcsc_test::randn<Scalar>(H * W, planes);
  std::vector<std::complex<Scalar>> X(std::size_t(planes * fft.spectrum_size()));
  fft.forward(x.data(), X.data(), planes);
  const double two_pi = 6.283185307179586476925286766559;
  double err = 0, largest = 0;
  for (Index i = 0; i < planes; ++i)
    for (Index p = 0; p < H; ++p)
      for (Index q = 0; q <= W / 2; ++q) {
        std::complex<double> s = 0;
        for (Index h = 0; h < H; ++h)
          for (Index w = 0; w < W; ++w)
            s += double(x(h * W + w, i)) *
                 std::polar(1.0, -two_pi * (double((p * h) % H) / double(H) +
                                            double((q * w) % W) / double(W)));
        const std::complex<double> got(
            X[std::size_t(i * fft.spectrum_size() + p * (W / 2 + 1) + q)]);
        err = std::max(err, std::abs(got - s));
        largest = std::max(largest, std::abs(s));
      }
  CHECK(err <= 50 * eps * largest);
  mlcsc::Matrix<Scalar> back(H * W, planes);
  fft.inverse(X.data(), back.data(), planes);
  const double inv_err = (back.template cast<double>() / double(H * W) - x.template cast<double>())
                             .cwiseAbs()
                             .maxCoeff();
  CHECK(inv_err <= 50 * eps * x.template cast<double>().cwiseAbs().maxCoeff());
}

}  // namespace

TEMPLATE_TEST_CASE("RealFFT2: forward is the DFT and inverse its unscaled inverse", "[fft]", float,
                   double) {
  for (auto [H, W] : {std::pair<Index, Index>{1, 1},
                      {1, 7},
                      {6, 1},
                      {8, 8},
                      {7, 9},
                      {12, 10},
                      {13, 11},
                      {16, 6},
                      {5, 30}})
    check_real_fft2<TestType>(H, W, 3);
  for (int trial = 0; trial < 4; ++trial)
    check_real_fft2<TestType>(mlcsc_test::uniform_int(1, 24), mlcsc_test::uniform_int(1, 24),
                              mlcsc_test::uniform_int(1, 3));
}

TEST_CASE("RealFFT2: a plane of zero size throws std::invalid_argument", "[fft]") {
  CHECK(mlcsc_test::contains(
      mlcsc_test::invalid_argument_message([] { mlcsc::internal::RealFFT2<double>(0, 4); }),
      "RealFFT2: expected a plane of at least 1 x 1, got 0 x 4"));
}

TEST_CASE("RealFFT2: plans are moved, not shared", "[fft]") {
  mlcsc::internal::RealFFT2<double> a(6, 5);
  mlcsc::internal::RealFFT2<double> b(std::move(a));
  CHECK(b.height() == 6);
  CHECK(b.width() == 5);
  std::vector<double> x(30, 1.0);
  std::vector<std::complex<double>> X(18);
  b.forward(x.data(), X.data(), 1);
  CHECK(std::abs(X[0] - std::complex<double>(30.0)) < 1e-12);
  CHECK(std::abs(X[1]) < 1e-12);
}
