// mlcsc: convolutional dictionaries. K filters d_k of C channels and kh x kw taps define the global
// dictionary X = D Gamma = sum_k d_k * gamma_k; its analysis D^T X is a CNN layer's correlation.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "../core/boundary.hpp"
#include "../core/errors.hpp"
#include "../core/feature_maps.hpp"
#include "../core/fwd.hpp"
#include "../core/operator.hpp"
#include "../internal/lanczos.hpp"
#include "kernels/conv_ops.hpp"

namespace mlcsc {

/// \brief Convolutional dictionary of K filters over C channels, kh x kw taps each.
///
/// Signals are C x H x W feature maps, codes K x H x W (the signal's height and width, for both
/// boundaries). With anchors \f$ a = \lfloor (kh-1)/2 \rfloor, b = \lfloor (kw-1)/2 \rfloor \f$:
/// \f[ (D^T x)_k[i,j] = \sum_c \sum_{u,v} d_{k,c}[u,v]\, x_c[i+u-a,\; j+v-b], \qquad
///     (D\gamma)_c = \sum_k d_{k,c} * \gamma_k \ \text{(the exact adjoint)}, \f]
/// `Boundary::Zero` reads outside pixels as 0 (torch `conv2d(x, D, padding=k//2)` and
/// `conv_transpose2d` for odd kernels), `Boundary::Circular` wraps them (the banded-circulant
/// global dictionary of Papyan, Sulam & Elad, IEEE TSP 2017).
/// \code
///   mlcsc::ConvDictionary<float> D(64, 1, 7, 7);      // 64 filters, 1 channel, 7 x 7, circular
///   D.filter(0, 0).setRandom();  ...  D.normalize();
///   mlcsc::FeatureMaps<float> x(1, 256, 256);
///   auto gamma = D.analyze(x);                        // 64 x 256 x 256
///   auto xr = D.synthesize(gamma);                    // 1 x 256 x 256
///   float L = D.lipschitz(256, 256);                  // ||D||_2^2 for 256 x 256 signals
/// \endcode
/// Const member functions are thread-safe (the Lipschitz cache is guarded by a mutex).
template <class Scalar_>
class ConvDictionary {
 public:
  using Scalar = Scalar_;
  using Signal = FeatureMaps<Scalar>;
  using Code = FeatureMaps<Scalar>;
  using FilterMap = Eigen::Map<RowMatrix<Scalar>>;
  using ConstFilterMap = Eigen::Map<const RowMatrix<Scalar>>;

  /// K filters of C channels, kh x kw, all zero. Throws if a dimension is < 1.
  ConvDictionary(Index num_filters, Index channels, Index kernel_height, Index kernel_width,
                 Boundary boundary = Boundary::Circular)
      : K_(num_filters), C_(channels), kh_(kernel_height), kw_(kernel_width), boundary_(boundary) {
    if (K_ < 1 || C_ < 1 || kh_ < 1 || kw_ < 1)
      internal::throw_invalid(
          "ConvDictionary: expected num_filters, channels, kernel_height, kernel_width >= 1, got ",
          K_, ", ", C_, ", ", kh_, ", ", kw_);
    filters_.setZero(K_, C_ * kh_ * kw_);
  }

  ConvDictionary(const ConvDictionary& o) { copy_from(o); }
  ConvDictionary(ConvDictionary&& o) { copy_from(o); }
  ConvDictionary& operator=(const ConvDictionary& o) {
    if (this != &o) copy_from(o);
    return *this;
  }
  ConvDictionary& operator=(ConvDictionary&& o) {
    if (this != &o) copy_from(o);
    return *this;
  }

  Index num_filters() const { return K_; }
  Index channels() const { return C_; }
  Index kernel_height() const { return kh_; }
  Index kernel_width() const { return kw_; }
  Boundary boundary() const { return boundary_; }
  Index code_rows() const { return K_; }

  /// Channel c of filter k as a writable kh x kw row-major map.
  FilterMap filter(Index k, Index c) {
    check_filter_index(k, c);
    return FilterMap(filters_.data() + (k * C_ + c) * kh_ * kw_, kh_, kw_);
  }
  ConstFilterMap filter(Index k, Index c) const {
    check_filter_index(k, c);
    return ConstFilterMap(filters_.data() + (k * C_ + c) * kh_ * kw_, kh_, kw_);
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
            internal::shape(C_, kh_, kw_), ") with norm ", nrm);
    }
    filters_.rowwise().normalize();
  }

  // --- the operator concept -------------------------------------------------------------------

  const Signal& signal_view(const Signal& y) const { return y; }

  /// Throws unless y has channels() channels, H, W >= 1 (and kh <= H, kw <= W for Circular), and
  /// finite values.
  void check_signal(const Signal& y, const char* where, const char* name) const {
    check_maps(y, C_, where, name, "channels");
    internal::require_finite(y.data(), where, name);
  }
  /// Throws unless g has num_filters() channels and a valid size, and finite values.
  void check_code(const Code& g, const char* where, const char* name) const {
    check_maps(g, K_, where, name, "filters");
    internal::require_finite(g.data(), where, name);
  }

  Code code_like(const Signal& y) const { return Code(K_, y.height(), y.width()); }
  Signal signal_like(const Code& g) const { return Signal(C_, g.height(), g.width()); }

  /// gamma = D^T x into a caller-sized K x H x W gamma (no allocation after the first call per
  /// thread and shape; throws on a wrong shape, never resizes).
  void analyze(const Signal& x, Code& gamma) const {
    check_maps(x, C_, "ConvDictionary::analyze", "x", "channels");
    check_out(gamma, K_, x, "analyze", "gamma");
    internal::conv_analyze(filters_.data(), K_, C_, kh_, kw_, boundary_, x, gamma);
  }
  /// x = D gamma into a caller-sized C x H x W x.
  void synthesize(const Code& gamma, Signal& x) const {
    check_maps(gamma, K_, "ConvDictionary::synthesize", "gamma", "filters");
    check_out(x, C_, gamma, "synthesize", "x");
    internal::conv_synthesize(filters_.data(), K_, C_, kh_, kw_, boundary_, gamma, x);
  }
  Code analyze(const Signal& x) const {
    check_signal(x, "ConvDictionary::analyze", "x");
    Code gamma(K_, x.height(), x.width());
    analyze(x, gamma);
    return gamma;
  }
  Signal synthesize(const Code& gamma) const {
    check_code(gamma, "ConvDictionary::synthesize", "gamma");
    Signal x(C_, gamma.height(), gamma.width());
    synthesize(gamma, x);
    return x;
  }

  /// \f$ L = \|D\|_2^2 \f$ for H x W signals, cached per shape (recomputed when the filters
  /// change). Circular, with min(C, K) <= 32: exact, \f$ L = \max_\omega \lambda_{\max}(\hat
  /// D(\omega) \hat D(\omega)^H) \f$ with \f$ \hat D(\omega) \f$ the C x K frequency response of
  /// the filters on the H x W DFT grid (the smaller of the C x C and K x K Hermitian matrices is
  /// solved). Zero: a Lanczos estimate (at least as tight as power iteration) raised by 0.2% so
  /// that 1/L stays a valid step, and capped by the exact circular value on the (H + kh - 1) x (W +
  /// kw - 1) grid, an upper bound. With min(C, K) > 32 both boundaries use the raised Lanczos
  /// estimate alone.
  Scalar lipschitz(Index height, Index width) const {
    if (height < 1 || width < 1 ||
        (boundary_ == Boundary::Circular && (kh_ > height || kw_ > width)))
      internal::throw_invalid(
          "ConvDictionary::lipschitz: expected a signal size of at least ",
          boundary_ == Boundary::Circular ? internal::shape(kh_, kw_) : internal::shape(1, 1),
          " for ", to_string(boundary_), " filters of ", internal::shape(C_, kh_, kw_), ", got ",
          internal::shape(height, width));
    std::lock_guard<std::mutex> lock(mutex_);
    if (snapshot_.rows() != filters_.rows() || snapshot_.cols() != filters_.cols() ||
        snapshot_ != filters_) {
      cache_.clear();
      snapshot_ = filters_;
    }
    for (const auto& e : cache_)
      if (e.height == height && e.width == width) return e.value;
    const double L = boundary_ == Boundary::Circular ? circular_lipschitz(height, width)
                                                     : zero_lipschitz(height, width);
    cache_.push_back({height, width, Scalar(L)});
    return Scalar(L);
  }
  Scalar lipschitz_for(const Signal& y) const { return lipschitz(y.height(), y.width()); }

 private:
  struct CacheEntry {
    Index height, width;
    Scalar value;
  };

  void copy_from(const ConvDictionary& o) {
    std::scoped_lock lock(mutex_, o.mutex_);
    K_ = o.K_;
    C_ = o.C_;
    kh_ = o.kh_;
    kw_ = o.kw_;
    boundary_ = o.boundary_;
    filters_ = o.filters_;
    snapshot_ = o.snapshot_;
    cache_ = o.cache_;
  }

  void check_filter_index(Index k, Index c) const {
    if (k < 0 || k >= K_ || c < 0 || c >= C_)
      internal::throw_invalid("ConvDictionary::filter: expected k in [0, ", K_, ") and c in [0, ",
                              C_, "), got k = ", k, ", c = ", c);
  }

  void check_maps(const FeatureMaps<Scalar>& m, Index expected_channels, const char* where,
                  const char* name, const char* what) const {
    if (m.channels() != expected_channels || m.height() < 1 || m.width() < 1)
      internal::throw_invalid(where, ": expected '", name, "' with ", expected_channels,
                              " channels (the dictionary has ", K_, " filters of ",
                              internal::shape(C_, kh_, kw_), ", so one per ", what,
                              ") and a nonempty H x W, got ",
                              internal::shape(m.channels(), m.height(), m.width()));
    if (boundary_ == Boundary::Circular && (kh_ > m.height() || kw_ > m.width()))
      internal::throw_invalid(where, ": expected '", name, "' at least as large as the ",
                              internal::shape(kh_, kw_), " filters (Circular boundary), got ",
                              internal::shape(m.channels(), m.height(), m.width()));
  }

  void check_out(const FeatureMaps<Scalar>& out, Index expected_channels,
                 const FeatureMaps<Scalar>& in, const char* fn, const char* name) const {
    if (out.channels() != expected_channels || out.height() != in.height() ||
        out.width() != in.width())
      internal::throw_invalid("ConvDictionary::", fn, ": expected output '", name, "' of ",
                              internal::shape(expected_channels, in.height(), in.width()), ", got ",
                              internal::shape(out.channels(), out.height(), out.width()));
  }

  // Exact ||D||^2 of the circular dictionary on an H x W grid: the global operator is block
  // circulant, diagonalized by the 2-D DFT; at frequency w its C x K block is
  // Dhat_{c,k}(w) = sum_{u,v} d_{k,c}[u,v] e^{-2 pi i (p u / H + q v / W)} (the anchor only adds a
  // common phase). L = max_w lambda_max(Dhat Dhat^H). Real filters: Dhat(-w) = conj(Dhat(w)), so
  // half of the rows p suffice. Filters larger than the grid alias (the sum wraps), as they must.
  double circular_lipschitz(Index H, Index W) const {
    using cd = std::complex<double>;
    const double two_pi = 6.283185307179586476925286766559;
    const Index n = std::min(C_, K_);
    if (n > 32)
      return lanczos_lipschitz(H, W, Boundary::Circular, std::numeric_limits<double>::infinity());
    // T[(k C + c) kh + u, q] = sum_v d_{k,c}[u,v] e^{-2 pi i q v / W}
    Eigen::Matrix<cd, Eigen::Dynamic, Eigen::Dynamic> ex(kw_, W), ey(H / 2 + 1, kh_);
    for (Index v = 0; v < kw_; ++v)
      for (Index q = 0; q < W; ++q)
        ex(v, q) = std::polar(1.0, -two_pi * double((q * v) % W) / double(W));
    for (Index p = 0; p <= H / 2; ++p)
      for (Index u = 0; u < kh_; ++u)
        ey(p, u) = std::polar(1.0, -two_pi * double((p * u) % H) / double(H));
    const Matrix<double> taps =
        Eigen::Map<const RowMatrix<Scalar>>(filters_.data(), K_ * C_ * kh_, kw_)
            .template cast<double>();
    const Eigen::Matrix<cd, Eigen::Dynamic, Eigen::Dynamic> T = taps.template cast<cd>() * ex;
    double L = 0;
    // lambda_max of the n x n Hermitian B = X + iY (the smaller of A A^H and A^H A) is that of the
    // real symmetric [[X, -Y], [Y, X]] (the same eigenvalues, each twice), so the real routine
    // internal/symmetric_lambda_max.hpp does.
    Eigen::Matrix<cd, Eigen::Dynamic, Eigen::Dynamic> A(C_, K_);
    Matrix<double> R(2 * n, 2 * n);  // rebuilt whole at every frequency, then overwritten
    internal::SymmetricLambdaMaxScratch scratch;
    const bool rows = C_ <= K_;  // B = A A^H (C x C) or A^H A (K x K)
    for (Index p = 0; p <= H / 2; ++p)
      for (Index q = 0; q < W; ++q) {
        for (Index k = 0; k < K_; ++k)
          for (Index c = 0; c < C_; ++c) {
            cd s = 0;
            for (Index u = 0; u < kh_; ++u) s += T((k * C_ + c) * kh_ + u, q) * ey(p, u);
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
                for (Index k = 0; k < K_; ++k) b += A(i, k) * std::conj(A(j, k));
              else
                for (Index c = 0; c < C_; ++c) b += std::conj(A(c, i)) * A(c, j);
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

  // Zero boundary: Lanczos on D^T D, capped by the circular value on the padded grid (the zero-
  // boundary operator is a restriction of that circular operator to an embedded signal).
  double zero_lipschitz(Index H, Index W) const {
    const double upper = std::min(C_, K_) > 32 ? std::numeric_limits<double>::infinity()
                                               : circular_lipschitz(H + kh_ - 1, W + kw_ - 1);
    return lanczos_lipschitz(H, W, Boundary::Zero, upper);
  }

  // Lanczos on D^T D (internal/lanczos.hpp) from a seeded random start, in double, with a 0.2%
  // margin above the largest Ritz value (it covers the float operator's rounding and an
  // unconverged tail, so that 1/L stays a valid step), capped by `upper`.
  double lanczos_lipschitz(Index H, Index W, Boundary bd, double upper) const {
    ConvDictionary tmp(K_, C_, kh_, kw_, bd);
    tmp.filters_ = filters_;
    const Index N = K_ * H * W;
    Code z(K_, H, W), az(K_, H, W);
    Signal x(C_, H, W);
    internal::LanczosParams p;
    p.upper = upper;
    return internal::lanczos_lambda_max(
        N,
        [&](const Vector<double>& v, Vector<double>& w) {
          Eigen::Map<Vector<Scalar>>(z.data().data(), N) = v.template cast<Scalar>();
          tmp.synthesize(z, x);
          tmp.analyze(x, az);
          w = Eigen::Map<const Vector<Scalar>>(az.data().data(), N).template cast<double>();
        },
        p);
  }

  Index K_ = 0, C_ = 0, kh_ = 0, kw_ = 0;
  Boundary boundary_ = Boundary::Circular;
  RowMatrix<Scalar> filters_;  // K x (C kh kw)
  mutable std::mutex mutex_;
  mutable RowMatrix<Scalar> snapshot_;  // the filters the cache was computed for
  mutable std::vector<CacheEntry> cache_;
};

}  // namespace mlcsc
