// mlcsc: a circular stride-1 convolutional dictionary's analysis and synthesis by FFT, and the
// rule that chooses them over the direct and Winograd kernels.
//
// With the filter spectra F_{k,c} of fft/filter_spectra.hpp and unscaled DFTs (real_fft2.hpp),
//   analyze:     gamma_k = IDFT( sum_c conj(F_{k,c}) DFT(x_c) ) / (H W)
//   synthesize:  x_c     = IDFT( sum_k F_{k,c} DFT(gamma_k) ) / (H W)
// equal to the direct correlation with Boundary::Circular (any dilation) to rounding.
//
// The rule (frequency_cheaper), per image, in multiply-adds of the direct kernel:
//   direct:     K C kh kw H W
//   frequency:  (K + C) a H W log2(H W) + 8 K C H (W / 2 + 1)
// with a the cost of one transform per point and level, measured against the direct kernel on
// the same machine (bench_admm, Zen 4, float, 256 x 256): FFTW's r2c + c2r pair takes as long as
// about 2 x 3.3 N log2 N of the direct kernel's multiply-adds, Eigen's kissfft about 6 times
// more (a = 3.3 with FFTW, 20 with Eigen); the complex products run at about an eighth of the
// direct kernel's rate. So with FFTW, 36 filters of 12 x 12 on 256 x 256 run 2.5x cheaper in
// frequency, 64 filters of 7 x 7 stay direct, and with Eigen's FFT only filters of about
// 24 x 24 and more move to the frequency domain. 3 x 3 filters (Winograd) never do.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include <Eigen/Core>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"
#include "filter_spectra.hpp"
#include "real_fft2.hpp"

namespace mlcsc {

/// Whether a circular, stride-1 ConvDictionary computes analyze / synthesize in the frequency
/// domain: by the cost model (Automatic, the default), always, or never.
enum class FrequencyDomain { Automatic, Always, Never };

namespace internal {

/// True when FFTs are cheaper than the direct kernel for K filters of C channels, kh x kw taps,
/// on H x W signals (the rule at the top of this file).
inline bool frequency_cheaper(Index K, Index C, Index kh, Index kw, Index H, Index W) {
#ifdef MLCSC_FFTW
  const double a = 3.3;
#else
  const double a = 20;
#endif
  const double n = double(H) * double(W);
  const double direct = double(K) * double(C) * double(kh * kw) * n;
  const double freq = double(K + C) * a * n * std::log2(std::max(n, 2.0)) +
                      8.0 * double(K) * double(C) * double(H) * double(W / 2 + 1);
  return kh * kw > 9 && freq < direct;
}

/// The calling thread's RealFFT2 for H x W (made on the thread's first use of the shape; each
/// thread keeps the plans of its last 4 shapes).
template <class Scalar>
RealFFT2<Scalar>& thread_fft(Index H, Index W) {
  thread_local std::vector<RealFFT2<Scalar>> plans;
  for (auto& f : plans)
    if (f.height() == H && f.width() == W) return f;
  if (plans.size() == 4) plans.erase(plans.begin());
  plans.emplace_back(H, W);
  return plans.back();
}

/// The calling thread's scratch of at least n complex values (grows, never shrinks; a
/// std::vector, outside Eigen's malloc guard, as conv/kernels/workspace.hpp's scratch).
template <class Scalar>
std::complex<Scalar>* thread_spectra(Index n, int which) {
  thread_local std::vector<std::complex<Scalar>> buf[2];
  if (Index(buf[which].size()) < n) buf[which].resize(std::size_t(n));
  return buf[which].data();
}

/// out = D^T in (adjoint: N x C planes in, N x K out) or D in (N x K in, N x C out), each plane
/// H x W, by FFT with the spectra F; the calling thread's plans and scratch.
template <class Scalar>
void frequency_apply(const FilterSpectra<Scalar>& F, const Scalar* in, Scalar* out, Index N,
                     bool adjoint) {
  using Complex = std::complex<Scalar>;
  using Arr = Eigen::Array<Complex, Eigen::Dynamic, 1>;
  RealFFT2<Scalar>& fft = thread_fft<Scalar>(F.height(), F.width());
  const Index K = F.filters(), C = F.channels(), n_in = adjoint ? C : K, n_out = adjoint ? K : C;
  const Index Fn = F.size(), P = F.height() * F.width();
  Complex* sin = thread_spectra<Scalar>(n_in * Fn, 0);
  Complex* sout = thread_spectra<Scalar>(n_out * Fn, 1);
  const Scalar inv = Scalar(1) / Scalar(P);
  for (Index n = 0; n < N; ++n) {
    fft.forward(in + n * n_in * P, sin, n_in);
    for (Index o = 0; o < n_out; ++o) {
      Eigen::Map<Arr> acc(sout + o * Fn, Fn);
      for (Index i = 0; i < n_in; ++i) {
        const Eigen::Map<const Arr> v(sin + i * Fn, Fn);
        const auto f = adjoint ? F.plane(o, i) : F.plane(i, o);
        if (i == 0 && adjoint)
          acc = f.conjugate() * v * inv;
        else if (i == 0)
          acc = f * v * inv;
        else if (adjoint)
          acc += f.conjugate() * v * inv;
        else
          acc += f * v * inv;
      }
    }
    fft.inverse(sout, out + n * n_out * P, n_out);
  }
}

}  // namespace internal
}  // namespace mlcsc
