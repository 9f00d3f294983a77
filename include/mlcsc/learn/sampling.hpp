// mlcsc: the seeded randomness of the dictionary learners: a portable generator (the same seed
// gives the same draws with every standard library), shuffles and the initial atoms.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "../core/fwd.hpp"

namespace mlcsc::internal {

/// std::mt19937_64 (its sequence is fixed by the standard) with its own conversions to indices
/// and Gaussians (the std distributions are implementation-defined).
class LearnRng {
 public:
  explicit LearnRng(unsigned seed) : g_(std::uint64_t(seed) * 0x9E3779B97F4A7C15ull + 1u) {}

  /// Uniform in [0, n) (n >= 1; the modulo bias is below 2^-40 for any n of data).
  Index index(Index n) { return Index(g_() % std::uint64_t(n)); }
  /// Uniform in [0, 1).
  double uniform() { return double(g_() >> 11) * 0x1.0p-53; }
  /// Standard normal (Box-Muller, one value per call).
  double normal() {
    const double u = 1.0 - uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
  /// Fisher-Yates over all of v.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (Index i = Index(v.size()) - 1; i > 0; --i)
      std::swap(v[std::size_t(i)], v[std::size_t(index(i + 1))]);
  }

 private:
  std::mt19937_64 g_;
};

/// The initial atoms (n x m, unit norm): m distinct columns of Y of nonzero norm in a seeded
/// random order, Gaussian atoms for the rest when Y has fewer such columns; non-negative atoms
/// (`nonnegative`) take the positive part of each (a column whose positive part is zero is
/// skipped; Gaussian atoms are taken in absolute value).
template <class Scalar>
Matrix<Scalar> initial_atoms(const Eigen::Ref<const Matrix<Scalar>>& Y, Index m, bool nonnegative,
                             LearnRng& rng) {
  const Index n = Y.rows(), B = Y.cols();
  Matrix<Scalar> D(n, m);
  std::vector<Index> order(static_cast<std::size_t>(B));
  for (Index b = 0; b < B; ++b) order[std::size_t(b)] = b;
  Index j = 0;
  // A partial Fisher-Yates shuffle: position i takes a random one of the columns not yet drawn.
  for (Index i = 0; i < B && j < m; ++i) {
    std::swap(order[std::size_t(i)], order[std::size_t(i + rng.index(B - i))]);
    D.col(j) = Y.col(order[std::size_t(i)]);
    if (nonnegative) D.col(j) = D.col(j).cwiseMax(Scalar(0));
    const Scalar nrm = D.col(j).norm();
    if (nrm > Scalar(0) && std::isfinite(double(nrm))) D.col(j++) /= nrm;
  }
  for (; j < m; ++j) {
    for (Index i = 0; i < n; ++i) {
      const double z = rng.normal();
      D(i, j) = Scalar(nonnegative ? std::abs(z) : z);
    }
    D.col(j).normalize();
  }
  return D;
}

}  // namespace mlcsc::internal
