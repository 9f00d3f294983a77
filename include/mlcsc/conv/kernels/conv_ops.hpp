// mlcsc: the two operations of a convolutional dictionary, for every geometry, on top of the
// correlation kernels.
//
// Filters are stored K x C x kh x kw. With stride s, dilation d, the dilated extent e = d(k-1)+1
// and the padding P (Valid: 0; Zero and Circular: (e-1)/2, rounded down), per dimension:
//  * analyze  gamma_k[i,j] = sum_c sum_{u,v} d_{k,c}[u,v] x_c[s_h i + d_h u - P_h, s_w j + d_w v -
//  P_w]
//    (torch conv2d(x, D, stride=s, padding=P, dilation=d) for Zero with odd e and for Valid;
//    Circular wraps the indices).
//  * synthesize is its exact adjoint, for the signal size it writes into.
// Three paths, all running the stride-1 correlation kernel of correlate.hpp (or Winograd's):
//  1. stride 1, dilation 1, Zero or Circular: the correlation with w[c,u,v,k] = d_{k,c}[u,v],
//     anchor (P_h, P_w); synthesize is the correlation with cin = K, cout = C and the filters
//     flipped, w[k,u',v',c] = d_{k,c}[kh-1-u', kw-1-v'], anchor (kh-1-P_h, kw-1-P_w): the same
//     boundary, so the exact adjoint.
//  2. stride 1 otherwise (Valid, or dilation > 1): the same with the dilated filter written out
//     as an e_h x e_w filter with zeros between its taps, and a code of another size than the
//     signal (the kernel reads a tile at any offset; outside pixels are 0 or wrap).
//  3. stride s > 1: the polyphase form. Writing the offset of tap u as d u - P = s m + r
//     (0 <= r < s), x[s i + d u - P] = x^(r)[i + m] with x^(r)[j] = x[s j + r] the r-th phase of
//     the signal. So the strided correlation over C channels is a stride-1 correlation over the
//     C s_h s_w phase planes (each ceil(H/s) x ceil(W/s), zero past the signal; Circular needs
//     H, W multiples of s) with filters of ceil-ish(e/s) taps holding each original tap once:
//     no skipped output is computed and no tap is multiplied twice (a 6 x 6 stride-2 filter is
//     four 3 x 3 phase filters; a 3 x 3 stride-2 one four filters of 2 x 2 with 7 zero taps).
//     synthesize is the adjoint: the stride-1 synthesis into the phase planes, then the phases
//     interleaved back (the part past the signal dropped).
// The packed filters go to a per-thread buffer, repacked on every call: that is negligible next
// to the K C kh kw Ho Wo multiply-adds and keeps the dictionary free of derived state that writes
// through filter() could leave stale.
//
// A batch of N images runs image by image; in parallel over images (each image's correlation on
// one thread) when there are at least as many images as threads and one image's correlation is
// small, otherwise each image's correlation runs in parallel over its tiles. Every output value is
// summed in an order fixed by the shape, so results do not depend on the batch or the threads.
//
// Kernel choice for path 1 (ConvKernel::Automatic), measured in bench_conv_kernels (AMD Zen 4,
// AVX-512):
//  * 3 x 3 filters between many maps (use_winograd in winograd.hpp: cin, cout >= 16 and images
//    whose tile rows are not mostly padding): Winograd's F(2x2, 3x3), 2.25x fewer multiply-adds
//    than the direct kernel; 1.7-1.8x faster on shape (b), 64 -> 128 maps 3 x 3 at 64 x 64.
//  * every other shape: the direct register-blocked kernel of correlate.hpp. Its product form for
//    synthesize into few channels (a GEMM over the K filters followed by kh kw shifted sums) was
//    measured at 62 GFLOP/s (float) against the direct kernel's 68-73, so it is not used.
#pragma once

#include <algorithm>

#include <Eigen/Core>

#include "../../core/boundary.hpp"
#include "../../core/errors.hpp"
#include "../../core/feature_maps.hpp"
#include "../../internal/parallel.hpp"
#include "blocking.hpp"
#include "correlate.hpp"
#include "lowered.hpp"
#include "winograd.hpp"
#include "workspace.hpp"

namespace mlcsc::internal {

/// Which kernel runs a correlation: the choice rule above, or one forced (tests, benchmarks;
/// Winograd needs 3 x 3 filters, stride 1, dilation 1 and a Zero or Circular boundary).
enum class ConvKernel { Automatic, Direct, Winograd, Lowered };

/// The geometry of a convolutional dictionary along one dimension.
struct Axis {
  Index taps = 1, stride = 1, dilation = 1;
  Boundary boundary = Boundary::Circular;

  Index extent() const { return dilation * (taps - 1) + 1; }
  Index pad() const { return boundary == Boundary::Valid ? 0 : (extent() - 1) / 2; }
  /// The code's size for a signal of n (0 if there is none: n smaller than the extent, Valid).
  Index code_size(Index n) const {
    if (n < 1) return 0;
    switch (boundary) {
      case Boundary::Valid:
        return n < extent() ? 0 : (n - extent()) / stride + 1;
      case Boundary::Zero:
        return (n - 1) / stride + 1;
      default:
        return n / stride;
    }
  }
  /// The smallest signal whose code has size m.
  Index signal_size(Index m) const {
    switch (boundary) {
      case Boundary::Valid:
        return (m - 1) * stride + extent();
      case Boundary::Zero:
        return (m - 1) * stride + 1;
      default:
        return m * stride;
    }
  }
  /// Taps of the stride-1 form (path 3 above): tap u sits at phase r and offset m - m_min of
  /// the phase filter, m = floor((d u - P) / s).
  Index m_min() const { return floor_div(-pad(), stride); }
  Index phase_taps() const { return floor_div(extent() - 1 - pad(), stride) - m_min() + 1; }
  static Index floor_div(Index a, Index b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
  bool plain() const { return stride == 1 && dilation == 1 && boundary != Boundary::Valid; }
};

/// T in a parameter that takes part in no deduction (C++20's std::type_identity_t), so views
/// convert implicitly from owned feature maps.
template <class T>
struct no_deduce {
  using type = T;
};
template <class T>
using no_deduce_t = typename no_deduce<T>::type;

/// The filters and geometry of one dictionary, as the kernels see them.
template <class Scalar>
struct ConvShape {
  const Scalar* filters;  // K x C x kh x kw
  Index K, C;
  Axis h, w;
  bool plain() const { return h.plain() && w.plain(); }
};

/// The ConvShape of stride-1, dilation-1 filters with boundary `bd` (tests and benchmarks that
/// call the kernels directly).
template <class Scalar>
ConvShape<Scalar> conv_shape(const Scalar* filters, Index K, Index C, Index kh, Index kw,
                             Boundary bd) {
  return {filters, K, C, Axis{kh, 1, 1, bd}, Axis{kw, 1, 1, bd}};
}

namespace conv_detail {

// Runs body(n) for every image n of a batch, in parallel over images when the per-image work
// (multiply-adds) is small and there are enough images; the correlation inside then runs on one
// thread (max_threads() is 1 inside a parallel region).
template <class Body>
void for_images(Index N, double macs_per_image, Body&& body) {
  const int threads = max_threads();
  const bool over_images = threads > 1 && N >= threads && macs_per_image < 2e7;
  if (over_images) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (Index n = 0; n < N; ++n) body(n);
  } else {
    for (Index n = 0; n < N; ++n) body(n);
  }
}

// Packs the stride-1 form's filters for a correlation from `cin` to `cout` maps: tap (u, v) of
// d_{k,c} goes to input plane (c s_h + r_h) s_w + r_w at phase-filter tap (m_h, m_w) (path 3;
// for stride 1 the phase is 0 and m = d u - P + P). Synthesize (`adjoint`) swaps the roles of
// k and c and flips the phase filter. Every other value is 0.
template <class B, class Scalar>
Scalar* pack_filters(const ConvShape<Scalar>& S, bool adjoint) {
  const Index sh = S.h.stride, sw = S.w.stride;
  const Index th = S.h.phase_taps(), tw = S.w.phase_taps(), taps = th * tw;
  const Index planes = S.C * sh * sw;
  const Index cin = adjoint ? S.K : planes, cout = adjoint ? planes : S.K;
  Scalar* w = conv_scratch<Scalar>(ConvBuffer::PackedFilters, S.K * planes * taps);
  std::fill(w, w + S.K * planes * taps, Scalar(0));
  const Index kh = S.h.taps, kw = S.w.taps;
  for (Index k = 0; k < S.K; ++k)
    for (Index c = 0; c < S.C; ++c)
      for (Index u = 0; u < kh; ++u) {
        const Index oh = S.h.dilation * u - S.h.pad();
        const Index mh = Axis::floor_div(oh, sh), rh = oh - mh * sh;
        for (Index v = 0; v < kw; ++v) {
          const Index ow = S.w.dilation * v - S.w.pad();
          const Index mw = Axis::floor_div(ow, sw), rw = ow - mw * sw;
          const Index p = (c * sh + rh) * sw + rw;
          Index t = (mh - S.h.m_min()) * tw + (mw - S.w.m_min());
          const Scalar value = S.filters[((k * S.C + c) * kh + u) * kw + v];
          if (adjoint)
            w[filter_index<B>(cin, cout, taps, k, taps - 1 - t, p)] = value;
          else
            w[filter_index<B>(cin, cout, taps, p, t, k)] = value;
        }
      }
  return w;
}

// The phase planes of one image (path 3): plane (c s_h + r_h) s_w + r_w of Hp x Wp holds
// x_c[s_h i + r_h, s_w j + r_w], 0 past the signal.
template <class Scalar>
void split_phases(const Scalar* x, Index C, Index H, Index W, Index sh, Index sw, Index Hp,
                  Index Wp, Scalar* out) {
  for (Index c = 0; c < C; ++c)
    for (Index rh = 0; rh < sh; ++rh)
      for (Index rw = 0; rw < sw; ++rw) {
        Scalar* plane = out + ((c * sh + rh) * sw + rw) * Hp * Wp;
        for (Index i = 0; i < Hp; ++i) {
          Scalar* row = plane + i * Wp;
          const Index si = i * sh + rh;
          if (si >= H) {
            std::fill(row, row + Wp, Scalar(0));
            continue;
          }
          const Scalar* src = x + (c * H + si) * W;
          Index j = 0;
          for (; j < Wp && j * sw + rw < W; ++j) row[j] = src[j * sw + rw];
          std::fill(row + j, row + Wp, Scalar(0));
        }
      }
}

// The adjoint of split_phases: x_c[s_h i + r_h, s_w j + r_w] = plane[i, j] inside the signal.
template <class Scalar>
void merge_phases(const Scalar* in, Index C, Index H, Index W, Index sh, Index sw, Index Hp,
                  Index Wp, Scalar* x) {
  for (Index c = 0; c < C; ++c)
    for (Index rh = 0; rh < sh; ++rh)
      for (Index rw = 0; rw < sw; ++rw) {
        const Scalar* plane = in + ((c * sh + rh) * sw + rw) * Hp * Wp;
        for (Index i = 0; i < Hp && i * sh + rh < H; ++i) {
          const Scalar* row = plane + i * Wp;
          Scalar* dst = x + (c * H + i * sh + rh) * W;
          for (Index j = 0; j < Wp && j * sw + rw < W; ++j) dst[j * sw + rw] = row[j];
        }
      }
}

inline Boundary kernel_boundary(Boundary b) {
  return b == Boundary::Circular ? Boundary::Circular : Boundary::Zero;
}

}  // namespace conv_detail

/// The lowered form's arguments (lowered.hpp) for a signal of H x W.
template <class Scalar>
LoweredArgs lowered_args(const ConvShape<Scalar>& S, Index H, Index W) {
  return {S.K,
          S.C,
          H,
          W,
          S.h.code_size(H),
          S.w.code_size(W),
          S.h.taps,
          S.w.taps,
          S.h.stride,
          S.w.stride,
          S.h.dilation,
          S.w.dilation,
          S.h.pad(),
          S.w.pad(),
          S.h.boundary == Boundary::Circular};
}

/// Whether the lowered form (one matrix product per group of images) runs a correlation with
/// `cout` outputs: a cost model in units of a multiply-add at the matrix product's rate.
///  * direct: the polyphase form's multiply-adds (zero taps included), at 1.3x the product's
///    rate (bench_conv_kernels measures 123-150%) times the fraction of vector lanes a code row
///    fills (a row of 12 floats uses 12 of 16 lanes: the rest are computed and dropped);
///  * lowered: the real multiply-adds plus the patch matrix written and read (about 4
///    multiply-adds' worth per patch value; a copy runs several times slower per value than the
///    product's inner loop).
/// Few outputs (synthesize into 1-3 channels) keep the direct kernel whenever its rows are full:
/// its row blocking beats the product there (the product form measured 62 against 68-73
/// GFLOP/s on shape (a), comment above).
template <class Scalar>
bool lowered_chosen(ConvKernel kernel, const ConvShape<Scalar>& S, Index cout, Index H, Index W) {
  if (kernel == ConvKernel::Lowered) return true;
  if (kernel != ConvKernel::Automatic) return false;
  constexpr Index L = packet_size<Scalar>;
  const Index Ho = S.h.code_size(H), Wo = S.w.code_size(W);
  // the direct kernel's rows are the code's (analyze) or the phase planes' (synthesize)
  const Index row = cout == S.K ? Wo : (W + S.w.stride - 1) / S.w.stride;
  const double lanes = double(row) / double((row + L - 1) / L * L);
  const double R = double(S.C * S.h.taps * S.w.taps), P = double(Ho * Wo);
  const double direct = double(S.K) * double(S.C * S.h.stride * S.w.stride) *
                        double(S.h.phase_taps() * S.w.phase_taps()) * P / (1.3 * lanes);
  const double lowered = double(S.K) * R * P + 4.0 * R * P;
  return lowered < direct && !(cout < 4 && lanes > 0.99);
}

template <class Scalar>
bool winograd_chosen(ConvKernel kernel, const ConvShape<Scalar>& S, Index cin, Index cout, Index H,
                     Index W) {
  if (kernel == ConvKernel::Winograd) {
    if (S.h.taps != 3 || S.w.taps != 3 || !S.plain())
      throw_invalid(
          "ConvKernel::Winograd: needs 3 x 3 filters, stride 1, dilation 1 and a Zero "
          "or Circular boundary, got ",
          shape(S.h.taps, S.w.taps), " filters, stride ", shape(S.h.stride, S.w.stride),
          ", dilation ", shape(S.h.dilation, S.w.dilation), ", ", to_string(S.h.boundary));
    return true;
  }
  return kernel == ConvKernel::Automatic && S.plain() &&
         use_winograd<Scalar>(cin, cout, S.h.taps, S.w.taps, H, W);
}

/// gamma = D^T x for a batch, with the register blocking B (blocking.hpp). Shapes are checked by
/// the caller (ConvDictionary): x is N x C x H x W, gamma N x K x code_size(H) x code_size(W).
template <class Scalar, class B = DefaultConvBlocking>
void conv_analyze(const ConvShape<Scalar>& S, ConstFeatureMapsView<no_deduce_t<Scalar>> x,
                  FeatureMapsView<no_deduce_t<Scalar>> gamma,
                  ConvKernel kernel = ConvKernel::Automatic) {
  const Index N = x.batch(), H = x.height(), W = x.width();
  const Index Ho = gamma.height(), Wo = gamma.width();
  const Index xs = x.image_size(), gs = gamma.image_size();
  const Index kh = S.h.taps, kw = S.w.taps, C = S.C, K = S.K;
  const double macs = double(K) * double(C) * double(kh * kw) * double(Ho * Wo);
  if (winograd_chosen<Scalar>(kernel, S, C, K, H, W)) {
    Scalar* U = conv_scratch<Scalar>(ConvBuffer::WinogradFilters, 16 * C * K);
    const Scalar* f = S.filters;
    winograd_filters<B>(
        C, K, [&](Index k, Index c, int u, int v) { return f[(k * C + c) * 9 + u * 3 + v]; }, U);
    conv_detail::for_images(N, macs, [&](Index n) {
      winograd_correlate<B>(WinogradArgs<Scalar>{x.ptr() + n * xs, C, K, H, W, S.h.boundary, U,
                                                 gamma.ptr() + n * gs});
    });
    return;
  }
  if (lowered_chosen<Scalar>(kernel, S, K, H, W)) {
    lowered_analyze(lowered_args(S, H, W), S.filters, x.ptr(), N, gamma.ptr());
    return;
  }
  const Index sh = S.h.stride, sw = S.w.stride;
  const bool phases = sh > 1 || sw > 1;
  const Index Hp = (H + sh - 1) / sh, Wp = (W + sw - 1) / sw, planes = C * sh * sw;
  const Scalar* w = conv_detail::pack_filters<B>(S, false);
  conv_detail::for_images(N, macs, [&](Index n) {
    CorrelateArgs<Scalar> A;
    A.src = x.ptr() + n * xs;
    if (phases) {
      Scalar* buf = conv_scratch<Scalar>(ConvBuffer::Phases, planes * Hp * Wp);
      conv_detail::split_phases(A.src, C, H, W, sh, sw, Hp, Wp, buf);
      A.src = buf;
    }
    A.cin = planes;
    A.cout = K;
    A.H = Hp;
    A.W = Wp;
    A.Ho = Ho;
    A.Wo = Wo;
    A.kh = S.h.phase_taps();
    A.kw = S.w.phase_taps();
    A.top = -S.h.m_min();
    A.left = -S.w.m_min();
    A.boundary = conv_detail::kernel_boundary(S.h.boundary);
    A.w = w;
    A.dst = gamma.ptr() + n * gs;
    correlate<B>(A);
  });
}

/// x = D gamma (the adjoint of conv_analyze for x's size) for a batch, with the register blocking
/// B. Shapes are checked by the caller.
template <class Scalar, class B = DefaultConvBlocking>
void conv_synthesize(const ConvShape<Scalar>& S, ConstFeatureMapsView<no_deduce_t<Scalar>> gamma,
                     FeatureMapsView<no_deduce_t<Scalar>> x,
                     ConvKernel kernel = ConvKernel::Automatic) {
  const Index N = x.batch(), H = x.height(), W = x.width();
  const Index Ho = gamma.height(), Wo = gamma.width();
  const Index xs = x.image_size(), gs = gamma.image_size();
  const Index kh = S.h.taps, kw = S.w.taps, C = S.C, K = S.K;
  const double macs = double(K) * double(C) * double(kh * kw) * double(Ho * Wo);
  if (winograd_chosen<Scalar>(kernel, S, K, C, Ho, Wo)) {
    // the correlation with cin = K, cout = C and the filters flipped (see the top of this file)
    Scalar* U = conv_scratch<Scalar>(ConvBuffer::WinogradFilters, 16 * C * K);
    const Scalar* f = S.filters;
    winograd_filters<B>(
        K, C,
        [&](Index c, Index k, int u, int v) { return f[(k * C + c) * 9 + (2 - u) * 3 + (2 - v)]; },
        U);
    conv_detail::for_images(N, macs, [&](Index n) {
      winograd_correlate<B>(WinogradArgs<Scalar>{gamma.ptr() + n * gs, K, C, Ho, Wo, S.h.boundary,
                                                 U, x.ptr() + n * xs});
    });
    return;
  }
  if (lowered_chosen<Scalar>(kernel, S, C, H, W)) {
    lowered_synthesize(lowered_args(S, H, W), S.filters, gamma.ptr(), N, x.ptr());
    return;
  }
  const Index sh = S.h.stride, sw = S.w.stride;
  const bool phases = sh > 1 || sw > 1;
  const Index Hp = (H + sh - 1) / sh, Wp = (W + sw - 1) / sw, planes = C * sh * sw;
  const Index th = S.h.phase_taps(), tw = S.w.phase_taps();
  const Scalar* w = conv_detail::pack_filters<B>(S, true);
  conv_detail::for_images(N, macs, [&](Index n) {
    CorrelateArgs<Scalar> A;
    A.src = gamma.ptr() + n * gs;
    A.cin = K;
    A.cout = planes;
    A.H = Ho;
    A.W = Wo;
    A.Ho = Hp;
    A.Wo = Wp;
    A.kh = th;
    A.kw = tw;
    A.top = th - 1 + S.h.m_min();
    A.left = tw - 1 + S.w.m_min();
    A.boundary = conv_detail::kernel_boundary(S.h.boundary);
    A.w = w;
    Scalar* out = x.ptr() + n * xs;
    A.dst = phases ? conv_scratch<Scalar>(ConvBuffer::Phases, planes * Hp * Wp) : out;
    correlate<B>(A);
    if (phases) conv_detail::merge_phases(A.dst, C, H, W, sh, sw, Hp, Wp, out);
  });
}

}  // namespace mlcsc::internal
