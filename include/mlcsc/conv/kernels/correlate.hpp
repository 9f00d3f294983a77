// mlcsc: the direct multi-channel correlation kernel that both analyze and synthesize run on
//
//   out_o[i, j] = sum_c sum_{u < kh} sum_{v < kw} w[c, u, v, o] * in_c[i + u - top, j + v - left]
//
// with outside pixels read as 0 (Zero) or wrapped (Circular). analyze is this with the filters
// packed as w[c,u,v,k] = d_{k,c}[u,v]; synthesize is this with the filter bank transposed and
// flipped (conv_ops.hpp).
//
// How it is fast:
//  * The output is cut into tiles of R rows x CB columns. A tile's input (all channels, R + kh - 1
//    rows, CB + kw - 1 columns, plus a vector's slack) is first copied into a per-thread buffer
//    with the border resolved (pad_tile.hpp), so the hot loop has no border tests. The tile is
//    sized to stay within about 1 MiB (L2) and its copy costs (R+kh-1)(CB+kw-1)/(R CB) reads per
//    input value, small against the cout kh kw multiply-adds each input value feeds.
//  * Register blocking: a micro-tile of MB output maps x NB packets of one output row is held in
//    MB*NB vector accumulators (6 x 4 = 24 of AVX-512's 32 registers; 1 x 8 or 2 x 8 when there
//    are only one or two output maps). Each tap (c, u, v) loads NB input packets once and
//    broadcasts MB filter values, then does MB*NB fused multiply-adds. With fewer than 4 output
//    maps (synthesize into 1 - 3 channels) that reuse is missing, so the blocking is over 4
//    output rows of one map instead (kRowBlock): an input row feeds each of them through another
//    filter row. That kernel is bound by the load ports (a misaligned 64-byte load costs two), at
//    about half of GEMM's rate on AVX-512 (shape (a) synthesize in bench_conv_kernels).
//  * The filters are packed block-major (filter_index below): the taps of one block of 6 output
//    maps are contiguous, 6 values per tap, so a micro-tile streams 6 c kh kw values in order
//    from L1 instead of one short run per tap strided by cout.
//  * Explicit Eigen packet math (ploadu / pset1 / pmadd / pstoreu), so the vector width is stated
//    and the accumulators stay in registers whatever the compiler (PERFORMANCE.md: g++ does not
//    keep an auto-vectorized accumulator block in registers). A partial last packet is computed
//    in full (the tile has slack columns) and only its valid lanes are stored.
//  * OpenMP over tiles. Every output value is summed by one thread in the fixed order c, u, v, so
//    results are bitwise identical whatever the number of threads or the tiling.
#pragma once

#include <algorithm>
#include <type_traits>

#include <Eigen/Core>

#include "../../internal/parallel.hpp"
#include "../boundary.hpp"
#include "pad_tile.hpp"
#include "workspace.hpp"

#if defined(__clang__)
#define MLCSC_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define MLCSC_UNROLL _Pragma("GCC unroll 16")
#else
#define MLCSC_UNROLL
#endif

// Keeps a loaded packet in a register. Without it g++ folds the load into every FMA that uses the
// packet (a memory operand per FMA), which turns the register-blocked loops load-bound (measured,
// g++ 12 -O3 -march=native, AVX-512: synthesize of shape (a) of the benchmark 56-60 GFLOP/s
// without it, 66-74 with it).
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define MLCSC_IN_REGISTER(p) __asm__("" : "+v"(p))
#else
#define MLCSC_IN_REGISTER(p) ((void)0)
#endif

namespace mlcsc::internal {

/// One multi-channel correlation: see the formula at the top of this file.
template <class Scalar>
struct CorrelateArgs {
  const Scalar* src = nullptr;  // cin planes of H x W, contiguous
  Eigen::Index cin = 0, cout = 0, H = 0, W = 0, kh = 0, kw = 0;
  Eigen::Index top = 0, left = 0;  // the anchor
  Boundary boundary = Boundary::Zero;
  const Scalar* w = nullptr;  // packed filters, w[filter_index(cin, cout, kh kw, c, u kw + v, o)]
  Scalar* dst = nullptr;      // cout planes of H x W, contiguous
};

// The tile buffer and where to write, as seen by the micro-kernel.
template <class Scalar>
struct TileView {
  const Scalar* in;  // cin planes of `rows` x `stride`
  Eigen::Index plane, stride;
  const Scalar* w;
  Eigen::Index cin, cout, kh, kw;
  Scalar* out;  // output planes H x W
  Eigen::Index out_plane, out_stride;
};

template <class Scalar>
using packet_t = typename Eigen::internal::packet_traits<Scalar>::type;
template <class Scalar>
constexpr int packet_size = Eigen::internal::unpacket_traits<packet_t<Scalar>>::size;

constexpr int max_micro_maps = 6;

/// Where filter value w[c, t, o] (tap t = u kw + v) sits in the packed buffer: output maps in
/// blocks of max_micro_maps (the last one narrower), each block's taps contiguous with the
/// block's maps innermost. With cout <= max_micro_maps this is w[(c taps + t) cout + o].
inline Eigen::Index filter_index(Eigen::Index cin, Eigen::Index cout, Eigen::Index taps,
                                 Eigen::Index c, Eigen::Index t, Eigen::Index o) {
  const Eigen::Index o0 = o / max_micro_maps * max_micro_maps;
  const Eigen::Index width = std::min<Eigen::Index>(max_micro_maps, cout - o0);
  return o0 * cin * taps + (c * taps + t) * width + (o - o0);
}

/// The packed filters of output map o: a pointer to w[0, 0, o] and the distance between taps.
struct FilterRun {
  Eigen::Index offset, stride;
};
inline FilterRun filter_run(Eigen::Index cin, Eigen::Index cout, Eigen::Index taps,
                            Eigen::Index o) {
  const Eigen::Index o0 = o / max_micro_maps * max_micro_maps;
  return {filter_index(cin, cout, taps, 0, 0, o),
          std::min<Eigen::Index>(max_micro_maps, cout - o0)};
}

/// MB output maps (o0..o0+MB-1) x NB packets of output row `oi`, columns oj.., reading the tile
/// from row ti, column tj. Partial: NB == 1 and only `valid` lanes are stored.
template <class Scalar, int MB, int NB, bool Partial>
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
  const Eigen::Index kh = T.kh, kw = T.kw;
  const FilterRun run = filter_run(T.cin, T.cout, kh * kw, o0);
  const Eigen::Index ws = run.stride;  // == MB except for the few-map kernel's leftover rows
  const Scalar* wv = T.w + run.offset;
  for (Eigen::Index c = 0; c < T.cin; ++c) {
    const Scalar* inc = T.in + c * T.plane + ti * T.stride + tj;
    for (Eigen::Index u = 0; u < kh; ++u) {
      const Scalar* row = inc + u * T.stride;
      for (Eigen::Index v = 0; v < kw; ++v, wv += ws) {
        Packet x[NB];
        MLCSC_UNROLL
        for (int n = 0; n < NB; ++n) x[n] = ploadu<Packet>(row + v + n * L);
        MLCSC_UNROLL
        for (int m = 0; m < MB; ++m) {
          const Packet f = pset1<Packet>(wv[m]);
          MLCSC_UNROLL
          for (int n = 0; n < NB; ++n) acc[m][n] = pmadd(x[n], f, acc[m][n]);
        }
      }
    }
  }
  Scalar* out = T.out + o0 * T.out_plane + oi * T.out_stride + oj;
  if constexpr (!Partial) {
    MLCSC_UNROLL
    for (int m = 0; m < MB; ++m) {
      MLCSC_UNROLL
      for (int n = 0; n < NB; ++n) pstoreu(out + m * T.out_plane + n * L, acc[m][n]);
    }
  } else {
    static_assert(NB == 1, "a partial micro-tile is one packet wide");
    EIGEN_ALIGN_MAX Scalar lanes[L];
    for (int m = 0; m < MB; ++m) {
      pstoreu(lanes, acc[m][0]);
      for (Eigen::Index l = 0; l < valid; ++l) out[m * T.out_plane + l] = lanes[l];
    }
  }
}

/// Packets per micro-tile for MB output maps: 24 accumulators for MB >= 3, 8 or 16 below.
template <int MB>
constexpr int micro_packets = MB <= 2 ? 8 : 4;

/// One output row segment [j0, j1) (tile columns from tj) of MB maps: widest micro-tiles first,
/// then narrower ones, then one partial packet.
template <class Scalar, int MB>
void corr_row(const TileView<Scalar>& T, Eigen::Index o0, Eigen::Index ti, Eigen::Index tj,
              Eigen::Index oi, Eigen::Index j0, Eigen::Index j1) {
  constexpr int L = packet_size<Scalar>;
  constexpr int NB = micro_packets<MB>;
  Eigen::Index j = j0;
  for (; j + NB * L <= j1; j += NB * L)
    corr_micro<Scalar, MB, NB, false>(T, o0, ti, tj + j - j0, oi, j, 0);
  if constexpr (NB > 4)
    for (; j + 4 * L <= j1; j += 4 * L)
      corr_micro<Scalar, MB, 4, false>(T, o0, ti, tj + j - j0, oi, j, 0);
  if constexpr (NB > 2)
    for (; j + 2 * L <= j1; j += 2 * L)
      corr_micro<Scalar, MB, 2, false>(T, o0, ti, tj + j - j0, oi, j, 0);
  for (; j + L <= j1; j += L) corr_micro<Scalar, MB, 1, false>(T, o0, ti, tj + j - j0, oi, j, 0);
  if (j < j1) corr_micro<Scalar, MB, 1, true>(T, o0, ti, tj + j - j0, oi, j, j1 - j);
}

/// Few output maps (synthesize into 1 - 3 channels): register blocking over output maps cannot
/// reuse the input loads, so block over kRowBlock output rows of one map instead. Tile row s
/// (relative to the first output row) feeds output row r through filter row u = s - r, so each
/// loaded input packet serves up to min(kRowBlock, kh) rows: NB x kRowBlock accumulators. The
/// rows r a tile row feeds, [max(0, s-kh+1), min(R-1, s)], are made compile-time by dispatching
/// once per (channel, tile row) to an instantiation for that range (no tests in the tap loop).
constexpr int kRowBlock = 4;

template <class Scalar, int NB, int LO, int HI>
EIGEN_ALWAYS_INLINE void corr_rows_taps(packet_t<Scalar> (&acc)[kRowBlock][NB], const Scalar* row,
                                        const Scalar* wc, Eigen::Index s, Eigen::Index kw,
                                        Eigen::Index cout) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr int L = packet_size<Scalar>;
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

// Finds the instantiation for rows [lo, hi] by walking all LO <= HI < kRowBlock at compile time.
template <class Scalar, int NB, int LO, int HI>
EIGEN_ALWAYS_INLINE void corr_rows_dispatch(int lo, int hi, packet_t<Scalar> (&acc)[kRowBlock][NB],
                                            const Scalar* row, const Scalar* wc, Eigen::Index s,
                                            Eigen::Index kw, Eigen::Index cout) {
  if (lo == LO && hi == HI) {
    corr_rows_taps<Scalar, NB, LO, HI>(acc, row, wc, s, kw, cout);
  } else if constexpr (HI + 1 < kRowBlock) {
    corr_rows_dispatch<Scalar, NB, LO, HI + 1>(lo, hi, acc, row, wc, s, kw, cout);
  } else if constexpr (LO + 1 < kRowBlock) {
    corr_rows_dispatch<Scalar, NB, LO + 1, LO + 1>(lo, hi, acc, row, wc, s, kw, cout);
  }
}

template <class Scalar, int NB, bool Partial>
inline void corr_micro_rows(const TileView<Scalar>& T, Eigen::Index o, Eigen::Index ti,
                            Eigen::Index tj, Eigen::Index oi, Eigen::Index oj, Eigen::Index valid) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr int L = packet_size<Scalar>;
  constexpr int R = kRowBlock;
  Packet acc[R][NB];
  MLCSC_UNROLL
  for (int r = 0; r < R; ++r) {
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n) acc[r][n] = pset1<Packet>(Scalar(0));
  }
  const Eigen::Index kh = T.kh, kw = T.kw;
  const FilterRun run = filter_run(T.cin, T.cout, kh * kw, o);
  const Eigen::Index cout = run.stride;  // the distance between taps
  for (Eigen::Index c = 0; c < T.cin; ++c) {
    const Scalar* inc = T.in + c * T.plane + ti * T.stride + tj;
    const Scalar* wc = T.w + run.offset + c * kh * kw * cout;
    for (Eigen::Index s = 0; s < R + kh - 1; ++s) {
      const int lo = int(std::max<Eigen::Index>(0, s - kh + 1));
      const int hi = int(std::min<Eigen::Index>(R - 1, s));
      corr_rows_dispatch<Scalar, NB, 0, 0>(lo, hi, acc, inc + s * T.stride, wc, s, kw, cout);
    }
  }
  Scalar* out = T.out + o * T.out_plane + oi * T.out_stride + oj;
  if constexpr (!Partial) {
    MLCSC_UNROLL
    for (int r = 0; r < R; ++r) {
      MLCSC_UNROLL
      for (int n = 0; n < NB; ++n) pstoreu(out + r * T.out_stride + n * L, acc[r][n]);
    }
  } else {
    static_assert(NB == 1, "a partial micro-tile is one packet wide");
    EIGEN_ALIGN_MAX Scalar lanes[L];
    for (int r = 0; r < R; ++r) {
      pstoreu(lanes, acc[r][0]);
      for (Eigen::Index l = 0; l < valid; ++l) out[r * T.out_stride + l] = lanes[l];
    }
  }
}

/// kRowBlock output rows of map o over columns [j0, j1).
template <class Scalar>
void corr_row_block(const TileView<Scalar>& T, Eigen::Index o, Eigen::Index ti, Eigen::Index tj,
                    Eigen::Index oi, Eigen::Index j0, Eigen::Index j1) {
  constexpr int L = packet_size<Scalar>;
  Eigen::Index j = j0;
  for (; j + 4 * L <= j1; j += 4 * L)
    corr_micro_rows<Scalar, 4, false>(T, o, ti, tj + j - j0, oi, j, 0);
  for (; j + 2 * L <= j1; j += 2 * L)
    corr_micro_rows<Scalar, 2, false>(T, o, ti, tj + j - j0, oi, j, 0);
  for (; j + L <= j1; j += L) corr_micro_rows<Scalar, 1, false>(T, o, ti, tj + j - j0, oi, j, 0);
  if (j < j1) corr_micro_rows<Scalar, 1, true>(T, o, ti, tj + j - j0, oi, j, j1 - j);
}

/// Row blocking pays when there are fewer output maps than the map-blocked kernel needs to reuse
/// its loads (cout < 4) and the filters have rows to share (kh >= 2) over at least kRowBlock rows.
template <class Scalar>
bool use_row_blocking(const CorrelateArgs<Scalar>& A) {
  return A.cout < 4 && A.kh >= 2 && A.H >= kRowBlock;
}

/// Calls f(std::integral_constant<int, MB>{}) with MB = mb in 1 .. max_micro_maps (mb beyond is
/// max_micro_maps): the compile-time width of a register-blocked block of output maps.
template <class F>
EIGEN_ALWAYS_INLINE void with_micro_maps(Eigen::Index mb, F&& f) {
  switch (mb) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 5:
      return f(std::integral_constant<int, 5>{});
    default:
      return f(std::integral_constant<int, max_micro_maps>{});
  }
}

template <class Scalar>
void corr_row_dispatch(Eigen::Index mb, const TileView<Scalar>& T, Eigen::Index o0, Eigen::Index ti,
                       Eigen::Index tj, Eigen::Index oi, Eigen::Index j0, Eigen::Index j1) {
  with_micro_maps(mb, [&](auto MB) { corr_row<Scalar, MB.value>(T, o0, ti, tj, oi, j0, j1); });
}

/// The tiling of the output: R rows x CB columns per tile.
struct CorrTiling {
  Eigen::Index rows, cols, row_tiles, col_tiles;
};

/// Tile choice rule: columns in multiples of the widest micro-tile, at most 256 (or the whole
/// row), rows so that the tile buffer (cin x (R + kh - 1) x (CB + kw - 1 + slack)) stays within
/// about 1 MiB (L2); narrower columns when that leaves fewer than max(kh - 1, 4) rows. Then tiles
/// are split further until there are at least 4 per thread (load balance). The tiling never changes
/// the arithmetic, only which buffer the input is read from.
template <class Scalar>
CorrTiling corr_tiling(const CorrelateArgs<Scalar>& A, int threads) {
  using Eigen::Index;
  constexpr Index L = packet_size<Scalar>;
  const Index step = (A.cout <= 2 ? 8 : 4) * L;  // column granularity: the widest micro-tile
  const Index budget = Index(1024 * 1024 / sizeof(Scalar));
  const Index Wr = (A.W + L - 1) / L * L;
  Index cb = std::min(Wr, std::max(step, Index(256) / step * step));
  auto rows_for = [&](Index cols) {
    const Index per_row = A.cin * (cols + A.kw - 1 + L);
    return std::max<Index>(1, budget / per_row - (A.kh - 1));
  };
  while (cb > step && rows_for(cb) < std::max<Index>(A.kh - 1, 4))
    cb = std::max(step, (cb / 2) / step * step);
  Index r = std::min(A.H, rows_for(cb));
  auto count = [&](Index rr, Index cc) { return ((A.H + rr - 1) / rr) * ((A.W + cc - 1) / cc); };
  const Index want = 4 * Index(threads);
  while (threads > 1 && count(r, cb) < want && (r > 1 || cb > step)) {
    if (r > 1)
      r = (r + 1) / 2;
    else
      cb = std::max(step, (cb / 2) / step * step);
  }
  if (use_row_blocking(A) && r >= kRowBlock) r = r / kRowBlock * kRowBlock;
  return {r, cb, (A.H + r - 1) / r, (A.W + cb - 1) / cb};
}

/// Runs the correlation of `A` (see the top of this file). Allocates nothing after the first call
/// per thread and size (per-thread tile buffers, workspace.hpp).
template <class Scalar>
void correlate(const CorrelateArgs<Scalar>& A) {
  using Eigen::Index;
  constexpr Index L = packet_size<Scalar>;
  const double macs = double(A.cin) * double(A.cout) * double(A.kh * A.kw) * double(A.H * A.W);
  const int threads = macs >= 2e5 ? max_threads() : 1;
  const CorrTiling t = corr_tiling(A, threads);
  const Index tiles = t.row_tiles * t.col_tiles;
  const Index nob = (A.cout + max_micro_maps - 1) / max_micro_maps;
  const bool rows_blocked = use_row_blocking(A);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (Index tile = 0; tile < tiles; ++tile) {
    const Index i0 = (tile / t.col_tiles) * t.rows, j0 = (tile % t.col_tiles) * t.cols;
    const Index i1 = std::min(A.H, i0 + t.rows), j1 = std::min(A.W, j0 + t.cols);
    const Index trows = i1 - i0 + A.kh - 1;
    const Index tstride = ((j1 - j0 + L - 1) / L * L + A.kw - 1 + L - 1) / L * L;  // aligned rows
    Scalar* buf = conv_scratch<Scalar>(ConvBuffer::Tile, A.cin * trows * tstride);
    pad_tile(A.src, A.cin, A.H, A.W, i0 - A.top, j0 - A.left, trows, tstride, A.boundary, buf);
    const TileView<Scalar> T{buf,  trows * tstride, tstride,   A.w, A.cin, A.cout, A.kh,
                             A.kw, A.dst,           A.H * A.W, A.W};
    if (rows_blocked) {
      for (Index o = 0; o < A.cout; ++o) {
        Index i = i0;
        for (; i + kRowBlock <= i1; i += kRowBlock) corr_row_block(T, o, i - i0, 0, i, j0, j1);
        for (; i < i1; ++i) corr_row_dispatch(1, T, o, i - i0, 0, i, j0, j1);
      }
      continue;
    }
    for (Index i = i0; i < i1; ++i) {
      for (Index ob = 0; ob < nob; ++ob) {
        const Index o0 = ob * max_micro_maps, mb = std::min<Index>(max_micro_maps, A.cout - o0);
        corr_row_dispatch(mb, T, o0, i - i0, 0, i, j0, j1);
      }
    }
  }
}

}  // namespace mlcsc::internal
