// mlcsc: synthesize by scattering the code (the transposed convolution's own form)
//
//   x_c[s_h i + d_h u - P_h, s_w j + d_w v - P_w] += sum_k d_{k,c}[u, v] gamma_k[i, j]
//
// For a synthesize into few channels (the MNIST model's first layer: 32 maps of 12 x 12 into one
// 28 x 28 digit, 6 x 6 filters, stride 2), the direct kernel (correlate.hpp) copies every code
// map into a zero-padded tile and computes each phase plane's border outputs from that padding
// (the copy alone was a fifth of its time), with rows of 14 in packets of 16. Here the code is
// read in place, each map as one flat run of Ho Wo values (whole packets, the last one masked),
// and in the polyphase form of conv_ops.hpp (tap (u, v) of phase (r_h, r_w) sits at phase-filter
// tap (m_h, m_w)) the sums over the K code maps come first, for a block of RB packets of the run
// and T taps of one phase:
//
//   A_{m_h, m_w}[q] = sum_k d_{k,c}[u, v] gamma_k[q]          (RB x T accumulators, q = i Wo + j)
//
// so every multiply-add lane holds a code value. Only then is each code row i of A_{m_h, m_w}
// added into row i + m_h of the phase plane, m_w columns to the right (masked loads from A at the
// row's offset; the taps of one m_h summed in registers, one aligned add per plane packet): a
// shifted load per tap and code row, where a correlation takes one per tap, code map and row.
// The phase planes are then interleaved into the signal (merge_phases, conv_ops.hpp). Larger
// codes are taken in bands of code rows whose K maps' rows stay in L2 (about 256 KiB) while every
// block of taps reads them; the bands of one image can run in parallel (conv_ops.hpp).
//
// Float only, with masked row packets (AVX, AVX-512; pad_tile.hpp); Zero and Valid boundaries (a
// circular code wraps around its rows). conv_ops.hpp's scatter_chosen says where it runs and what
// it measured.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include <Eigen/Core>

#include "blocking.hpp"
#include "pad_tile.hpp"

namespace mlcsc::internal {

/// The bytes of code a band holds (the K maps' rows: in L2 while every block of taps reads them).
constexpr Eigen::Index kScatterBandBytes = 256 * 1024;

#if MLCSC_MASKED_FLOAT_ROWS

/// One scattered synthesize of a single image (all its output channels), band by band.
struct ScatterArgs {
  const float* code;  // K maps of Ho x Wo
  Eigen::Index K, C, Ho, Wo;
  const float* w;             // the packed taps (scatter_pack)
  Eigen::Index phases;        // s_h s_w
  const Eigen::Index* boxes;  // phase p's taps: m_h in [boxes[4p], boxes[4p+1]),
                              // m_w in [boxes[4p+2], boxes[4p+3]) (phase-filter taps)
  Eigen::Index band;          // code rows per band (the code maps' rows of a band stay in cache)
  Eigen::Index run;           // band Wo rounded up to whole blocks of packets: the length of a
                              // run A (scatter_band's `sums` holds T of them)
  float* planes;              // C s_h s_w planes of `rows` x `stride` (zeroed by the caller)
  Eigen::Index rows, stride;  // stride: a multiple of the packet
};

/// The register blocking: RB packets x up to T taps of accumulators, sized for the register file
/// of B (27 of 32 registers, 12 of 16; plus the RB code packets and a broadcast filter value).
/// A phase box of n taps is taken in blocks(n) blocks: as few as T allows, their sizes within one
/// tap of each other (a 3 x 3 box as 9, or as 5 + 4 taps, not 6 + 3, whose 3-tap block spent 28%
/// of the MNIST conv1 synthesize on a third of its multiply-adds; 7 x 7 as 4 x 6 + 5 x 5, not
/// 8 x 6 + 1). With 16 registers 2 x 6 against 3 x 3 and 3 x 4 (spills): shape (a) 81 against 77
/// and 54 GFLOP/s, MNIST conv1 0.244 against 0.237 and 0.239 ms; 1 x 10, 1 x 12 and 1 x 13: 5-10%
/// slower on shape (a) (AVX2, AMD Zen 5).
template <class B>
struct ScatterBlocking {
  static constexpr int packets = B::registers >= 32 ? 3 : 2;
  static constexpr int taps = B::registers >= 32 ? 9 : 6;
  static Eigen::Index blocks(Eigen::Index n) {  // n = 0: an empty box (dilation > 1), none
    return (n + taps - 1) / taps;
  }
  /// Block i of a box of n taps: its first tap and its number of taps.
  static std::pair<Eigen::Index, Eigen::Index> block(Eigen::Index n, Eigen::Index i) {
    const Eigen::Index m = blocks(n), base = n / m, longer = n % m;
    return {i * base + std::min(i, longer), base + (i < longer)};
  }
};

/// Lanes selected for a masked load, in the form the instruction takes (a mask register with
/// AVX-512, a vector with AVX: made once, used for many loads).
#if defined(EIGEN_VECTORIZE_AVX512)
using LaneSelect = RowMask;
inline LaneSelect lane_select(Eigen::Index a, Eigen::Index b) {
  return lane_mask(a, b);
}
EIGEN_ALWAYS_INLINE RowPacket select_load(const float* base, Eigen::Index offset, LaneSelect m) {
  return masked_load(base, offset, m);
}
#else
using LaneSelect = __m256i;
/// The lanes [a, b) (any a, b).
inline LaneSelect lane_select(Eigen::Index a, Eigen::Index b) {
  a = std::clamp<Eigen::Index>(a, 0, kRowLanes);
  b = std::clamp<Eigen::Index>(b, a, kRowLanes);
  const __m256i t = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_and_si256(_mm256_cmpgt_epi32(t, _mm256_set1_epi32(int(a) - 1)),
                          _mm256_cmpgt_epi32(_mm256_set1_epi32(int(b)), t));
}
/// As masked_load (pad_tile.hpp): the address formed as an integer, only the selected lanes read.
EIGEN_ALWAYS_INLINE RowPacket select_load(const float* base, Eigen::Index offset, LaneSelect m) {
  const std::uintptr_t at =
      reinterpret_cast<std::uintptr_t>(base) + std::uintptr_t(offset * Eigen::Index(sizeof(float)));
  return _mm256_maskload_ps(reinterpret_cast<const float*>(at), m);
}
#endif

/// The packets [q0, q0 + RB) of a band's flat code run (`len` values from `code` in each map, the
/// maps `map` values apart) x the T taps of a block: the sums over the K code maps, stored to the
/// runs A (sums[t a.run + q]). `w` holds the T taps' values of map k at w[k T + t]. Tail: the
/// block reaches past the run (masked loads; whole loads otherwise).
template <int RB, int T, bool Tail>
void scatter_sums(const ScatterArgs& a, const float* code, Eigen::Index map, Eigen::Index len,
                  Eigen::Index q0, const float* w, float* sums) {
  using namespace Eigen::internal;
  using Eigen::Index;
  constexpr Index L = kRowLanes;
  RowPacket acc[T][RB];
  MLCSC_UNROLL
  for (int t = 0; t < T; ++t) {
    MLCSC_UNROLL
    for (int b = 0; b < RB; ++b) acc[t][b] = pset1<RowPacket>(0.f);
  }
  LaneSelect mask[RB];  // lanes past the run read nothing
  for (int b = 0; b < RB; ++b) mask[b] = lane_select(0, Tail ? len - (q0 + b) * L : L);
  for (Index k = 0; k < a.K; ++k, w += T) {
    const float* z = code + k * map + q0 * L;  // (a tail block's lanes past the run: not read)
    RowPacket x[RB];
    MLCSC_UNROLL
    for (int b = 0; b < RB; ++b) {
      RowPacket v = Tail ? select_load(z, b * L, mask[b]) : ploadu<RowPacket>(z + b * L);
      MLCSC_IN_REGISTER(v);
      x[b] = v;
    }
    MLCSC_UNROLL
    for (int t = 0; t < T; ++t) {
      const RowPacket f = pset1<RowPacket>(w[t]);
      MLCSC_UNROLL
      for (int b = 0; b < RB; ++b) acc[t][b] = pmadd(x[b], f, acc[t][b]);
    }
  }
  MLCSC_UNROLL
  for (int t = 0; t < T; ++t) {
    MLCSC_UNROLL
    for (int b = 0; b < RB; ++b) pstore(sums + t * a.run + (q0 + b) * L, acc[t][b]);
  }
}

/// Calls f(std::integral_constant<int, T>{}) for t in 1 .. Max.
template <int Max, int T = 1, class F>
void with_taps(int t, F&& f) {
  if constexpr (T < Max) {
    if (t > T) return with_taps<Max, T + 1>(t, f);
  }
  f(std::integral_constant<int, T>{});
}

/// The runs A of the T taps [f0, f0 + T) of phase `ph`'s box (flattened row by row) added into
/// the phase plane of output channel c: code row i in [i0, i1) (A's row i - i0) of tap (m_h, m_w)
/// onto plane row i + m_h from column m_w. The N taps of one filter row are summed per plane packet
/// first (N a compile-time count, <= Max: the loads of a row in straight-line code, their masks in
/// registers).
template <int Max>
void scatter_rows(const ScatterArgs& a, const float* sums, Eigen::Index c, Eigen::Index ph,
                  Eigen::Index f0, Eigen::Index T, Eigen::Index i0, Eigen::Index i1) {
  using namespace Eigen::internal;
  using Eigen::Index;
  constexpr Index L = kRowLanes;
  const Index* box = a.boxes + 4 * ph;
  const Index bw = box[3] - box[2], Wo = a.Wo, packets = a.stride / L;
  float* plane = a.planes + (ph * a.C + c) * a.rows * a.stride;
  for (Index t0 = 0; t0 < T;) {
    // the taps [t0, t0 + n) of one filter row, columns [v0, v0 + n) of the phase filter
    const Index mh = box[0] + (f0 + t0) / bw, v0 = box[2] + (f0 + t0) % bw;
    const Index n = std::min(T, t0 + bw - (v0 - box[2])) - t0;
    with_taps<Max>(int(n), [&](auto taps) {
      constexpr int N = decltype(taps)::value;
      // plane packets p whose columns [p L, p L + L) meet [v0, v0 + N - 1 + Wo)
      for (Index p = v0 / L; p < packets && p * L < v0 + N - 1 + Wo; ++p) {
        LaneSelect mask[N];  // per tap: the lanes of plane packet p it reaches
        Index from[N];       // and where in A its lane 0 reads (code row i0)
        MLCSC_UNROLL
        for (int t = 0; t < N; ++t) {
          const Index v = v0 + t;  // lane l of packet p reads A[i Wo + p L + l - v]
          mask[t] = lane_select(v - p * L, v + Wo - p * L);
          from[t] = (t0 + t) * a.run + p * L - v;
        }
        float* row = plane + (i0 + mh) * a.stride + p * L;
        for (Index i = 0; i < i1 - i0; ++i, row += a.stride) {
          RowPacket sum = pload<RowPacket>(row);
          MLCSC_UNROLL
          for (int t = 0; t < N; ++t) sum = padd(sum, select_load(sums, from[t] + i * Wo, mask[t]));
          pstore(row, sum);
        }
      }
    });
    t0 += n;
  }
}

/// The packed taps of every (channel c, phase, block of taps of its box: ScatterBlocking):
/// for each block, the K maps' values of its T taps, w[k T + t], in the order scatter_band reads
/// them. uh[r th + m] / uw[r tw + m] is the filter tap at phase r, phase-filter tap m (-1: none).
template <class B>
void scatter_pack(const float* filters, Eigen::Index K, Eigen::Index C, Eigen::Index kh,
                  Eigen::Index kw, Eigen::Index sh, Eigen::Index sw, Eigen::Index th,
                  Eigen::Index tw, const Eigen::Index* uh, const Eigen::Index* uw,
                  const Eigen::Index* boxes, float* out) {
  using Eigen::Index;
  const Index filter = C * kh * kw;    // the distance between filters k and k + 1
  Index at[ScatterBlocking<B>::taps];  // a block's taps in a filter (-1: none)
  for (Index c = 0; c < C; ++c)
    for (Index ph = 0; ph < sh * sw; ++ph) {
      const Index* box = boxes + 4 * ph;
      const Index bw = box[3] - box[2], n = (box[1] - box[0]) * bw;
      for (Index i = 0; i < ScatterBlocking<B>::blocks(n); ++i) {
        const auto [f0, T] = ScatterBlocking<B>::block(n, i);
        for (Index t = 0; t < T; ++t) {
          const Index u = uh[(ph / sw) * th + box[0] + (f0 + t) / bw];
          const Index v = uw[(ph % sw) * tw + box[2] + (f0 + t) % bw];
          at[t] = (u < 0 || v < 0) ? -1 : (c * kh + u) * kw + v;
        }
        for (Index k = 0; k < K; ++k)
          for (Index t = 0; t < T; ++t) *out++ = at[t] < 0 ? 0.f : filters[k * filter + at[t]];
      }
    }
}

/// The `len` values at `from` of each of K maps (`map` values apart) copied to `to`, the maps
/// `stride` values apart. A map's values are a short run (a band's rows: 6 KiB in shape (a) of
/// bench_conv_kernels), too short for the hardware prefetcher to reach memory's rate on its own:
/// map k + 2 is prefetched while map k is copied (shape (a)'s 16 MiB code copied band by band in
/// about half the time alone, its synthesize ~5% faster, AVX2 on AMD Zen 5). Measured no faster:
/// copying the next band a map at a time between the blocks of the current one into a second
/// buffer, prefetching it there instead, or reading the code in place 8 maps at a time.
inline void copy_maps(const float* from, Eigen::Index K, Eigen::Index map, Eigen::Index len,
                      float* to, Eigen::Index stride) {
  constexpr Eigen::Index ahead = 2, line = 64 / Eigen::Index(sizeof(float));
  for (Eigen::Index k = 0; k < K; ++k) {
    if (k + ahead < K)
      for (Eigen::Index o = 0; o < len; o += line)
        _mm_prefetch(reinterpret_cast<const char*>(from + (k + ahead) * map + o), _MM_HINT_T0);
    std::copy_n(from + k * map, len, to + k * stride);
  }
}

/// Band b of code rows of one image ([b band, (b + 1) band)) added into its phase planes: every
/// (channel, phase, block of taps), the runs A in `sums` (the thread's, T x a.run values). With
/// `copy` (the thread's, K (run + L) values), the band's rows are first copied there (copy_maps),
/// the maps one packet more than a run apart: read in place, the maps of a large code lie a
/// multiple of 4 KiB apart, so that the K loads of one packet fall in one L1 set (AVX2, shape (a)
/// of bench_conv_kernels: 47-50 -> 75-81 GFLOP/s).
template <class B>
void scatter_band(const ScatterArgs& a, Eigen::Index b, float* sums, float* copy) {
  using Eigen::Index;
  using Blk = ScatterBlocking<B>;
  constexpr Index L = kRowLanes;
  constexpr int RB = Blk::packets;
  const Index i0 = b * a.band, i1 = std::min(a.Ho, i0 + a.band), len = (i1 - i0) * a.Wo;
  const Index packets = (len + L - 1) / L;
  const float* code = a.code + i0 * a.Wo;
  Index map = a.Ho * a.Wo;
  if (copy) {  // the band's rows of every map, end to end, the maps a packet more apart
    const Index to = (len + L - 1) / L * L + L;
    copy_maps(code, a.K, map, len, copy, to);
    code = copy;
    map = to;
  }
  const float* w = a.w;
  for (Index c = 0; c < a.C; ++c)
    for (Index ph = 0; ph < a.phases; ++ph) {
      const Index* box = a.boxes + 4 * ph;
      const Index n = (box[1] - box[0]) * (box[3] - box[2]);
      for (Index i = 0; i < Blk::blocks(n); ++i) {
        const auto [f0, T] = Blk::block(n, i);
        with_taps<Blk::taps>(int(T), [&](auto t) {
          constexpr int TT = decltype(t)::value;
          Index q0 = 0;
          for (; (q0 + RB) * L <= len; q0 += RB)
            scatter_sums<RB, TT, false>(a, code, map, len, q0, w, sums);
          if (q0 < packets) scatter_sums<RB, TT, true>(a, code, map, len, q0, w, sums);
        });
        scatter_rows<Blk::taps>(a, sums, c, ph, f0, T, i0, i1);
        w += a.K * T;
      }
    }
}

/// Code rows per band: the band's rows of the K code maps within kScatterBandBytes (in L2 while
/// every block of taps reads them), at least th - 1 rows (so that the plane rows of bands two
/// apart do not meet: scatter_synthesize runs the even bands, then the odd ones, each set in
/// parallel), at most Ho.
inline Eigen::Index scatter_band_rows(Eigen::Index K, Eigen::Index Ho, Eigen::Index Wo,
                                      Eigen::Index th) {
  const Eigen::Index row = K * Wo * Eigen::Index(sizeof(float));
  const Eigen::Index fit = kScatterBandBytes / std::max<Eigen::Index>(1, row);
  return std::clamp<Eigen::Index>(std::max(fit, th - 1), 1, std::max<Eigen::Index>(1, Ho));
}

/// The length of the runs A for bands of `band` code rows of Wo (whole blocks of packets).
template <class B>
Eigen::Index scatter_run(Eigen::Index band, Eigen::Index Wo) {
  constexpr Eigen::Index block = ScatterBlocking<B>::packets * kRowLanes;
  return (band * Wo + block - 1) / block * block;
}

#endif  // MLCSC_MASKED_FLOAT_ROWS

}  // namespace mlcsc::internal
