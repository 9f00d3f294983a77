// ML-CSC guarantees: the per-layer conditions computed by multilayer_guarantees, and, on a model
// built to meet them, the guaranteed pursuits recovering the supports.
#include <cmath>

#include "test_support.hpp"

using mlcsc::Index;
using M = mlcsc::Matrix<double>;

namespace {
// [I, H/sqrt(n)] with H a Sylvester Hadamard matrix: mu = 1/sqrt(n).
M identity_hadamard(Index n) {
  M H = M::Ones(1, 1);
  while (H.rows() < n) {
    M N(2 * H.rows(), 2 * H.cols());
    N << H, H, H, -H;
    H = N;
  }
  M D(n, 2 * n);
  D << M::Identity(n, n), H / std::sqrt(double(n));
  return D;
}
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
  // the forward-pass condition by hand (the talk's formula)
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
