// Shared helpers for the tests: seeded random shapes and data, and naive references.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <mlcsc/mlcsc.hpp>

#include "catch.hpp"

namespace mlcsc_test {

/// A generator seeded from Catch's --rng-seed (printed by Catch on failure), so a failing random
/// case can be replayed with the same seed.
inline std::uint32_t seed() {
#if MLCSC_CATCH_V3
  return Catch::getSeed();
#else
  return Catch::rngSeed();
#endif
}

/// Catch prints "Randomness seeded to: N"; rerun a test with `--rng-seed N` to replay it.
inline std::mt19937& rng() {
  static std::mt19937 gen(seed());
  return gen;
}

inline mlcsc::Index uniform_int(mlcsc::Index lo, mlcsc::Index hi) {
  return std::uniform_int_distribution<mlcsc::Index>(lo, hi)(rng());
}

template <class Scalar>
mlcsc::Matrix<Scalar> randn(mlcsc::Index rows, mlcsc::Index cols) {
  std::normal_distribution<double> g(0.0, 1.0);
  mlcsc::Matrix<Scalar> m(rows, cols);
  for (mlcsc::Index j = 0; j < cols; ++j)
    for (mlcsc::Index i = 0; i < rows; ++i) m(i, j) = Scalar(g(rng()));
  return m;
}

template <class Scalar>
mlcsc::Dictionary<Scalar> random_dictionary(mlcsc::Index n, mlcsc::Index m) {
  mlcsc::Dictionary<Scalar> D(randn<Scalar>(n, m));
  D.normalize();
  return D;
}

/// The message of the std::invalid_argument that `f` throws, or a marker when it throws none.
template <class F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no std::invalid_argument>";
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// Sylvester's Hadamard matrix of order n (a power of 2), entries +-1.
inline mlcsc::Matrix<double> hadamard(mlcsc::Index n) {
  mlcsc::Matrix<double> H = mlcsc::Matrix<double>::Ones(1, 1);
  while (H.rows() < n) {
    const mlcsc::Index k = H.rows();
    mlcsc::Matrix<double> H2(2 * k, 2 * k);
    H2 << H, H, H, -H;
    H = H2;
  }
  return H;
}

/// [I, H / sqrt(n)]: two orthonormal bases, mutual coherence 1/sqrt(n).
inline mlcsc::Matrix<double> identity_hadamard(mlcsc::Index n) {
  mlcsc::Matrix<double> A(n, 2 * n);
  A << mlcsc::Matrix<double>::Identity(n, n), hadamard(n) / std::sqrt(double(n));
  return A;
}

/// K Gaussian filters over C channels of kh x kw, normalized (each filter over all its channels).
template <class Scalar>
mlcsc::ConvDictionary<Scalar> random_conv(mlcsc::Index K, mlcsc::Index C, mlcsc::Index kh,
                                          mlcsc::Index kw, mlcsc::Boundary b) {
  mlcsc::ConvDictionary<Scalar> D(K, C, kh, kw, b);
  D.filters() = randn<Scalar>(K, C * kh * kw);
  D.normalize();
  return D;
}

/// C x H x W feature maps of standard Gaussian values.
template <class Scalar>
mlcsc::FeatureMaps<Scalar> random_maps(mlcsc::Index C, mlcsc::Index H, mlcsc::Index W) {
  mlcsc::FeatureMaps<Scalar> m(C, H, W);
  m.data() = randn<Scalar>(C, H * W);
  return m;
}

/// N x C x H x W feature maps of standard Gaussian values.
template <class Scalar>
mlcsc::FeatureMaps<Scalar> random_maps(mlcsc::Index N, mlcsc::Index C, mlcsc::Index H,
                                       mlcsc::Index W) {
  mlcsc::FeatureMaps<Scalar> m(N, C, H, W);
  m.data() = randn<Scalar>(N * C, H * W);
  return m;
}

/// The global (C H W) x (K H W) matrix of a convolutional dictionary for H x W signals, one column
/// per unit code, in double: the explicit operator the tests compare the kernels against.
template <class Scalar>
mlcsc::Matrix<double> global_matrix(const mlcsc::ConvDictionary<Scalar>& D, mlcsc::Index H,
                                    mlcsc::Index W) {
  const mlcsc::Index K = D.num_filters(), C = D.channels();
  mlcsc::Matrix<double> M(C * H * W, K * H * W);
  mlcsc::FeatureMaps<Scalar> e(K, H, W), x(C, H, W);
  for (mlcsc::Index col = 0; col < K * H * W; ++col) {
    e.setZero();
    e.data().data()[col] = Scalar(1);
    D.synthesize(e, x);
    M.col(col) =
        Eigen::Map<const mlcsc::Vector<Scalar>>(x.data().data(), C * H * W).template cast<double>();
  }
  return M;
}

/// The largest integer k with k < (1 + 1/mu) / 2: the sparsity that OMP and basis pursuit recover
/// exactly on a dictionary of mutual coherence mu.
inline mlcsc::Index recoverable_sparsity(double mu) {
  return mlcsc::Index(std::ceil(0.5 * (1.0 + 1.0 / mu))) - 1;
}

/// B codes of m entries with exactly k nonzeros each, magnitudes in [1, 3], random signs.
inline mlcsc::Matrix<double> sparse_codes(mlcsc::Index m, mlcsc::Index k, mlcsc::Index B) {
  mlcsc::Matrix<double> G = mlcsc::Matrix<double>::Zero(m, B);
  for (mlcsc::Index b = 0; b < B; ++b) {
    mlcsc::Index placed = 0;
    while (placed < k) {
      const mlcsc::Index i = uniform_int(0, m - 1);
      if (G(i, b) != 0) continue;
      const double mag = 1.0 + double(uniform_int(0, 2000)) / 1000.0;
      G(i, b) = uniform_int(0, 1) ? mag : -mag;
      ++placed;
    }
  }
  return G;
}

/// Runs f(t) on kThreads std::threads at once (t = 0 .. kThreads - 1) and joins them.
constexpr int kThreads = 4;
template <class F>
void run_concurrently(F&& f) {
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) pool.emplace_back([&f, t] { f(t); });
  for (auto& th : pool) th.join();
}

/// The register blockings the kernel tests run (conv/kernels/blocking.hpp): in the baseline build,
/// both of the targets' (16 and 32 vector registers) and an irregular one (5 maps x 3 packets, few
/// maps x 3, 3-4 maps x 5, rows 3 x 2, tap phases 3 packets x 3 taps: block widths that divide
/// nothing: packing, leftover maps, rows and taps); in the builds for an instruction set, the one
/// it selects. Calls f(B{}, name) for each.
using BlockingOdd = mlcsc::internal::ConvBlocking<5, 3, 3, 5, 3, 2, 3, 3, 16>;
template <class F>
void for_each_blocking(F&& f) {
#if MLCSC_TEST_DEFAULT_BLOCKING_ONLY
  // the instruction-set builds of the kernel tests (tests/CMakeLists.txt): the blocking this
  // target selects; the baseline build runs every blocking, so each is tested somewhere
  f(mlcsc::internal::DefaultConvBlocking{}, "this target's");
#else
  f(mlcsc::internal::ConvBlocking16{}, "16 registers");
  f(mlcsc::internal::ConvBlocking32{}, "32 registers");
  f(BlockingOdd{}, "irregular");
#endif
}

}  // namespace mlcsc_test
