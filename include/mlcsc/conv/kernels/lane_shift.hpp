// mlcsc: lane shifts across two packets, for kernels that load aligned packets once and build the
// packets of the taps v = 0 .. L-1 from them instead of loading each at offset v:
//
//   shift(lo, hi, v)[i] = (lo : hi)[i + v],   0 <= v < L,  (lo : hi) the 2 L lanes of both
//
// Where the instruction set has a two-source lane permute taking a run-time index (AVX-512:
// vpermt2ps / vpermt2pd), LaneShift<Scalar>::available is true (for Scalar's Eigen packet);
// everywhere else it is false and the kernels keep their unaligned loads (an unaligned 64-byte load
// crosses a cache line for 15 of the 16 float offsets and costs two loads on Zen 4; a shift is one
// shuffle and no load).
#pragma once

#include <Eigen/Core>

#if defined(EIGEN_VECTORIZE_AVX512)
#include <immintrin.h>
#endif

namespace mlcsc::internal {

/// No shift for the packets of this scalar type: the kernels load at every offset.
template <class Scalar>
struct LaneShift {
  static constexpr bool available = false;
};

#if defined(EIGEN_VECTORIZE_AVX512)
template <>
struct LaneShift<float> {
  static constexpr bool available = true;
  using Index = __m512i;
  /// The permute index of shift v: lanes v .. v + 15 of (lo : hi).
  static Index index(int v) {
    return _mm512_add_epi32(_mm512_set1_epi32(v), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                                    10, 11, 12, 13, 14, 15));
  }
  static Eigen::internal::Packet16f shift(Eigen::internal::Packet16f lo,
                                          Eigen::internal::Packet16f hi, Index idx) {
    return _mm512_permutex2var_ps(lo, idx, hi);
  }
};

template <>
struct LaneShift<double> {
  static constexpr bool available = true;
  using Index = __m512i;
  static Index index(int v) {
    return _mm512_add_epi64(_mm512_set1_epi64(v), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Eigen::internal::Packet8d shift(Eigen::internal::Packet8d lo, Eigen::internal::Packet8d hi,
                                         Index idx) {
    return _mm512_permutex2var_pd(lo, idx, hi);
  }
};
#endif

}  // namespace mlcsc::internal
