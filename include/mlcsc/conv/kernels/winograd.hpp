// mlcsc: Winograd's minimal filtering F(2x2, 3x3) for the 3 x 3 correlation with centred anchor
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016):
//
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A          (.) = element-wise product
//
// gives the 2 x 2 outputs of a 3 x 3 filter g on a 4 x 4 input patch d with 16 multiplications
// instead of 36, where
//
//   B^T = | 1  0 -1  0 |    G = | 1    0    0  |    A^T = | 1  1  1  0 |
//         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
//         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
//         | 0  1  0 -1 |        | 0    0    1  |
//
// Summed over input channels, the element-wise products become 16 independent matrix products,
// one per transform coefficient xi = 4 i + j:
//
//   M_xi (cout x tiles) = U_xi (cout x cin) V_xi (cin x tiles),   U = G g G^T,  V = B^T d B,
//
// so the multiply-adds are 16/36 = 1/2.25 of the direct kernel's and the transforms are
// additions only. The output tile (ti, tj) covers outputs rows 2ti, 2ti+1 and columns 2tj, 2tj+1
// and reads the input patch whose corner is (2ti - 1, 2tj - 1) (anchor 1), the border resolved as
// in the direct kernel (0 for Zero, wrapped for Circular); outputs past an odd H or W are computed
// and dropped.
//
// How it is fast:
//  * The tiles are processed in blocks of 4 packets of tiles (one micro-tile of the products with
//    32 registers, two with 16): whole tile rows when they are short, else row segments; each
//    segment is padded to whole packets. A block's V (16 x cin x slots) stays in L2, its products
//    (16 x maps x slots) in L1.
//  * The input rows of a block are first de-interleaved into even and odd columns, so the 4 x 4
//    patches of consecutive tiles are plain unaligned packet loads; the input transform then runs
//    on packets of L tiles at once (32 adds for 16 values of L tiles).
//  * The products use the register blocking B of correlate.hpp (blocking.hpp, per instruction
//    set): B::maps output maps x B::packets packets of tiles (6 x 4 = 24 accumulators with 32
//    registers, 6 x 2 = 12 with 16), each loaded V packet feeding B::maps fused multiply-adds, U
//    packed block-major (winograd_filter_index<B>) so a micro-tile reads its cin values per xi in
//    order.
//  * Each tile's outputs are summed in one fixed order (channels in order, then the output
//    transform), whatever the block or the thread: results are bitwise identical across thread
//    counts.
// Accuracy: an output is rounded through the input transform (2 levels of 2-term sums: 2
// roundings), the filter transform (computed in double and rounded once to float; up to 4
// roundings when Scalar is double), the sum over the cin channels (2 roundings per channel
// without a fused multiply-add, 1 with it), the output transform (2 levels of 3-term sums: 4);
// and the transforms' absolute weights sum_xi |A||G||B| are at most 2 per dimension, so
//   |error| <= (2 cin + 10) eps 4 sum_c |g_c|_1 |x_c on the output's 5 x 5 window|_1
// (test_conv_winograd checks it, and exactness on small integers). In float that is a few times
// the direct kernel's error (measured: max relative error 1-2e-7 against 0.5-1e-7), far below any
// solver tolerance. The transforms add up to 4 inputs (and 9 products), so values within a
// factor 16 of the overflow threshold can overflow here where the direct sum would not.
#pragma once

#include <algorithm>

#include <Eigen/Core>

#include "../../core/boundary.hpp"
#include "../../internal/parallel.hpp"
#include "correlate.hpp"
#include "workspace.hpp"

namespace mlcsc::internal {

/// The 3 x 3 correlation of CorrelateArgs with anchor (1, 1) by F(2x2, 3x3); U holds the
/// transformed filters (winograd_filters).
template <class Scalar>
struct WinogradArgs {
  const Scalar* src = nullptr;  // cin planes of H x W
  Eigen::Index cin = 0, cout = 0, H = 0, W = 0;
  Boundary boundary = Boundary::Zero;
  const Scalar* U = nullptr;  // 16 x cin x cout, packed by winograd_filter_index
  Scalar* dst = nullptr;      // cout planes of H x W
};

/// Where U_xi[o, c] sits: xi-major, then the block-major order of correlate.hpp (blocks of
/// B::maps output maps, each block's channels contiguous with its maps innermost).
template <class B = DefaultConvBlocking>
inline Eigen::Index winograd_filter_index(Eigen::Index cin, Eigen::Index cout, Eigen::Index xi,
                                          Eigen::Index c, Eigen::Index o) {
  return xi * cin * cout + filter_index<B>(cin, cout, 1, c, 0, o);
}

/// U = G g G^T for every (output map o, input channel c), g(o, c, u, v) the 3 x 3 filter of the
/// correlation; computed in double and rounded once; packed by `winograd_filter_index<B>`.
template <class B = DefaultConvBlocking, class Scalar, class Filter>
void winograd_filters(Eigen::Index cin, Eigen::Index cout, Filter&& g, Scalar* U) {
  constexpr int MB = B::maps;
  const Eigen::Index plane = cin * cout;  // distance between coefficients xi
  for (Eigen::Index o0 = 0; o0 < cout; o0 += MB) {
    const Eigen::Index width = std::min<Eigen::Index>(MB, cout - o0);
    for (Eigen::Index c = 0; c < cin; ++c) {
      // the block's filters side by side (m innermost, so the arithmetic runs on vectors)
      double f[3][3][MB] = {};
      for (Eigen::Index m = 0; m < width; ++m)
        for (int u = 0; u < 3; ++u)
          for (int v = 0; v < 3; ++v) f[u][v][m] = double(g(o0 + m, c, u, v));
      // G applied to a 3-vector (a, b, c): (a, (a + b + c) / 2, (a - b + c) / 2, c)
      double t[4][3][MB];  // G g
      for (int v = 0; v < 3; ++v)
        for (int m = 0; m < MB; ++m) {
          t[0][v][m] = f[0][v][m];
          t[1][v][m] = 0.5 * (f[0][v][m] + f[1][v][m] + f[2][v][m]);
          t[2][v][m] = 0.5 * (f[0][v][m] - f[1][v][m] + f[2][v][m]);
          t[3][v][m] = f[2][v][m];
        }
      double r[4][4][MB];  // (G g) G^T
      for (int i = 0; i < 4; ++i)
        for (int m = 0; m < MB; ++m) {
          r[i][0][m] = t[i][0][m];
          r[i][1][m] = 0.5 * (t[i][0][m] + t[i][1][m] + t[i][2][m]);
          r[i][2][m] = 0.5 * (t[i][0][m] - t[i][1][m] + t[i][2][m]);
          r[i][3][m] = t[i][2][m];
        }
      Scalar* u = U + o0 * cin + c * width;  // winograd_filter_index<B>(cin, cout, 0, c, o0)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
          for (Eigen::Index m = 0; m < width; ++m) u[(4 * i + j) * plane + m] = Scalar(r[i][j][m]);
    }
  }
}

/// Choice rule (conv_ops.hpp): F(2x2, 3x3) replaces the direct kernel for 3 x 3 filters when
///  * both cin and cout are at least 16: the input transform costs about 4 vector operations per
///    (input channel, tile packet) and the output transform about 6 per (output map, tile
///    packet), against 16 multiply-adds per (cin, cout) pair; with 16 x 16 maps they add about
///    60% to the 16 and the path still needs fewer operations than the direct kernel's 36;
///  * the tiles, padded to whole packets per row segment, need at most 0.6 x the direct kernel's
///    multiply-adds (16 per padded tile slot against 9 per output pixel): narrow images whose tile
///    rows are mostly padding stay direct.
/// Measured against the direct kernel (AMD Zen 4, AVX-512, one thread, float; time ratios):
/// 64 -> 128 at 64 x 64 (benchmark shape (b)) 1.7-1.8x (double 1.7x), 128 -> 128 1.8x,
/// 256 -> 256 1.8x, 64 -> 64 at 28 x 28 / 56 x 56 / 128 x 128 1.6x / 1.9x / 1.7x; 32 -> 32 1.4x;
/// 16 -> 16 0.95-1.2x (the threshold); 8 -> 32 and 32 -> 8 0.97-1.1x; 1 -> 64 0.3-0.5x;
/// 64 -> 64 at 16 x 16 (8 tiles a row, padded to 16 lanes) 0.62x; 256 -> 256 at 14 x 14 0.92x.
template <class Scalar>
bool use_winograd(Eigen::Index cin, Eigen::Index cout, Eigen::Index kh, Eigen::Index kw,
                  Eigen::Index H, Eigen::Index W) {
  if (kh != 3 || kw != 3 || cin < 16 || cout < 16 || H < 2 || W < 2) return false;
  constexpr Eigen::Index L = packet_size<Scalar>;
  const Eigen::Index TH = (H + 1) / 2, TW = (W + 1) / 2;
  const Eigen::Index slots = TH * ((TW + L - 1) / L * L);
  return 16.0 * double(slots) <= 0.6 * 9.0 * double(H) * double(W);
}

namespace winograd_detail {

using Eigen::Index;

/// Tiles per block: 4 packets (one micro-tile of the products with 32 registers, two with 16).
template <class Scalar>
constexpr Index block_slots = 4 * packet_size<Scalar>;

/// How the tile grid is cut into blocks: `rows_per_block` tile rows x one column segment of at
/// most `seg_tiles` tiles, each segment row padded to whole packets.
struct Blocking {
  Index tile_rows, tile_cols, seg_tiles, rows_per_block, row_blocks, col_segments;
};

template <class Scalar>
Blocking blocking(Index H, Index W) {
  constexpr Index L = packet_size<Scalar>, S = block_slots<Scalar>;
  Blocking b;
  b.tile_rows = (H + 1) / 2;
  b.tile_cols = (W + 1) / 2;
  const Index padded = (b.tile_cols + L - 1) / L * L;
  b.seg_tiles = std::min(b.tile_cols, S);
  b.rows_per_block = padded >= S ? 1 : S / padded;
  b.row_blocks = (b.tile_rows + b.rows_per_block - 1) / b.rows_per_block;
  b.col_segments = (b.tile_cols + b.seg_tiles - 1) / b.seg_tiles;
  return b;
}

/// One block of tiles: tile rows [ti0, ti0 + rows), tile columns [tj0, tj0 + cols), each tile row
/// taking `stride` (cols rounded up to a packet) slots.
struct Block {
  Index ti0, rows, tj0, cols, stride;
  Index slots() const { return rows * stride; }
};

/// Input row `r` (any integer) of plane `plane`, de-interleaved from column 2 tj0 - 1 on:
/// even[q] = x[r, 2 (tj0 + q) - 1], odd[q] = x[r, 2 (tj0 + q)] for q <= cols, 0 for q beyond (up
/// to `len`); outside pixels as the boundary says.
template <class Scalar>
void deinterleave_row(const Scalar* plane, Index H, Index W, Boundary bd, Index r, Index tj0,
                      Index cols, Index len, Scalar* even, Scalar* odd) {
  auto wrap = [](Index i, Index m) { return ((i % m) + m) % m; };
  if (r < 0 || r >= H) {
    if (bd == Boundary::Zero) {
      std::fill(even, even + len, Scalar(0));
      std::fill(odd, odd + len, Scalar(0));
      return;
    }
    r = wrap(r, H);
  }
  const Scalar* s = plane + r * W;
  auto at = [&](Index j) -> Scalar {
    if (j >= 0 && j < W) return s[j];
    return bd == Boundary::Zero ? Scalar(0) : s[wrap(j, W)];
  };
  const Index c0 = 2 * tj0 - 1;  // column of even[0]
  // q in [qa, qb): both 2q + c0 and 2q + c0 + 1 inside [0, W)
  const Index qa = tj0 == 0 ? 1 : 0;
  const Index qb = std::max(qa, std::min(cols + 1, (W - 2 - c0) / 2 + 1));
  for (Index q = 0; q < qa && q <= cols; ++q) even[q] = at(c0 + 2 * q), odd[q] = at(c0 + 2 * q + 1);
  const Scalar* base = s + c0;
  for (Index q = qa; q < qb; ++q) {
    even[q] = base[2 * q];
    odd[q] = base[2 * q + 1];
  }
  for (Index q = std::max(qa, qb); q <= cols; ++q)
    even[q] = at(c0 + 2 * q), odd[q] = at(c0 + 2 * q + 1);
  for (Index q = cols + 1; q < len; ++q) even[q] = odd[q] = Scalar(0);
}

/// V_xi[c, slot] = (B^T d B)[i, j] for every channel and tile of the block; `rowbuf` holds the
/// 2 (2 rows + 2) de-interleaved rows of one channel, `len` apart (len > stride).
template <class Scalar>
void input_transform(const WinogradArgs<Scalar>& A, const Block& blk, Index slots, Scalar* rowbuf,
                     Index len, Scalar* V) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr Index L = packet_size<Scalar>;
  const Index nrows = 2 * blk.rows + 2;
  for (Index c = 0; c < A.cin; ++c) {
    const Scalar* plane = A.src + c * A.H * A.W;
    for (Index p = 0; p < nrows; ++p)
      // the loads below read entries 0 .. stride of a row
      deinterleave_row(plane, A.H, A.W, A.boundary, 2 * blk.ti0 - 1 + p, blk.tj0, blk.cols,
                       blk.stride + 1, rowbuf + 2 * p * len, rowbuf + (2 * p + 1) * len);
    Scalar* Vc = V + c * slots;
    for (Index r = 0; r < blk.rows; ++r)
      for (Index q = 0; q < blk.stride; q += L) {
        Packet d[4][4];
        for (int a = 0; a < 4; ++a) {
          const Scalar* ev = rowbuf + 2 * (2 * r + a) * len + q;
          const Scalar* od = ev + len;
          d[a][0] = ploadu<Packet>(ev);
          d[a][1] = ploadu<Packet>(od);
          d[a][2] = ploadu<Packet>(ev + 1);
          d[a][3] = ploadu<Packet>(od + 1);
        }
        Packet e[4][4];  // B^T d
        for (int b = 0; b < 4; ++b) {
          e[0][b] = psub(d[0][b], d[2][b]);
          e[1][b] = padd(d[1][b], d[2][b]);
          e[2][b] = psub(d[2][b], d[1][b]);
          e[3][b] = psub(d[1][b], d[3][b]);
        }
        Scalar* out = Vc + r * blk.stride + q;
        const Index xs = A.cin * slots;  // distance between coefficients
        for (int i = 0; i < 4; ++i) {    // (B^T d) B
          pstoreu(out + (4 * i + 0) * xs, psub(e[i][0], e[i][2]));
          pstoreu(out + (4 * i + 1) * xs, padd(e[i][1], e[i][2]));
          pstoreu(out + (4 * i + 2) * xs, psub(e[i][2], e[i][1]));
          pstoreu(out + (4 * i + 3) * xs, psub(e[i][1], e[i][3]));
        }
      }
  }
}

/// m[mm, n] = sum_c U[c, mm] V[c, n] for MB maps x NB packets of slots.
template <class Scalar, int MB, int NB>
EIGEN_ALWAYS_INLINE void product_micro(const Scalar* V, Index vstride, const Scalar* U, Index cin,
                                       Scalar* m, Index mstride) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr int L = packet_size<Scalar>;
  Packet acc[MB][NB];
  MLCSC_UNROLL
  for (int i = 0; i < MB; ++i) {
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n) acc[i][n] = pset1<Packet>(Scalar(0));
  }
  for (Index c = 0; c < cin; ++c, V += vstride, U += MB) {
    Packet x[NB];
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n) x[n] = ploadu<Packet>(V + n * L);
    MLCSC_UNROLL
    for (int i = 0; i < MB; ++i) {
      const Packet f = pset1<Packet>(U[i]);
      MLCSC_UNROLL
      for (int n = 0; n < NB; ++n) acc[i][n] = pmadd(x[n], f, acc[i][n]);
    }
  }
  MLCSC_UNROLL
  for (int i = 0; i < MB; ++i) {
    MLCSC_UNROLL
    for (int n = 0; n < NB; ++n) pstoreu(m + i * mstride + n * L, acc[i][n]);
  }
}

/// The products of npk packets of slots: micro-tiles of NB packets, then one of the rest.
template <class Scalar, int MB, int NB>
void products(const Scalar* V, Index slots, const Scalar* U, Index cin, Index npk, Scalar* m,
              Index mstride) {
  constexpr Index L = packet_size<Scalar>;
  Index p = 0;
  for (; p + NB <= npk; p += NB)
    product_micro<Scalar, MB, NB>(V + p * L, slots, U, cin, m + p * L, mstride);
  if constexpr (NB > 1) {
    if (p < npk)
      with_micro_maps<NB - 1>(npk - p, [&](auto N) {
        product_micro<Scalar, MB, N.value>(V + p * L, slots, U, cin, m + p * L, mstride);
      });
  }
}

/// For MB output maps from o0: the 16 products of every slot of the block (into M, 16 x MB x
/// slots), then Y = A^T M A per tile, written to the output planes (tiles and pixels outside the
/// image dropped).
template <class Scalar, class B, int MB>
void maps_block(const WinogradArgs<Scalar>& A, const Block& blk, Index slots, const Scalar* V,
                Index o0, Scalar* M, Scalar* Y) {
  using namespace Eigen::internal;
  using Packet = packet_t<Scalar>;
  constexpr Index L = packet_size<Scalar>;
  const Index npk = slots / L;
  // micro-tiles of at most a block's packets (a wider one would never run)
  for (Index xi = 0; xi < 16; ++xi)
    products<Scalar, MB, std::min(B::packets_for(MB), int(block_slots<Scalar> / L))>(
        V + xi * A.cin * slots, slots, A.U + winograd_filter_index<B>(A.cin, A.cout, xi, 0, o0),
        A.cin, npk, M + xi * MB * slots, slots);
  for (int mm = 0; mm < MB; ++mm) {
    for (Index p = 0; p < slots; p += L) {
      Packet m[4][4];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
          m[i][j] = ploadu<Packet>(M + ((4 * i + j) * MB + mm) * slots + p);
      Packet t[2][4];  // A^T m
      for (int j = 0; j < 4; ++j) {
        t[0][j] = padd(padd(m[0][j], m[1][j]), m[2][j]);
        t[1][j] = psub(psub(m[1][j], m[2][j]), m[3][j]);
      }
      for (int a = 0; a < 2; ++a) {  // (A^T m) A
        pstoreu(Y + (2 * a + 0) * slots + p, padd(padd(t[a][0], t[a][1]), t[a][2]));
        pstoreu(Y + (2 * a + 1) * slots + p, psub(psub(t[a][1], t[a][2]), t[a][3]));
      }
    }
    Scalar* plane = A.dst + (o0 + mm) * A.H * A.W;
    for (Index r = 0; r < blk.rows; ++r) {
      const Index i0 = 2 * (blk.ti0 + r);
      const Index j0 = 2 * blk.tj0;
      // tiles whose both columns are inside the image, then the last half tile
      const Index full = std::min(blk.cols, (A.W - j0) / 2);
      for (int a = 0; a < 2 && i0 + a < A.H; ++a) {
        const Scalar* y0 = Y + (2 * a) * slots + r * blk.stride;
        const Scalar* y1 = y0 + slots;
        Scalar* out = plane + (i0 + a) * A.W + j0;
        for (Index q = 0; q < full; ++q) {
          out[2 * q] = y0[q];
          out[2 * q + 1] = y1[q];
        }
        if (full < blk.cols) out[2 * full] = y0[full];
      }
    }
  }
}

}  // namespace winograd_detail

/// Runs the correlation of `A` (see the top of this file) with the register blocking B (A.U packed
/// by `winograd_filter_index<B>`). Allocates nothing after the first call per thread and size
/// (per-thread buffers, workspace.hpp).
template <class B = DefaultConvBlocking, class Scalar>
void winograd_correlate(const WinogradArgs<Scalar>& A) {
  using namespace winograd_detail;
  constexpr Index L = packet_size<Scalar>;
  if (A.H == 0 || A.W == 0 || A.cout == 0) return;
  const Blocking b = blocking<Scalar>(A.H, A.W);
  const Index blocks = b.row_blocks * b.col_segments;
  const double macs = 16.0 * double(A.cin) * double(A.cout) * double(b.tile_rows * b.tile_cols);
  const int threads = macs >= 2e5 ? max_threads() : 1;
  const Index max_slots = block_slots<Scalar>;
  const Index len = max_slots + L + 1;  // a de-interleaved row: stride + 1 values + a load's slack
  constexpr Index MB = B::maps;
  const Index nob = (A.cout + MB - 1) / MB;
  parallel_for(blocks, threads, [&](Index k) {
    Block blk;
    blk.ti0 = (k / b.col_segments) * b.rows_per_block;
    blk.rows = std::min(b.rows_per_block, b.tile_rows - blk.ti0);
    blk.tj0 = (k % b.col_segments) * b.seg_tiles;
    blk.cols = std::min(b.seg_tiles, b.tile_cols - blk.tj0);
    blk.stride = (blk.cols + L - 1) / L * L;
    const Index slots = blk.slots();
    Scalar* V = conv_scratch<Scalar>(ConvBuffer::WinogradInput,
                                     16 * A.cin * max_slots + 2 * (2 * b.rows_per_block + 2) * len);
    Scalar* rowbuf = V + 16 * A.cin * max_slots;
    Scalar* M =
        conv_scratch<Scalar>(ConvBuffer::WinogradProducts, 16 * MB * max_slots + 4 * max_slots);
    Scalar* Y = M + 16 * MB * max_slots;
    input_transform(A, blk, slots, rowbuf, len, V);
    for (Index ob = 0; ob < nob; ++ob) {
      const Index o0 = ob * MB;
      with_micro_maps<B::maps>(A.cout - o0, [&](auto M_) {
        maps_block<Scalar, B, M_.value>(A, blk, slots, V, o0, M, Y);
      });
    }
  });
}

/// The whole path: out_o = sum_c g(o, c) (*) in_c over cin planes of H x W (anchor (1, 1)), with
/// g(o, c, u, v) the 3 x 3 filters; transforms them into this thread's buffer, then runs
/// winograd_correlate.
template <class B = DefaultConvBlocking, class Scalar, class Filter>
void winograd_correlate(const Scalar* src, Eigen::Index cin, Eigen::Index cout, Eigen::Index H,
                        Eigen::Index W, Boundary bd, Filter&& g, Scalar* dst) {
  Scalar* U = conv_scratch<Scalar>(ConvBuffer::WinogradFilters, 16 * cin * cout);
  winograd_filters<B>(cin, cout, g, U);
  winograd_correlate<B>(WinogradArgs<Scalar>{src, cin, cout, H, W, bd, U, dst});
}

}  // namespace mlcsc::internal
