// The Papyan-Sulam-Elad stability theorem for the Lasso on a convolutional dictionary, checked on
// synthetic data with the library's own pieces: ConvDictionary (Circular), mutual_coherence,
// stripe_sparsity, patch_norm and lasso (FISTA).
//
// The theorem (V. Papyan, J. Sulam, M. Elad, "Working Locally Thinking Globally: Theoretical
// Guarantees for Convolutional Sparse Coding", IEEE TSP 65(21):5687-5701, 2017; arXiv 1607.02009,
// Part II, the theorem on the stability of global Basis Pursuit / the Lasso in the presence of
// noise). Let Y = D Gamma + E with unit-norm filters, ||E||^P_{2,inf} <= eps (max l2 norm of a
// patch the size of the filters), and let Gamma_hat minimize 0.5||Y - D G||_2^2 + lambda ||G||_1
// with lambda = 4 eps. If ||Gamma||^S_{0,inf} < (1/3)(1 + 1/mu(D)), then
//   (1) supp(Gamma_hat) is contained in supp(Gamma)         (no false positives),
//   (2) ||Gamma_hat - Gamma||_inf <= 7.5 eps,
//   (3) hence every |Gamma_j| > 7.5 eps is in supp(Gamma_hat),
//   (4) Gamma_hat is the unique minimizer.
// What could be checked against a source text: the condition ||Gamma||_{0,inf} < 1/3 (1 + 1/mu)
// and the conclusion ||Gamma_hat - Gamma||_inf <= 7.5 ||E||_{2,inf} for this Lasso are verbatim in
// a talk on the paper (slide "Success of Basis Pursuit", "Theorem: [Papyan, Sulam and Elad,
// 2016]"; docs/theory.md); the abstract of arXiv 1607.02009 confirms that Part
// II treats the stability of BP in the noisy regime with stripe sparsity. The stored copies of the
// paper end before the theorem, so lambda = 4 eps, the patch norm and (1), (3), (4) are from
// memory of the paper. They are consistent with the classical proof (Tropp, "Just relax", IEEE
// TIT 2006, Lasso theorem) made local: with k = ||Gamma||^S_{0,inf} < (1 + 1/mu)/3 the Gram matrix
// of the support obeys ||(D_S^T D_S)^{-1}||_{inf,inf} <= 1/(1 - (k-1)mu) < 3/2 and the ERC is
// > 1/2 (Gershgorin row by row, a row meeting at most k-1 other support atoms, all inside one
// stripe); every unit atom sees one patch of E, so ||D^T E||_inf <= eps; then lambda = 4 eps
// satisfies Tropp's condition and ||Gamma_hat - Gamma||_inf <= (lambda + eps) * 3/2 = 7.5 eps,
// which reproduces the constant 7.5 exactly.
//
// Numerical slack: the theorem is about the exact minimizer, we have FISTA's iterate. FISTA runs
// in double to a relative step of 1e-13 (asserted converged); "nonzero" below means
// |Gamma_hat_j| > 1e-9, far above the solver's error and far below any true coefficient (>= 1).
// The l-inf bound is checked as <= 7.5 eps * (1 + 1e-9) + 1e-9.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "test_support.hpp"

using mlcsc::Boundary;
using mlcsc::ConvDictionary;
using mlcsc::FeatureMaps;
using mlcsc::Index;

namespace {

constexpr double kNonzero = 1e-9;  // |x| above this counts as a nonzero of a FISTA estimate

/// A code with ||G||^S_{0,inf} == k exactly (Circular stripes of a kh x kw dictionary): positions
/// (filter, i, j) are visited in random order and kept when no stripe would exceed k nonzeros;
/// amplitudes are +-U[1, 2]. The stripe window is (2kh-1) x (2kw-1) around each centre.
FeatureMaps<double> draw_code(Index K, Index H, Index W, Index kh, Index kw, Index k) {
  FeatureMaps<double> g(K, H, W);
  std::vector<Index> count(static_cast<size_t>(H * W), 0);  // nonzeros in the stripe at (p, q)
  std::vector<Index> order(static_cast<size_t>(K * H * W));
  for (Index t = 0; t < K * H * W; ++t) order[static_cast<size_t>(t)] = t;
  std::shuffle(order.begin(), order.end(), mlcsc_test::rng());
  std::uniform_real_distribution<double> mag(1.0, 2.0);
  std::bernoulli_distribution sign(0.5);
  auto for_stripes_containing = [&](Index i, Index j, auto f) {
    // each wrapped centre once (the dictionary's H >= 2kh-1, W >= 2kw-1 here)
    for (Index du = -(kh - 1); du <= kh - 1; ++du)
      for (Index dv = -(kw - 1); dv <= kw - 1; ++dv)
        f(((i + du) % H + H) % H * W + ((j + dv) % W + W) % W);
  };
  for (Index t : order) {
    const Index f = t / (H * W), i = (t % (H * W)) / W, j = t % W;
    bool fits = true;
    for_stripes_containing(i, j, [&](Index p) { fits = fits && count[size_t(p)] < k; });
    if (!fits) continue;
    for_stripes_containing(i, j, [&](Index p) { ++count[size_t(p)]; });
    g.channel(f)(i, j) = (sign(mlcsc_test::rng()) ? 1.0 : -1.0) * mag(mlcsc_test::rng());
  }
  return g;
}

FeatureMaps<double> gaussian_noise(Index C, Index H, Index W, double sigma) {
  FeatureMaps<double> e(C, H, W);
  std::normal_distribution<double> n(0.0, sigma);
  for (Index t = 0; t < e.size(); ++t) e.data()(t / (H * W), t % (H * W)) = n(mlcsc_test::rng());
  return e;
}

struct Outcome {
  Index false_positives = 0;  // |G_hat| > kNonzero where G == 0
  Index missed_large = 0;     // |G| > 7.5 eps but G_hat == 0
  double linf_error = 0;      // ||G_hat - G||_inf
  bool converged = false;
  int iterations = 0;
};

Outcome solve_and_compare(const ConvDictionary<double>& D, const FeatureMaps<double>& y,
                          const FeatureMaps<double>& gamma, double lambda, double eps) {
  mlcsc::LassoParams<double> p;
  p.lambda = lambda;
  p.method = mlcsc::Method::FISTA;
  p.max_iterations = 50000;
  p.tolerance = 1e-13;
  const auto r = mlcsc::lasso(D, y, p);
  Outcome o;
  o.converged = r.converged;
  o.iterations = r.iterations;
  for (Index c = 0; c < gamma.channels(); ++c)
    for (Index t = 0; t < gamma.height() * gamma.width(); ++t) {
      const double g = gamma.data()(c, t), h = r.code.data()(c, t);
      if (g == 0.0 && std::abs(h) > kNonzero) ++o.false_positives;
      if (std::abs(g) > 7.5 * eps && std::abs(h) <= kNonzero) ++o.missed_large;
      o.linf_error = std::max(o.linf_error, std::abs(h - g));
    }
  return o;
}

/// Builds Y = D Gamma + E, checks the theorem's hypotheses with the library's own measures, runs
/// the Lasso with lambda = 4 ||E||^P_{2,inf} and asserts the conclusions; then, as a check that
/// this test can fail, a lambda 100 times too small must produce false positives.
void check_theorem(const ConvDictionary<double>& D, Index H, Index W, Index k, double sigma) {
  const Index kh = D.kernel_height(), kw = D.kernel_width();
  const double mu = mlcsc::mutual_coherence(D);
  const double bound = mlcsc::lasso_stability_bound(mu);  // (1 + 1/mu) / 3
  INFO("mu = " << mu << ", (1 + 1/mu)/3 = " << bound << ", k = " << k);
  REQUIRE(double(k) < bound);

  const FeatureMaps<double> gamma = draw_code(D.num_filters(), H, W, kh, kw, k);
  REQUIRE(mlcsc::stripe_sparsity(gamma, kh, kw, Boundary::Circular) == k);
  FeatureMaps<double> y = D.synthesize(gamma);
  const FeatureMaps<double> e = gaussian_noise(D.channels(), H, W, sigma);
  y.data() += e.data();
  const double eps = mlcsc::patch_norm(e, kh, kw, Boundary::Circular);
  Index nnz = 0, large = 0;
  for (Index t = 0; t < gamma.size(); ++t) {
    const double g = gamma.data()(t / (H * W), t % (H * W));
    nnz += g != 0.0;
    large += std::abs(g) > 7.5 * eps;
  }
  INFO("||Gamma||_0 = " << nnz << " of " << gamma.size() << ", ||E||^P_{2,inf} = " << eps
                        << ", 7.5 eps = " << 7.5 * eps << ", entries above 7.5 eps: " << large);

  const Outcome o = solve_and_compare(D, y, gamma, 4.0 * eps, eps);
  INFO("lambda = 4 eps: FISTA iterations "
       << o.iterations << ", ||G_hat - G||_inf = " << o.linf_error << ", false positives "
       << o.false_positives);
  REQUIRE(o.converged);
  CHECK(o.false_positives == 0);                             // (1)
  CHECK(o.linf_error <= 7.5 * eps * (1 + 1e-9) + kNonzero);  // (2)
  CHECK(o.missed_large == 0);                                // (3)
  CHECK(large > 0);  // (3) is not vacuous: the draw has entries above 7.5 eps

  // Sensitivity (not a theorem): with lambda = 4 eps / 100 the Lasso fits the noise with atoms
  // outside the support, so the support check above is able to fail.
  const Outcome loose = solve_and_compare(D, y, gamma, 0.04 * eps, eps);
  INFO("lambda = 0.04 eps: false positives " << loose.false_positives);
  CHECK(loose.false_positives > 0);
}

/// Barker code of length 13: aperiodic autocorrelation sidelobes of magnitude 0 or 1, so one
/// normalized Barker filter has mu = 1/13 exactly and the theorem allows 4 nonzeros per stripe.
const double kBarker13[13] = {1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1};

}  // namespace

TEST_CASE("Lasso stability on a convolutional dictionary (Papyan, Sulam, Elad 2017)",
          "[theory][stability]") {
  SECTION("1-D, one Barker-13 filter (mu = 1/13), 4 nonzeros per stripe") {
    ConvDictionary<double> D(1, 1, 1, 13, Boundary::Circular);
    for (Index t = 0; t < 13; ++t) D.filter(0, 0)(0, t) = kBarker13[t];
    D.normalize();
    REQUIRE(std::abs(mlcsc::mutual_coherence(D) - 1.0 / 13.0) <= 1e-12);
    for (int trial = 0; trial < 3; ++trial) check_theorem(D, 1, 160, 4, 0.02);
  }
  SECTION("2-D, 2 filters of 2 channels, 4 x 5, random with mu < 1/2, 1 nonzero per stripe") {
    // Random filters are coherent: (1 + 1/mu)/3 > 1 needs mu < 1/2, which a single draw may miss,
    // so keep the least coherent of several draws (typically mu ~ 0.2-0.3 for these sizes).
    ConvDictionary<double> best(2, 2, 4, 5, Boundary::Circular);
    double best_mu = 2.0;
    for (int draw = 0; draw < 40; ++draw) {
      ConvDictionary<double> D(2, 2, 4, 5, Boundary::Circular);
      D.filters() = mlcsc_test::randn<double>(2, 2 * 4 * 5);
      D.normalize();
      const double mu = mlcsc::mutual_coherence(D);
      if (mu < best_mu) {
        best_mu = mu;
        best = D;
      }
    }
    INFO("least coherent draw: mu = " << best_mu);
    REQUIRE(best_mu < 0.45);
    for (int trial = 0; trial < 3; ++trial) check_theorem(best, 31, 37, 1, 0.01);
  }
}
