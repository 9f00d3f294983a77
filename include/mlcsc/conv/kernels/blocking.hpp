// mlcsc: the register blocking of the convolution kernels, chosen per instruction set at compile
// time.
//
// A register-blocked micro-tile keeps MB x NB vector accumulators (MB output maps x NB packets of
// one output row) live across the whole sum over channels and taps, and per tap loads NB input
// packets and broadcasts MB filter values:
//
//   registers needed ~ MB NB (accumulators) + NB (input packets) + 1 (a broadcast filter value)
//
// which must fit the target's vector register file, or the accumulators spill to the stack and
// every multiply-add gains a load and a store. So the blocking is a compile-time policy,
// ConvBlocking, given as a template parameter to every kernel (correlate.hpp, winograd.hpp,
// conv_ops.hpp) and defaulting to the target's (DefaultConvBlocking):
//
//   registers  target                    maps x packets  few maps  3-4 maps  row-blocked (1-3 maps)
//   32         AVX-512, NEON on aarch64  6 x 4 = 24      1..2 x 8  3..4 x 6  4 rows x 4 packets
//   16         SSE, AVX, AVX2 (+FMA)     6 x 2 = 12      1..2 x 6  3..4 x 3  4 rows x 3 packets
//
// A block of 3 or 4 maps (the synthesize of a strided layer into one channel's 4 phase planes, the
// last block of 64 or 128 maps) takes wider micro-tiles than a block of 6, as many packets as the
// registers allow: the MNIST model's first layer synthesize (4 phase planes of 14 x 14, a batch
// of 64) took 0.243 ms with 4 x 6 against 0.255 with 4 x 4 on AVX-512, 0.386 with 4 x 3 against
// 0.414 with 4 x 2 on AVX2 (AMD Zen 4, one thread).
//
// Both blockings are correct on every target (a 32-register blocking compiled for AVX2 only
// spills); the tests run every one of them against the reference loops in one build. The filter
// packing of the kernels (filter_index, winograd_filter_index) follows the blocking's map count.
#pragma once

#include <type_traits>

#include <Eigen/Core>

// Unrolls a loop over a register block's compile-time extent (the accumulators stay in registers).
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
// without it, 66-74 with it; the map-blocked kernel's synthesize of the MNIST model's first layer,
// 4 phase planes, 0.41 ms without it, 0.25 with it).
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define MLCSC_IN_REGISTER(p) __asm__("" : "+v"(p))
#else
#define MLCSC_IN_REGISTER(p) ((void)0)
#endif

namespace mlcsc::internal {

/// The number of vector registers of the compilation target: 32 with AVX-512 (zmm0-31) and on
/// aarch64 (v0-v31), 16 for SSE / AVX / AVX2 (xmm/ymm0-15) and anything else.
#if defined(EIGEN_VECTORIZE_AVX512) || defined(__AVX512F__) || defined(__aarch64__)
inline constexpr int kVectorRegisters = 32;
#else
inline constexpr int kVectorRegisters = 16;
#endif

/// A register blocking of the direct and the Winograd kernels.
///  * Maps x Packets: output maps x packets of the map-blocked micro-tile (Maps is also the block
///    width of the packed filters); Winograd's 16 products use the same micro-tile.
///  * FewPackets: packets of the micro-tile when a block has only 1 or 2 maps.
///  * MidPackets: packets of the micro-tile when a block has 3 or 4 maps.
///  * Rows x RowPackets: output rows x packets of the row-blocked kernel (1 - 3 output maps).
///  * PhasePackets x PhaseTaps: packets x filter taps of the tap-phase kernel (one output map,
///    long filter rows; correlate.hpp).
///  * Registers: the register file it is sized for (reported by the benchmark).
template <int Maps, int Packets, int FewPackets, int MidPackets, int Rows, int RowPackets,
          int PhasePackets, int PhaseTaps, int Registers>
struct ConvBlocking {
  static_assert(Maps >= 1 && Packets >= 1 && FewPackets >= 1 && MidPackets >= 1 && Rows >= 1 &&
                    RowPackets >= 1 && PhasePackets >= 1 && PhaseTaps >= 1,
                "a blocking needs at least one map, row, tap and packet");
  static constexpr int maps = Maps;
  static constexpr int packets = Packets;
  static constexpr int few_packets = FewPackets;
  static constexpr int mid_packets = MidPackets;
  static constexpr int rows = Rows;
  static constexpr int row_packets = RowPackets;
  static constexpr int phase_packets = PhasePackets;
  static constexpr int phase_taps = PhaseTaps;
  static constexpr int registers = Registers;
  /// Packets of a micro-tile of MB maps.
  static constexpr int packets_for(int mb) {
    return mb <= 2 ? FewPackets : mb <= 4 ? MidPackets : Packets;
  }
  /// The widest micro-tile in packets for `cout` output maps (the column granularity of the
  /// tiles).
  static constexpr int widest(Eigen::Index cout) {
    return cout < Maps ? packets_for(int(cout)) : Packets;
  }
};

/// For 32 vector registers: 24 accumulators + 4 input packets + 1 broadcast (4 x 6: 24 + 6 + 1).
using ConvBlocking32 = ConvBlocking<6, 4, 8, 6, 4, 4, 10, 4, 32>;
/// For 16 vector registers: 12 accumulators + 2 input packets + 1 broadcast (the shape of the
/// classic AVX2 GEMM micro-kernel, 6 x 16 floats).
using ConvBlocking16 = ConvBlocking<6, 2, 6, 3, 4, 3, 8, 2, 16>;

/// The blocking for a register file of `Registers` vector registers.
template <int Registers>
using ConvBlockingFor = std::conditional_t<(Registers >= 32), ConvBlocking32, ConvBlocking16>;

/// The blocking of this compilation target.
using DefaultConvBlocking = ConvBlockingFor<kVectorRegisters>;

}  // namespace mlcsc::internal
