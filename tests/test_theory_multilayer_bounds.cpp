// ML-CSC guarantees: the per-layer conditions computed by multilayer_guarantees, and, on a model
// built to meet them, the guaranteed pursuits recovering the supports.
#include <cmath>

#include "test_support.hpp"

using mlcsc_test::identity_hadamard;

using mlcsc::Index;
using M = mlcsc::Matrix<double>;

namespace {
// [I, H/sqrt(n)] with H a Sylvester Hadamard matrix: mu = 1/sqrt(n).
}  // namespace

TEST_CASE("dense model meeting the guarantees: forward pass and layered Lasso recover supports",
          "[theory][multilayer]") {
  const Index n = 64, m1 = 128, m2 = 64, B = 6;
  mlcsc::Dictionary<double> D1(identity_hadamard(n));
  M A2 = M::Zero(m1, m2);  // disjoint pairs: orthonormal atoms, mu = 0
  for (Index j = 0; j < m2; ++j) A2(2 * j, j) = A2(2 * j + 1, j) = 1 / std::sqrt(2.0);
  mlcsc::Dictionary<double> D2(A2);
  // Gamma_2: one nonzero per signal, amplitude in [1, 1.2]; Gamma_1 = D2 Gamma_2 has two
  std::mt19937 g(mlcsc_test::seed());
  M G2 = M::Zero(m2, B);
  for (Index b = 0; b < B; ++b)
    G2(std::uniform_int_distribution<Index>(0, m2 - 1)(g), b) =
        std::uniform_real_distribution<double>(1.0, 1.2)(g);
  const M G1 = A2 * G2;
  const double eps0 = 0.05;
  M E = mlcsc_test::randn<double>(n, B);
  E = E.array().rowwise() * (eps0 / E.colwise().norm().array());
  const M Y = D1.matrix() * G1 + E;

  mlcsc::MultiLayer<mlcsc::Dictionary<double>> probe;
  probe.add_layer(D1, 0.0);
  probe.add_layer(D2, 0.0);
  const auto rep0 = mlcsc::multilayer_guarantees(probe, {G1, G2}, eps0);
  REQUIRE(rep0.size() == 2);
  REQUIRE(std::abs(rep0[0].mu - 0.125) < 1e-12);
  REQUIRE(rep0[0].stripe_sparsity == 2);
  REQUIRE(rep0[1].stripe_sparsity == 1);
  REQUIRE(rep0[0].unique);
  REQUIRE(rep0[0].uniqueness_bound == 4.5);
  REQUIRE(std::abs(rep0[0].lasso_bound - 3.0) < 1e-12);
  REQUIRE(rep0[0].forward_pass);
  REQUIRE(rep0[0].layered_lasso);
  REQUIRE(rep0[1].forward_pass);
  REQUIRE(rep0[1].layered_lasso);
  // the forward-pass condition by hand (docs/theory.md's formula)
  const double gmin = rep0[0].gamma_min, gmax = rep0[0].gamma_max;
  REQUIRE(std::abs(rep0[0].forward_bound - (0.5 * (1 + 8 * gmin / gmax) - 8 * eps0 / gmax)) <
          1e-12);

  SECTION("layered thresholding (the forward pass) finds the supports") {
    // beta_1 inside the (unverified) interval of the report; layer 2 needs only a small one
    REQUIRE(rep0[0].beta_low < rep0[0].beta_high);
    const double b1 = 0.5 * (rep0[0].beta_low + rep0[0].beta_high);
    mlcsc::MultiLayer<mlcsc::Dictionary<double>> net;
    net.add_layer(D1, b1);
    net.add_layer(D2, 0.05);
    const auto G = net.layered_thresholding(Y);
    REQUIRE(((G[0].array() != 0) == (G1.array() != 0)).all());
    REQUIRE(((G[1].array() != 0) == (G2.array() != 0)).all());
  }
  SECTION("layered Lasso with alpha_1 = 4 eps_0 finds only true supports, and all large entries") {
    mlcsc::MultiLayer<mlcsc::Dictionary<double>> net = probe;
    std::vector<mlcsc::LassoParams<double>> p(2);
    for (int l = 0; l < 2; ++l) {
      p[l].lambda = rep0[l].lasso_lambda;
      p[l].method = mlcsc::Method::CoordinateDescent;
      p[l].tolerance = 1e-10;
    }
    const auto R = net.layered_lasso(Y, p);
    const std::vector<const M*> truth{&G1, &G2};
    for (int l = 0; l < 2; ++l) {
      INFO("layer " << l);
      REQUIRE(((R[l].code.array() != 0) <= (truth[l]->array() != 0)).all());  // no false positive
      const double big = 7.5 * rep0[l].lasso_eps_in;
      REQUIRE(((truth[l]->array().abs() > big) <= (R[l].code.array() != 0)).all());
    }
    // layer 1: every true coefficient is large enough, so its support is recovered exactly
    REQUIRE(((R[0].code.array() != 0) == (G1.array() != 0)).all());
  }
  SECTION("too much noise breaks the forward-pass condition") {
    const auto rep = mlcsc::multilayer_guarantees(probe, {G1, G2}, 0.5);
    REQUIRE_FALSE(rep[0].forward_pass);
    REQUIRE_FALSE(rep[1].forward_pass);  // a chain: fails from the first failing layer on
    REQUIRE(rep[0].layered_lasso);       // the Lasso condition does not involve the noise
  }
}

TEST_CASE("multilayer_guarantees on a conv model matches stripe_sparsity and coherence",
          "[theory][multilayer][conv]") {
  mlcsc::synthetic::ConvSpec<double> spec;
  spec.height = 31;
  spec.width = 29;
  spec.seed = mlcsc_test::seed();
  const auto s = mlcsc::synthetic::conv_sample(spec, 0.01);
  const auto net = mlcsc::synthetic::make_model(s, {0.1, 0.1});
  const auto rep = mlcsc::multilayer_guarantees(net, s.codes, 0.01);
  REQUIRE(rep.size() == 2);
  for (int l = 0; l < 2; ++l) {
    const auto& D = s.dictionaries[size_t(l)];
    REQUIRE(std::abs(rep[l].mu - double(mlcsc::mutual_coherence(D))) <= 1e-12);
    REQUIRE(rep[l].stripe_sparsity == mlcsc::stripe_sparsity(s.codes[size_t(l)], D.kernel_height(),
                                                             D.kernel_width(), D.boundary()));
    REQUIRE(rep[l].patch_sparsity <= rep[l].stripe_sparsity);
    REQUIRE(rep[l].gamma_min <= rep[l].gamma_max);
    REQUIRE(rep[l].uniqueness_bound == 0.5 * (1 + 1 / rep[l].mu));
    REQUIRE(rep[l].unique == (rep[l].stripe_sparsity < rep[l].uniqueness_bound));
  }
  REQUIRE(rep[1].eps_in == rep[0].forward_eps);
  REQUIRE_THROWS_AS(mlcsc::multilayer_guarantees(net, {s.codes[0]}, 0.01), std::invalid_argument);
  REQUIRE_THROWS_AS(mlcsc::multilayer_guarantees(net, s.codes, -1.0), std::invalid_argument);
}

TEST_CASE("conv model meeting the guarantees: forward pass and layered Lasso recover supports",
          "[theory][multilayer][conv]") {
  // Two circular conv layers built to meet both chain conditions (synthetic/ml_csc.hpp): D_1 has 2
  // filters 11 x 11 with 9 equal taps, spread so that two atoms share at most one tap (mu_1 =
  // 1/9); D_2 has 3 filters 3 x 3 over 2 channels with 3 taps (mu_2 = 1/3); Gamma_2 has one
  // nonzero per stripe, and is placed so that Gamma_1 = D_2 Gamma_2 has at most 3 per stripe of
  // D_1. Amplitudes in [0.9, 1]; noise of patch norm eps_0 = 0.005. Conditions (JMLR 2017):
  //   forward pass  3 < 1/2 (1 + 9 * 0.9) - 9 eps_0 / |G_1^max| and 1 < 1/2 (1 + 3 * 0.9) - ...;
  //   layered Lasso 3 < 1/3 (1 + 9) and 1 < 1/3 (1 + 3).
  using S = double;
  mlcsc::synthetic::ConvSpec<S> spec;
  spec.height = mlcsc_test::uniform_int(40, 52);
  spec.width = mlcsc_test::uniform_int(40, 52);
  spec.filters = {2, 3};
  spec.kernel = {11, 3};
  spec.atom_nnz = {9, 3};
  spec.spread = true;
  spec.max_overlap = 1;
  spec.nonnegative = true;
  spec.boundary = mlcsc::Boundary::Circular;
  spec.stripe_sparsity = 1;
  spec.layer_stripe_sparsity = {3, 1};
  spec.min_amplitude = 0.9;
  spec.max_amplitude = 1.0;
  spec.seed = mlcsc_test::seed();
  const double eps0 = 0.005;
  const auto s = mlcsc::synthetic::conv_sample(spec, eps0);
  CAPTURE(spec.height, spec.width, spec.seed);
  const auto probe = mlcsc::synthetic::make_model(s, {0.0, 0.0}, mlcsc::Shrinkage::Hard);
  const auto rep = mlcsc::multilayer_guarantees(probe, s.codes, eps0);
  for (int l = 0; l < 2; ++l) {
    INFO("layer " << l << ": mu " << rep[l].mu << ", stripe sparsity " << rep[l].stripe_sparsity
                  << ", forward bound " << rep[l].forward_bound);
    REQUIRE(rep[l].forward_pass);
    REQUIRE(rep[l].layered_lasso);
    REQUIRE(rep[l].stripe_sparsity >= 1);
  }
  REQUIRE(std::abs(rep[0].mu - 1.0 / 9) < 1e-9);
  REQUIRE(rep[0].stripe_sparsity <= 3);
  // a bound computed by hand (docs/theory.md's formula) agrees with the report
  REQUIRE(std::abs(rep[0].forward_bound - (0.5 * (1 + 9 * rep[0].gamma_min / rep[0].gamma_max) -
                                           9 * eps0 / rep[0].gamma_max)) < 1e-9);
  const auto support = [](const mlcsc::FeatureMaps<S>& g) {
    return (g.data().array() != 0).eval();
  };

  SECTION("layered hard thresholding with beta_l inside the interval finds every support") {
    std::vector<S> beta;
    for (int l = 0; l < 2; ++l) {
      REQUIRE(rep[l].beta_low < rep[l].beta_high);
      beta.push_back(0.5 * (rep[l].beta_low + rep[l].beta_high));
    }
    const auto net = mlcsc::synthetic::make_model(s, beta, mlcsc::Shrinkage::Hard);
    const auto G = net.layered_thresholding(s.noisy);
    for (int l = 0; l < 2; ++l) {
      INFO("layer " << l);
      REQUIRE((support(G[size_t(l)]) == support(s.codes[size_t(l)])).all());
      // the estimate is within eps_l in patch norm (patches of the next layer, D_2, or, for the
      // last layer, its own: D_2 both times)
      mlcsc::FeatureMaps<S> err = G[size_t(l)];
      err.data() -= s.codes[size_t(l)].data();
      const auto& P = s.dictionaries[1];
      REQUIRE(double(mlcsc::patch_norm(err, P.kernel_height(), P.kernel_width(),
                                       mlcsc::Boundary::Circular)) <= rep[l].forward_eps);
    }
  }
  SECTION("layered Lasso with lambda_l = 4 eps_{l-1}: only true supports, large entries found") {
    std::vector<mlcsc::LassoParams<S>> p(2);
    for (int l = 0; l < 2; ++l) {
      p[size_t(l)].lambda = rep[l].lasso_lambda;
      p[size_t(l)].nonnegative = false;
      p[size_t(l)].tolerance = 1e-12;
      p[size_t(l)].max_iterations = 20000;
    }
    const auto R = probe.layered_lasso(s.noisy, p);
    for (int l = 0; l < 2; ++l) {
      INFO("layer " << l << ", iterations " << R[l].iterations);
      REQUIRE(R[l].converged);
      const auto est = support(R[l].code), truth = support(s.codes[size_t(l)]);
      REQUIRE((est <= truth).all());  // no false positive
      const double big = 7.5 * rep[l].lasso_eps_in;
      REQUIRE(((s.codes[size_t(l)].data().array().abs() > big) <= est).all());
      REQUIRE((R[l].code.data() - s.codes[size_t(l)].data()).cwiseAbs().maxCoeff() <= big);
    }
  }
}
