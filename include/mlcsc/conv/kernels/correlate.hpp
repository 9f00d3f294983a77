// mlcsc: the direct multi-channel correlation kernel that both analyze and synthesize run on
//
//   out_o[i, j] = sum_c sum_{u < kh} sum_{v < kw} w[c, u, v, o] * in_c[i + u - top, j + v - left]
//
// for an Ho x Wo output over H x W input planes, with outside pixels read as 0 (Zero) or wrapped
// (Circular). analyze is this with the filters
// packed as w[c,u,v,k] = d_{k,c}[u,v]; synthesize is this with the filter bank transposed and
// flipped (conv_ops.hpp).
//
// How it is fast:
//  * The output is cut into tiles of R rows x CB columns. A tile's input (all channels, R + kh - 1
//    rows, CB + kw - 1 columns, plus a vector's slack) is first copied into a per-thread buffer
//    with the border resolved (pad_tile.hpp), so the hot loop has no border tests. The tile is
//    sized to stay within about 4 MiB (rows) and at most 256 columns (4096 for 1- and 2-row
//    images); when a thread's next tile is the band of rows below (tiles as wide as the image),
//    only its new rows are copied and the kh - 1 shared ones slid to the top. So each input value
//    is read from memory about once: with many channels the copy, not the arithmetic, was the
//    cost (64 channels of 256 x 256 into 1: ~40% of the time before).
//  * Register blocking (blocking.hpp, a compile-time policy B per instruction set): a micro-tile
//    of MB output maps x NB packets of one output row is held in MB*NB vector accumulators (6 x 4
//    with 32 registers, 6 x 2 with 16; 1-2 maps x 8 or x 6). Each tap (c, u, v) loads NB input
//    packets once and broadcasts MB filter values, then does MB*NB fused multiply-adds.
//  * Fewer than 4 output maps (synthesize into 1 - 3 channels) lack that reuse, so the blocking
//    is over B::rows output rows of one map instead: an input row feeds each of them through
//    another filter row. With AVX-512 and kw <= 16 its taps' packets are lane shifts (vpermt2ps,
//    lane_shift.hpp) of NB + 1 aligned loads instead of NB unaligned loads per tap (15 of 16
//    unaligned 64-byte loads cross a cache line and cost two on Zen 4).
//  * One output map and long filter rows (kw >= 2 packets, e.g. 1-D synthesize into 1 channel):
//    the tap-phase kernel (corr_micro_phase) takes taps v, v + L, v + 2L, ... together, so NB + G
//    - 1 loads serve NB G multiply-adds instead of NB loads per NB.
//  * Rows shorter than two packets run flat (use_flat_rows below): the tile's rows end to end,
//    so a 12 x 12 code is one row of 12 x 14 values for the widest micro-tiles instead of 12
//    rows of one partial packet each. With many output maps and a small tile, the tile's planes
//    are first copied once per filter column, shifted by it: the flat row is then exactly the
//    12 x 12 outputs (none computed to be dropped), written straight into the maps.
//  * Strided correlations (conv_ops.hpp's polyphase form) give each input plane or output map
//    the box of taps that may be nonzero (TapBox): the micro-tile runs the taps inside it only,
//    from a per-tile list of (input offset, tap) pairs for per-plane boxes. A strided
//    synthesize's output (phase planes) is handed over tile by tile from a buffer in cache
//    (CorrelateArgs::tile_done) to be merged into the signal by the thread that computed it.
//  * The filters are packed block-major (filter_index<B> below): the taps of one block of B::maps
//    output maps are contiguous, B::maps values per tap, so a micro-tile streams its filter
//    values in order from L1 instead of one short run per tap strided by cout.
//  * Explicit Eigen packet math (ploadu / pset1 / pmadd / pstoreu), so the vector width is stated
//    and the accumulators stay in registers whatever the compiler (measured: g++ does not keep an
//    auto-vectorized accumulator block in registers). A partial last packet is computed
//    in full (the tile has slack columns) and only its valid lanes are stored.
//  * One output map by the tap-phase kernel from stored planes (a 1-D synthesize into one
//    channel): the planes are read in place inside a copied frame, the plane two ahead
//    prefetched (correlate below).
//  * OpenMP over tiles. Every output value is summed by one thread in an order fixed by the shape
//    and the build (c, u, v; by tap phases in the tap-phase kernel), so results are bitwise
//    identical whatever the number of threads or the tiling.
// Measured (bench_conv_kernels, float, one thread, g++ 12 -O3, the project's AMD EPYC Zen 4,
// shared and noisy; % of Eigen's float GEMM in the same run). -march=native (AVX-512, 32-register
// blocking): (a) analyze 124-133%, synthesize 76-88%, (b) direct 128-143%, (c) analyze 130-140%,
// synthesize 112-129% (55% before the tap-phase kernel, 110-116% before reading in place).
// -march=x86-64-v3 (AVX2 + FMA, 16-register blocking): (a) analyze 97-105%, synthesize 66-72%,
// (b) direct 96-104%, (c) analyze 93-105%, synthesize 87-90% (54% before the tap-phase kernel,
// 80-81% before reading in place). The 32-register blocking built for AVX2 spills: 51-72%.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <Eigen/Core>

#include "../../core/boundary.hpp"
#include "../../internal/parallel.hpp"
#include "blocking.hpp"
#include "lane_shift.hpp"
#include "pad_tile.hpp"
#include "workspace.hpp"

namespace mlcsc::internal {

/// The taps [u0, u1) x [v0, v1) of a filter that may hold a nonzero value (the rest are skipped).
/// A strided correlation's phase filters (conv_ops.hpp) are zero outside such a box: a 3 x 3
/// stride-2 filter's four 2 x 2 phase filters hold 4, 2, 2 and 1 of its taps.
struct TapBox {
  Eigen::Index u0 = 0, u1 = 0, v0 = 0, v1 = 0;
  TapBox intersect(const TapBox& o) const {
    return {std::max(u0, o.u0), std::min(u1, o.u1), std::max(v0, o.v0), std::min(v1, o.v1)};
  }
  TapBox unite(const TapBox& o) const {
    if (u0 >= u1 || v0 >= v1) return o;
    if (o.u0 >= o.u1 || o.v0 >= o.v1) return *this;
    return {std::min(u0, o.u0), std::max(u1, o.u1), std::min(v0, o.v0), std::max(v1, o.v1)};
  }
};

/// One multi-channel correlation: see the formula at the top of this file.
template <class Scalar>
struct CorrelateArgs {
  const Scalar* src = nullptr;  // cin planes of H x W, contiguous
  Eigen::Index cin = 0, cout = 0, H = 0, W = 0, kh = 0, kw = 0;
  Eigen::Index Ho = 0, Wo = 0;         // the output planes' size (H x W for a "same" correlation)
  Eigen::Index top = 0, left = 0;      // the anchor: out[i, j] reads in[i - top, j - left] at tap 0
  Boundary boundary = Boundary::Zero;  // Zero or Circular (Circular: Ho = H, Wo = W)
  const Scalar* w = nullptr;  // packed filters, w[filter_index(cin, cout, kh kw, c, u kw + v, o)]
  Scalar* dst = nullptr;      // cout planes of Ho x Wo, contiguous
  // Optional: the taps that may be nonzero, per input plane and per output map (null: all); the
  // map-blocked kernel skips the others (a block of maps takes the union of its maps' boxes)
  const TapBox* in_taps = nullptr;
  const TapBox* out_taps = nullptr;
  // Optional: src is a strided signal whose phase planes are the cin input planes of H x W
  // (pad_tile.hpp), read in place
  PhaseSource phases;
  // Optional: the output handed over by tiles of at most `max_rows` rows (0: any) instead of
  // written to dst: the thread that computed the rows [i0, i1) x columns [j0, j1) of every map
  // calls tile_done with them at `out` (map o's row i0 + r, column j0 + q at out[o plane + r
  // stride + q]; valid during the call only; dst is not used). A strided synthesize merges its
  // phase planes into the signal there, from a tile buffer in cache.
  using TileDone = void (*)(void* context, const Scalar* out, Eigen::Index plane,
                            Eigen::Index stride, Eigen::Index i0, Eigen::Index i1, Eigen::Index j0,
                            Eigen::Index j1);
  TileDone tile_done = nullptr;
  void* tile_done_context = nullptr;
  Eigen::Index max_rows = 0;
};

// The tile buffer and where to write, as seen by the micro-kernel.
template <class Scalar>
struct TileView {
  const Scalar* in;  // cin planes of `rows` x `stride`
  Eigen::Index plane, stride;
  const Scalar* w;
  Eigen::Index cin, cout, kh, kw;
  Scalar* out;  // output planes Ho x Wo
  Eigen::Index out_plane, out_stride;
  const TapBox* out_taps;        // CorrelateArgs'
  const Eigen::Index* tap_list;  // with CorrelateArgs' in_taps: the tile's taps (see correlate)
  Eigen::Index list_taps;
  // Reading the planes in place (not a tile buffer): the tap-phase kernel prefetches the input
  // of the plane this many planes ahead (0: no prefetch; see correlate)
  Eigen::Index prefetch_planes;
};

/// Prefetches the N cache lines from the one holding p into L1 (a hint: it never faults, so the
/// addresses are formed as integers and may lie past the planes).
template <int N, class Scalar>
EIGEN_ALWAYS_INLINE void prefetch_lines(const Scalar* p) {
  const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
  MLCSC_UNROLL
  for (int k = 0; k < N; ++k)
    Eigen::internal::prefetch(reinterpret_cast<const Scalar*>(a + std::uintptr_t(64 * k)));
}

/// The lines a run of n values spans at most (from any alignment).
template <class Scalar>
constexpr int lines_for(int n) {
  return (n * int(sizeof(Scalar)) + 63) / 64 + 1;
}

/// Where a micro-tile reading plane c at `at` reads the plane T.prefetch_planes ahead (null when
/// there is none, or the tile is a buffer already in cache). Formed as an integer, as a prefetch
/// address may be.
template <class Scalar>
EIGEN_ALWAYS_INLINE const Scalar* prefetch_plane(const TileView<Scalar>& T, Eigen::Index c,
                                                 const Scalar* at) {
  if (T.prefetch_planes == 0 || c + T.prefetch_planes >= T.cin) return nullptr;
  return reinterpret_cast<const Scalar*>(reinterpret_cast<std::uintptr_t>(at) +
                                         std::uintptr_t(T.prefetch_planes * T.plane) *
                                             sizeof(Scalar));
}

template <class Scalar>
using packet_t = typename Eigen::internal::packet_traits<Scalar>::type;
template <class Scalar>
constexpr int packet_size = Eigen::internal::unpacket_traits<packet_t<Scalar>>::size;

/// Stores a micro-tile's accumulators: M rows (acc(m, n), row m at out + m * row_stride) of NB
/// packets; a Partial tile is one packet wide of which the first `valid` lanes are stored.
template <bool Partial, int M, int NB, class Scalar, class Acc>
EIGEN_ALWAYS_INLINE void store_tile(Scalar* out, Eigen::Index row_stride, Eigen::Index valid,
                                    Acc&& acc) {
  using namespace Eigen::internal;
  constexpr int L = packet_size<Scalar>;
  if constexpr (!Partial) {
    MLCSC_UNROLL
    for (int m = 0; m < M; ++m) {
      MLCSC_UNROLL
      for (int n = 0; n < NB; ++n) pstoreu(out + m * row_stride + n * L, acc(m, n));
    }
  } else {
    static_assert(NB == 1, "a partial micro-tile is one packet wide");
    EIGEN_ALIGN_MAX Scalar lanes[L];
    for (int m = 0; m < M; ++m) {
      pstoreu(lanes, acc(m, 0));
      for (Eigen::Index l = 0; l < valid; ++l) out[m * row_stride + l] = lanes[l];
    }
  }
}

/// The output maps of a micro-tile of blocking B: the block width of the packed filters.
template <class B = DefaultConvBlocking>
constexpr int max_micro_maps = B::maps;

/// Where filter value w[c, t, o] (tap t = u kw + v) sits in the packed buffer of blocking B:
/// output maps in blocks of `max_micro_maps<B>` (the last one narrower), each block's taps
/// contiguous with the block's maps innermost. With cout <= B::maps this is w[(c taps + t) cout +
/// o].
template <class B = DefaultConvBlocking>
inline Eigen::Index filter_index(Eigen::Index cin, Eigen::Index cout, Eigen::Index taps,
                                 Eigen::Index c, Eigen::Index t, Eigen::Index o) {
  constexpr Eigen::Index MB = B::maps;
  const Eigen::Index o0 = o / MB * MB;
  const Eigen::Index width = std::min<Eigen::Index>(MB, cout - o0);
  return o0 * cin * taps + (c * taps + t) * width + (o - o0);
}

/// The packed filters of output map o: a pointer to w[0, 0, o] and the distance between taps.
struct FilterRun {
  Eigen::Index offset, stride;
};
template <class B>
inline FilterRun filter_run(Eigen::Index cin, Eigen::Index cout, Eigen::Index taps,
                            Eigen::Index o) {
  constexpr Eigen::Index MB = B::maps;
  const Eigen::Index o0 = o / MB * MB;
  return {filter_index<B>(cin, cout, taps, 0, 0, o), std::min<Eigen::Index>(MB, cout - o0)};
}

/// MB output maps (o0..o0+MB-1) x NB packets of output row `oi`, columns oj.., reading the tile
/// from row ti, column tj. Partial: NB == 1 and only `valid` lanes are stored.
template <class Scalar, class B, int MB, int NB, bool Partial>
inline void corr_micro(const TileView<Scalar>& T, Eigen::Index o0, Eigen::Index ti, Eigen::Index tj,
                       Eigen::Index oi, Eigen::Index oj, Eigen::Index valid) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr int L = packet_size<Scalar>;
  Packet acc[MB][NB];
  MLCSC_UNROLL
  for (int m = 0; m < MB; ++m) {
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n) acc[m][n] = pset1<Packet>(Scalar(0));
  }
  const Eigen::Index kh = T.kh, kw = T.kw, taps = kh * kw;
  const FilterRun run = filter_run<B>(T.cin, T.cout, taps, o0);
  const Eigen::Index ws = run.stride;  // == MB except for the few-map kernel's leftover rows
  auto tap = [&](const Scalar* in, const Scalar* wv) {
    Packet x[NB];
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n) {
      Packet t = ploadu<Packet>(in + n * L);
      if constexpr (MB > 1) MLCSC_IN_REGISTER(t);
      x[n] = t;
    }
    MLCSC_UNROLL
    for (int m = 0; m < MB; ++m) {
      const Packet f = pset1<Packet>(wv[m]);
      MLCSC_UNROLL
      for (int n = 0; n < NB; ++n) acc[m][n] = pmadd(x[n], f, acc[m][n]);
    }
  };
  const Scalar* in = T.in + ti * T.stride + tj;
  const Scalar* w = T.w + run.offset;
  if (T.tap_list) {
    // per-plane tap boxes: the tile's list of (input offset, tap) pairs, in (c, u, v) order
    for (const Eigen::Index* t = T.tap_list; t != T.tap_list + 2 * T.list_taps; t += 2)
      tap(in + t[0], w + t[1] * ws);
  } else {
    // the block's taps: the union of its maps' boxes (all taps without boxes)
    Eigen::Index u0 = 0, u1 = kh, v0 = 0, v1 = kw;
    if (T.out_taps) {
      TapBox block = T.out_taps[o0];
      for (int m = 1; m < MB; ++m) block = block.unite(T.out_taps[o0 + m]);
      u0 = block.u0, u1 = block.u1, v0 = block.v0, v1 = block.v1;
    }
    for (Eigen::Index c = 0; c < T.cin; ++c) {
      for (Eigen::Index u = u0; u < u1; ++u) {
        const Scalar* row = in + c * T.plane + u * T.stride;
        const Scalar* wv = w + ((c * kh + u) * kw + v0) * ws;
        for (Eigen::Index v = v0; v < v1; ++v, wv += ws) tap(row + v, wv);
      }
    }
  }
  store_tile<Partial, MB, NB>(T.out + o0 * T.out_plane + oi * T.out_stride + oj, T.out_plane, valid,
                              [&](int m, int n) { return acc[m][n]; });
}

/// Walks an output row segment [j0, j1) in micro-tiles: of NB packets first, then of 4, 2 and 1
/// packets (those narrower than NB), then one partial packet. Calls
/// micro(width, partial, j, valid) with width an std::integral_constant<int> (packets) and
/// partial an std::bool_constant; `valid` is the partial tile's lane count (0 otherwise).
template <class Scalar, int NB, class Micro>
EIGEN_ALWAYS_INLINE void for_row_tiles(Eigen::Index j0, Eigen::Index j1, Micro&& micro) {
  constexpr int L = packet_size<Scalar>;
  using full = std::false_type;
  Eigen::Index j = j0;
  for (; j + NB * L <= j1; j += NB * L) micro(std::integral_constant<int, NB>{}, full{}, j, 0);
  if constexpr (NB > 4)
    for (; j + 4 * L <= j1; j += 4 * L) micro(std::integral_constant<int, 4>{}, full{}, j, 0);
  if constexpr (NB > 2)
    for (; j + 2 * L <= j1; j += 2 * L) micro(std::integral_constant<int, 2>{}, full{}, j, 0);
  for (; j + L <= j1; j += L) micro(std::integral_constant<int, 1>{}, full{}, j, 0);
  if (j < j1) micro(std::integral_constant<int, 1>{}, std::true_type{}, j, j1 - j);
}

/// One output row segment [j0, j1) (tile columns from tj) of MB maps, in micro-tiles of
/// B::packets_for(MB) packets and narrower.
template <class Scalar, class B, int MB>
void corr_row(const TileView<Scalar>& T, Eigen::Index o0, Eigen::Index ti, Eigen::Index tj,
              Eigen::Index oi, Eigen::Index j0, Eigen::Index j1) {
  for_row_tiles<Scalar, B::packets_for(MB)>(
      j0, j1, [&](auto nb, auto partial, Eigen::Index j, Eigen::Index valid) {
        corr_micro<Scalar, B, MB, decltype(nb)::value, decltype(partial)::value>(
            T, o0, ti, tj + j - j0, oi, j, valid);
      });
}

/// Calls f(std::integral_constant<int, MB>{}) with MB = mb in 1 .. Max (mb beyond is Max): the
/// compile-time width of a register-blocked block of output maps.
template <int Max, int MB = 1, class F>
EIGEN_ALWAYS_INLINE void with_micro_maps(Eigen::Index mb, F&& f) {
  if constexpr (MB >= Max) {
    return f(std::integral_constant<int, Max>{});
  } else {
    if (mb == MB) return f(std::integral_constant<int, MB>{});
    return with_micro_maps<Max, MB + 1>(mb, std::forward<F>(f));
  }
}

/// One output map and long filter rows (kw >= 2 L, e.g. synthesize into one channel of a 1-D
/// signal): the map-blocked kernel would load NB input packets per tap for only NB multiply-adds.
/// Taps v and v + L read the same input packets one packet apart, so the taps are taken by phase
/// p = v mod L: for the G taps v_g = p + g L, output packet n needs input packet n + g at offset
/// p, and NB + G - 1 loads (all at one misalignment) serve NB G multiply-adds, the G filter
/// values broadcast once. Each output sums over c and u in order, then over the taps phase by
/// phase (p, p + L, ..., then p + 1, ...): a fixed order whatever the tiling or the threads.
template <class Scalar, int NB, int G>
EIGEN_ALWAYS_INLINE void phase_taps(packet_t<Scalar> (&acc)[NB], const Scalar* x, const Scalar* w,
                                    Eigen::Index wstep) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr int L = packet_size<Scalar>;
  Packet f[G];
  MLCSC_UNROLL
  for (int g = 0; g < G; ++g) f[g] = pset1<Packet>(w[g * wstep]);
  MLCSC_UNROLL
  for (int k = 0; k < NB + G - 1; ++k) {
    Packet t = ploadu<Packet>(x + k * L);
    if constexpr (G > 1) MLCSC_IN_REGISTER(t);
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n)
      if (k - n >= 0 && k - n < G) acc[n] = pmadd(t, f[k - n], acc[n]);
  }
}

template <class Scalar, class B, int NB, bool Partial>
inline void corr_micro_phase(const TileView<Scalar>& T, Eigen::Index o, Eigen::Index ti,
                             Eigen::Index tj, Eigen::Index oi, Eigen::Index oj,
                             Eigen::Index valid) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr int L = packet_size<Scalar>;
  constexpr int G = B::phase_taps;
  Packet acc[NB];
  MLCSC_UNROLL
  for (int n = 0; n < NB; ++n) acc[n] = pset1<Packet>(Scalar(0));
  const Eigen::Index kh = T.kh, kw = T.kw;
  const FilterRun run = filter_run<B>(T.cin, T.cout, kh * kw, o);
  const Eigen::Index ws = run.stride;  // the distance between taps
  const Eigen::Index phases = std::min<Eigen::Index>(L, kw);
  for (Eigen::Index c = 0; c < T.cin; ++c) {
    for (Eigen::Index u = 0; u < kh; ++u) {
      const Scalar* row = T.in + c * T.plane + (ti + u) * T.stride + tj;
      const Scalar* wr = T.w + run.offset + (c * kh + u) * kw * ws;
      // the part of a plane ahead's row the micro-tile before this one did not read
      if (const Scalar* ahead = prefetch_plane(T, c, row))
        prefetch_lines<lines_for<Scalar>(NB * L)>(ahead + kw - 1);
      for (Eigen::Index p = 0; p < phases; ++p) {
        const Eigen::Index taps = (kw - p + L - 1) / L;  // p, p + L, ... < kw
        Eigen::Index g = 0;
        for (; g + G <= taps; g += G)
          phase_taps<Scalar, NB, G>(acc, row + p + g * L, wr + (p + g * L) * ws, L * ws);
        if constexpr (G > 1) {
          if (g < taps)
            with_micro_maps<G - 1>(taps - g, [&](auto R) {
              phase_taps<Scalar, NB, R.value>(acc, row + p + g * L, wr + (p + g * L) * ws, L * ws);
            });
        }
      }
    }
  }
  store_tile<Partial, 1, NB>(T.out + o * T.out_plane + oi * T.out_stride + oj, 0, valid,
                             [&](int, int n) { return acc[n]; });
}

/// One output row segment [j0, j1) of map o by the tap-phase kernel.
template <class Scalar, class B>
void corr_row_phase(const TileView<Scalar>& T, Eigen::Index o, Eigen::Index ti, Eigen::Index tj,
                    Eigen::Index oi, Eigen::Index j0, Eigen::Index j1) {
  for_row_tiles<Scalar, B::phase_packets>(
      j0, j1, [&](auto nb, auto partial, Eigen::Index j, Eigen::Index valid) {
        corr_micro_phase<Scalar, B, decltype(nb)::value, decltype(partial)::value>(
            T, o, ti, tj + j - j0, oi, j, valid);
      });
}

/// The tap-phase kernel runs the blocks of one output map when the filter rows span two packets.
template <class Scalar>
bool use_phase_kernel(Eigen::Index kw) {
  return kw >= 2 * packet_size<Scalar>;
}

/// Few output maps (synthesize into 1 - 3 channels): register blocking over output maps cannot
/// reuse the input loads, so block over R = B::rows output rows of one map instead. Tile row s
/// (relative to the first output row) feeds output row r through filter row u = s - r, so each
/// loaded input packet serves up to min(R, kh) rows: NB x R accumulators. The rows r a tile row
/// feeds, [max(0, s-kh+1), min(R-1, s)], are made compile-time by dispatching once per (channel,
/// tile row) to an instantiation for that range (no tests in the tap loop).
template <class Scalar, int R, int NB, int LO, int HI, bool Shift>
EIGEN_ALWAYS_INLINE void corr_rows_taps(packet_t<Scalar> (&acc)[R][NB], const Scalar* row,
                                        const Scalar* wc, Eigen::Index s, Eigen::Index kw,
                                        Eigen::Index cout) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr int L = packet_size<Scalar>;
  if constexpr (Shift) {
    // kw <= L: the NB + 1 packets from `row` (aligned) hold every tap's input; the tap-v packets
    // are lane shifts of them
    using S = LaneShift<Scalar>;
    Packet a[NB + 1];
    MLCSC_UNROLL
    for (int n = 0; n <= NB; ++n) a[n] = ploadu<Packet>(row + n * L);
    for (Eigen::Index v = 0; v < kw; ++v) {
      const typename S::Index idx = S::index(int(v));
      Packet x[NB];
      MLCSC_UNROLL
      for (int n = 0; n < NB; ++n) x[n] = S::shift(a[n], a[n + 1], idx);
      MLCSC_UNROLL
      for (int r = LO; r <= HI; ++r) {
        const Packet f = pset1<Packet>(wc[((s - r) * kw + v) * cout]);
        MLCSC_UNROLL
        for (int n = 0; n < NB; ++n) acc[r][n] = pmadd(x[n], f, acc[r][n]);
      }
    }
    return;
  }
  for (Eigen::Index v = 0; v < kw; ++v) {
    Packet x[NB];
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n) {
      Packet t = ploadu<Packet>(row + v + n * L);
      if constexpr (HI > LO) MLCSC_IN_REGISTER(t);
      x[n] = t;
    }
    MLCSC_UNROLL
    for (int r = LO; r <= HI; ++r) {
      const Packet f = pset1<Packet>(wc[((s - r) * kw + v) * cout]);
      MLCSC_UNROLL
      for (int n = 0; n < NB; ++n) acc[r][n] = pmadd(x[n], f, acc[r][n]);
    }
  }
}

// Finds the instantiation for rows [lo, hi] by walking all LO <= HI < R at compile time.
template <class Scalar, int R, int NB, bool Shift, int LO, int HI>
EIGEN_ALWAYS_INLINE void corr_rows_dispatch(int lo, int hi, packet_t<Scalar> (&acc)[R][NB],
                                            const Scalar* row, const Scalar* wc, Eigen::Index s,
                                            Eigen::Index kw, Eigen::Index cout) {
  if (lo == LO && hi == HI) {
    corr_rows_taps<Scalar, R, NB, LO, HI, Shift>(acc, row, wc, s, kw, cout);
  } else if constexpr (HI + 1 < R) {
    corr_rows_dispatch<Scalar, R, NB, Shift, LO, HI + 1>(lo, hi, acc, row, wc, s, kw, cout);
  } else if constexpr (LO + 1 < R) {
    corr_rows_dispatch<Scalar, R, NB, Shift, LO + 1, LO + 1>(lo, hi, acc, row, wc, s, kw, cout);
  }
}

template <class Scalar, class B, int NB, bool Partial>
inline void corr_micro_rows(const TileView<Scalar>& T, Eigen::Index o, Eigen::Index ti,
                            Eigen::Index tj, Eigen::Index oi, Eigen::Index oj, Eigen::Index valid) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr int L = packet_size<Scalar>;
  constexpr int R = B::rows;
  Packet acc[R][NB];
  MLCSC_UNROLL
  for (int r = 0; r < R; ++r) {
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n) acc[r][n] = pset1<Packet>(Scalar(0));
  }
  const Eigen::Index kh = T.kh, kw = T.kw;
  const FilterRun run = filter_run<B>(T.cin, T.cout, kh * kw, o);
  const Eigen::Index cout = run.stride;  // the distance between taps
  auto taps = [&](auto shift) {
    for (Eigen::Index c = 0; c < T.cin; ++c) {
      const Scalar* inc = T.in + c * T.plane + ti * T.stride + tj;
      const Scalar* wc = T.w + run.offset + c * kh * kw * cout;
      for (Eigen::Index s = 0; s < R + kh - 1; ++s) {
        const int lo = int(std::max<Eigen::Index>(0, s - kh + 1));
        const int hi = int(std::min<Eigen::Index>(R - 1, s));
        corr_rows_dispatch<Scalar, R, NB, decltype(shift)::value, 0, 0>(
            lo, hi, acc, inc + s * T.stride, wc, s, kw, cout);
      }
    }
  };
  // lane shifts instead of unaligned loads where the target has them (lane_shift.hpp); the sum
  // is the same either way
  if (LaneShift<Scalar>::available && kw >= 2 && kw <= L)
    taps(std::integral_constant<bool, LaneShift<Scalar>::available>{});
  else
    taps(std::false_type{});
  store_tile<Partial, R, NB>(T.out + o * T.out_plane + oi * T.out_stride + oj, T.out_stride, valid,
                             [&](int r, int n) { return acc[r][n]; });
}

/// B::rows output rows of map o over columns [j0, j1).
template <class Scalar, class B>
void corr_row_block(const TileView<Scalar>& T, Eigen::Index o, Eigen::Index ti, Eigen::Index tj,
                    Eigen::Index oi, Eigen::Index j0, Eigen::Index j1) {
  for_row_tiles<Scalar, B::row_packets>(
      j0, j1, [&](auto nb, auto partial, Eigen::Index j, Eigen::Index valid) {
        corr_micro_rows<Scalar, B, decltype(nb)::value, decltype(partial)::value>(
            T, o, ti, tj + j - j0, oi, j, valid);
      });
}

/// Row blocking pays when there are fewer output maps than the map-blocked kernel needs to reuse
/// its loads (cout < 4) and the filters have rows to share (kh >= 2) over at least B::rows rows.
template <class B, class Scalar>
bool use_row_blocking(const CorrelateArgs<Scalar>& A) {
  return A.cout < 4 && A.kh >= 2 && A.Ho >= B::rows &&
         !(A.cout == 1 && use_phase_kernel<Scalar>(A.kw));
}

/// Flat rows: output rows shorter than two packets (a 12 x 12 code of a 28 x 28 digit, a 4 x 4
/// one of its next layer) leave most lanes of a packet-wide micro-tile idle and reuse each load
/// for few multiply-adds. Laid end to end in the tile with no padding (stride Wo + kw - 1),
/// output q = i stride + j reads tile[q + u stride + v] for every q, so the whole tile is one
/// long row run by the widest micro-tiles; the kw - 1 values of each row that straddle two rows
/// are computed and dropped (a 12-wide row with 3 taps uses 12 of 14 lanes, against 12 of 16 in
/// one-packet micro-tiles; a 4-wide one 4 of 6, against 4 of 16). Not for the row-blocked kernel.
template <class B, class Scalar>
bool use_flat_rows(const CorrelateArgs<Scalar>& A) {
  return A.Wo < 2 * packet_size<Scalar> && !use_row_blocking<B>(A);
}

template <class Scalar, class B>
void corr_row_dispatch(Eigen::Index mb, const TileView<Scalar>& T, Eigen::Index o0, Eigen::Index ti,
                       Eigen::Index tj, Eigen::Index oi, Eigen::Index j0, Eigen::Index j1) {
  with_micro_maps<B::maps>(
      mb, [&](auto MB) { corr_row<Scalar, B, MB.value>(T, o0, ti, tj, oi, j0, j1); });
}

/// The tiling of the output: R rows x CB columns per tile.
struct CorrTiling {
  Eigen::Index rows, cols, row_tiles, col_tiles;
};

/// Tile choice rule: columns in multiples of the widest micro-tile, at most 256 (or the whole
/// row), rows so that the tile buffer (cin x (R + kh - 1) x (CB + kw - 1 + slack)) stays within
/// about 4 MiB (within L3: 1 / 2 MiB tiles measured no faster), or 256 KiB (within L2) for the
/// map-blocked kernels on inputs larger than L2 (below); narrower columns when that leaves fewer
/// than max(kh - 1, 4) rows. Then tiles are split further until there are at least 4 per thread,
/// full-width bands into a multiple of the threads where possible (load balance). The tiling
/// never changes the arithmetic, only which buffer the input is read from.
template <class B, class Scalar>
CorrTiling corr_tiling(const CorrelateArgs<Scalar>& A, int threads) {
  using Eigen::Index;
  constexpr Index L = packet_size<Scalar>;
  const bool rows_blocked = use_row_blocking<B>(A);
  // column granularity: the widest micro-tile
  const bool phase = A.cout == 1 && use_phase_kernel<Scalar>(A.kw);
  const Index step = (rows_blocked ? B::row_packets
                      : phase      ? B::phase_packets
                                   : B::widest(A.cout)) *
                     L;
  const Index Wr = (A.Wo + L - 1) / L * L;
  // The map-blocked kernels read a tile's rows for one output row at a time: when the whole
  // input would not stay in L2 (1 MiB), tiles of at most 256 KiB are read back from L2 right
  // after their copy, not from L3 (the 64 -> 128 3 x 3 stride-2 analyze, 256 phase planes of
  // 64 x 65: medians 3.55-3.83 -> 3.34-3.60 ms in four side-by-side runs on the Zen 5 VM, about
  // 5%, within the VM's noise in any one run), as long as they stay as wide as the image and at
  // least kh - 1 rows tall (so the slide moves no more than the copy brings)
  const Index per_full_row = A.cin * (Wr + A.kw - 1 + L);
  const Index l2 = Index(256 * 1024 / sizeof(Scalar));
  const bool l2_tiles =
      !rows_blocked && !phase &&
      double(per_full_row) * double(A.Ho + A.kh - 1) * double(sizeof(Scalar)) > 1024.0 * 1024 &&
      l2 / per_full_row - (A.kh - 1) >= std::max<Index>(1, A.kh - 1);
  const Index budget = l2_tiles ? l2 : Index(4 * 1024 * 1024 / sizeof(Scalar));
  // at most 256 columns (4096 for one- or two-row images, whose tiles would otherwise copy the
  // kw - 1 columns of overlap for every few hundred outputs)
  const Index cap = A.Ho <= 2 ? 4096 : 256;
  Index cb = std::min(Wr, std::max(step, cap / step * step));
  auto rows_for = [&](Index cols) {
    const Index per_row = A.cin * (cols + A.kw - 1 + L);
    return std::max<Index>(1, budget / per_row - (A.kh - 1));
  };
  while (cb > step && rows_for(cb) < std::max<Index>(A.kh - 1, 4))
    cb = std::max(step, (cb / 2) / step * step);
  Index r = std::min(A.Ho, rows_for(cb));
  if (A.max_rows > 0) r = std::min(r, A.max_rows);
  auto count = [&](Index rr, Index cc) { return ((A.Ho + rr - 1) / rr) * ((A.Wo + cc - 1) / cc); };
  const Index want = 4 * Index(threads);
  while (threads > 1 && count(r, cb) < want && (r > 1 || cb > step)) {
    if (r > 1)
      r = (r + 1) / 2;
    else
      cb = std::max(step, (cb / 2) / step * step);
  }
  // bands as wide as the image, on several threads: a multiple of `threads` bands where bands
  // at least half as tall allow it (13 bands of 5 rows on 2 threads ran 7 : 6)
  if (threads > 1 && cb >= Wr)
    for (Index rr = r; rr >= std::max<Index>(1, r / 2); --rr)
      if (((A.Ho + rr - 1) / rr) % threads == 0) {
        r = rr;
        break;
      }
  if (rows_blocked && r >= B::rows) r = r / B::rows * B::rows;
  return {r, cb, (A.Ho + r - 1) / r, (A.Wo + cb - 1) / cb};
}

/// Which tile this thread copied last, in which call of correlate, and its rows: when its next
/// tile is the band of rows below (tiles as wide as the image), the kh - 1 shared rows are already
/// in its tile buffer.
struct TileRoll {
  unsigned long call = 0;
  Eigen::Index tile = -1, rows = 0;
};
inline TileRoll& tile_roll() {
  thread_local TileRoll roll;
  return roll;
}
inline unsigned long next_correlate_call() {
  static std::atomic<unsigned long> calls{0};
  return ++calls;
}

/// Runs the correlation of `A` (see the top of this file) with the register blocking B; the
/// filters must be packed by `filter_index<B>`. Allocates nothing after the first call per thread
/// and size (per-thread tile buffers, workspace.hpp).
template <class B = DefaultConvBlocking, class Scalar>
void correlate(const CorrelateArgs<Scalar>& A) {
  using Eigen::Index;
  constexpr Index L = packet_size<Scalar>;
  constexpr Index MB = B::maps;
  const double macs = double(A.cin) * double(A.cout) * double(A.kh * A.kw) * double(A.Ho * A.Wo);
  const int threads = macs >= 2e5 ? max_threads() : 1;
  const CorrTiling t = corr_tiling<B>(A, threads);
  const Index tiles = t.row_tiles * t.col_tiles;
  const Index nob = (A.cout + MB - 1) / MB;
  const bool rows_blocked = use_row_blocking<B>(A);
  const bool phase = use_phase_kernel<Scalar>(A.kw);
  const bool flat = use_flat_rows<B>(A) && t.col_tiles == 1;
  // Flat rows from shifted copies (below) when the multiply-adds they save, cout kh (kw - 1) per
  // tstride outputs and input plane, outweigh the copies, kw (trows / rows) values per output and
  // plane (twice, a load and a store), and the copies stay within half of L1 (every micro-tile
  // reads all of them): the MNIST model's first layer analyze (4 phase planes into 32 maps of
  // 12 x 12, 3 x 3 phase taps, 8 KiB of copies) computed 14 values for every 12 before, and ran
  // 0.200-0.214 -> 0.154-0.161 ms (AVX-512). Its synthesize (32 planes into 4, 86 KiB of copies)
  // ran twice as slow with them. Not with per-map tap boxes (a strided synthesize): the tap list
  // is the planes', so a block of maps would run the taps outside its box too.
  const bool shifted =
      flat && A.kw > 1 && !(A.cout == 1 && phase) && !A.out_taps &&
      A.cout * A.kh * (A.kw - 1) >= 4 * (A.Wo + A.kw - 1) &&
      A.cin * A.kw * (t.rows + A.kh - 1) * A.Wo * Index(sizeof(Scalar)) <= 16 * 1024;
  // the tile copy of every plane, `stride` apart in dst: stored planes, or the phase planes of a
  // strided signal
  auto copy_planes = [&](Index row0, Index col0, Index rows, Index cols, Scalar* dst,
                         Index stride) {
    if (A.phases.C > 0)
      pad_tile_phases(A.src, A.phases, 0, A.cin, A.H, A.W, row0, col0, rows, cols, A.boundary, dst,
                      stride);
    else
      pad_tile(A.src, A.cin, A.H, A.W, row0, col0, rows, cols, A.boundary, dst, stride);
  };
  // The kernels over output rows [r0, r1) x columns [c0, c1) of T, whose T.in is the input of
  // output (r0, c0): output (i, j) reads from tile row i - r0, column j - c0, and is written at
  // row i - or0, column j - oc0 of T.out.
  auto run = [&](const TileView<Scalar>& T, Index r0, Index r1, Index c0, Index c1, Index or0,
                 Index oc0) {
    const Index j0 = c0 - oc0, j1 = c1 - oc0;
    if (rows_blocked) {
      for (Index o = 0; o < A.cout; ++o) {
        Index i = r0;
        for (; i + B::rows <= r1; i += B::rows)
          corr_row_block<Scalar, B>(T, o, i - r0, 0, i - or0, j0, j1);
        for (; i < r1; ++i) corr_row_dispatch<Scalar, B>(1, T, o, i - r0, 0, i - or0, j0, j1);
      }
      return;
    }
    for (Index i = r0; i < r1; ++i) {
      for (Index ob = 0; ob < nob; ++ob) {
        const Index o0 = ob * MB, mb = std::min<Index>(MB, A.cout - o0);
        if (mb == 1 && phase)
          corr_row_phase<Scalar, B>(T, o0, i - r0, 0, i - or0, j0, j1);
        else
          corr_row_dispatch<Scalar, B>(mb, T, o0, i - r0, 0, i - or0, j0, j1);
      }
    }
  };
  // this call's id: a thread's next tile reuses rows of its previous one only within a call
  const unsigned long call = next_correlate_call();
  // Output rows [i0, i1) x columns [j0, j1) from a tile buffer: the input copied with its border
  // resolved. `tile` >= 0: a whole tile of the tiling, whose rows shared with the tile above may
  // be slid from this thread's previous copy; -1: a part of a tile (no slide).
  auto copied = [&](Index tile, Index i0, Index i1, Index j0, Index j1) {
    const Index trows = i1 - i0 + A.kh - 1;
    // aligned rows with a packet's slack, or flat rows end to end (slack after the last plane:
    // the flat row's last packet, up to L - 1 values past its outputs, reads kw - 1 further)
    const Index tstride =
        flat ? A.Wo + A.kw - 1 : ((j1 - j0 + L - 1) / L * L + A.kw - 1 + L - 1) / L * L;
    Scalar* buf = conv_scratch<Scalar>(ConvBuffer::Tile, A.cin * trows * tstride + L + A.kw);
    const Index keep = A.kh - 1;
    TileRoll& roll = tile_roll();
    if (tile > 0 && t.col_tiles == 1 && roll.call == call && roll.tile == tile - 1 && keep > 0 &&
        keep < trows) {
      // slide: the last kh - 1 rows of each channel to its top (channels in order: every move
      // goes to a lower address than any row still to be moved), then the new rows below them,
      // all planes in one pass (a strided signal's two column phases of a row together)
      const Index last_rows = roll.rows;
      for (Index c = 0; c < A.cin; ++c)
        std::memmove(buf + c * trows * tstride, buf + (c * last_rows + last_rows - keep) * tstride,
                     std::size_t(keep * tstride) * sizeof(Scalar));
      copy_planes(i0 - A.top + keep, j0 - A.left, trows - keep, tstride, buf + keep * tstride,
                  trows * tstride);
    } else {
      copy_planes(i0 - A.top, j0 - A.left, trows, tstride, buf, trows * tstride);
    }
    roll = {call, tile, trows};
    // per-plane tap boxes: the taps as (offset in the tile, tap index c kh kw + u kw + v) pairs,
    // so the micro-tile runs one loop over them (nested loops over per-plane bounds took general
    // registers enough to spill the accumulators)
    Index* list = nullptr;
    Index list_taps = 0;
    if (A.in_taps && !shifted) {
      list = conv_scratch<Index>(ConvBuffer::TapList, 2 * A.cin * A.kh * A.kw);
      for (Index c = 0; c < A.cin; ++c) {
        const TapBox& b = A.in_taps[c];
        for (Index u = b.u0; u < b.u1; ++u)
          for (Index v = b.v0; v < b.v1; ++v, ++list_taps) {
            list[2 * list_taps] = (c * trows + u) * tstride + v;
            list[2 * list_taps + 1] = (c * A.kh + u) * A.kw + v;
          }
      }
    }
    const TileView<Scalar> T{
        buf,   trows * tstride, tstride, A.w,        A.cin, A.cout,    A.kh, A.kw,
        A.dst, A.Ho * A.Wo,     A.Wo,    A.out_taps, list,  list_taps, 0};
    if (shifted) {
      // the tile's planes copied once per filter column v, shifted by v and Wo wide: output
      // q = i Wo + j reads plane (c, v) at q + u Wo for every q, so the flat row has no values
      // to drop and the outputs go straight to their maps (taps by a list, in (c, u, v) order)
      const Index rows = i1 - i0, Q = rows * A.Wo;
      Scalar* sh = conv_scratch<Scalar>(ConvBuffer::ShiftedRows, A.cin * A.kw * trows * A.Wo + L);
      // rows in whole packets, in address order: a row's extra lanes land on the next row (or
      // the slack), written after it; the tile's rows have a packet's slack to read
      const Index run = (A.Wo + L - 1) / L * L;
      for (Index c = 0; c < A.cin; ++c)
        for (Index v = 0; v < A.kw; ++v) {
          const Scalar* from = buf + c * trows * tstride + v;
          Scalar* to = sh + (c * A.kw + v) * trows * A.Wo;
          for (Index r = 0; r < trows; ++r)
            for (Index j = 0; j < run; j += L)
              Eigen::internal::pstoreu(to + r * A.Wo + j, Eigen::internal::ploadu<packet_t<Scalar>>(
                                                              from + r * tstride + j));
        }
      std::fill_n(sh + A.cin * A.kw * trows * A.Wo, L, Scalar(0));  // read by the last packet
      list = conv_scratch<Index>(ConvBuffer::TapList, 2 * A.cin * A.kh * A.kw);
      list_taps = 0;
      for (Index c = 0; c < A.cin; ++c) {
        const TapBox b = A.in_taps ? A.in_taps[c] : TapBox{0, A.kh, 0, A.kw};
        for (Index u = b.u0; u < b.u1; ++u)
          for (Index v = b.v0; v < b.v1; ++v, ++list_taps) {
            list[2 * list_taps] = ((c * A.kw + v) * trows + u) * A.Wo;
            list[2 * list_taps + 1] = (c * A.kh + u) * A.kw + v;
          }
      }
      // the outputs straight into the maps, or into a buffer to hand over
      Scalar* out = A.tile_done ? conv_scratch<Scalar>(ConvBuffer::TileOutput, A.cout * Q)
                                : A.dst + i0 * A.Wo;
      const Index plane = A.tile_done ? Q : A.Ho * A.Wo;
      const TileView<Scalar> F{sh,  trows * A.Wo, A.Wo, A.w,        A.cin, A.cout,    A.kh, A.kw,
                               out, plane,        0,    A.out_taps, list,  list_taps, 0};
      for (Index ob = 0; ob < nob; ++ob) {
        const Index o0 = ob * MB, mb = std::min<Index>(MB, A.cout - o0);
        corr_row_dispatch<Scalar, B>(mb, F, o0, 0, 0, 0, 0, Q);
      }
      if (A.tile_done) A.tile_done(A.tile_done_context, out, Q, A.Wo, i0, i1, 0, A.Wo);
      return;
    }
    if (flat) {
      // one row of (i1 - i0) tstride outputs into a buffer, then the first Wo of each tstride
      const Index rows = i1 - i0, Q = rows * tstride;
      Scalar* out = conv_scratch<Scalar>(ConvBuffer::FlatRows, A.cout * Q);
      TileView<Scalar> F = T;
      F.out = out;
      F.out_plane = Q;
      F.out_stride = 0;
      for (Index ob = 0; ob < nob; ++ob) {
        const Index o0 = ob * MB, mb = std::min<Index>(MB, A.cout - o0);
        if (mb == 1 && phase)
          corr_row_phase<Scalar, B>(F, o0, 0, 0, 0, 0, Q);
        else
          corr_row_dispatch<Scalar, B>(mb, F, o0, 0, 0, 0, 0, Q);
      }
      if (A.tile_done) {
        A.tile_done(A.tile_done_context, out, Q, tstride, i0, i1, 0, A.Wo);
        return;
      }
      for (Index o = 0; o < A.cout; ++o)
        for (Index i = 0; i < rows; ++i)
          copy_values(out + o * Q + i * tstride, A.Wo, A.dst + (o * A.Ho + i0 + i) * A.Wo);
      return;
    }
    if (!A.tile_done) {
      run(T, i0, i1, j0, j1, 0, 0);
      return;
    }
    // handed over: the tile's output in a buffer of its own (in cache for tile_done)
    const Index w = j1 - j0, plane = (i1 - i0) * w;
    TileView<Scalar> O = T;
    O.out = conv_scratch<Scalar>(ConvBuffer::TileOutput, A.cout * plane);
    O.out_plane = plane;
    O.out_stride = w;
    run(O, i0, i1, j0, j1, i0, j0);
    A.tile_done(A.tile_done_context, O.out, plane, w, i0, i1, j0, j1);
  };
  // In place: the tap-phase kernel's one output map from stored planes (a 1-D synthesize into
  // one channel, shape (c) of bench_conv_kernels: 32 planes of 65,536) reads the part of a tile
  // whose input lies inside the planes where it is, prefetching the plane two ahead (the next
  // multiply-adds hide it), and copies only the frame around it: the copy of every plane was a
  // pass over memory with no arithmetic to hide it (AVX2: 87-90 -> 92-96 GFLOP/s). The 2-D
  // kernels keep their tiles: they read each input row for several output rows, and in place
  // (rows 1 KB apart in the same cache sets; no prefetch kept them fed) they measured slower:
  // shape (a)'s synthesize 67-78 against 76-78 GFLOP/s, its analyze 91% against 101% of GEMM.
  const bool in_place =
      A.phases.C == 0 && !A.in_taps && !A.tile_done && !flat && A.cout == 1 && phase;
  // a region of w output columns reads round_up(w, L) + kw - 1 columns from its first's input
  const TileView<Scalar> planes{A.src, A.H * A.W,   A.W,  A.w,        A.cin,   A.cout, A.kh, A.kw,
                                A.dst, A.Ho * A.Wo, A.Wo, A.out_taps, nullptr, 0,      2};
  parallel_for(tiles, threads, [&](Index tile) {
    const Index i0 = (tile / t.col_tiles) * t.rows, j0 = (tile % t.col_tiles) * t.cols;
    const Index i1 = std::min(A.Ho, i0 + t.rows), j1 = std::min(A.Wo, j0 + t.cols);
    if (in_place) {
      // output rows whose kh input rows, and columns whose input, are inside the planes
      const Index ia = std::max(i0, A.top), ib = std::min(i1, A.H - A.kh + 1 + A.top);
      const Index ja = std::max(j0, A.left);
      const Index room = A.W - (ja - A.left) - (A.kw - 1);  // columns readable from ja's input
      const Index jb = ja + std::min(j1 - ja, room / L * L);
      if (ia < ib && ja < jb) {
        TileView<Scalar> T = planes;
        T.in = A.src + (ia - A.top) * A.W + (ja - A.left);
        run(T, ia, ib, ja, jb, 0, 0);
        if (i0 < ia) copied(-1, i0, ia, j0, j1);
        if (ib < i1) copied(-1, ib, i1, j0, j1);
        if (j0 < ja) copied(-1, ia, ib, j0, ja);
        if (jb < j1) copied(-1, ia, ib, jb, j1);
        return;
      }
    }
    copied(tile, i0, i1, j0, j1);
  });
}

}  // namespace mlcsc::internal
