// Shared helpers for the tests: seeded random shapes and data, and naive references.
#pragma once

#include <cstdint>
#include <random>

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

}  // namespace mlcsc_test
