// mlcsc: the convolution lowered to one matrix product per group of images (im2col; Chellapilla,
// Puri, Simard 2006), for the shapes the direct kernel serves badly: small code planes (a batch
// of small images, e.g. 28 x 28 digits through strided layers down to a 1 x 1 code, where a row
// of the code fills a fraction of a vector) and strided filters whose polyphase form multiplies
// zeros (conv_ops.hpp). With R = C kh kw the filter length and P = Hc Wc the code plane:
//   analyze     X (N P x R) = the patches, X[(n, p), (c, u, v)] = x_{n,c}[s i + d u - P_h, ...],
//               stored patch by patch (each patch's R values contiguous: its kernel rows are runs
//               of kw input values, copied whole; a code row is often shorter than a filter row);
//               Gamma^T (N P x K) = X W^T, W the K x R filter matrix as stored (row-major K x R
//               is column-major R x K: no copy), then each image's P x K block is its K x P code;
//               or, with more filters than code positions, Gamma (K x N P) = W X^T, each image's
//               K x P block transposed (the product's longer side as its rows).
//   synthesize  X^T (R x N P) = W^T Gamma (W^T is the stored filter matrix as it is, the code
//               transposed to K x N P), then every patch value is added back where it was read
//               from (col2im: the adjoint of the patch gather, code row by code row).
// Both products run on internal/gemm.hpp (Eigen's GEBP kernels on per-thread buffers: nothing
// allocated once warm). Images are taken in groups whose patch matrix stays within about 1 MiB
// (in L2 between the gather and the product, the product and the scatter: the synthesize of a
// batch of 4 x 4 codes ran 1.2x faster than with 8 MiB groups).
// Outside pixels are 0 (Zero, Valid) or wrap (Circular), as in the direct kernel.
#pragma once

#include <algorithm>
#include <type_traits>

#include <Eigen/Core>

#include "../../core/boundary.hpp"
#include "../../internal/gemm.hpp"
#include "../../internal/parallel.hpp"
#include "pad_tile.hpp"
#include "workspace.hpp"

namespace mlcsc::internal {

/// The geometry of one lowered correlation (per dimension: taps, stride, dilation, padding).
struct LoweredArgs {
  Index K, C, H, W, Ho, Wo;
  Index kh, kw, sh, sw, dh, dw, ph, pw;
  bool circular;
  Index R() const { return C * kh * kw; }
  Index P() const { return Ho * Wo; }
  /// Images per group: the N P x R patch matrix within about 1 MiB.
  template <class Scalar>
  Index group(Index N) const {
    const Index budget = Index(1024 * 1024 / sizeof(Scalar));
    return std::clamp<Index>(budget / std::max<Index>(1, P() * R()), 1, N);
  }
};

namespace lowered_detail {

inline Index wrap(Index i, Index n) {
  return ((i % n) + n) % n;
}

// The input row that code row i reads at filter row u (-1: outside, a zero row).
inline Index input_row(const LoweredArgs& a, Index i, Index u) {
  const Index row = a.sh * i + a.dh * u - a.ph;
  if (a.circular) return wrap(row, a.H);
  return row < 0 || row >= a.H ? -1 : row;
}

// The kw values of kernel row `src` (an input row; null: outside, zeros) that patch column j
// reads, x[s_w j + d_w v - P_w] for v < kw, into dst (0 or wrapped outside the row).
template <class Scalar>
EIGEN_ALWAYS_INLINE void gather_run(const LoweredArgs& a, const Scalar* src, Index j, Scalar* dst) {
  if (!src) {
    std::fill(dst, dst + a.kw, Scalar(0));
    return;
  }
  const Index col = a.sw * j - a.pw;
  if (col >= 0 && col + a.dw * (a.kw - 1) < a.W) {
    if (a.dw == 1)
      copy_values(src + col, a.kw, dst);
    else
      for (Index v = 0; v < a.kw; ++v) dst[v] = src[col + a.dw * v];
    return;
  }
  for (Index v = 0; v < a.kw; ++v) {
    const Index q = col + a.dw * v;
    dst[v] = q >= 0 && q < a.W ? src[q] : a.circular ? src[wrap(q, a.W)] : Scalar(0);
  }
}

// The patches of code row i of one image (x: its C planes; `end`: the end of the batch's array)
// in whole packets, where a kernel row fits one (dilation 1, kw <= L): each run is one load and
// one store of the narrowest packet that holds it, no masks. The load's lanes past the run read on
// into the row and the rows after it (any value of the batch's array: a load that would pass
// `end` is copied exactly); the store's land on the runs after it in the patch, written later
// (runs are written in address order; in the code row's last patch the runs whose packet would
// pass its end are copied exactly, so no store reaches the next code row's patches, which
// another thread may be writing). Runs that read outside the row (padding) go through
// gather_run. Returns false where this does not apply. Measured on the MNIST model's conv2 (32
// channels, 6 x 6 filters, stride 2: runs of 6 values; AMD Zen 4, one thread): the gather run by
// run was 20% of the forward pass; its analyze 1.52-1.55 -> 1.38-1.40 ms in masked packets
// (AVX-512). On Zen 5 the masked loads (vmaskmovps for 8 floats) and a loop that reloaded its
// bounds left the gather at 28% of conv2's analyze; whole packets over precomputed row offsets
// 15%, the analyze 1.57-1.61 -> 1.41-1.46 ms (AVX-512; AVX2 1.92-1.95 -> 1.90-1.91).
// (packet types as template arguments: see pad_tile.hpp's short_run)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
template <class Scalar>
bool gather_patches(const LoweredArgs& a, const Scalar* x, const Scalar* end, Index i,
                    Scalar* patch) {
  using namespace Eigen::internal;
  using P1 = typename packet_traits<Scalar>::type;
  using P2 = typename unpacket_traits<P1>::half;
  using P3 = typename unpacket_traits<P2>::half;
  constexpr Index kMaxRows = 32;
  if (a.dw != 1 || a.kw > unpacket_traits<P1>::size || a.kh > kMaxRows) return false;
  Index rows[kMaxRows];  // the offset of each filter row's input row in a plane (-1: outside)
  for (Index u = 0; u < a.kh; ++u) {
    const Index r = input_row(a, i, u);
    rows[u] = r < 0 ? -1 : r * a.W;
  }
  const Index R = a.R(), plane = a.H * a.W, kh = a.kh, kw = a.kw;
  auto runs = [&](auto packet) {
    using Packet = decltype(packet);
    constexpr Index lanes = unpacket_traits<Packet>::size;
    for (Index j = 0; j < a.Wo; ++j, patch += R) {
      const Index col = a.sw * j - a.pw;
      // a whole-packet store at offset `at` of this patch stays inside this code row's patches
      // when at + lanes <= room
      const Index room = j + 1 < a.Wo ? 2 * R : R;
      if (col < 0 || col + kw > a.W) {
        for (Index c = 0; c < a.C; ++c)
          for (Index u = 0; u < kh; ++u)
            gather_run(a, rows[u] < 0 ? nullptr : x + c * plane + rows[u], j,
                       patch + (c * kh + u) * kw);
        continue;
      }
      const Scalar* xc = x + col;
      Index at = 0;
      for (Index c = 0; c < a.C; ++c, xc += plane)
        for (Index u = 0; u < kh; ++u, at += kw) {
          const Index r = rows[u];
          if (r < 0) {
            std::fill_n(patch + at, kw, Scalar(0));
          } else if (at + lanes <= room && end - (xc + r) >= lanes) {
            pstoreu(patch + at, ploadu<Packet>(xc + r));
          } else {
            std::copy_n(xc + r, kw, patch + at);
          }
        }
    }
  };
  if (a.kw <= unpacket_traits<P3>::size)
    runs(P3{});
  else if (a.kw <= unpacket_traits<P2>::size)
    runs(P2{});
  else
    runs(P1{});
  return true;
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

// The adjoint of gather_run over a code row: dst[s_w j + d_w v - P_w] += src[j R + v] for every
// j < Wo, v < kw (wrapped, or dropped outside the row). The runs of neighbouring j overlap when
// s_w < d_w (kw - 1) + 1, and a run that adds to values the previous one just stored waits for
// them: the runs are taken `period` apart (j = 0, p, 2p, ..., then 1, 1 + p, ...), so
// consecutive runs never touch the same value (measured 2-3x faster for 6-tap stride-2 rows).
template <class Scalar>
EIGEN_ALWAYS_INLINE void scatter_row(const LoweredArgs& a, const Scalar* src, Index R,
                                     Scalar* dst) {
  const Index period = std::max<Index>(1, (a.dw * (a.kw - 1) + a.sw) / a.sw);
  for (Index q = 0; q < period; ++q)
    for (Index j = q; j < a.Wo; j += period) {
      const Scalar* run = src + j * R;
      const Index col = a.sw * j - a.pw;
      if (col >= 0 && col + a.dw * (a.kw - 1) < a.W) {
        for (Index v = 0; v < a.kw; ++v) dst[col + a.dw * v] += run[v];
        continue;
      }
      for (Index v = 0; v < a.kw; ++v) {
        const Index c = col + a.dw * v;
        if (c >= 0 && c < a.W)
          dst[c] += run[v];
        else if (a.circular)
          dst[wrap(c, a.W)] += run[v];
      }
    }
}

// Float rows of at most two packets, dilation 1, outside pixels 0 (Zero, Valid), where the target
// has masked loads and stores (AVX, AVX-512): the same adjoint as scatter_row, summed in
// registers. The row's packets start at 0; run j covers columns [s_w j - P_w, + kw) (clipped to
// the row), so lane t of packet p takes run j's value v = p L + t - (s_w j - P_w): a masked load
// at that offset from the run (the masked lanes are not read), summed over every run that
// reads the row (col2im_packed below), then one store per packet. Measured on the MNIST model's
// second layer (32 <- 64 maps 6 x 6 stride 2 into 12 x 12, a batch of 64; AMD Zen 4, AVX-512,
// one thread): the scalar scatter was half of the lowered synthesize (1.1 of 2.15 ms: a scalar
// load, add and store per value); run by run in masked packets 1.58 ms; by output rows 1.38-1.40
// (AVX2: 1.96-2.02 -> 1.71-1.75 ms). The runs of a row add into four accumulators in turn: with
// one, col2im was a chain of dependent additions (Zen 5, AVX-512: 1.42-1.53 -> 1.36-1.40 ms).
#if MLCSC_MASKED_FLOAT_ROWS

// The runs' masks and load offsets, the same for every row of a call: made once per call.
struct PackedRows {
  static constexpr Index kMaxRuns = 2 * kRowLanes;  // a row of <= 2 L columns, stride >= 1
  Index np = 0, runs = 0;
  RowMask mask[kMaxRuns][2], lanes[2];
  Index offset[kMaxRuns][2];  // lane t of packet p reads run[offset + t] (masked lanes unread)

  explicit PackedRows(const LoweredArgs& a) {
    if (a.circular || a.dw != 1 || a.kw > kRowLanes || a.W > 2 * kRowLanes || a.Wo > kMaxRuns)
      return;  // np = 0: the scalar scatter
    np = (a.W + kRowLanes - 1) / kRowLanes;
    runs = a.Wo;
    for (Index p = 0; p < np; ++p) {
      lanes[p] = lane_mask(0, a.W - p * kRowLanes);
      for (Index j = 0; j < runs; ++j) {
        // run j's values sit at columns col .. col + kw - 1: lanes col - p L .. of packet p
        const Index shift = a.sw * j - a.pw - p * kRowLanes;
        mask[j][p] = RowMask(lane_mask(shift, shift + a.kw) & lanes[p]);
        offset[j][p] = -shift;
      }
    }
  }
};

// col2im of one image (its patches, R values each, and its C planes of H x W) by output rows:
// every row of x is the sum, in registers, of the runs of the code rows i and filter rows u that
// read it (s_h i + d_h u - P_h = r), then stored once: x is not cleared first nor read back.
// Added into x run by run (a masked load, add and masked store of the row per code row and
// filter row, the sums of a row's two packets kept on the stack), col2im was a third of the
// MNIST model's second layer synthesize.
inline void col2im_packed(const PackedRows& pr, const LoweredArgs& a, const float* patches, Index R,
                          float* x) {
  using namespace Eigen::internal;
  const RowPacket zero = pset1<RowPacket>(0.f);
  for (Index c = 0; c < a.C; ++c)
    for (Index r = 0; r < a.H; ++r) {
      // run j adds into accumulator j mod 4: four dependency chains of additions, not one
      RowPacket acc0[4] = {zero, zero, zero, zero}, acc1[4] = {zero, zero, zero, zero};
      for (Index i = 0; i < a.Ho; ++i) {
        const Index t = r + a.ph - a.sh * i;  // d_h u
        if (t < 0) break;
        if (t % a.dh != 0 || t / a.dh >= a.kh) continue;
        const float* src = patches + i * a.Wo * R + (c * a.kh + t / a.dh) * a.kw;
        // lane t of packet p reads run j's value offset + t (only the mask's lanes)
        auto add = [&](int k, Index j) {
          acc0[k] = padd(acc0[k], masked_load(src + j * R, pr.offset[j][0], pr.mask[j][0]));
          if (pr.np > 1)
            acc1[k] = padd(acc1[k], masked_load(src + j * R, pr.offset[j][1], pr.mask[j][1]));
        };
        Index j = 0;
        for (; j + 4 <= pr.runs; j += 4) add(0, j), add(1, j + 1), add(2, j + 2), add(3, j + 3);
        if (j < pr.runs) add(0, j);
        if (j + 1 < pr.runs) add(1, j + 1);
        if (j + 2 < pr.runs) add(2, j + 2);
      }
      float* d = x + (c * a.H + r) * a.W;
      pstoreu(d, padd(padd(acc0[0], acc0[1]), padd(acc0[2], acc0[3])), pr.lanes[0]);
      if (pr.np > 1)
        pstoreu(d + kRowLanes, padd(padd(acc1[0], acc1[1]), padd(acc1[2], acc1[3])), pr.lanes[1]);
    }
}
#endif

}  // namespace lowered_detail

namespace lowered_detail {

// Runs group(n0, g1, inner_threads) over the batch in groups of at most G images: with several
// threads and at least as many images, the groups are split over the threads (each group's
// gather, product and copy on one thread; a multiple of `threads` groups of about equal size),
// otherwise one group after the other with `threads` inside each.
template <class Group>
void for_groups(Index N, Index G, int threads, Group&& group) {
  const int T = max_threads();
  if (T > 1 && N >= T) {
    // a multiple of T groups of about equal size (64 images in groups of at most 14 on 2
    // threads: 6 groups of 11, not 5 of 14 split 3 : 2)
    const Index most = std::max<Index>(1, std::min(G, (N + T - 1) / T));
    const Index even = ((N + most - 1) / most + T - 1) / T * T;
    const Index g = (N + even - 1) / even, groups = (N + g - 1) / g;
    parallel_for(
        groups, T, [&](Index b) { group(b * g, std::min(g, N - b * g), 1); }, Schedule::Dynamic);
    return;
  }
  for (Index n0 = 0; n0 < N; n0 += G) group(n0, std::min(G, N - n0), threads);
}

}  // namespace lowered_detail

/// gamma = D^T x for images [0, N) of x (N x C x H x W) into gamma (N x K x Ho x Wo); `filters`
/// is the K x (C kh kw) row-major filter matrix.
template <class Scalar>
void lowered_analyze(const LoweredArgs& a, const Scalar* filters, const Scalar* x, Index N,
                     Scalar* gamma) {
  const Index R = a.R(), P = a.P(), G = a.group<Scalar>(N);
  const int threads = double(R) * double(P) * double(N) >= 1e6 ? max_threads() : 1;
  lowered_detail::for_groups(N, G, threads, [&](Index n0, Index g1, int inner) {
    const Index M = g1 * P;
    Scalar* X = conv_scratch<Scalar>(ConvBuffer::Patches, M * R);
    Scalar* Y = conv_scratch<Scalar>(ConvBuffer::Tile, M * a.K);
    const Scalar* x0 = x + n0 * a.C * a.H * a.W;
    const Scalar* end = x + N * a.C * a.H * a.W;
    // gather: patch (g, i, j) is column (g P + i Wo + j) of X^T (R x M), in (c, u, v) order
    parallel_for(g1 * a.Ho, inner, [&](Index gi) {
      const Index g = gi / a.Ho, i = gi % a.Ho;
      Scalar* patch = X + gi * a.Wo * R;
      if (lowered_detail::gather_patches(a, x0 + g * a.C * a.H * a.W, end, i, patch)) return;
      for (Index c = 0; c < a.C; ++c)
        for (Index u = 0; u < a.kh; ++u) {
          const Index row = lowered_detail::input_row(a, i, u);
          const Scalar* src = row < 0 ? nullptr : x0 + ((g * a.C + c) * a.H + row) * a.W;
          Scalar* dst = patch + (c * a.kh + u) * a.kw;
          for (Index j = 0; j < a.Wo; ++j) lowered_detail::gather_run(a, src, j, dst + j * R);
        }
    });
    // The product with its longer side as the rows of the result (Eigen's kernel is blocked 48
    // rows by 4 columns: a batch of 12 x 12 codes by 32 filters ran 1.6x faster as 9216 x 32
    // than as 32 x 9216, 512 filters of 1 x 1 codes 1.2x faster as 512 x 64):
    if (M >= a.K) {
      // Y (M x K) = X (M x R, gathered as X^T) W^T (R x K: the stored filters, row-major K x R);
      // image g's code: column k of Y over its P rows is its plane k
      gemm<Scalar>(X, R, true, filters, R, Y, M, M, a.K, R, false);
      for (Index g = 0; g < g1; ++g)
        for (Index k = 0; k < a.K; ++k)
          std::copy_n(Y + k * M + g * P, P, gamma + ((n0 + g) * a.K + k) * P);
    } else {
      // Y (K x M) = W X^T; image g's code: its K x P block of Y, transposed
      gemm<Scalar>(filters, R, true, X, R, Y, a.K, a.K, M, R, false);
      using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
      for (Index g = 0; g < g1; ++g)
        Eigen::Map<Mat>(gamma + (n0 + g) * a.K * P, P, a.K) =
            Eigen::Map<const Mat>(Y + g * P * a.K, a.K, P).transpose();
    }
  });
}

/// x = D gamma (the adjoint of lowered_analyze for x's H x W) for images [0, N). The product is
/// taken transposed, X^T (R x M) = W^T Gamma, so the stored filters are W^T as they are (no
/// repacking of a large filter bank); the code is transposed instead (K x M, a code position a
/// column), then every patch value is added back where it was read from (the adjoint of the
/// gather), image by image in parallel.
template <class Scalar>
void lowered_synthesize(const LoweredArgs& a, const Scalar* filters, const Scalar* gamma, Index N,
                        Scalar* x) {
  const Index R = a.R(), P = a.P(), G = a.group<Scalar>(N);
  const int threads = double(R) * double(P) * double(N) >= 1e6 ? max_threads() : 1;
  bool by_rows = false;  // col2im_packed: float rows of at most two packets
#if MLCSC_MASKED_FLOAT_ROWS
  const lowered_detail::PackedRows packed(a);  // the masks, for every group
  by_rows = std::is_same_v<Scalar, float> && packed.np > 0;
#endif
  lowered_detail::for_groups(N, G, threads, [&](Index n0, Index g1, int inner) {
    const Index M = g1 * P;
    if (!by_rows) std::fill(x + n0 * a.C * a.H * a.W, x + (n0 + g1) * a.C * a.H * a.W, Scalar(0));
    Scalar* Xt = conv_scratch<Scalar>(ConvBuffer::Patches, M * R);
    Scalar* Gk = conv_scratch<Scalar>(ConvBuffer::Tile, M * a.K);
    // Gamma as K x M: column (g, p) holds the K filters' values at code position p of image g
    for (Index g = 0; g < g1; ++g)
      for (Index k = 0; k < a.K; ++k) {
        const Scalar* src = gamma + ((n0 + g) * a.K + k) * P;
        Scalar* dst = Gk + g * P * a.K + k;
        for (Index p = 0; p < P; ++p) dst[p * a.K] = src[p];
      }
    // X^T (R x M) = W^T (R x K: the stored K x R row-major filters) Gamma (K x M)
    gemm<Scalar>(filters, R, false, Gk, a.K, Xt, R, R, M, a.K, false);
    // col2im, images in parallel: by output rows (col2im_packed), or code row by code row (its
    // patches in cache) into the image's planes (in cache)
    Scalar* x0 = x + n0 * a.C * a.H * a.W;
    parallel_for(g1, inner, [&](Index g) {
#if MLCSC_MASKED_FLOAT_ROWS
      if constexpr (std::is_same_v<Scalar, float>)
        if (by_rows) {
          lowered_detail::col2im_packed(packed, a, Xt + g * P * R, R, x0 + g * a.C * a.H * a.W);
          return;
        }
#endif
      for (Index i = 0; i < a.Ho; ++i) {
        const Scalar* patches = Xt + (g * P + i * a.Wo) * R;  // code row i's Wo patches
        for (Index c = 0; c < a.C; ++c)
          for (Index u = 0; u < a.kh; ++u) {
            const Index row = lowered_detail::input_row(a, i, u);
            if (row < 0) continue;
            lowered_detail::scatter_row(a, patches + (c * a.kh + u) * a.kw, R,
                                        x0 + ((g * a.C + c) * a.H + row) * a.W);
          }
      }
    });
  });
}

}  // namespace mlcsc::internal
