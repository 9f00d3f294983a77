// mlcsc: the frequency responses of a convolutional dictionary's filters on the DFT grid of an
// H x W circular signal.
//
// With the dictionary's anchor (the padding P and dilation d of conv/conv_dictionary.hpp),
//   F_{k,c}(p, q) = sum_{u,v} d_{k,c}[u,v] e^{-2 pi i (p (d_h u - P_h) / H + q (d_w v - P_w) / W)},
// so that, with X = DFT(x) and G_k = DFT(gamma_k) (unscaled, fft/real_fft2.hpp), the circular
// stride-1 operators of the dictionary are diagonal in frequency:
//   synthesize: X_c = sum_k F_{k,c} G_k,     analyze: G_k = sum_c conj(F_{k,c}) X_c;
// A(w) = [F_{k,c}(w)] is the C x K matrix of one frequency.
//
// Layout: blocks of kBlock frequencies, each holding every filter's and channel's values on its
// frequencies, F_{k,c}(b kBlock + j) at  b K C kBlock + (k C + c) kBlock + j  (the last block
// zero-padded). The products over all K C spectra at one frequency (the ADMM x-step, the FFT
// operators) then read one contiguous stream per block rather than K C planes at once, which the
// hardware prefetchers cannot follow (double, 3 channels, 64 filters on 256 x 256: the x-step
// took 35% less time than over planes, pursuit/conv_admm.hpp).
#pragma once

#include <algorithm>
#include <complex>
#include <vector>

#include <Eigen/Core>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"
#include "../internal/aligned_vector.hpp"
#include "real_fft2.hpp"

namespace mlcsc::internal {

template <class Scalar>
class FilterSpectra {
 public:
  using Complex = std::complex<Scalar>;
  using ComplexArray = Eigen::Array<Complex, Eigen::Dynamic, 1>;

  Index height() const { return H_; }
  Index width() const { return W_; }
  Index filters() const { return K_; }
  Index channels() const { return C_; }
  /// Frequencies per plane: H (W / 2 + 1).
  Index size() const { return F_; }

  /// Frequencies per block of the layout (a block of 64 filters x 3 channels in double: 192 KB,
  /// which stays in L2 between the x-step's two passes over it).
  static constexpr Index kBlock = 64;
  /// Blocks over the frequencies: ceil(size() / kBlock).
  Index blocks() const { return (F_ + kBlock - 1) / kBlock; }
  /// The frequencies of block b that exist: min(kBlock, size() - b kBlock).
  Index block_size(Index b) const { return std::min(kBlock, F_ - b * kBlock); }
  /// Block b: F_{k,c}(b kBlock + j) at block(b)[(k C + c) kBlock + j].
  const Complex* block(Index b) const { return spectra_.data() + b * K_ * C_ * kBlock; }
  /// F_{k,c} over block b's frequencies.
  Eigen::Map<const ComplexArray> segment(Index b, Index k, Index c) const {
    return Eigen::Map<const ComplexArray>(block(b) + (k * C_ + c) * kBlock, block_size(b));
  }

  /// F_{k,c} for H x W signals of the dictionary `shape` (a ConvShape: filters, K, C and the
  /// axes' taps, dilation and padding; stride 1), with `fft` planned for H x W. Allocates only
  /// when the sizes change.
  template <class Shape>
  void compute(const Shape& s, RealFFT2<Scalar>& fft) {
    H_ = fft.height();
    W_ = fft.width();
    K_ = s.K;
    C_ = s.C;
    F_ = fft.spectrum_size();
    const Index kh = s.h.taps, kw = s.w.taps;
    plane_.assign(std::size_t(H_ * W_), Scalar(0));
    spectrum_.resize(std::size_t(F_));
    spectra_.assign(std::size_t(blocks() * K_ * C_ * kBlock), Complex(0));
    for (Index k = 0; k < K_; ++k)
      for (Index c = 0; c < C_; ++c) {
        // the taps at their positions on the circle; taps that wrap onto one position add up
        std::fill(plane_.begin(), plane_.end(), Scalar(0));
        const Scalar* d = s.filters + (k * C_ + c) * kh * kw;
        for (Index u = 0; u < kh; ++u) {
          const Index h = mod(s.h.dilation * u - s.h.pad(), H_);
          for (Index v = 0; v < kw; ++v)
            plane_[std::size_t(h * W_ + mod(s.w.dilation * v - s.w.pad(), W_))] += d[u * kw + v];
        }
        fft.forward(plane_.data(), spectrum_.data(), 1);
        for (Index b = 0; b < blocks(); ++b)
          std::copy_n(spectrum_.data() + b * kBlock, block_size(b),
                      spectra_.data() + (b * K_ * C_ + k * C_ + c) * kBlock);
      }
  }

 private:
  static Index mod(Index a, Index n) {
    const Index r = a % n;
    return r < 0 ? r + n : r;
  }

  Index H_ = 0, W_ = 0, K_ = 0, C_ = 0, F_ = 0;
  // made inside a solver's loop on first use, outside Eigen's malloc guard (as
  // conv/kernels/workspace.hpp's scratch); 64-byte aligned, so that the products with them
  // round the same way wherever the buffer lies (internal/aligned_vector.hpp)
  AlignedVector<Complex> spectra_, spectrum_;  // the blocks; one plane's spectrum
  std::vector<Scalar> plane_;
};

}  // namespace mlcsc::internal
