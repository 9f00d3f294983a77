// The synthetic ML-CSC generator: reproducible, prescribed stripe sparsity, exact chain
// Gamma_{l-1} = D_l Gamma_l, unit-norm sparse non-negative filters, noise of the requested norm.
#include <cmath>

#include "test_support.hpp"

using mlcsc::Index;

TEMPLATE_TEST_CASE("conv_sample: reproducible, stripe-sparse, chained, noise patch norm",
                   "[multilayer][synthetic]", float, double) {
  using S = TestType;
  mlcsc::synthetic::ConvSpec<S> spec;
  spec.height = mlcsc_test::uniform_int(21, 37);
  spec.width = mlcsc_test::uniform_int(19, 33);
  spec.filters = {5, 7, 4};
  spec.kernel = {5, 3, 3};
  spec.atom_nnz = {4, 3, 2};
  spec.stripe_sparsity = 3;
  spec.seed = mlcsc_test::seed();
  const auto bd = GENERATE(mlcsc::Boundary::Zero, mlcsc::Boundary::Circular);
  spec.boundary = bd;
  const S eps = S(0.07);
  const auto s = mlcsc::synthetic::conv_sample(spec, eps);
  const auto t = mlcsc::synthetic::conv_sample(spec, eps);
  REQUIRE(s.dictionaries.size() == 3);
  REQUIRE(s.codes.size() == 3);
  REQUIRE((s.noisy.data() - t.noisy.data()).norm() == 0);
  for (size_t l = 0; l < 3; ++l) {
    const auto& D = s.dictionaries[l];
    REQUIRE(D.boundary() == bd);
    REQUIRE(D.filters().minCoeff() >= 0);
    for (Index k = 0; k < D.num_filters(); ++k) {
      REQUIRE(std::abs(double(D.filters().row(k).norm()) - 1.0) < 1e-5);
      REQUIRE((D.filters().row(k).array() != S(0)).count() == spec.atom_nnz[l]);
    }
    REQUIRE(s.codes[l].data().minCoeff() >= 0);
  }
  const auto& DL = s.dictionaries[2];
  const Index k = mlcsc::stripe_sparsity(s.codes[2], DL.kernel_height(), DL.kernel_width(), bd);
  REQUIRE(k <= spec.stripe_sparsity);
  REQUIRE(k >= 1);
  REQUIRE(s.codes[2].data().maxCoeff() <= spec.max_amplitude);
  for (size_t l = 2; l >= 1; --l) {
    const auto prev = s.dictionaries[l].synthesize(s.codes[l]);
    REQUIRE((prev.data() - s.codes[l - 1].data()).norm() == 0);
  }
  const auto& D1 = s.dictionaries[0];
  REQUIRE(std::abs(double(mlcsc::patch_norm(s.noise, D1.kernel_height(), D1.kernel_width(), bd)) -
                   double(eps)) <= 1e-4 * double(eps) + 1e-6);
  REQUIRE((s.noisy.data() - s.clean.data() - s.noise.data()).norm() <= 1e-5);
  // a different seed gives a different sample
  spec.seed += 1;
  const auto u = mlcsc::synthetic::conv_sample(spec, eps);
  REQUIRE((u.noisy.data() - s.noisy.data()).norm() > 0);
}

TEMPLATE_TEST_CASE("dense_sample: exact sparsity and noise norm", "[multilayer][synthetic]", float,
                   double) {
  using S = TestType;
  mlcsc::synthetic::DenseSpec<S> spec;
  spec.sizes = {31, 57, 40};
  spec.atom_nnz = {0, 3};
  spec.nonzeros = 3;
  spec.batch = 5;
  spec.seed = mlcsc_test::seed();
  const auto s = mlcsc::synthetic::dense_sample(spec, S(0.25));
  REQUIRE(s.codes[1].rows() == 40);
  for (Index j = 0; j < 5; ++j) {
    REQUIRE((s.codes[1].col(j).array() != S(0)).count() == 3);
    REQUIRE((s.codes[0].col(j).array() != S(0)).count() <= 9);
    REQUIRE(std::abs(double(s.noise.col(j).norm()) - 0.25) < 1e-5);
  }
  REQUIRE((s.codes[0] - s.dictionaries[1].matrix() * s.codes[1]).norm() <= 1e-5);
  REQUIRE_THROWS_AS(mlcsc::synthetic::make_model(s, {S(0.1)}), std::invalid_argument);
  const auto net = mlcsc::synthetic::make_model(s, {S(0.1), S(0.1)});
  REQUIRE(net.depth() == 2);
}

TEMPLATE_TEST_CASE("conv_sample: stripe limits on the propagated codes hold and are reached",
                   "[multilayer][synthetic]", float, double) {
  using S = TestType;
  mlcsc::synthetic::ConvSpec<S> spec;
  spec.height = mlcsc_test::uniform_int(33, 47);
  spec.width = mlcsc_test::uniform_int(31, 45);
  spec.filters = {3, 6, 5};
  spec.kernel = {5, 3, 3};
  spec.atom_nnz = {4, 2, 3};
  spec.stripe_sparsity = 2;
  spec.layer_stripe_sparsity = {mlcsc_test::uniform_int(6, 12), mlcsc_test::uniform_int(3, 6), 0};
  spec.seed = mlcsc_test::seed();
  for (const auto bd : {mlcsc::Boundary::Zero, mlcsc::Boundary::Circular}) {
    spec.boundary = bd;
    const auto s = mlcsc::synthetic::conv_sample(spec, S(0));
    CAPTURE(spec.height, spec.width, spec.layer_stripe_sparsity[0], spec.layer_stripe_sparsity[1]);
    for (size_t l = 0; l < 3; ++l) {
      const auto& D = s.dictionaries[l];
      const Index k = mlcsc::stripe_sparsity(s.codes[l], D.kernel_height(), D.kernel_width(), bd);
      const Index limit = l == 2 ? spec.stripe_sparsity : spec.layer_stripe_sparsity[l];
      INFO("layer " << l << ": stripe sparsity " << k << ", limit " << limit);
      REQUIRE(k <= limit);
      REQUIRE(k >= 1);
    }
    // a limit that the footprint of one deepest nonzero already exceeds (it puts 6 nonzeros in a
    // stripe of D_1) admits nothing; with a zero boundary a nonzero at the border can still fit
    if (bd == mlcsc::Boundary::Circular) {
      auto tight = spec;
      tight.layer_stripe_sparsity = {1, 0, 0};
      REQUIRE_THROWS_AS(mlcsc::synthetic::conv_sample(tight, S(0)), std::invalid_argument);
    }
  }
  spec.layer_stripe_sparsity = {4, 4};  // one entry per layer
  REQUIRE_THROWS_AS(mlcsc::synthetic::conv_sample(spec, S(0)), std::invalid_argument);
  spec.layer_stripe_sparsity.clear();
  spec.stripe_sparsity = 0;
  REQUIRE_THROWS_AS(mlcsc::synthetic::conv_sample(spec, S(0)), std::invalid_argument);
}

TEST_CASE("synthetic input checks", "[multilayer][synthetic][errors]") {
  mlcsc::synthetic::ConvSpec<double> spec;
  spec.kernel = {5};
  REQUIRE_THROWS_AS(mlcsc::synthetic::conv_sample(spec, 0.1), std::invalid_argument);
  spec.kernel = {4, 3};
  REQUIRE_THROWS_AS(mlcsc::synthetic::conv_sample(spec, 0.1), std::invalid_argument);
  mlcsc::synthetic::DenseSpec<double> d;
  d.sizes = {10};
  REQUIRE_THROWS_AS(mlcsc::synthetic::dense_sample(d, 0.1), std::invalid_argument);
}
