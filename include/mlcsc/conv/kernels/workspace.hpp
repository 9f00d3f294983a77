// mlcsc: per-thread scratch buffers of the convolution kernels. Each thread (the caller and every
// OpenMP worker) owns a few buffers that grow to the largest size it has needed and are then
// reused, so a solver calling analyze/synthesize in a loop allocates only on its first iteration
// (per thread and largest shape), never per call. They live until the thread exits; a tile buffer
// is bounded by the tile budget of correlate.hpp (about 4 MiB), the packed filters by the size of
// the filter bank (16 / 9 of it for the Winograd transform), Winograd's block buffers by
// 16 x cin x 4 packets of values plus a few rows (winograd.hpp).
//
// std::vector with std::allocator is used on purpose: its growth does not go through Eigen's
// aligned_malloc, so the one-time growth inside a solver loop does not trip Eigen's
// EIGEN_RUNTIME_NO_MALLOC guard (the kernels use unaligned packet loads and need no alignment).
#pragma once

#include <memory>
#include <vector>

#include <Eigen/Core>

namespace mlcsc::internal {

enum class ConvBuffer {
  PackedFilters = 0,
  Tile,
  Patches,           // the patch matrix of the lowered convolution (lowered.hpp)
  TapBoxes,          // the phase planes' tap boxes (conv_ops.hpp)
  TapList,           // a tile's taps inside those boxes (correlate.hpp)
  FlatRows,          // the output of a tile of flat rows (correlate.hpp)
  TileOutput,        // a tile's output handed over to CorrelateArgs::tile_done (correlate.hpp)
  ShiftedRows,       // a tile's planes shifted per filter column, for flat rows (correlate.hpp)
  TapTables,         // the filter tap of each phase tap, per axis (conv_ops.hpp's packing)
  TapOffsets,        // each output plane's filter offsets per phase tap (conv_ops.hpp's packing)
  PhaseRows,         // row pointers of the phase merge (conv_ops.hpp)
  ScatterBoxes,      // the phase boxes of a scattered synthesize (conv_ops.hpp)
  ScatterPlanes,     // its phase planes of one image (scatter.hpp, every thread)
  ScatterSums,       // its sums over the code maps for a block of taps (scatter.hpp, every thread)
  ScatterCode,       // a band of its code rows (scatter.hpp, every thread)
  WinogradFilters,   // U of winograd.hpp (the calling thread)
  WinogradInput,     // V and the de-interleaved rows of one block (every thread)
  WinogradProducts,  // the 16 products and outputs of one block of maps (every thread)
  Count
};

/// This thread's buffer `which`, grown to at least `n` elements (contents unspecified); Scalar is
/// any trivially copyable type (values, or TapBox for the tap boxes).
template <class Scalar>
Scalar* conv_scratch(ConvBuffer which, Eigen::Index n) {
  thread_local std::vector<Scalar> buffers[int(ConvBuffer::Count)];
  std::vector<Scalar>& b = buffers[int(which)];
  constexpr std::size_t align = 64;  // a cache line: aligned rows load without line splits
  constexpr std::size_t slack = align / sizeof(Scalar);
  if (b.size() < std::size_t(n) + slack) b.resize(std::size_t(n) + slack);
  void* p = b.data();
  std::size_t space = b.size() * sizeof(Scalar);
  return static_cast<Scalar*>(std::align(align, std::size_t(n) * sizeof(Scalar), p, space));
}

}  // namespace mlcsc::internal
