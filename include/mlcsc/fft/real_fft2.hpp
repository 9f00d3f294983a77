// mlcsc: the 2-D discrete Fourier transform of real planes, from a maintained FFT library.
//
//   X[p, q] = sum_{h, w} x[h, w] e^{-2 pi i (p h / H + q w / W)},   q = 0 .. W/2 (the rest is
//   conj-symmetric),  and the inverse  x[h, w] = sum_{p, q} X[p, q] e^{+2 pi i (...)}  unscaled
//   (it returns H W x): callers fold 1 / (H W) into a pass they make anyway.
//
// Backends, chosen at configure time: Eigen's unsupported/Eigen/FFT (kissfft, header-only, the
// default) or FFTW 3 (define MLCSC_FFTW and link fftw3 / fftw3f: CMake option MLCSC_WITH_FFTW;
// FFTW is GPL-licensed, see the README). Eigen: each row by the real half-spectrum transform, then
// each column by a complex transform of length H, a few columns gathered at a time. FFTW: one
// 2-D r2c / c2r plan per shape, made once (FFTW_MEASURE on scratch planes) and executed on every
// plane with FFTW's new-array interface (a second plan without alignment assumptions serves
// planes that are not aligned as the first was).
//
// A RealFFT2 is bound to one H x W; it keeps plans and scratch and is not for concurrent use
// (each thread its own). After construction nothing allocates.
#pragma once

#include <algorithm>
#include <complex>
#include <memory>
#include <mutex>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/FFT>

#ifdef MLCSC_FFTW
#include <fftw3.h>
#endif

#include "../core/errors.hpp"
#include "../core/fwd.hpp"

namespace mlcsc::internal {

#ifdef MLCSC_FFTW
/// FFTW's planner is not thread-safe; every plan is made and destroyed under this lock.
inline std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

template <class Scalar>
struct Fftw;
template <>
struct Fftw<double> {
  using plan = fftw_plan;
  using complex = fftw_complex;
  static plan r2c(int h, int w, double* in, complex* out, unsigned flags) {
    return fftw_plan_dft_r2c_2d(h, w, in, out, flags);
  }
  static plan c2r(int h, int w, complex* in, double* out, unsigned flags) {
    return fftw_plan_dft_c2r_2d(h, w, in, out, flags);
  }
  static void exec(plan p, double* in, complex* out) { fftw_execute_dft_r2c(p, in, out); }
  static void exec(plan p, complex* in, double* out) { fftw_execute_dft_c2r(p, in, out); }
  static void destroy(plan p) { fftw_destroy_plan(p); }
  static int alignment_of(const void* p) {
    return fftw_alignment_of(static_cast<double*>(const_cast<void*>(p)));
  }
  static void* malloc(std::size_t n) { return fftw_malloc(n); }
  static void free(void* p) { fftw_free(p); }
};
template <>
struct Fftw<float> {
  using plan = fftwf_plan;
  using complex = fftwf_complex;
  static plan r2c(int h, int w, float* in, complex* out, unsigned flags) {
    return fftwf_plan_dft_r2c_2d(h, w, in, out, flags);
  }
  static plan c2r(int h, int w, complex* in, float* out, unsigned flags) {
    return fftwf_plan_dft_c2r_2d(h, w, in, out, flags);
  }
  static void exec(plan p, float* in, complex* out) { fftwf_execute_dft_r2c(p, in, out); }
  static void exec(plan p, complex* in, float* out) { fftwf_execute_dft_c2r(p, in, out); }
  static void destroy(plan p) { fftwf_destroy_plan(p); }
  static int alignment_of(const void* p) {
    return fftwf_alignment_of(static_cast<float*>(const_cast<void*>(p)));
  }
  static void* malloc(std::size_t n) { return fftwf_malloc(n); }
  static void free(void* p) { fftwf_free(p); }
};
#endif

/// The name of the FFT library this build uses ("FFTW 3" or "Eigen FFT (kissfft)").
inline const char* fft_backend_name() {
#ifdef MLCSC_FFTW
  return "FFTW 3";
#else
  return "Eigen FFT (kissfft)";
#endif
}

/// Forward and (unscaled) inverse 2-D DFT of real H x W planes; spectra are H x (W/2 + 1),
/// row-major, one after the other.
template <class Scalar>
class RealFFT2 {
 public:
  using Complex = std::complex<Scalar>;

  RealFFT2() = default;
  /// Plans for H x W planes. Throws std::invalid_argument if a side is < 1.
  RealFFT2(Index height, Index width) : H_(height), W_(width), Wh_(width / 2 + 1) {
    if (height < 1 || width < 1)
      throw_invalid("RealFFT2: expected a plane of at least 1 x 1, got ", shape(height, width));
    init();
  }
  RealFFT2(const RealFFT2&) = delete;
  RealFFT2& operator=(const RealFFT2&) = delete;
  RealFFT2(RealFFT2&& o) noexcept { swap(o); }
  RealFFT2& operator=(RealFFT2&& o) noexcept {
    swap(o);
    return *this;
  }
  ~RealFFT2() { release(); }

  Index height() const { return H_; }
  Index width() const { return W_; }
  /// W / 2 + 1, the columns of a spectrum.
  Index spectrum_width() const { return Wh_; }
  /// H (W / 2 + 1), the values of one plane's spectrum.
  Index spectrum_size() const { return H_ * Wh_; }

  /// X = DFT(x) for `planes` planes: x holds planes x H x W reals, X planes x H x (W/2+1).
  void forward(const Scalar* x, Complex* X, Index planes) {
    for (Index i = 0; i < planes; ++i) forward_plane(x + i * H_ * W_, X + i * spectrum_size());
  }
  /// x = H W IDFT(X) for `planes` planes (unscaled). X is overwritten (used as scratch).
  void inverse(Complex* X, Scalar* x, Index planes) {
    for (Index i = 0; i < planes; ++i) inverse_plane(X + i * spectrum_size(), x + i * H_ * W_);
  }

 private:
#ifdef MLCSC_FFTW
  using F = Fftw<Scalar>;
  using FC = typename F::complex;

  void init() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    Scalar* in = static_cast<Scalar*>(F::malloc(sizeof(Scalar) * std::size_t(H_ * W_)));
    FC* out = static_cast<FC*>(F::malloc(sizeof(FC) * std::size_t(H_ * Wh_)));
    const int h = int(H_), w = int(W_);
    fwd_ = F::r2c(h, w, in, out, FFTW_MEASURE);
    inv_ = F::c2r(h, w, out, in, FFTW_MEASURE);
    fwd_u_ = F::r2c(h, w, in, out, FFTW_MEASURE | FFTW_UNALIGNED);
    inv_u_ = F::c2r(h, w, out, in, FFTW_MEASURE | FFTW_UNALIGNED);
    align_ = F::alignment_of(in);
    F::free(in);
    F::free(out);
    if (!fwd_ || !inv_ || !fwd_u_ || !inv_u_)
      throw_invalid("RealFFT2: FFTW could not plan a ", shape(H_, W_), " transform");
  }
  void release() {
    if (!fwd_) return;
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    for (auto p : {fwd_, inv_, fwd_u_, inv_u_})
      if (p) F::destroy(p);
    fwd_ = inv_ = fwd_u_ = inv_u_ = nullptr;
  }
  bool aligned(const void* a, const void* b) const {
    return F::alignment_of(a) == align_ && F::alignment_of(b) == align_;
  }
  void forward_plane(const Scalar* x, Complex* X) {
    Scalar* in = const_cast<Scalar*>(x);  // r2c leaves its input alone
    F::exec(aligned(x, X) ? fwd_ : fwd_u_, in, reinterpret_cast<FC*>(X));
  }
  void inverse_plane(Complex* X, Scalar* x) {
    F::exec(aligned(X, x) ? inv_ : inv_u_, reinterpret_cast<FC*>(X), x);
  }
  void swap(RealFFT2& o) noexcept {
    std::swap(H_, o.H_);
    std::swap(W_, o.W_);
    std::swap(Wh_, o.Wh_);
    std::swap(fwd_, o.fwd_);
    std::swap(inv_, o.inv_);
    std::swap(fwd_u_, o.fwd_u_);
    std::swap(inv_u_, o.inv_u_);
    std::swap(align_, o.align_);
  }

  typename F::plan fwd_ = nullptr, inv_ = nullptr, fwd_u_ = nullptr, inv_u_ = nullptr;
  int align_ = 0;
#else
  // Columns transformed per gather: one 64-byte line of a row holds 8 complex floats.
  static constexpr Index kBlock = 8;

  void init() {
    rows_ = std::make_unique<Eigen::FFT<Scalar> >();
    cols_ = std::make_unique<Eigen::FFT<Scalar> >();
    rows_->SetFlag(Eigen::FFT<Scalar>::HalfSpectrum);
    rows_->SetFlag(Eigen::FFT<Scalar>::Unscaled);
    cols_->SetFlag(Eigen::FFT<Scalar>::Unscaled);
    gather_.assign(std::size_t(kBlock * H_), Complex(0));
    out_.assign(std::size_t(H_), Complex(0));
    // Eigen makes plans, twiddles and scratch on the first use of each length: use them now.
    std::vector<Scalar> plane(std::size_t(H_ * W_), Scalar(0));
    std::vector<Complex> spec(std::size_t(H_ * Wh_), Complex(0));
    forward_plane(plane.data(), spec.data());
    inverse_plane(spec.data(), plane.data());
  }
  void release() {}

  // Rows first (real -> half spectrum), then the columns of the H x Wh result.
  // (kissfft has no length-1 transform: that one is the identity.)
  void forward_plane(const Scalar* x, Complex* X) {
    for (Index h = 0; h < H_; ++h)
      if (W_ == 1)
        X[h] = Complex(x[h]);
      else
        rows_->fwd(X + h * Wh_, x + h * W_, W_);
    columns(X, false);
  }
  void inverse_plane(Complex* X, Scalar* x) {
    columns(X, true);
    for (Index h = 0; h < H_; ++h)
      if (W_ == 1)
        x[h] = X[h].real();
      else
        rows_->inv(x + h * W_, X + h * Wh_, W_);
  }
  // The length-H transform of every column of the H x Wh spectrum X, in place.
  void columns(Complex* X, bool inverse) {
    if (H_ == 1) return;
    for (Index j0 = 0; j0 < Wh_; j0 += kBlock) {
      const Index nb = std::min(kBlock, Wh_ - j0);
      for (Index h = 0; h < H_; ++h)
        for (Index b = 0; b < nb; ++b) gather_[std::size_t(b * H_ + h)] = X[h * Wh_ + j0 + b];
      for (Index b = 0; b < nb; ++b) {
        Complex* col = gather_.data() + b * H_;
        if (inverse)
          cols_->inv(out_.data(), col, H_);
        else
          cols_->fwd(out_.data(), col, H_);
        std::copy(out_.begin(), out_.end(), col);
      }
      for (Index h = 0; h < H_; ++h)
        for (Index b = 0; b < nb; ++b) X[h * Wh_ + j0 + b] = gather_[std::size_t(b * H_ + h)];
    }
  }
  void swap(RealFFT2& o) noexcept {
    std::swap(H_, o.H_);
    std::swap(W_, o.W_);
    std::swap(Wh_, o.Wh_);
    rows_.swap(o.rows_);
    cols_.swap(o.cols_);
    gather_.swap(o.gather_);
    out_.swap(o.out_);
  }

  std::unique_ptr<Eigen::FFT<Scalar> > rows_, cols_;
  std::vector<Complex> gather_, out_;
#endif

  Index H_ = 0, W_ = 0, Wh_ = 0;
};

}  // namespace mlcsc::internal
