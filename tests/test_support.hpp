// Shared helpers for the tests: seeded random shapes and data, and naive references.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>

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

}  // namespace mlcsc_test
