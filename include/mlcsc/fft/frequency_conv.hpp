// mlcsc: a circular stride-1 convolutional dictionary's analysis and synthesis by FFT, and the
// rule that chooses them over the direct and Winograd kernels.
//
// With the filter spectra F_{k,c} of fft/filter_spectra.hpp and unscaled DFTs (real_fft2.hpp),
//   analyze:     gamma_k = IDFT( sum_c conj(F_{k,c}) DFT(x_c) ) / (H W)
//   synthesize:  x_c     = IDFT( sum_k F_{k,c} DFT(gamma_k) ) / (H W)
// equal to the direct correlation with Boundary::Circular (any dilation) to rounding.
//
// The rule (frequency_cheaper), per image, in units of the direct kernel's multiply-adds:
//   direct:     K C kh kw H W
//   frequency:  (K + C) a H W log2(H W) + b K C H (W / 2 + 1)
// a is one transform's cost per point and level, b one complex product's (they stream the
// filter spectra from memory), both measured against the direct kernel on the same machine
// (bench_admm --rule, Zen 4, AVX-512, float; 256 x 256: an FFTW transform 105 us, Eigen's 6x
// that, the direct kernel 89 G multiply-adds/s, a complex product about 1 ns): a = 9 with FFTW,
// 55 with Eigen's FFT, b = 86. So with FFTW, 16 filters of 16 x 16 on 256 x 256 run in frequency
// (measured 1.75x faster) while 36 of 12 x 12 stay direct (FFT 0.74x), and with Eigen's FFT
// only filters of about 32 x 32 move (1 -> 8 filters on 128 x 128: 2x faster). 3 x 3 filters
// (Winograd's) never do.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <deque>
#include <vector>

#include <Eigen/Core>

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
  const double a = 9;
#else
  const double a = 55;
#endif
  const double b = 86;
  const double n = double(H) * double(W);
  const double direct = double(K) * double(C) * double(kh * kw) * n;
  const double freq = double(K + C) * a * n * std::log2(std::max(n, 2.0)) +
                      b * double(K) * double(C) * double(H) * double(W / 2 + 1);
  return kh * kw > 9 && freq < direct;
}

/// The calling thread's RealFFT2 for H x W (made on the thread's first use of the shape; each
/// thread keeps the plans of its last 4 shapes). The reference stays valid while the thread
/// asks for other shapes (a deque does not move its elements when it grows), until 4 newer
/// shapes have evicted this one.
template <class Scalar>
RealFFT2<Scalar>& thread_fft(Index H, Index W) {
  thread_local std::deque<RealFFT2<Scalar>> plans;
  for (auto& f : plans)
    if (f.height() == H && f.width() == W) return f;
  if (plans.size() == 4) plans.pop_front();
  plans.emplace_back(H, W);
  return plans.back();
}

/// The calling thread's scratch of at least n complex values (grows, never shrinks; a
/// std::vector, outside Eigen's malloc guard, as conv/kernels/workspace.hpp's scratch).
template <class Scalar>
std::complex<Scalar>* thread_spectra(Index n, int which) {
  // 64-byte aligned, as FFTW plans its SIMD transforms for (an unaligned array takes slower code)
  constexpr std::size_t align = 64 / sizeof(std::complex<Scalar>);
  thread_local std::vector<std::complex<Scalar>> buf[2];
  if (buf[which].size() < std::size_t(n) + align) buf[which].resize(std::size_t(n) + align);
  const auto p = reinterpret_cast<std::uintptr_t>(buf[which].data());
  return buf[which].data() + ((64 - p % 64) % 64) / sizeof(std::complex<Scalar>);
}

/// out = D^T in (adjoint: N x C planes in, N x K out) or D in (N x K in, N x C out), each plane
/// H x W, by FFT with the spectra F; the calling thread's plans and scratch. The products run
/// over the spectra's blocks of frequencies, so that the input spectra of a block stay in cache
/// for every output.
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
  for (Index n = 0; n < N; ++n) {
    fft.forward(in + n * n_in * P, sin, n_in);
    // 1 / (H W) once, on the inputs, as reals (a real factor on complex values is not vectorized)
    Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(reinterpret_cast<Scalar*>(sin),
                                                        2 * n_in * Fn) *= Scalar(1) / Scalar(P);
    for (Index b = 0; b < F.blocks(); ++b) {
      const Index f0 = b * F.kBlock, m = F.block_size(b);
      for (Index o = 0; o < n_out; ++o) {
        Eigen::Map<Arr> acc(sout + o * Fn + f0, m);
        for (Index i = 0; i < n_in; ++i) {
          const Eigen::Map<const Arr> v(sin + i * Fn + f0, m);
          const auto f = adjoint ? F.segment(b, o, i) : F.segment(b, i, o);
          if (i == 0 && adjoint)
            acc = f.conjugate() * v;
          else if (i == 0)
            acc = f * v;
          else if (adjoint)
            acc += f.conjugate() * v;
          else
            acc += f * v;
        }
      }
    }
    fft.inverse(sout, out + n * n_out * P, n_out);
  }
}

}  // namespace internal
}  // namespace mlcsc
