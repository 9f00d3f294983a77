// The ML-ISTA / ML-FISTA iteration loops and the Lasso on an effective dictionary allocate
// nothing: run under the throwing malloc guard of malloc_guard.hpp (internal::NoMallocScope around
// each loop).
#include "malloc_guard.hpp"

#include "test_support.hpp"

TEST_CASE("ml_ista / ml_fista loops do not allocate (dense)", "[multilayer][nomalloc]") {
  auto D1 = mlcsc_test::random_dictionary<double>(19, 33);
  auto D2 = mlcsc_test::random_dictionary<double>(33, 21);
  auto D3 = mlcsc_test::random_dictionary<double>(21, 12);
  mlcsc::MultiLayer<mlcsc::Dictionary<double>> net;
  net.add_layer(D1, 0.1);
  net.add_layer(D2, 0.1);
  net.add_layer(D3, 0.1);
  const mlcsc::Matrix<double> Y = mlcsc_test::randn<double>(19, 3);
  mlcsc::MLBPParams<double> p;
  p.layers.resize(3);
  p.max_iterations = 20;
  p.callback = [](int, double) { return true; };  // the objective evaluation too
  REQUIRE(Eigen::internal::is_malloc_allowed());
  REQUIRE_NOTHROW(net.ml_ista(Y, p));
  REQUIRE_NOTHROW(net.ml_fista(Y, p));
  REQUIRE(Eigen::internal::is_malloc_allowed());
  // the Lasso on the effective dictionary: its buffers are sized before the loop
  mlcsc::LassoParams<double> lp;
  lp.max_iterations = 20;
  lp.method = mlcsc::Method::ISTA;
  REQUIRE_NOTHROW(mlcsc::lasso(net.effective(2), Y, lp));
  lp.method = mlcsc::Method::FISTA;
  REQUIRE_NOTHROW(mlcsc::lasso(net.effective(1), Y, lp));
}

TEST_CASE("ml_fista loop does not allocate (conv)", "[multilayer][nomalloc][conv]") {
  mlcsc::synthetic::ConvSpec<float> spec;
  spec.height = 17;
  spec.width = 13;
  const auto s = mlcsc::synthetic::conv_sample(spec, 0.1f);
  auto net = mlcsc::synthetic::make_model(s, {0.1f, 0.1f});
  mlcsc::MLBPParams<float> p;
  p.layers.resize(2);
  p.max_iterations = 10;
  REQUIRE_NOTHROW(net.ml_fista(s.noisy, p));
  REQUIRE_NOTHROW(net.ml_ista(s.noisy, p));
}

TEST_CASE("layered_thresholding into reused codes does not allocate", "[multilayer][nomalloc]") {
  mlcsc::synthetic::ConvSpec<float> spec;
  spec.height = 19;
  spec.width = 23;
  const auto s = mlcsc::synthetic::conv_sample(spec, 0.1f);
  const auto net = mlcsc::synthetic::make_model(s, {0.1f, 0.1f});
  std::vector<mlcsc::FeatureMaps<float>> out;
  net.layered_thresholding(s.noisy, out);  // sizes out and the kernels' per-thread buffers
  Eigen::internal::set_is_malloc_allowed(false);
  REQUIRE_NOTHROW(net.layered_thresholding(s.noisy, out));
  Eigen::internal::set_is_malloc_allowed(true);

  auto D1 = mlcsc_test::random_dictionary<double>(13, 29);
  mlcsc::MultiLayer<mlcsc::Dictionary<double>> dense;
  dense.add_layer(D1, 0.1);
  dense.add_layer(mlcsc_test::random_dictionary<double>(29, 17), 0.1);
  const mlcsc::Matrix<double> Y = mlcsc_test::randn<double>(13, 301);
  std::vector<mlcsc::Matrix<double>> codes;
  dense.layered_thresholding(Y, codes);
  Eigen::internal::set_is_malloc_allowed(false);
  REQUIRE_NOTHROW(dense.layered_thresholding(Y, codes));
  Eigen::internal::set_is_malloc_allowed(true);
}
