// Local norms of convolutional codes and signals (theory/stripe.hpp) against brute-force loops over
// the definitions of docs/theory.md, on fresh random shapes (odd sizes, kh != kw, C = 1 and
// C > 1, windows larger than the maps), for both boundaries, in float and double.
#include <cmath>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <mlcsc/theory/stripe.hpp>

#include "test_support.hpp"

using mlcsc::Boundary;
using mlcsc::FeatureMaps;
using mlcsc::Index;

namespace {

/// The positions of the window {p + d : d in [lo, hi]} along a line of n, wrapped (each position
/// once) or clipped.
std::vector<Index> window(Index p, Index lo, Index hi, Index n, Boundary b) {
  std::set<Index> s;
  for (Index d = lo; d <= hi; ++d) {
    Index t = p + d;
    if (b == Boundary::Circular) {
      t %= n;
      if (t < 0) t += n;
      s.insert(t);
    } else if (t >= 0 && t < n) {
      s.insert(t);
    }
  }
  return {s.begin(), s.end()};
}

/// Brute force: max over every centre (i, j) of f summed over the window rows i+[lo_h, hi_h] x
/// columns j+[lo_w, hi_w] of every channel. Returns {max count of |g| > thr, max sum of g^2}.
template <class Scalar>
std::pair<Index, double> brute(const FeatureMaps<Scalar>& g, Index lo_h, Index hi_h, Index lo_w,
                               Index hi_w, Boundary b, double thr = 0.0) {
  Index best_count = 0;
  double best_energy = 0.0;
  for (Index i = 0; i < g.height(); ++i)
    for (Index j = 0; j < g.width(); ++j) {
      Index count = 0;
      double energy = 0.0;
      for (Index r : window(i, lo_h, hi_h, g.height(), b))
        for (Index c : window(j, lo_w, hi_w, g.width(), b))
          for (Index k = 0; k < g.channels(); ++k) {
            const double v = double(g.channel(k)(r, c));
            count += std::abs(v) > thr;
            energy += v * v;
          }
      best_count = std::max(best_count, count);
      best_energy = std::max(best_energy, energy);
    }
  return {best_count, best_energy};
}

/// Random maps with about `density` of the entries nonzero (the rest exactly 0).
template <class Scalar>
FeatureMaps<Scalar> random_sparse_maps(Index C, Index H, Index W, double density) {
  FeatureMaps<Scalar> g(C, H, W);
  std::bernoulli_distribution keep(density);
  std::normal_distribution<double> n(0.0, 1.0);
  for (Index c = 0; c < C; ++c)
    for (Index p = 0; p < H * W; ++p)
      if (keep(mlcsc_test::rng())) g.data()(c, p) = Scalar(n(mlcsc_test::rng()));
  return g;
}

const char* name(Boundary b) {
  return mlcsc::to_string(b);
}

}  // namespace

TEMPLATE_TEST_CASE("stripe_sparsity, stripe_norm and patch_norm match brute force",
                   "[theory][stripe]", float, double) {
  using Scalar = TestType;
  // Norms: the library sums squares in double and takes one sqrt; the reference sums the same
  // squares in double in another order. The results agree to a few double ulps before the final
  // rounding to Scalar, so the relative tolerance is a few Scalar epsilons.
  const double tol = std::is_same<Scalar, float>::value ? 4e-7 : 1e-13;
  for (Boundary b : {Boundary::Circular, Boundary::Zero}) {
    SECTION(name(b)) {
      for (int trial = 0; trial < 40; ++trial) {
        // trials 0..9: 1-D (height 1); then 2-D; a quarter with windows larger than the maps
        const Index H = trial < 10 ? 1 : mlcsc_test::uniform_int(1, 13);
        const Index W = mlcsc_test::uniform_int(1, 19);
        const Index C = trial % 2 == 0 ? 1 : mlcsc_test::uniform_int(2, 5);
        const bool large = trial % 4 == 3;
        const Index kh =
            H == 1 && !large ? 1 : mlcsc_test::uniform_int(1, large ? H + 4 : (H + 1) / 2 + 1);
        const Index kw = mlcsc_test::uniform_int(1, large ? W + 4 : (W + 1) / 2 + 1);
        const double density = std::uniform_real_distribution<double>(0.02, 0.6)(mlcsc_test::rng());
        const auto g = random_sparse_maps<Scalar>(C, H, W, density);
        INFO("trial " << trial << ": g " << C << " x " << H << " x " << W << ", kernel " << kh
                      << " x " << kw << ", " << name(b));

        const auto stripe = brute(g, -(kh - 1), kh - 1, -(kw - 1), kw - 1, b);
        REQUIRE(mlcsc::stripe_sparsity(g, kh, kw, b) == stripe.first);
        const double sn = double(mlcsc::stripe_norm(g, kh, kw, b));
        REQUIRE(std::abs(sn - std::sqrt(stripe.second)) <= tol * std::max(1.0, sn));

        const Index a = (kh - 1) / 2, bw = (kw - 1) / 2;  // the filters' anchor
        const auto patch = brute(g, -a, kh - 1 - a, -bw, kw - 1 - bw, b);
        const double pn = double(mlcsc::patch_norm(g, kh, kw, b));
        REQUIRE(std::abs(pn - std::sqrt(patch.second)) <= tol * std::max(1.0, pn));

        // the threshold overload counts |g| > threshold
        const Scalar thr = Scalar(0.5);
        REQUIRE(mlcsc::stripe_sparsity(g, kh, kw, b, thr) ==
                brute(g, -(kh - 1), kh - 1, -(kw - 1), kw - 1, b, 0.5).first);
      }
    }
  }
}

TEST_CASE("stripes: hand-checked cases", "[theory][stripe]") {
  SECTION("two spikes share a stripe iff they are less than 2k-1 apart") {
    // 1-D, k = 4: a stripe spans 7 positions. Spikes at 10 and 16 (6 apart) share one; at 10 and
    // 17 (7 apart) they do not.
    for (Boundary b : {Boundary::Circular, Boundary::Zero}) {
      FeatureMaps<double> g(2, 1, 40);
      g.channel(0)(0, 10) = 1.0;
      g.channel(1)(0, 16) = -2.0;
      CHECK(mlcsc::stripe_sparsity(g, 1, 4, b) == 2);
      CHECK(mlcsc::stripe_norm(g, 1, 4, b) == std::sqrt(5.0));
      g.channel(1)(0, 16) = 0.0;
      g.channel(1)(0, 17) = -2.0;
      CHECK(mlcsc::stripe_sparsity(g, 1, 4, b) == 1);
      CHECK(mlcsc::stripe_norm(g, 1, 4, b) == 2.0);
    }
  }
  SECTION("Circular wraps, Zero does not") {
    FeatureMaps<double> g(1, 1, 20);
    g.channel(0)(0, 0) = 1.0;
    g.channel(0)(0, 19) = 1.0;  // neighbours across the wrap
    CHECK(mlcsc::stripe_sparsity(g, 1, 2, Boundary::Circular) == 2);
    CHECK(mlcsc::stripe_sparsity(g, 1, 2, Boundary::Zero) == 1);
    CHECK(mlcsc::patch_norm(g, 1, 2, Boundary::Circular) == std::sqrt(2.0));
    CHECK(mlcsc::patch_norm(g, 1, 2, Boundary::Zero) == 1.0);
  }
  SECTION("a wrapped window larger than the map counts every position once") {
    // 3 x 5 maps, 2 channels, all nonzero; 4 x 6 kernels: stripes 7 x 11 and patches 4 x 6
    // are larger than the map, so both cover it once: 30 coefficients.
    FeatureMaps<float> g(2, 3, 5);
    g.data().setOnes();
    CHECK(mlcsc::stripe_sparsity(g, 4, 6, Boundary::Circular) == 30);
    CHECK(mlcsc::stripe_sparsity(g, 4, 6, Boundary::Zero) == 30);
    CHECK(std::abs(mlcsc::stripe_norm(g, 4, 6) - std::sqrt(30.0f)) <= 1e-6f);
    CHECK(std::abs(mlcsc::patch_norm(g, 4, 6) - std::sqrt(30.0f)) <= 1e-6f);
    // 2 x 2 stripe of a 3 x 5 map: 3 x 3 windows -> 2 channels x 9
    CHECK(mlcsc::stripe_sparsity(g, 2, 2, Boundary::Circular) == 18);
    // Zero, 2 x 2 patches with anchor (0, 0): interior 2 x 2 windows -> 8
    CHECK(std::abs(mlcsc::patch_norm(g, 2, 2, Boundary::Zero) - std::sqrt(8.0f)) <= 1e-6f);
  }
  SECTION("1 x 1 kernels: stripes and patches are single positions over all channels") {
    FeatureMaps<double> g(3, 4, 4);
    g.channel(0)(1, 2) = 3.0;
    g.channel(2)(1, 2) = 4.0;
    g.channel(1)(3, 3) = 1.0;
    CHECK(mlcsc::stripe_sparsity(g, 1, 1) == 2);
    CHECK(mlcsc::stripe_norm(g, 1, 1) == 5.0);
    CHECK(mlcsc::patch_norm(g, 1, 1, Boundary::Zero) == 5.0);
  }
  SECTION("all-zero maps") {
    FeatureMaps<double> g(2, 5, 7);
    CHECK(mlcsc::stripe_sparsity(g, 3, 3) == 0);
    CHECK(mlcsc::stripe_norm(g, 3, 3) == 0.0);
    CHECK(mlcsc::patch_norm(g, 3, 3, Boundary::Zero) == 0.0);
  }
}

TEST_CASE("stripes: input checks", "[theory][stripe]") {
  FeatureMaps<double> g(2, 5, 7);
  for (auto [kh, kw] : {std::pair<Index, Index>{0, 3}, {3, 0}, {-1, 2}}) {
    REQUIRE_THROWS_AS(mlcsc::stripe_sparsity(g, kh, kw), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::stripe_norm(g, kh, kw, Boundary::Zero), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::patch_norm(g, kh, kw), std::invalid_argument);
  }
  for (auto shape : {std::vector<Index>{0, 5, 7}, {2, 0, 7}, {2, 5, 0}}) {
    FeatureMaps<double> empty(shape[0], shape[1], shape[2]);
    REQUIRE_THROWS_AS(mlcsc::stripe_sparsity(empty, 3, 3), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::stripe_norm(empty, 3, 3), std::invalid_argument);
    REQUIRE_THROWS_AS(mlcsc::patch_norm(empty, 3, 3), std::invalid_argument);
  }
  REQUIRE_THROWS_AS(mlcsc::stripe_sparsity(g, 3, 3, Boundary::Circular, -1.0),
                    std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::stripe_sparsity(g, 3, 3, Boundary::Circular, double(NAN)),
                    std::invalid_argument);
  g.channel(1)(2, 3) = NAN;
  REQUIRE_THROWS_AS(mlcsc::stripe_sparsity(g, 3, 3), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::stripe_norm(g, 3, 3), std::invalid_argument);
  g.channel(1)(2, 3) = INFINITY;
  REQUIRE_THROWS_AS(mlcsc::patch_norm(g, 3, 3), std::invalid_argument);
  // the message names the function, the argument and the shapes
  try {
    mlcsc::patch_norm(FeatureMaps<double>(2, 5, 7), 0, 3);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("patch_norm") != std::string::npos);
    CHECK(m.find("0 x 3") != std::string::npos);
    CHECK(m.find("2 x 5 x 7") != std::string::npos);
  }
}
