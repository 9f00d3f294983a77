// mlcsc: convolutional dictionaries. K filters d_k of C channels and kh x kw taps define the global
// dictionary X = D Gamma = sum_k d_k * gamma_k; its analysis D^T X is a CNN layer's correlation.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "../core/boundary.hpp"
#include "../core/errors.hpp"
#include "../core/feature_maps.hpp"
#include "../core/fwd.hpp"
#include "../core/operator.hpp"
#include "../fft/frequency_conv.hpp"
#include "../internal/lanczos.hpp"
#include "../internal/parallel.hpp"
#include "kernels/conv_ops.hpp"

namespace mlcsc {

/// \brief Convolutional dictionary of K filters over C channels, kh x kw taps each, with a stride
/// and a dilation per dimension (default 1).
///
/// Signals are batches of N x C x H x W feature maps, codes N x K x Hc x Wc. With the dilated
/// extent e = d (k - 1) + 1, the stride s and the padding P (Valid: 0, otherwise (e - 1) / 2
/// rounded down), per dimension:
/// \f[ (D^T x)_{n,k}[i,j] = \sum_c \sum_{u,v} d_{k,c}[u,v]\;
///     x_{n,c}[s_h i + d_h u - P_h,\; s_w j + d_w v - P_w], \f]
/// and `synthesize` is its exact adjoint for the signal size it writes into.
///  * `Boundary::Zero` reads outside pixels as 0: torch `conv2d(x, D, stride=s, padding=(e-1)/2,
///    dilation=d)` for odd e (even e: the "same" size at stride 1, one more pixel of padding at
///    the bottom and right); code size ceil(H / s).
///  * `Boundary::Valid` pads nothing: torch `conv2d(x, D, stride=s, padding=0, dilation=d)`, code
///    size floor((H - e) / s) + 1 (the CSC model without boundary assumptions).
///  * `Boundary::Circular` wraps the indices (the banded-circulant global dictionary of Papyan,
///    Sulam & Elad, IEEE TSP 2017); H and W must be multiples of the stride; code size H / s.
/// synthesize is torch's `conv_transpose2d(gamma, D, stride=s, padding=P, dilation=d,
/// output_padding=o)` with o chosen so that the output has the signal's size. docs/operator-
/// concept.md has the conventions and conv/kernels/conv_ops.hpp how each geometry is computed.
/// \code
///   mlcsc::ConvDictionary<float> D(64, 1, 7, 7);      // 64 filters, 1 channel, 7 x 7, circular
///   D.filter(0, 0).setRandom();  ...  D.normalize();
///   mlcsc::FeatureMaps<float> x(1, 256, 256);
///   auto gamma = D.analyze(x);                        // 64 x 256 x 256
///   auto xr = D.synthesize(gamma);                    // 1 x 256 x 256
///   float L = D.lipschitz(256, 256);                  // ||D||_2^2 for 256 x 256 signals
/// \endcode
/// Const member functions are thread-safe (the Lipschitz cache is guarded by a mutex; the
/// constants are computed outside it).
template <class Scalar_>
class ConvDictionary {
 public:
  using Scalar = Scalar_;
  using Signal = FeatureMaps<Scalar>;
  using Code = FeatureMaps<Scalar>;
  using SignalView = ConstFeatureMapsView<Scalar>;
  using CodeView = FeatureMapsView<Scalar>;
  using FilterMap = Eigen::Map<RowMatrix<Scalar>>;
  using ConstFilterMap = Eigen::Map<const RowMatrix<Scalar>>;

  /// K filters of C channels, kh x kw, all zero. Throws if a dimension is < 1.
  ConvDictionary(Index num_filters, Index channels, Index kernel_height, Index kernel_width,
                 Boundary boundary = Boundary::Circular)
      : K_(num_filters), C_(channels), boundary_(boundary) {
    if (K_ < 1 || C_ < 1 || kernel_height < 1 || kernel_width < 1)
      internal::throw_invalid(
          "ConvDictionary: expected num_filters, channels, kernel_height, kernel_width >= 1, got ",
          K_, ", ", C_, ", ", kernel_height, ", ", kernel_width);
    h_ = {kernel_height, 1, 1, boundary};
    w_ = {kernel_width, 1, 1, boundary};
    filters_.setZero(K_, C_ * kernel_height * kernel_width);
  }

  ConvDictionary(const ConvDictionary& o) { copy_from(o); }
  ConvDictionary(ConvDictionary&& o) noexcept { move_from(o); }
  ConvDictionary& operator=(const ConvDictionary& o) {
    if (this != &o) copy_from(o);
    return *this;
  }
  ConvDictionary& operator=(ConvDictionary&& o) noexcept {
    if (this != &o) move_from(o);
    return *this;
  }

  Index num_filters() const { return K_; }
  Index channels() const { return C_; }
  Index kernel_height() const { return h_.taps; }
  Index kernel_width() const { return w_.taps; }
  Boundary boundary() const { return boundary_; }
  Index code_rows() const { return K_; }

  // --- geometry ---------------------------------------------------------------------------------

  /// The stride of the code over the signal (default 1). Throws std::invalid_argument if < 1.
  void set_stride(Index stride_h, Index stride_w) {
    if (stride_h < 1 || stride_w < 1)
      internal::throw_invalid("ConvDictionary::set_stride: expected strides >= 1, got ",
                              internal::shape(stride_h, stride_w));
    h_.stride = stride_h;
    w_.stride = stride_w;
    geometry_changed();
  }
  /// The spacing of the filter taps (default 1). Throws std::invalid_argument if < 1.
  void set_dilation(Index dilation_h, Index dilation_w) {
    if (dilation_h < 1 || dilation_w < 1)
      internal::throw_invalid("ConvDictionary::set_dilation: expected dilations >= 1, got ",
                              internal::shape(dilation_h, dilation_w));
    h_.dilation = dilation_h;
    w_.dilation = dilation_w;
    geometry_changed();
  }
  Index stride_h() const { return h_.stride; }
  Index stride_w() const { return w_.stride; }
  Index dilation_h() const { return h_.dilation; }
  Index dilation_w() const { return w_.dilation; }

  /// The code's height for signals of `signal_height` rows. Throws std::invalid_argument when no
  /// code fits (Valid: a signal smaller than the dilated kernel; Circular: a height that is not
  /// a multiple of the stride or smaller than the dilated kernel).
  Index code_height(Index signal_height) const {
    check_extent(h_, signal_height, "code_height", "height");
    return h_.code_size(signal_height);
  }
  Index code_width(Index signal_width) const {
    check_extent(w_, signal_width, "code_width", "width");
    return w_.code_size(signal_width);
  }

  // --- filters ----------------------------------------------------------------------------------

  /// Channel c of filter k as a writable kh x kw row-major map.
  FilterMap filter(Index k, Index c) {
    check_filter_index(k, c);
    return FilterMap(filters_.data() + (k * C_ + c) * h_.taps * w_.taps, h_.taps, w_.taps);
  }
  ConstFilterMap filter(Index k, Index c) const {
    check_filter_index(k, c);
    return ConstFilterMap(filters_.data() + (k * C_ + c) * h_.taps * w_.taps, h_.taps, w_.taps);
  }
  /// All filters as a K x (C kh kw) row-major matrix: row k is filter k, channels then rows then
  /// columns (the layout of torch's K x C x kh x kw weight).
  const RowMatrix<Scalar>& filters() const { return filters_; }
  RowMatrix<Scalar>& filters() { return filters_; }

  /// Scales each filter d_k, over all its channels, to unit l2 norm. Throws if one is zero.
  void normalize() {
    for (Index k = 0; k < K_; ++k) {
      const Scalar nrm = filters_.row(k).norm();
      if (!(nrm > Scalar(0)) || !std::isfinite(double(nrm)))
        internal::throw_invalid(
            "ConvDictionary::normalize: expected nonzero finite filters, got filter ", k, " (",
            internal::shape(C_, h_.taps, w_.taps), ") with norm ", nrm);
    }
    filters_.rowwise().normalize();
  }

  // --- the operator concept -------------------------------------------------------------------

  /// Any feature maps (owned or a view) as a read-only view: no copy.
  SignalView signal_view(SignalView y) const { return y; }

  /// Throws unless y is a nonempty batch of channels() channels whose size has a code (see
  /// code_height), with finite values.
  void check_signal(SignalView y, const char* where, const char* name) const {
    check_maps(y, C_, where, name, "channel");
    check_extent(h_, y.height(), where, name);
    check_extent(w_, y.width(), where, name);
    internal::require_finite(y.data(), where, name);
  }
  /// Throws unless g is a nonempty batch of num_filters() maps with finite values.
  void check_code(SignalView g, const char* where, const char* name) const {
    check_maps(g, K_, where, name, "filter");
    internal::require_finite(g.data(), where, name);
  }

  Code code_like(SignalView y) const {
    return Code(y.batch(), K_, h_.code_size(y.height()), w_.code_size(y.width()));
  }
  /// The smallest signal whose code has g's size.
  Signal signal_like(SignalView g) const {
    return Signal(g.batch(), C_, h_.signal_size(g.height()), w_.signal_size(g.width()));
  }

  /// gamma = D^T x into a caller-sized N x K x code_height(H) x code_width(W) gamma, owned or a
  /// view (no allocation after the first call per thread and shape; throws on a wrong shape,
  /// never resizes).
  void analyze(SignalView x, CodeView gamma) const {
    check_maps(x, C_, "ConvDictionary::analyze", "x", "channel");
    check_extent(h_, x.height(), "ConvDictionary::analyze", "x");
    check_extent(w_, x.width(), "ConvDictionary::analyze", "x");
    check_pair(x, gamma, "analyze", "gamma", true);
    if (frequency_chosen(x.height(), x.width(), "ConvDictionary::analyze"))
      frequency_apply(x, gamma, true);
    else
      internal::conv_analyze(shape(), x, gamma);
  }
  /// x = D gamma into a caller-sized N x C x H x W x whose code has gamma's size (the adjoint of
  /// analyze for that H x W).
  void synthesize(SignalView gamma, CodeView x) const {
    check_maps(gamma, K_, "ConvDictionary::synthesize", "gamma", "filter");
    check_maps(x, C_, "ConvDictionary::synthesize", "x", "channel");
    check_extent(h_, x.height(), "ConvDictionary::synthesize", "x");
    check_extent(w_, x.width(), "ConvDictionary::synthesize", "x");
    check_pair(x, gamma, "synthesize", "gamma", false);
    if (frequency_chosen(x.height(), x.width(), "ConvDictionary::synthesize"))
      frequency_apply(gamma, x, false);
    else
      internal::conv_synthesize(shape(), gamma, x);
  }
  Code analyze(SignalView x) const {
    check_signal(x, "ConvDictionary::analyze", "x");
    Code gamma = code_like(x);
    analyze(x, gamma);
    return gamma;
  }
  /// x = D gamma for the smallest signal whose code has gamma's size.
  Signal synthesize(SignalView gamma) const {
    check_code(gamma, "ConvDictionary::synthesize", "gamma");
    Signal x = signal_like(gamma);
    synthesize(gamma, x);
    return x;
  }

  // --- the frequency domain (fft/) -------------------------------------------------------------

  /// Where analyze and synthesize of a circular, stride-1 dictionary run: FrequencyDomain::
  /// Automatic (the default) chooses the FFT path where fft/frequency_conv.hpp's cost model says
  /// it is cheaper than the direct kernels, Always and Never force it. Always on another geometry
  /// makes analyze / synthesize throw std::invalid_argument.
  void set_frequency_domain(FrequencyDomain mode) { frequency_ = mode; }
  FrequencyDomain frequency_domain() const { return frequency_; }
  /// Whether analyze / synthesize of H x W signals run by FFT.
  bool uses_frequency_domain(Index height, Index width) const {
    return frequency_supported() &&
           (frequency_ == FrequencyDomain::Always ||
            (frequency_ == FrequencyDomain::Automatic &&
             internal::frequency_cheaper(K_, C_, h_.taps, w_.taps, height, width)));
  }

  /// The filters' frequency responses on the DFT grid of H x W signals (fft/filter_spectra.hpp),
  /// cached per shape and recomputed when the filters or the geometry change; shared, immutable.
  /// Throws std::invalid_argument unless the dictionary is circular with stride 1 and H x W has
  /// a code.
  std::shared_ptr<const internal::FilterSpectra<Scalar>> spectra(Index height, Index width) const {
    if (!frequency_supported())
      internal::throw_invalid("ConvDictionary::spectra: the frequency domain needs a Circular, ",
                              "stride-1 dictionary, got ", to_string(boundary_), geometry_string());
    check_extent(h_, height, "ConvDictionary::spectra", "height");
    check_extent(w_, width, "ConvDictionary::spectra", "width");
    {
      std::lock_guard<std::mutex> lock(mutex_);
      refresh_locked();
      for (const auto& e : spectra_cache_)
        if (e.height == height && e.width == width) return e.spectra;
    }
    // computed outside the lock, with the calling thread's plans
    auto sp = std::make_shared<internal::FilterSpectra<Scalar>>();
    sp->compute(shape(), internal::thread_fft<Scalar>(height, width));
    std::lock_guard<std::mutex> lock(mutex_);
    if (snapshot_ == filters_) {
      for (const auto& e : spectra_cache_)
        if (e.height == height && e.width == width) return e.spectra;
      spectra_cache_.push_back({height, width, sp});
    }
    return sp;
  }

  /// The geometry and filters as the kernels take them (conv/kernels/conv_ops.hpp).
  internal::ConvShape<Scalar> shape() const { return {filters_.data(), K_, C_, h_, w_}; }

  /// \f$ L = \|D\|_2^2 \f$ for H x W signals, cached per shape (recomputed when the filters or
  /// the geometry change). Circular, with min(C s_h s_w, K) <= 32: exact, \f$ L = \max_\omega
  /// \lambda_{\max}(\hat D(\omega) \hat D(\omega)^H) \f$ with \f$ \hat D(\omega) \f$ the
  /// frequency response of the filters on the DFT grid of the code, as a matrix over the C s_h
  /// s_w phase planes of the signal (conv_ops.hpp's polyphase form; at stride 1 the C channels).
  /// Zero and Valid: a Lanczos estimate (at least as tight as power iteration) raised by 0.2% so
  /// that 1/L stays a valid step, and capped by the exact circular value of the polyphase form on
  /// a grid large enough that it does not wrap, an upper bound. With min(C s_h s_w, K) > 32 every
  /// boundary uses the raised Lanczos estimate alone.
  Scalar lipschitz(Index height, Index width) const {
    if (height < 1 || width < 1 || h_.code_size(height) < 1 || w_.code_size(width) < 1 ||
        (boundary_ == Boundary::Circular &&
         (height % h_.stride || width % w_.stride || h_.extent() > height || w_.extent() > width)))
      internal::throw_invalid("ConvDictionary::lipschitz: expected a signal size with a code for ",
                              to_string(boundary_), " filters of ",
                              internal::shape(C_, h_.taps, w_.taps), geometry_string(), ", got ",
                              internal::shape(height, width));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      refresh_locked();
      for (const auto& e : cache_)
        if (e.height == height && e.width == width) return e.value;
    }
    // computed outside the lock: other shapes and other threads are not held up
    const double L = boundary_ == Boundary::Circular ? circular_lipschitz(height, width)
                                                     : zero_lipschitz(height, width);
    std::lock_guard<std::mutex> lock(mutex_);
    if (snapshot_ == filters_) {
      bool found = false;
      for (const auto& e : cache_) found = found || (e.height == height && e.width == width);
      if (!found) cache_.push_back({height, width, Scalar(L)});
    }
    return Scalar(L);
  }
  Scalar lipschitz_for(SignalView y) const { return lipschitz(y.height(), y.width()); }

 private:
  struct CacheEntry {
    Index height, width;
    Scalar value;
  };
  struct SpectraEntry {
    Index height, width;
    std::shared_ptr<const internal::FilterSpectra<Scalar>> spectra;
  };

  // With mutex_ held: drops the caches when the filters changed since they were made.
  void refresh_locked() const {
    if (snapshot_.rows() != filters_.rows() || snapshot_.cols() != filters_.cols() ||
        snapshot_ != filters_) {
      cache_.clear();
      spectra_cache_.clear();
      snapshot_ = filters_;
    }
  }

  bool frequency_supported() const {
    return boundary_ == Boundary::Circular && h_.stride == 1 && w_.stride == 1;
  }
  bool frequency_chosen(Index height, Index width, const char* where) const {
    if (frequency_ == FrequencyDomain::Always && !frequency_supported())
      internal::throw_invalid(where, ": FrequencyDomain::Always needs a Circular, stride-1 ",
                              "dictionary, got ", to_string(boundary_), geometry_string());
    return uses_frequency_domain(height, width);
  }
  // out = D^T in or D in by FFT, over the images in parallel (each thread its own plans).
  void frequency_apply(SignalView in, CodeView out, bool adjoint) const {
    const auto sp = spectra(in.height(), in.width());
    const Index N = in.batch(), is = in.image_size(), os = out.image_size();
    const int threads = N > 1 ? std::min<int>(internal::max_threads(), int(N)) : 1;
    const Index per = (N + threads - 1) / threads;
    internal::parallel_for(Index(threads), threads, [&](Index t) {
      const Index n0 = t * per, n1 = std::min(N, n0 + per);
      if (n0 < n1)
        internal::frequency_apply(*sp, in.ptr() + n0 * is, out.ptr() + n0 * os, n1 - n0, adjoint);
    });
  }

  void copy_from(const ConvDictionary& o) {
    std::scoped_lock lock(mutex_, o.mutex_);
    K_ = o.K_;
    C_ = o.C_;
    h_ = o.h_;
    w_ = o.w_;
    boundary_ = o.boundary_;
    filters_ = o.filters_;
    snapshot_ = o.snapshot_;
    cache_ = o.cache_;
    spectra_cache_ = o.spectra_cache_;
    frequency_ = o.frequency_;
  }
  // A move takes the buffers: nothing can fail, and the moved-from object has no filters.
  void move_from(ConvDictionary& o) noexcept {
    K_ = o.K_;
    C_ = o.C_;
    h_ = o.h_;
    w_ = o.w_;
    boundary_ = o.boundary_;
    filters_ = std::move(o.filters_);
    snapshot_ = std::move(o.snapshot_);
    cache_ = std::move(o.cache_);
    spectra_cache_ = std::move(o.spectra_cache_);
    frequency_ = o.frequency_;
  }

  void geometry_changed() {
    std::lock_guard<std::mutex> lock(mutex_);
    cache_.clear();
    spectra_cache_.clear();
  }

  std::string geometry_string() const {
    std::string s;
    if (h_.stride != 1 || w_.stride != 1) s += ", stride " + internal::shape(h_.stride, w_.stride);
    if (h_.dilation != 1 || w_.dilation != 1)
      s += ", dilation " + internal::shape(h_.dilation, w_.dilation);
    return s;
  }

  void check_filter_index(Index k, Index c) const {
    if (k < 0 || k >= K_ || c < 0 || c >= C_)
      internal::throw_invalid("ConvDictionary::filter: expected k in [0, ", K_, ") and c in [0, ",
                              C_, "), got k = ", k, ", c = ", c);
  }

  static std::string maps_string(const SignalView& m) {
    return std::to_string(m.batch()) + " x " + std::to_string(m.channels()) + " x " +
           std::to_string(m.height()) + " x " + std::to_string(m.width());
  }

  void check_maps(const SignalView& m, Index expected_channels, const char* where, const char* name,
                  const char* what) const {
    if (m.channels() != expected_channels || m.batch() < 1 || m.height() < 1 || m.width() < 1)
      internal::throw_invalid(where, ": expected '", name, "' of N x ", expected_channels,
                              " x H x W with N, H, W >= 1 (", expected_channels, " ", what,
                              "s: the dictionary has ", K_, " filters of ",
                              internal::shape(C_, h_.taps, w_.taps), "), got ", maps_string(m));
  }

  // A signal size along one axis must have a code: Valid needs n >= e, Circular n >= e and n a
  // multiple of the stride.
  void check_extent(const internal::Axis& a, Index n, const char* where, const char* name) const {
    const char* axis = &a == &h_ ? "height" : "width";
    if (n < 1)
      internal::throw_invalid(where, ": expected a ", axis, " >= 1 for '", name, "', got ", n);
    if (a.boundary != Boundary::Zero && n < a.extent())
      internal::throw_invalid(where, ": expected '", name, "' at least as large as the dilated ",
                              "kernel (", axis, " ", a.extent(), ", ", to_string(a.boundary),
                              " boundary", geometry_string(), "), got ", axis, " ", n);
    if (a.boundary == Boundary::Circular && n % a.stride != 0)
      internal::throw_invalid(where, ": a Circular signal's ", axis,
                              " must be a multiple of the stride ", a.stride, ", got '", name,
                              "' of ", axis, " ", n);
  }

  // The signal x and the code g of one analyze / synthesize call: one code per image, of the
  // size code_height / code_width give for x.
  void check_pair(const SignalView& x, const SignalView& g, const char* fn, const char* name,
                  bool output) const {
    const Index hc = h_.code_size(x.height()), wc = w_.code_size(x.width());
    if (g.batch() != x.batch() || g.channels() != K_ || g.height() != hc || g.width() != wc)
      internal::throw_invalid("ConvDictionary::", fn, ": expected ", output ? "output " : "", "'",
                              name, "' of ", x.batch(), " x ", K_, " x ", hc, " x ", wc,
                              " for the signal of ", maps_string(x), geometry_string(), " (",
                              to_string(boundary_), "), got ", maps_string(g));
  }

  // The filters of the polyphase form (conv_ops.hpp), K x (C s_h s_w) x th x tw in double: tap
  // (u, v) of d_{k,c} at phase plane (c s_h + r_h) s_w + r_w, phase-filter tap (m_h, m_w). At
  // stride 1 and dilation 1 these are the filters themselves.
  Matrix<double> phase_bank() const {
    const Index sh = h_.stride, sw = w_.stride, th = h_.phase_taps(), tw = w_.phase_taps();
    const Index planes = C_ * sh * sw;
    Matrix<double> bank = Matrix<double>::Zero(K_ * planes * th, tw);
    for (Index k = 0; k < K_; ++k)
      for (Index c = 0; c < C_; ++c)
        for (Index u = 0; u < h_.taps; ++u) {
          const Index oh = h_.dilation * u - h_.pad();
          const Index mh = internal::Axis::floor_div(oh, sh), rh = oh - mh * sh;
          for (Index v = 0; v < w_.taps; ++v) {
            const Index ow = w_.dilation * v - w_.pad();
            const Index mw = internal::Axis::floor_div(ow, sw), rw = ow - mw * sw;
            const Index p = (c * sh + rh) * sw + rw;
            bank((k * planes + p) * th + mh - h_.m_min(), mw - w_.m_min()) =
                double(filters_(k, (c * h_.taps + u) * w_.taps + v));
          }
        }
    return bank;
  }

  // Exact ||A||^2 of the circular stride-1 correlation from C' to K maps on an H x W grid with
  // the bank's filters (K x C' x th x tw, as phase_bank lays them out): the global operator is
  // block circulant, diagonalized by the 2-D DFT; at frequency w its C' x K block is
  // A_{c,k}(w) = sum_{u,v} f_{k,c}[u,v] e^{-2 pi i (p u / H + q v / W)} (the anchor only adds a
  // common phase). L = max_w lambda_max(A A^H). Real filters: A(-w) = conj(A(w)), so half of the
  // rows p suffice. Filters larger than the grid alias (the sum wraps), as they must.
  static double circular_bank_lipschitz(const Matrix<double>& bank, Index K, Index C, Index kh,
                                        Index kw, Index H, Index W) {
    using cd = std::complex<double>;
    const double two_pi = 6.283185307179586476925286766559;
    const Index n = std::min(C, K);
    // T[(k C + c) kh + u, q] = sum_v f_{k,c}[u,v] e^{-2 pi i q v / W}
    Eigen::Matrix<cd, Eigen::Dynamic, Eigen::Dynamic> ex(kw, W), ey(H / 2 + 1, kh);
    for (Index v = 0; v < kw; ++v)
      for (Index q = 0; q < W; ++q)
        ex(v, q) = std::polar(1.0, -two_pi * double((q * v) % W) / double(W));
    for (Index p = 0; p <= H / 2; ++p)
      for (Index u = 0; u < kh; ++u)
        ey(p, u) = std::polar(1.0, -two_pi * double((p * u) % H) / double(H));
    const Eigen::Matrix<cd, Eigen::Dynamic, Eigen::Dynamic> T = bank.template cast<cd>() * ex;
    double L = 0;
    // lambda_max of the n x n Hermitian B = X + iY (the smaller of A A^H and A^H A) is that of the
    // real symmetric [[X, -Y], [Y, X]] (the same eigenvalues, each twice), so the real routine
    // internal/symmetric_lambda_max.hpp does.
    Eigen::Matrix<cd, Eigen::Dynamic, Eigen::Dynamic> A(C, K);
    Matrix<double> R(2 * n, 2 * n);  // rebuilt whole at every frequency, then overwritten
    internal::SymmetricLambdaMaxScratch scratch;
    const bool rows = C <= K;  // B = A A^H (C x C) or A^H A (K x K)
    for (Index p = 0; p <= H / 2; ++p)
      for (Index q = 0; q < W; ++q) {
        for (Index k = 0; k < K; ++k)
          for (Index c = 0; c < C; ++c) {
            cd s = 0;
            for (Index u = 0; u < kh; ++u) s += T((k * C + c) * kh + u, q) * ey(p, u);
            A(c, k) = s;
          }
        double lmax;
        if (n == 1) {
          lmax = A.squaredNorm();
        } else {
          for (Index i = 0; i < n; ++i)
            for (Index j = 0; j <= i; ++j) {
              cd b = 0;
              if (rows)
                for (Index k = 0; k < K; ++k) b += A(i, k) * std::conj(A(j, k));
              else
                for (Index c = 0; c < C; ++c) b += std::conj(A(c, i)) * A(c, j);
              // B(i,j) = b, B(j,i) = conj(b): X(i,j) = X(j,i) = Re b, Y(i,j) = -Y(j,i) = Im b
              R(i, j) = R(j, i) = R(n + i, n + j) = R(n + j, n + i) = b.real();
              R(n + i, j) = R(j, n + i) = b.imag();
              R(i, n + j) = R(n + j, i) = -b.imag();
            }
          lmax = internal::symmetric_lambda_max_in_place(R, scratch);
        }
        L = std::max(L, lmax);
      }
    return L;
  }

  Index phase_planes() const { return C_ * h_.stride * w_.stride; }

  // Circular: the phase split is a permutation of the signal, so ||D||^2 is that of the
  // polyphase form's circular correlation on the (H / s_h) x (W / s_w) grid of the code.
  double circular_lipschitz(Index H, Index W) const {
    if (std::min(phase_planes(), K_) > 32)
      return lanczos_lipschitz(H, W, std::numeric_limits<double>::infinity());
    return circular_bank_lipschitz(phase_bank(), K_, phase_planes(), h_.phase_taps(),
                                   w_.phase_taps(), H / h_.stride, W / w_.stride);
  }

  // Zero and Valid: Lanczos on D^T D, capped by the circular value of the polyphase form on a
  // grid where it does not wrap. The operator is the zero-padded phase split (norm <= 1) followed
  // by a zero-boundary correlation, itself a restriction of the circular correlation on any grid
  // that holds the phase planes and every index the code reads without wrapping one onto another.
  double zero_lipschitz(Index H, Index W) const {
    double upper = std::numeric_limits<double>::infinity();
    if (std::min(phase_planes(), K_) <= 32) {
      auto grid = [](const internal::Axis& a, Index n) {
        const Index np = (n + a.stride - 1) / a.stride, top = -a.m_min();
        return std::max(np, a.code_size(n) + a.phase_taps() - 1 - top) + std::max<Index>(top, 0);
      };
      upper = circular_bank_lipschitz(phase_bank(), K_, phase_planes(), h_.phase_taps(),
                                      w_.phase_taps(), grid(h_, H), grid(w_, W));
    }
    return lanczos_lipschitz(H, W, upper);
  }

  // Lanczos on D^T D (internal/lanczos.hpp) from a seeded random start, in double, with a 0.2%
  // margin above the largest Ritz value (it covers the float operator's rounding and an
  // unconverged tail, so that 1/L stays a valid step), capped by `upper`.
  double lanczos_lipschitz(Index H, Index W, double upper) const {
    const internal::ConvShape<Scalar> S = shape();
    const Index Hc = h_.code_size(H), Wc = w_.code_size(W);
    const Index N = K_ * Hc * Wc;
    Code z(K_, Hc, Wc), az(K_, Hc, Wc);
    Signal x(C_, H, W);
    internal::LanczosParams p;
    p.upper = upper;
    return internal::lanczos_lambda_max(
        N,
        [&](const Vector<double>& v, Vector<double>& w) {
          Eigen::Map<Vector<Scalar>>(z.data().data(), N) = v.template cast<Scalar>();
          internal::conv_synthesize(S, z, x);
          internal::conv_analyze(S, x, az);
          w = Eigen::Map<const Vector<Scalar>>(az.data().data(), N).template cast<double>();
        },
        p);
  }

  Index K_ = 0, C_ = 0;
  internal::Axis h_, w_;
  Boundary boundary_ = Boundary::Circular;
  RowMatrix<Scalar> filters_;  // K x (C kh kw)
  mutable std::mutex mutex_;
  mutable RowMatrix<Scalar> snapshot_;  // the filters the cache was computed for
  mutable std::vector<CacheEntry> cache_;
  mutable std::vector<SpectraEntry> spectra_cache_;  // filter spectra per signal size
  FrequencyDomain frequency_ = FrequencyDomain::Automatic;
};

}  // namespace mlcsc
