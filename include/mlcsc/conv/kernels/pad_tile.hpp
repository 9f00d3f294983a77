// mlcsc: copies one rectangular tile of multi-channel input, with its border already resolved
// (zeros for Boundary::Zero, wrapped pixels for Boundary::Circular), into a dense buffer, so the
// correlation's hot loop reads a plain strided array with no border tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#include "../../core/boundary.hpp"

namespace mlcsc::internal {

/// For every plane c < n and r < rows, q < cols:
///   dst[c plane_stride + r cols + q] = src_c[row0 + r, col0 + q]   (plane_stride >= rows cols)
/// where src_c is the H x W plane c of `src` (row-major, contiguous planes) and an index outside
/// [0, H) x [0, W) reads 0 (Zero) or wraps modulo H, W (Circular).
// Packet types as template arguments: g++ warns that their vector attributes are ignored there
// (harmless: only their traits are read), as Eigen silences in its own headers.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

/// dst[0, n) = src[0, n) (or = 0 without src), inline for short runs: the rows of small images
/// are a few dozen values, for which a call to memcpy or memset cost more than the copy itself
/// (measured: a quarter of the analyze of a batch of 28 x 28 digits). Up to 4 packets are
/// written without a loop (the last overlapping the one before; a loop of packet stores the
/// compiler turns back into a library call), shorter runs by half packets; longer runs go to
/// the library.
template <class Packet, class Scalar>
EIGEN_ALWAYS_INLINE void short_run(const Scalar* src, Eigen::Index n, Scalar* dst) {
  using namespace Eigen::internal;
  constexpr Eigen::Index L = unpacket_traits<Packet>::size;
  if (n >= L) {
    auto put = [&](Eigen::Index i) {
      pstoreu(dst + i, src ? ploadu<Packet>(src + i) : pset1<Packet>(Scalar(0)));
    };
    put(0);
    if (n > 2 * L) put(L);
    if (n > 3 * L) put(2 * L);
    if (n > L) put(n - L);
    return;
  }
  using Half = typename unpacket_traits<Packet>::half;  // (the smallest packet is its own half)
  if constexpr (unpacket_traits<Half>::size < L) {
    short_run<Half>(src, n, dst);
  } else {
    for (Eigen::Index i = 0; i < n; ++i) dst[i] = src ? src[i] : Scalar(0);
  }
}

template <class Scalar>
EIGEN_ALWAYS_INLINE void copy_values(const Scalar* src, Eigen::Index n, Scalar* dst) {
  using Packet = typename Eigen::internal::packet_traits<Scalar>::type;
  if (n > 4 * Eigen::internal::unpacket_traits<Packet>::size)
    std::copy_n(src, n, dst);
  else
    short_run<Packet>(src, n, dst);
}

template <class Scalar>
EIGEN_ALWAYS_INLINE void zero_values(Eigen::Index n, Scalar* dst) {
  using Packet = typename Eigen::internal::packet_traits<Scalar>::type;
  if (n > 4 * Eigen::internal::unpacket_traits<Packet>::size)
    std::fill_n(dst, n, Scalar(0));
  else
    short_run<Packet>(static_cast<const Scalar*>(nullptr), n, dst);
}

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

// Float packets with masked loads and stores (AVX-512, AVX): a masked load reads only its mask's
// lanes (the others are 0 and their addresses are not touched), so a row of at most two packets
// with its border zeros is one masked load and one store per packet.
#if defined(EIGEN_VECTORIZE_AVX512)
#define MLCSC_MASKED_FLOAT_ROWS 1
using RowPacket = Eigen::internal::Packet16f;
using RowMask = std::uint16_t;
#elif defined(EIGEN_VECTORIZE_AVX)
#define MLCSC_MASKED_FLOAT_ROWS 1
using RowPacket = Eigen::internal::Packet8f;
using RowMask = std::uint8_t;
#else
#define MLCSC_MASKED_FLOAT_ROWS 0
#endif
#if MLCSC_MASKED_FLOAT_ROWS
constexpr Eigen::Index kRowLanes = Eigen::Index(sizeof(RowPacket) / sizeof(float));

/// The lanes [a, b) of a packet (clipped to [0, kRowLanes)).
inline RowMask lane_mask(Eigen::Index a, Eigen::Index b) {
  a = std::clamp<Eigen::Index>(a, 0, kRowLanes);
  b = std::clamp<Eigen::Index>(b, a, kRowLanes);
  return RowMask(((std::uint32_t(1) << b) - 1) & ~((std::uint32_t(1) << a) - 1));
}

/// The packet whose lane t is base[offset + t] where mask has lane t, 0 elsewhere. The address is
/// formed as an integer (offset may lead before base's array); only the mask's lanes are read.
EIGEN_ALWAYS_INLINE RowPacket masked_load(const float* base, Eigen::Index offset, RowMask mask) {
  const std::uintptr_t at =
      reinterpret_cast<std::uintptr_t>(base) + std::uintptr_t(offset * Eigen::Index(sizeof(float)));
  return Eigen::internal::ploadu<RowPacket>(reinterpret_cast<const float*>(at), mask);
}

/// pad_tile's rows for Zero / Valid when a tile row is at most two packets (the flat tiles of
/// small images: 32 planes of a 12 x 12 code into 16 x 16 tiles for the 3 x 3 taps of a
/// strided synthesize): dst row q = src[col0 + q] for q in [q0, q1), 0 elsewhere, one masked
/// load and one store per packet (masked only for a partial last packet), the masks made once per
/// tile. Measured on the MNIST model's first layer synthesize (AMD Zen 4, AVX-512, one thread):
/// the tile copy was 30% of the time with a zero store and a short copy per row; the synthesize
/// 0.24 -> 0.19-0.20 ms.
inline void pad_rows_masked(const float* src, Eigen::Index n, Eigen::Index H, Eigen::Index W,
                            Eigen::Index row0, Eigen::Index col0, Eigen::Index rows,
                            Eigen::Index cols, Eigen::Index q0, Eigen::Index q1, float* dst,
                            Eigen::Index plane_stride) {
  using namespace Eigen::internal;
  using Eigen::Index;
  const Index np = (cols + kRowLanes - 1) / kRowLanes;
  RowMask load[2];
  for (Index p = 0; p < np; ++p) load[p] = lane_mask(q0 - p * kRowLanes, q1 - p * kRowLanes);
  const Index full = cols / kRowLanes;  // packets stored whole; a partial one after them
  const RowMask last = lane_mask(0, cols - full * kRowLanes);
  auto put = [&](float* d, Index p, const RowPacket& v) {
    if (p < full)
      pstoreu(d + p * kRowLanes, v);
    else
      pstoreu(d + p * kRowLanes, v, last);
  };
  const RowPacket zero = pset1<RowPacket>(0.f);
  // the rows inside the image: [r0, r1)
  const Index r0 = std::clamp<Index>(-row0, 0, rows), r1 = std::clamp<Index>(H - row0, r0, rows);
  for (Index c = 0; c < n; ++c) {
    float* d = dst + c * plane_stride;
    for (Index r = 0; r < rows; ++r, d += cols) {
      if (r < r0 || r >= r1) {
        for (Index p = 0; p < np; ++p) put(d, p, zero);
        continue;
      }
      // packet p's lane t reads column col0 + p L + t of the row (col0 may be negative)
      const float* row = src + (c * H + row0 + r) * W;
      for (Index p = 0; p < np; ++p) put(d, p, masked_load(row, col0 + p * kRowLanes, load[p]));
    }
  }
}
#endif

template <class Scalar>
void pad_tile(const Scalar* src, Eigen::Index n, Eigen::Index H, Eigen::Index W, Eigen::Index row0,
              Eigen::Index col0, Eigen::Index rows, Eigen::Index cols, Boundary bd, Scalar* dst,
              Eigen::Index plane_stride) {
  using Eigen::Index;
  auto wrap = [](Index i, Index m) { return ((i % m) + m) % m; };
  // Columns [q0, q1) of the tile read the source columns [col0 + q0, col0 + q1) directly.
  const Index q0 = std::clamp<Index>(-col0, 0, cols);
  const Index q1 = std::clamp<Index>(W - col0, q0, cols);
  if (col0 == 0 && cols == W && row0 >= 0 && row0 + rows <= H) {
    // whole rows inside the image (a Valid correlation's flat tile): one run per plane
    for (Index c = 0; c < n; ++c)
      copy_values(src + (c * H + row0) * W, rows * W, dst + c * plane_stride);
    return;
  }
#if MLCSC_MASKED_FLOAT_ROWS
  if constexpr (std::is_same_v<Scalar, float>) {
    if (bd != Boundary::Circular && cols <= 2 * kRowLanes) {
      pad_rows_masked(src, n, H, W, row0, col0, rows, cols, q0, q1, dst, plane_stride);
      return;
    }
  }
#endif
  for (Index c = 0; c < n; ++c) {
    const Scalar* plane = src + c * H * W;
    for (Index r = 0; r < rows; ++r) {
      Scalar* d = dst + c * plane_stride + r * cols;
      Index sr = row0 + r;
      if (sr < 0 || sr >= H) {
        if (bd != Boundary::Circular) {
          zero_values(cols, d);
          continue;
        }
        sr = wrap(sr, H);
      }
      const Scalar* s = plane + sr * W;
      // Zero: a short row's zeros first, whole (a packet or two), then its inside over them; a
      // long row's border only
      if (bd != Boundary::Circular && (q0 > 0 || q1 < cols)) {
        if (cols <= 4 * Index(Eigen::internal::packet_traits<Scalar>::size)) {
          zero_values(cols, d);
        } else {
          zero_values(q0, d);
          zero_values(cols - q1, d + q1);
        }
      }
      if (q1 > q0) copy_values(s + col0 + q0, q1 - q0, d + q0);
      if (bd == Boundary::Circular) {
        for (Index q = 0; q < q0; ++q) d[q] = s[wrap(col0 + q, W)];
        for (Index q = q1; q < cols; ++q) d[q] = s[wrap(col0 + q, W)];
      }
    }
  }
}

/// The phase planes of a strided signal, read in place (conv_ops.hpp's polyphase form): plane
/// p = (r_h s_w + r_w) C + c, of Hp x Wp, holds x_c[s_h i + r_h, s_w j + r_w] (0 past the
/// signal), x being C planes of H x W. C == 0: no phases (the planes are stored as they are).
struct PhaseSource {
  Eigen::Index C = 0, H = 0, W = 0, sh = 1, sw = 1;
};

/// pad_tile for the planes [p0, p0 + n) of the phase planes `ph` of x, each Hp x Wp, plane k of
/// the tile at dst + k plane_stride (rows x cols): the tile reads the signal in place, with the
/// strided gather of each row instead of a split into phase planes and a copy of those. For
/// s_w = 2 a row's two column phases (planes p and p + C) are taken in one pass when both are in
/// the tile, a de-interleave the compiler vectorizes: each source row is read once, not once per
/// phase (the 64 -> 128 3 x 3 stride-2 analyze of bench_geometry, 4 MiB of signal per image:
/// this copy 8.9% -> 6.6% of its profile, AMD Zen 5, AVX-512).
template <class Scalar>
void pad_tile_phases(const Scalar* x, const PhaseSource& ph, Eigen::Index p0, Eigen::Index n,
                     Eigen::Index Hp, Eigen::Index Wp, Eigen::Index row0, Eigen::Index col0,
                     Eigen::Index rows, Eigen::Index cols, Boundary bd, Scalar* dst,
                     Eigen::Index plane_stride) {
  using Eigen::Index;
  auto wrap = [](Index i, Index m) { return ((i % m) + m) % m; };
  const bool circular = bd == Boundary::Circular;
  // the tile columns [q0, q1(rw)) of phase r_w read signal columns s_w (col0 + q) + r_w
  // (Circular: Wv = Wp, and the columns outside wrap)
  const Index q0 = std::clamp<Index>(-col0, 0, cols);
  auto q1_of = [&](Index rw) {
    const Index Wv = std::min(Wp, (ph.W - rw + ph.sw - 1) / ph.sw);
    return std::clamp<Index>(Wv - col0, q0, cols);
  };
  // a row's columns outside [q0, q1): zeros, or the wrapped columns of s (s[s_w j] is column j)
  auto border = [&](const Scalar* s, Index q1, Scalar* d) {
    if (!circular) {
      zero_values(q0, d);
      zero_values(cols - q1, d + q1);
      return;
    }
    for (Index q = 0; q < q0; ++q) d[q] = s[ph.sw * wrap(col0 + q, Wp)];
    for (Index q = q1; q < cols; ++q) d[q] = s[ph.sw * wrap(col0 + q, Wp)];
  };
  for (Index k = 0; k < n; ++k) {
    const Index p = p0 + k, phase = p / ph.C, c = p - phase * ph.C;
    const Index rh = phase / ph.sw, rw = phase - rh * ph.sw;
    const bool pair = ph.sw == 2 && rw == 0 && k + ph.C < n;  // with plane p + C (r_w = 1)
    if (ph.sw == 2 && rw == 1 && k >= ph.C) continue;         // taken with plane p - C
    const Index q1 = q1_of(rw), q1b = pair ? q1_of(1) : q0;
    for (Index r = 0; r < rows; ++r) {
      Scalar* d = dst + k * plane_stride + r * cols;
      Scalar* d1 = pair ? d + ph.C * plane_stride : nullptr;  // plane p + C's row
      Index i = row0 + r;
      if (circular) i = wrap(i, Hp);
      const Index si = ph.sh * i + rh;
      if (i < 0 || i >= Hp || si >= ph.H) {
        zero_values(cols, d);
        if (pair) zero_values(cols, d1);
        continue;
      }
      const Scalar* s = x + (c * ph.H + si) * ph.W + rw;  // s[s_w j] = x_c[si, s_w j + r_w]
      const Scalar* __restrict from = s + ph.sw * (col0 + q0);
      Scalar* __restrict to = d + q0;
      Index q = 0;
      if (pair) {
        Scalar* __restrict to1 = d1 + q0;
        const Index both = std::min(q1, q1b) - q0;
        for (; q < both; ++q) {
          to[q] = from[2 * q];
          to1[q] = from[2 * q + 1];
        }
        for (Index t = q; t < q1b - q0; ++t) to1[t] = from[2 * t + 1];
        border(s + 1, q1b, d1);
      }
      if (ph.sw == 2) {
        for (; q < q1 - q0; ++q) to[q] = from[2 * q];
      } else {
        for (; q < q1 - q0; ++q) to[q] = from[ph.sw * q];
      }
      border(s, q1, d);
    }
  }
}

}  // namespace mlcsc::internal
