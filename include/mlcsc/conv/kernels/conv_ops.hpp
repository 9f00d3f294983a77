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
// (A circular stride-1 ConvDictionary may instead run both by FFT, where fft/frequency_conv.hpp's
// cost model says that is cheaper; that choice is made in ConvDictionary, before these.)
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
//     H, W multiples of s; phase-major: plane (r_h s_w + r_w) C + c) with filters of
//     ceil-ish(e/s) taps holding each original tap once: no skipped output is computed and no tap
//     is multiplied twice (a 6 x 6 stride-2 filter is four 3 x 3 phase filters). Where e is not a
//     multiple of s the phase filters differ in size (a 3 x 3 stride-2 filter's are 2 x 2, 2 x 1,
//     1 x 2 and 1 x 1, stored as four 2 x 2 with 7 zeros): each phase's box of taps goes to the
//     kernel (TapBox, correlate.hpp), which skips the rest, so 9 multiply-adds run, not 16.
//     The phase planes are not made: the kernel's tile copy reads them from the signal in place
//     (PhaseSource, pad_tile_phases in pad_tile.hpp), a strided gather per row.
//     synthesize is the adjoint: the stride-1 synthesis into the phase planes (its output planes
//     phase-major too, so a block of maps shares one box), then the phases interleaved back (the
//     part past the signal dropped), tile by tile: the kernel hands each tile's phase rows over
//     from a buffer in cache (CorrelateArgs::tile_done; tiles of about 64 KiB of them), and the
//     thread that computed them merges them into the signal. The 64 -> 128 3 x 3 stride-2
//     synthesize of bench_geometry (4 MiB of phase planes) merged them after the whole
//     correlation, in 8% of its time: 3.38-3.48 ms then, 3.14-3.33 ms now (AMD Zen 5, AVX-512,
//     one thread, side by side).
// The packed filters go to a per-thread buffer, repacked on every call: that is small next to
// the K C kh kw Ho Wo multiply-adds (1.2-1.3% of a strided 3 x 3 analyze or synthesize of
// 64 -> 128 maps over 128 x 128; 2.8-3.3% before its short runs were unrolled) and keeps
// the dictionary free of derived state that writes through filter() could leave stale.
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
//  * a synthesize into 1 - 3 channels from many code maps (float): the scattered form of
//    scatter.hpp, the sums over the K code maps first and then kh kw shifted sums (a product
//    form; a plain one, a GEMM over whole images, measured 62 GFLOP/s on shape (a) against the
//    direct kernel's 68-73: this one works on bands of rows in cache; scatter_chosen).
//  * every other shape: the direct register-blocked kernel of correlate.hpp, or for strided and
//    unpadded layers the lowered form (lowered_chosen, below).
#pragma once

#include <algorithm>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "../../core/boundary.hpp"
#include "../../core/errors.hpp"
#include "../../core/feature_maps.hpp"
#include "../../internal/parallel.hpp"
#include "blocking.hpp"
#include "correlate.hpp"
#include "lowered.hpp"
#include "scatter.hpp"
#include "winograd.hpp"
#include "workspace.hpp"

namespace mlcsc::internal {

/// Which kernel runs a correlation: the choice rule above, or one forced (tests, benchmarks;
/// Winograd needs 3 x 3 filters, stride 1, dilation 1 and a Zero or Circular boundary; Scatter
/// synthesizes only, float codes of short rows with a Zero or Valid boundary, scatter.hpp).
enum class ConvKernel { Automatic, Direct, Winograd, Lowered, Scatter };

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
  parallel_for(N, over_images ? threads : 1, body, Schedule::Dynamic);
}

// The filter tap at phase r, phase-filter tap m along axis `a` (path 3): the u with
// d u - P = s (m + m_min) + r, or -1 if there is none.
inline Index tap_at(const Axis& a, Index r, Index m) {
  const Index du = a.stride * (m + a.m_min()) + r + a.pad();
  if (du < 0 || du % a.dilation != 0 || du / a.dilation >= a.taps) return -1;
  return du / a.dilation;
}

// The filter tap of every phase tap, per axis, in this thread's scratch: uh[r th + m] = tap_at(h,
// r, m) for the s_h phases, then (from uh + s_h th) uw[r tw + m] = tap_at(w, r, m).
template <class Scalar>
const Index* phase_tap_tables(const ConvShape<Scalar>& S) {
  const Index sh = S.h.stride, sw = S.w.stride, th = S.h.phase_taps(), tw = S.w.phase_taps();
  Index* uh = conv_scratch<Index>(ConvBuffer::TapTables, sh * th + sw * tw);
  Index* uw = uh + sh * th;
  for (Index r = 0; r < sh; ++r)
    for (Index m = 0; m < th; ++m) uh[r * th + m] = tap_at(S.h, r, m);
  for (Index r = 0; r < sw; ++r)
    for (Index m = 0; m < tw; ++m) uw[r * tw + m] = tap_at(S.w, r, m);
  return uh;
}

// Packs the stride-1 form's filters for a correlation from `cin` to `cout` maps, in the order of
// filter_index<B> (blocks of B::maps output maps, each block's taps contiguous): tap (u, v) of
// d_{k,c} goes to input plane (r_h s_w + r_w) C + c at phase-filter tap (m_h, m_w) (path 3;
// for stride 1 the phase is 0 and m = d u - P + P). Synthesize (`adjoint`) swaps the roles of
// k and c and flips the phase filter. Every other value is 0. Written in order, the taps of
// each phase looked up in per-axis tables: packing is a small part of a call (a 3 x 3 stride-2
// bank of 64 -> 128 maps packs in about 1% of its analyze).
template <class B, class Scalar>
Scalar* pack_filters(const ConvShape<Scalar>& S, bool adjoint) {
  constexpr Index MB = B::maps;
  const Index sh = S.h.stride, sw = S.w.stride;
  const Index th = S.h.phase_taps(), tw = S.w.phase_taps(), taps = th * tw;
  const Index C = S.C, planes = C * sh * sw, kh = S.h.taps, kw = S.w.taps;
  const Index cin = adjoint ? S.K : planes, cout = adjoint ? planes : S.K;
  const Index* uh = phase_tap_tables(S);  // uh[r th + m], then uw[r tw + m]
  const Index* uw = uh + sh * th;
  const Index filter = C * kh * kw;  // the distance between filters k and k + 1
  Scalar* out = conv_scratch<Scalar>(ConvBuffer::PackedFilters, S.K * planes * taps);
  Scalar* const w = out;
  // synthesize: the offset in a filter of each output plane's tap t = m_h tw + m_w (-1: none)
  Index* off = adjoint ? conv_scratch<Index>(ConvBuffer::TapOffsets, MB * taps) : nullptr;
  // A block of `width` maps; a full block's width is a compile-time constant, so its short runs
  // are unrolled (with the offsets tabled: the packing of a 64 -> 128 3 x 3 stride-2 bank 2.8-3.3%
  // -> 1.2-1.3% of its analyze / synthesize)
  auto block = [&](Index o0, auto width) {
    if (!adjoint) {  // input planes p, output maps k
      for (Index p = 0; p < cin; ++p) {
        const Index phase = p / C, c = p - phase * C;
        const Index* u_of = uh + (phase / sw) * th;
        const Index* v_of = uw + (phase % sw) * tw;
        for (Index mh = 0; mh < th; ++mh)
          for (Index mw = 0; mw < tw; ++mw) {
            const Index u = u_of[mh], v = v_of[mw];
            if (u < 0 || v < 0) {
              for (Index o = 0; o < width; ++o) out[o] = Scalar(0);
            } else {
              const Scalar* f = S.filters + o0 * filter + (c * kh + u) * kw + v;
              for (Index o = 0; o < width; ++o) out[o] = f[o * filter];
            }
            out += width;
          }
      }
      return;
    }
    // synthesize: input maps k, output planes p = o0 + o, the phase filter flipped
    for (Index o = 0; o < width; ++o) {
      const Index phase = (o0 + o) / C, c = o0 + o - phase * C;
      const Index* u_of = uh + (phase / sw) * th;
      const Index* v_of = uw + (phase % sw) * tw;
      for (Index mh = 0; mh < th; ++mh)
        for (Index mw = 0; mw < tw; ++mw) {
          const Index u = u_of[mh], v = v_of[mw];
          off[o * taps + mh * tw + mw] = (u < 0 || v < 0) ? -1 : (c * kh + u) * kw + v;
        }
    }
    for (Index k = 0; k < cin; ++k) {
      const Scalar* f = S.filters + k * filter;
      for (Index t = taps - 1; t >= 0; --t) {
        for (Index o = 0; o < width; ++o) {
          const Index at = off[o * taps + t];
          out[o] = at < 0 ? Scalar(0) : f[at];
        }
        out += width;
      }
    }
  };
  for (Index o0 = 0; o0 < cout; o0 += MB) {
    if (o0 + MB <= cout)
      block(o0, std::integral_constant<Index, MB>{});
    else
      block(o0, cout - o0);
  }
  return w;
}

#if MLCSC_MASKED_FLOAT_ROWS
// The lanes of (a : b) interleaved: lo = a0 b0 a1 b1 ... (the first L of them), hi the next L.
inline void interleave(RowPacket a, RowPacket b, RowPacket& lo, RowPacket& hi) {
#if defined(EIGEN_VECTORIZE_AVX512)
  lo = _mm512_permutex2var_ps(
      a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
  hi = _mm512_permutex2var_ps(
      a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b);
#else
  const __m256 l = _mm256_unpacklo_ps(a, b), h = _mm256_unpackhi_ps(a, b);
  lo = _mm256_permute2f128_ps(l, h, 0x20);
  hi = _mm256_permute2f128_ps(l, h, 0x31);
#endif
}
#endif

// One row of a signal from its s phases: dst[s j + r] = src[r][j] for j < n and s j + r < W (the
// common s = 2 in packets where masked float rows exist, written so the compiler vectorizes it
// elsewhere). The merge of the MNIST model's first layer synthesize (28 rows of 28 per image)
// was 8% of it with the compiler's loop.
template <class Scalar>
void merge_row(const Scalar* const* src, Index n, Index s, Scalar* __restrict dst, Index W) {
  Index j = 0;
#if MLCSC_MASKED_FLOAT_ROWS
  if constexpr (std::is_same_v<Scalar, float>) {
    if (s == 2) {
      using namespace Eigen::internal;
      constexpr Index L = kRowLanes;
      const Index end = std::min(W, 2 * n);  // dst[o] is written for o < end
      for (; 2 * j + 2 * L <= end; j += L) {
        RowPacket lo, hi;
        interleave(ploadu<RowPacket>(src[0] + j), ploadu<RowPacket>(src[1] + j), lo, hi);
        pstoreu(dst + 2 * j, lo);
        pstoreu(dst + 2 * j + L, hi);
      }
#if defined(EIGEN_VECTORIZE_AVX512)
      // the rest in masked packets (AVX's masked stores are slow on AMD: the loop below there)
      if (2 * j < end) {
        RowPacket lo, hi;
        interleave(masked_load(src[0], j, lane_mask(0, n - j)),
                   masked_load(src[1], j, lane_mask(0, n - j)), lo, hi);
        pstoreu(dst + 2 * j, lo, lane_mask(0, end - 2 * j));
        pstoreu(dst + 2 * j + L, hi, lane_mask(0, end - 2 * j - L));
        return;
      }
#endif
    }
  }
#endif
  if (s == 2) {
    const Scalar* __restrict s0 = src[0];
    const Scalar* __restrict s1 = src[1];
    const Index pairs = std::min(n, W / 2);
    for (; j < pairs; ++j) {
      dst[2 * j] = s0[j];
      dst[2 * j + 1] = s1[j];
    }
  }
  for (Index r = 0; r < s; ++r)
    for (Index jj = j; jj < n && jj * s + r < W; ++jj) dst[jj * s + r] = src[r][jj];
}

// The signal from its phase planes (path 3; the adjoint of reading them, pad_tile_phases):
// x_c[s_h i + r_h, s_w j + r_w] = plane (r_h s_w + r_w) C + c [i, j] inside the signal, for the
// rows [i0, i1) x columns [j0, j1) of the planes, which `in` holds (row i0 + r, column j0 + q of
// plane p at in[p plane + r stride + q]).
template <class Scalar>
void merge_phases(const Scalar* in, Index plane, Index stride, Index C, Index H, Index W, Index sh,
                  Index sw, Index i0, Index i1, Index j0, Index j1, Scalar* x,
                  const Scalar** rows) {
  for (Index c = 0; c < C; ++c)
    for (Index rh = 0; rh < sh; ++rh)
      for (Index i = i0; i < i1 && i * sh + rh < H; ++i) {
        for (Index rw = 0; rw < sw; ++rw)
          rows[rw] = in + ((rh * sw + rw) * C + c) * plane + (i - i0) * stride;
        merge_row(rows, j1 - j0, sw, x + (c * H + i * sh + rh) * W + j0 * sw, W - j0 * sw);
      }
}

// A strided synthesize's signal, into which its correlation hands over the phase planes tile by
// tile (merge is CorrelateArgs::tile_done; merge_row's row pointers in the thread's scratch).
template <class Scalar>
struct MergeTarget {
  Index C, H, W, sh, sw;
  Scalar* x;
  static void merge(void* self, const Scalar* in, Index plane, Index stride, Index i0, Index i1,
                    Index j0, Index j1) {
    const MergeTarget& M = *static_cast<const MergeTarget*>(self);
    const Scalar** rows = conv_scratch<const Scalar*>(ConvBuffer::PhaseRows, M.sw);
    merge_phases(in, plane, stride, M.C, M.H, M.W, M.sh, M.sw, i0, i1, j0, j1, M.x, rows);
  }
};

// The taps of the phase filter for phase r along axis `a` (path 3) that hold a filter tap:
// [lo, hi) (empty when no tap falls on that phase, e.g. odd phases of dilation 2, stride 2).
inline std::pair<Index, Index> phase_tap_range(const Axis& a, Index r) {
  Index lo = a.phase_taps(), hi = 0;
  for (Index u = 0; u < a.taps; ++u) {
    const Index o = a.dilation * u - a.pad(), m = Axis::floor_div(o, a.stride);
    if (o - m * a.stride != r) continue;
    lo = std::min(lo, m - a.m_min());
    hi = std::max(hi, m - a.m_min() + 1);
  }
  return hi > lo ? std::pair<Index, Index>{lo, hi} : std::pair<Index, Index>{0, 0};
}

// The tap box of every phase plane (path 3), for the filters as analyze packs them or, `adjoint`,
// flipped as synthesize packs them. In this thread's scratch: the kernel's threads read it.
template <class Scalar>
const TapBox* phase_boxes(const ConvShape<Scalar>& S, bool adjoint) {
  const Index sh = S.h.stride, sw = S.w.stride, th = S.h.phase_taps(), tw = S.w.phase_taps();
  TapBox* boxes = conv_scratch<TapBox>(ConvBuffer::TapBoxes, S.C * sh * sw);
  for (Index rh = 0; rh < sh; ++rh) {
    const auto [u0, u1] = phase_tap_range(S.h, rh);
    for (Index rw = 0; rw < sw; ++rw) {
      const auto [v0, v1] = phase_tap_range(S.w, rw);
      const TapBox b =
          adjoint ? TapBox{th - u1, th - u0, tw - v1, tw - v0} : TapBox{u0, u1, v0, v1};
      std::fill_n(boxes + (rh * sw + rw) * S.C, S.C, b);
    }
  }
  return boxes;
}

// The multiply-adds per code value of the polyphase form with the phase boxes skipped: the taps
// of the filter, unless dilation and stride leave some phase filter's box with holes.
template <class Scalar>
double polyphase_taps(const ConvShape<Scalar>& S) {
  double taps = 0;
  for (Index rh = 0; rh < S.h.stride; ++rh) {
    const auto [u0, u1] = phase_tap_range(S.h, rh);
    for (Index rw = 0; rw < S.w.stride; ++rw) {
      const auto [v0, v1] = phase_tap_range(S.w, rw);
      taps += double((u1 - u0) * (v1 - v0));
    }
  }
  return taps * double(S.C);
}

inline Boundary kernel_boundary(Boundary b) {
  return b == Boundary::Circular ? Boundary::Circular : Boundary::Zero;
}

// The synthesize of path 3 (paths 1 and 2 as its one phase) by scattering the code (scatter.hpp):
// each image's phase planes in the scratch of the thread that runs it (rows from m_min: Ho + th -
// 1, or the signal's phase rows if more; columns likewise, in whole packets), then merged into
// the signal. Images in parallel as for_images says; otherwise the bands of code rows of one
// image in parallel, the even bands and then the odd ones (bands two apart touch no common plane
// row): the same order of sums on any number of threads.
#if MLCSC_MASKED_FLOAT_ROWS
template <class B>
void scatter_synthesize(const ConvShape<float>& S, ConstFeatureMapsView<float> gamma,
                        FeatureMapsView<float> x) {
  constexpr Index L = kRowLanes;
  const Index N = x.batch(), H = x.height(), W = x.width(), Ho = gamma.height(), Wo = gamma.width();
  const Index sh = S.h.stride, sw = S.w.stride, th = S.h.phase_taps(), tw = S.w.phase_taps();
  const Index Hp = (H + sh - 1) / sh, Wp = (W + sw - 1) / sw;
  const Index top = -S.h.m_min(), left = -S.w.m_min();
  const Index rows = std::max(Ho + th - 1, Hp + top);
  const Index stride = (std::max(Wo + tw - 1, Wp + left) + L - 1) / L * L;
  const Index band = scatter_band_rows(S.K, Ho, Wo, th), run = scatter_run<B>(band, Wo);
  const Index bands = (Ho + band - 1) / band;
  Index* boxes = conv_scratch<Index>(ConvBuffer::ScatterBoxes, 4 * sh * sw);
  Index taps = 0;
  for (Index rh = 0; rh < sh; ++rh)
    for (Index rw = 0; rw < sw; ++rw) {
      const auto [u0, u1] = phase_tap_range(S.h, rh);
      const auto [v0, v1] = phase_tap_range(S.w, rw);
      Index* b = boxes + 4 * (rh * sw + rw);
      b[0] = u0, b[1] = u1, b[2] = v0, b[3] = v1;
      taps += (u1 - u0) * (v1 - v0);
    }
  const Index* uh = phase_tap_tables(S);
  const Index* uw = uh + sh * th;
  float* w = conv_scratch<float>(ConvBuffer::PackedFilters, S.K * S.C * taps);
  scatter_pack<B>(S.filters, S.K, S.C, S.h.taps, S.w.taps, sh, sw, th, tw, uh, uw, boxes, w);
  const double macs = double(S.K * S.C) * double(taps) * double(Ho * Wo);
  for_images(N, macs, [&](Index n) {
    const Index plane_values = S.C * sh * sw * rows * stride;
    float* planes = conv_scratch<float>(ConvBuffer::ScatterPlanes, plane_values);
    std::fill_n(planes, plane_values, 0.f);
    const ScatterArgs a{gamma.ptr() + n * gamma.image_size(),
                        S.K,
                        S.C,
                        Ho,
                        Wo,
                        w,
                        sh * sw,
                        boxes,
                        band,
                        run,
                        planes,
                        rows,
                        stride};
    const int threads = max_threads();  // 1 inside for_images' parallel images
    for (Index parity = 0; parity < 2; ++parity) {
      const Index count = (bands - parity + 1) / 2;
      parallel_for(count, int(std::min<Index>(threads, count)), [&](Index j) {
        float* sums = conv_scratch<float>(ConvBuffer::ScatterSums, ScatterBlocking<B>::taps * run);
        float* copy =
            bands > 1 ? conv_scratch<float>(ConvBuffer::ScatterCode, S.K * (run + L)) : nullptr;
        scatter_band<B>(a, 2 * j + parity, sums, copy);
      });
    }
    const float** at = conv_scratch<const float*>(ConvBuffer::PhaseRows, sw);
    merge_phases(planes + top * stride + left, rows * stride, stride, S.C, H, W, sh, sw, 0, Hp, 0,
                 Wp, x.ptr() + n * x.image_size(), at);
  });
}
#endif

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
///  * direct: the polyphase form's multiply-adds (the taps in the phase boxes), divided by the
///    fraction of vector lanes a row fills and by the kernel's rate against the product's:
///    rows of two packets or more run whole packets (a row of 40 floats uses 40 of 48 lanes) at
///    1.3x the product's rate (bench_conv_kernels measures 123-150%); shorter rows run flat
///    (correlate.hpp: a 12-wide row with 3 taps uses 12 of 14 lanes) at the same rate, or at the
///    product's rate when the whole flat tile is shorter than 256 bytes (narrow micro-tiles:
///    a 4 x 4 code with 3 x 3 taps; 4 packets of AVX-512, 8 of AVX2: on AVX2 the 6 x 6 phase
///    planes of conv2's synthesize below, 48 floats, ran direct in 4.4 ms against 2.1 lowered);
///  * lowered: the real multiply-adds plus the patch matrix written and read (about 4
///    multiply-adds' worth per patch value; a copy runs several times slower per value than the
///    product's inner loop).
/// Measured with bench_geometry's MNIST layers (AMD Zen 4, AVX-512, one thread): direct against
/// lowered 0.21 / 0.32 ms (conv1 analyze), 0.5 / 0.6-0.9 (conv1 synthesize), 2.7 / 1.6-2.0
/// (conv2 analyze), 2.9 / 2.0-2.6 (conv2 synthesize; 1.4 since the lowered col2im runs in masked
/// packets by output rows, lowered.hpp): the rule picks the faster of each.
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
  const bool analyze = cout == S.K;
  const Index row = analyze ? Wo : (W + S.w.stride - 1) / S.w.stride;
  const Index rows = analyze ? Ho : (H + S.h.stride - 1) / S.h.stride;
  const Index taps = S.w.phase_taps();
  const bool flat = row < 2 * L;
  const double lanes =
      flat ? double(row) / double(row + taps - 1) : double(row) / double((row + L - 1) / L * L);
  const Index tile_bytes = rows * (row + taps - 1) * Index(sizeof(Scalar));
  const double rate = flat && tile_bytes < 256 ? 1.0 : 1.3;
  const double R = double(S.C * S.h.taps * S.w.taps), P = double(Ho * Wo);
  const double direct = double(S.K) * conv_detail::polyphase_taps(S) * P / (rate * lanes);
  const double lowered = double(S.K) * R * P + 4.0 * R * P;
  return lowered < direct && !(cout < 4 && lanes > 0.99);
}

/// Whether the scattered synthesize (scatter.hpp) can run: float, masked row packets (AVX,
/// AVX-512), a Zero or Valid boundary.
template <class Scalar>
bool scatter_able(const ConvShape<Scalar>& S) {
  return MLCSC_MASKED_FLOAT_ROWS && std::is_same_v<Scalar, float> &&
         S.h.boundary != Boundary::Circular && S.w.boundary != Boundary::Circular;
}

/// Whether the scattered synthesize runs a synthesize into a signal of H x W. Chosen for 1 - 3
/// channels from at least 32 code maps of two rows or more, one row of all of them within a band
/// (256 KiB: scatter_band_rows). Measured against the direct kernel (AMD Zen 5, float, one
/// thread, side by side; AVX-512 / AVX2):
///  * the MNIST model's first layer (32 maps of 12 x 12 into 1, 6 x 6 stride 2, a batch of 64;
///    bench_geometry): 0.142-0.177 against 0.219-0.314 ms / 0.253-0.292 against 0.400-0.435;
///  * shape (a) of bench_conv_kernels (64 maps of 256 x 256 into 1, 7 x 7): 1.10x / 1.08x (2
///    threads 1.19x / 1.12x); 64 maps of 128 x 128 into 3, 3 x 3: 1.40x / 1.57x; 96 maps of
///    54 x 54 into 3 x 224 x 224, 11 x 11 stride 4: 1.82x / 1.13x;
///  * not chosen: 16 maps of 64 x 64 into 1, 5 x 5 (0.91x / 0.68x: too few maps to pay for the
///    shifted sums), one row of 32 maps of 4096, 15 taps (1.58x / 0.94x), rows of many maps past
///    the band (shape (c), 32 maps of 65,536: every block of taps would read them from memory).
template <class Scalar>
bool scatter_chosen(ConvKernel kernel, const ConvShape<Scalar>& S, Index H, Index W) {
  if (kernel == ConvKernel::Scatter) {
    if (!scatter_able(S))
      throw_invalid(
          "ConvKernel::Scatter: needs float codes, AVX or AVX-512 and a Zero or Valid boundary, "
          "got ",
          std::is_same_v<Scalar, float> ? "float" : "double", " with a ", to_string(S.h.boundary),
          " boundary", MLCSC_MASKED_FLOAT_ROWS ? "" : " on a build without AVX");
    return true;
  }
  const Index Ho = S.h.code_size(H), Wo = S.w.code_size(W);
  return kernel == ConvKernel::Automatic && scatter_able(S) && S.C <= 3 && S.K >= 32 && Ho > 1 &&
         S.K * Wo * Index(sizeof(Scalar)) <= kScatterBandBytes;
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
  if (kernel == ConvKernel::Scatter)
    throw_invalid("ConvKernel::Scatter: synthesizes only; analyze takes another kernel");
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
  const TapBox* boxes = phases ? conv_detail::phase_boxes(S, false) : nullptr;
  conv_detail::for_images(N, macs, [&](Index n) {
    CorrelateArgs<Scalar> A;
    A.src = x.ptr() + n * xs;
    if (phases) A.phases = {C, H, W, sh, sw};  // the phase planes, read in place
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
    A.in_taps = boxes;
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
  // throws where Scatter is forced but cannot run
  [[maybe_unused]] const bool scatter = scatter_chosen(kernel, S, H, W);
#if MLCSC_MASKED_FLOAT_ROWS
  if constexpr (std::is_same_v<Scalar, float>) {
    if (scatter) {
      conv_detail::scatter_synthesize<B>(S, gamma, x);
      return;
    }
  }
#endif
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
  const TapBox* boxes = phases ? conv_detail::phase_boxes(S, true) : nullptr;
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
    A.out_taps = boxes;
    Scalar* out = x.ptr() + n * xs;
    conv_detail::MergeTarget<Scalar> M{C, H, W, sh, sw, out};
    if (phases) {
      // the phase planes handed over tile by tile and merged into the signal by the thread that
      // computed them, from a tile buffer in its cache (tiles of about 64 KiB of phase rows)
      A.max_rows = std::max<Index>(1, (64 * 1024) / (planes * Wp * Index(sizeof(Scalar))));
      A.tile_done = &conv_detail::MergeTarget<Scalar>::merge;
      A.tile_done_context = &M;
    } else {
      A.dst = out;
    }
    correlate<B>(A);
  });
}

}  // namespace mlcsc::internal
