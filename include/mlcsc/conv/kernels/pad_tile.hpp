// mlcsc: copies one rectangular tile of multi-channel input, with its border already resolved
// (zeros for Boundary::Zero, wrapped pixels for Boundary::Circular), into a dense buffer, so the
// correlation's hot loop reads a plain strided array with no border tests.
#pragma once

#include <algorithm>
#include <cstring>

#include <Eigen/Core>

#include "../../core/boundary.hpp"

namespace mlcsc::internal {

/// For every plane c < n and r < rows, q < cols:
///   dst[(c rows + r) cols + q] = src_c[row0 + r, col0 + q]
/// where src_c is the H x W plane c of `src` (row-major, contiguous planes) and an index outside
/// [0, H) x [0, W) reads 0 (Zero) or wraps modulo H, W (Circular).
template <class Scalar>
void pad_tile(const Scalar* src, Eigen::Index n, Eigen::Index H, Eigen::Index W, Eigen::Index row0,
              Eigen::Index col0, Eigen::Index rows, Eigen::Index cols, Boundary bd, Scalar* dst) {
  using Eigen::Index;
  auto wrap = [](Index i, Index m) { return ((i % m) + m) % m; };
  // Columns [q0, q1) of the tile read the source columns [col0 + q0, col0 + q1) directly.
  const Index q0 = std::clamp<Index>(-col0, 0, cols);
  const Index q1 = std::clamp<Index>(W - col0, q0, cols);
  for (Index c = 0; c < n; ++c) {
    const Scalar* plane = src + c * H * W;
    for (Index r = 0; r < rows; ++r) {
      Scalar* d = dst + (c * rows + r) * cols;
      Index sr = row0 + r;
      if (sr < 0 || sr >= H) {
        if (bd == Boundary::Zero) {
          std::fill(d, d + cols, Scalar(0));
          continue;
        }
        sr = wrap(sr, H);
      }
      const Scalar* s = plane + sr * W;
      if (q1 > q0) std::memcpy(d + q0, s + col0 + q0, std::size_t(q1 - q0) * sizeof(Scalar));
      if (bd == Boundary::Zero) {
        std::fill(d, d + q0, Scalar(0));
        std::fill(d + q1, d + cols, Scalar(0));
      } else {
        for (Index q = 0; q < q0; ++q) d[q] = s[wrap(col0 + q, W)];
        for (Index q = q1; q < cols; ++q) d[q] = s[wrap(col0 + q, W)];
      }
    }
  }
}

}  // namespace mlcsc::internal
