// learn_multilayer (learn/multilayer_learning.hpp): layer-by-layer learning is learn_dictionary
// on the layered Lasso's codes; it finds a planted two-layer model's atoms; the joint refinement
// never raises the ML-BP objective and lowers it below the layer-by-layer start; its gradient
// matches central differences; the report is the codes'; seeds repeat; bad input. The
// convolutional model: layer by layer is learn_conv_dictionary on the layered Lasso's (ADMM)
// codes, multi-channel from the second layer on, with the stripe sparsity of theory/stripe.hpp.
#include <cmath>
#include <string>
#include <vector>

#include "test_support.hpp"

using mlcsc_test::contains;
using mlcsc_test::invalid_argument_message;

namespace {

using mlcsc::Index;

// The fraction of the columns of `truth` matched by a column of `learned` with |cos| > thr.
double ml_recovered(const Eigen::MatrixXd& truth, const Eigen::MatrixXd& learned, double thr) {
  const Eigen::MatrixXd C =
      (truth.colwise().normalized().transpose() * learned.colwise().normalized()).cwiseAbs();
  Index hits = 0;
  for (Index j = 0; j < C.rows(); ++j) hits += C.row(j).maxCoeff() > thr;
  return double(hits) / double(C.rows());
}

template <class Scalar>
mlcsc::MultiLayerLearnParams<Scalar> two_layers(Index m1, Index m2, Scalar lambda, int epochs) {
  mlcsc::MultiLayerLearnParams<Scalar> p;
  p.layers.resize(2);
  p.layers[0].num_atoms = m1;
  p.layers[1].num_atoms = m2;
  for (auto& l : p.layers) {
    l.lambda = lambda;
    l.epochs = epochs;
  }
  p.layers[1].seed = 7;
  return p;
}

// Planted: n = 24, D_1 24 x 32 Gaussian, D_2 32 x 96 with 2 nonzeros per atom, Gamma_2 with 2
// nonzeros per signal in [1, 2] (so Gamma_1 has at most 4), noise 0.01 per entry, 4,000
// signals; lambda = 0.07 at both layers, 30 epochs each.
// A deep atom always combines the same two first-layer atoms, so D_1 is only partly
// identifiable from Y alone: measured (double, -O1 and -O2, generator seeds 3 / 4 / 5) 94 / 78 /
// 88% of D_1's atoms within |cos| > 0.9 of a learned one, and 96 / 90 / 97% of the effective
// atoms D_1 d_2 (the model's deepest atoms) within 0.9 of a learned D_1 d_2 (a random unit vector
// in 24 dimensions is within 0.9 of one of 96 others with probability ~1e-7). The bounds below,
// 70% and 80%, leave room for float and other instruction sets.
template <class Scalar>
void planted_two_layer_case() {
  mlcsc::synthetic::DenseSpec<Scalar> spec;
  spec.sizes = {24, 32, 96};
  spec.atom_nnz = {0, 2};
  spec.nonzeros = 2;
  spec.batch = 4000;
  spec.seed = 3;
  const auto s = mlcsc::synthetic::dense_sample(spec, Scalar(0.01 * std::sqrt(24.0)));
  const auto p = two_layers<Scalar>(32, 96, Scalar(0.07), 30);
  const auto r = mlcsc::learn_multilayer(s.noisy, p);

  const Eigen::MatrixXd D1 = s.dictionaries[0].matrix().template cast<double>();
  const Eigen::MatrixXd D2 = s.dictionaries[1].matrix().template cast<double>();
  const Eigen::MatrixXd L1 = r.model.layer(0).matrix().template cast<double>();
  const Eigen::MatrixXd L2 = r.model.layer(1).matrix().template cast<double>();
  CHECK(ml_recovered(D1, L1, 0.9) >= 0.7);
  CHECK(ml_recovered(D1 * D2, L1 * L2, 0.9) >= 0.8);

  // Layer by layer is learn_dictionary on Y, then on the layered Lasso's codes of Y.
  const auto first = mlcsc::learn_dictionary(s.noisy, p.layers[0]);
  REQUIRE(first.dictionary.matrix() == r.model.layer(0).matrix());
  REQUIRE(first.objective == r.layer_objective[0]);
  std::vector<mlcsc::LassoParams<Scalar>> lp(2);
  for (int l = 0; l < 2; ++l) {
    lp[size_t(l)].lambda = p.layers[size_t(l)].lambda;
    lp[size_t(l)].method = mlcsc::Method::CoordinateDescent;
    lp[size_t(l)].tolerance = p.layers[size_t(l)].coding_tolerance;
  }
  const auto layered = r.model.layered_lasso(s.noisy, lp);
  REQUIRE(layered[0].code == r.codes[0]);
  REQUIRE(layered[1].code == r.codes[1]);
  const auto second = mlcsc::learn_dictionary(r.codes[0], p.layers[1]);
  REQUIRE(second.dictionary.matrix() == r.model.layer(1).matrix());

  // The report, recomputed: the per-layer Lasso objectives and the nonzeros of the codes.
  const Eigen::MatrixXd Y = s.noisy.template cast<double>();
  for (int l = 0; l < 2; ++l) {
    const Eigen::MatrixXd in = l == 0 ? Y : r.codes[0].template cast<double>();
    const Eigen::MatrixXd G = r.codes[size_t(l)].template cast<double>();
    const Eigen::MatrixXd D = l == 0 ? L1 : L2;
    const auto& rep = r.layers[size_t(l)];
    const double tol = sizeof(Scalar) == 4 ? 1e-4 : 1e-10;  // relative: sums of ~1e5 roundings
    REQUIRE(std::abs(double(rep.fit) - 0.5 * (in - D * G).squaredNorm()) <=
            tol * double(rep.objective()));
    REQUIRE(std::abs(double(rep.penalty) - 0.07 * G.cwiseAbs().sum()) <=
            tol * double(rep.objective()));
    Index most = 0, all = 0;
    for (Index b = 0; b < G.cols(); ++b) {
      Index k = 0;
      for (Index i = 0; i < G.rows(); ++i) k += G(i, b) != 0.0;
      most = std::max(most, k);
      all += k;
    }
    REQUIRE(rep.stripe_sparsity == most);
    REQUIRE(rep.mean_nonzeros == Approx(double(all) / double(G.cols())));
    REQUIRE(r.model.thresholds(l).isConstant(Scalar(0.07)));
    REQUIRE(r.model.shrinkage(l) == mlcsc::Shrinkage::Soft);
  }
}

}  // namespace

TEST_CASE("learn_multilayer: layer by layer finds a planted two-layer model (double)", "[learn]") {
  planted_two_layer_case<double>();
}
TEST_CASE("learn_multilayer: layer by layer finds a planted two-layer model (float)", "[learn]") {
  planted_two_layer_case<float>();
}

TEST_CASE("learn_multilayer: the refinement lowers the ML-BP objective monotonically", "[learn]") {
  mlcsc::synthetic::DenseSpec<double> spec;
  spec.sizes = {16, 24, 48};
  spec.atom_nnz = {0, 2};
  spec.nonzeros = 2;
  spec.batch = 600;
  spec.seed = 9;
  const auto s = mlcsc::synthetic::dense_sample(spec, 0.05);
  auto p = two_layers<double>(24, 48, 0.1, 5);
  const auto start = mlcsc::learn_multilayer(s.noisy, p);
  p.refine_epochs = 6;
  p.refine_coding_iterations = 60;
  std::vector<double> seen;
  p.refine_callback = [&](int epoch, double f) {
    REQUIRE(epoch == int(seen.size()) + 1);
    seen.push_back(f);
    return true;
  };
  const auto r = mlcsc::learn_multilayer(s.noisy, p);
  REQUIRE(seen == r.refine_objective);
  REQUIRE(r.refine_objective.size() == 6);

  // F of the layer-by-layer start: its codes Gamma_2 propagated through its dictionaries.
  const Eigen::MatrixXd& A = start.model.layer(0).matrix();
  const Eigen::MatrixXd& B = start.model.layer(1).matrix();
  const Eigen::MatrixXd G1 = B * start.codes[1];
  const double f0 = 0.5 * (s.noisy - A * G1).squaredNorm() + 0.1 * G1.cwiseAbs().sum() +
                    0.1 * start.codes[1].cwiseAbs().sum();
  REQUIRE(r.refine_objective[0] <= f0);
  for (size_t e = 1; e < r.refine_objective.size(); ++e)
    REQUIRE(r.refine_objective[e] <= r.refine_objective[e - 1]);
  REQUIRE(r.refine_objective.back() < 0.99 * f0);

  // The codes are one ML-BP chain of the returned dictionaries, and the report sums to F.
  const Eigen::MatrixXd& D1 = r.model.layer(0).matrix();
  const Eigen::MatrixXd& D2 = r.model.layer(1).matrix();
  REQUIRE((r.codes[0] - D2 * r.codes[1]).norm() <= 1e-12 * r.codes[0].norm());
  REQUIRE(r.layers[1].fit <= 1e-20 * r.layers[1].penalty);
  const double F = r.layers[0].objective() + r.layers[1].objective();
  REQUIRE(F == Approx(r.refine_objective.back()).epsilon(1e-10));
  REQUIRE(r.layers[0].fit == Approx(0.5 * (s.noisy - D1 * r.codes[0]).squaredNorm()));
  // Every atom in the unit ball (the refinement's constraint).
  REQUIRE(D1.colwise().norm().maxCoeff() <= 1 + 1e-12);
  REQUIRE(D2.colwise().norm().maxCoeff() <= 1 + 1e-12);

  // A callback returning false stops after that epoch.
  p.refine_callback = [](int epoch, double) { return epoch < 2; };
  REQUIRE(mlcsc::learn_multilayer(s.noisy, p).refine_objective.size() == 2);
}

TEST_CASE("learn_multilayer: the refinement's dictionary gradient matches central differences",
          "[learn]") {
  // Three layers of fresh odd sizes and a dense deepest code, so no Gamma_i has an entry at 0
  // (where the l1 terms have a kink) and F is differentiable: <grad_i, V> equals
  // (F(D_i + hV) - F(D_i - hV)) / 2h up to O(h^2) and rounding; h = 1e-6 gives ~1e-8 relative.
  const Index n = 7 + Index(mlcsc_test::uniform_int(0, 5)), m1 = 9, m2 = 11, m3 = 5, B = 13;
  const Eigen::MatrixXd Y = mlcsc_test::randn<double>(n, B);
  std::vector<Eigen::MatrixXd> D{mlcsc_test::randn<double>(n, m1),
                                 mlcsc_test::randn<double>(m1, m2),
                                 mlcsc_test::randn<double>(m2, m3)};
  const Eigen::MatrixXd G = mlcsc_test::randn<double>(m3, B);
  const std::vector<double> lambda{0.3, 0.2, 0.1};
  const std::vector<bool> nonneg(3, false);
  auto F = [&](const std::vector<Eigen::MatrixXd>& Ds) {
    mlcsc::internal::MultiLayerRefiner<double> f(Y, Ds, lambda, nonneg);
    f.propagate(G);
    return f.objective();
  };
  mlcsc::internal::MultiLayerRefiner<double> ref(Y, D, lambda, nonneg);
  ref.propagate(G);
  REQUIRE(ref.objective() == Approx(F(D)));
  for (size_t i = 0; i < 3; ++i) {
    Eigen::MatrixXd g;
    ref.gradient(i, g);
    REQUIRE(g.rows() == D[i].rows());
    REQUIRE(g.cols() == D[i].cols());
    const Eigen::MatrixXd V = mlcsc_test::randn<double>(D[i].rows(), D[i].cols());
    const double h = 1e-6;
    auto plus = D, minus = D;
    plus[i] += h * V;
    minus[i] -= h * V;
    const double fd = (F(plus) - F(minus)) / (2 * h);
    const double an = (g.array() * V.array()).sum();
    REQUIRE(std::abs(fd - an) <= 1e-6 * std::max(1.0, std::abs(an)));
  }
}

TEST_CASE("learn_multilayer: the same seeds give the same model", "[learn]") {
  mlcsc::synthetic::DenseSpec<float> spec;
  spec.sizes = {12, 16, 20};
  spec.atom_nnz = {0, 2};
  spec.batch = 300;
  const auto s = mlcsc::synthetic::dense_sample(spec, 0.05f);
  auto p = two_layers<float>(16, 20, 0.1f, 2);
  p.refine_epochs = 2;
  p.refine_coding_iterations = 20;
  const auto a = mlcsc::learn_multilayer(s.noisy, p);
  const auto b = mlcsc::learn_multilayer(s.noisy, p);
  for (Index l = 0; l < 2; ++l) REQUIRE(a.model.layer(l).matrix() == b.model.layer(l).matrix());
  REQUIRE(a.refine_objective == b.refine_objective);
  p.layers[0].seed = 5;
  const auto c = mlcsc::learn_multilayer(s.noisy, p);
  REQUIRE(c.model.layer(0).matrix() != a.model.layer(0).matrix());
}

TEST_CASE("learn_multilayer: non-negative layers stay non-negative", "[learn]") {
  mlcsc::synthetic::DenseSpec<double> spec;
  spec.sizes = {12, 16, 20};
  spec.atom_nnz = {0, 2};
  spec.nonnegative = true;
  spec.batch = 300;
  const auto s = mlcsc::synthetic::dense_sample(spec, 0.0);
  auto p = two_layers<double>(16, 20, 0.1, 2);
  for (auto& l : p.layers) l.nonnegative = true;
  p.refine_epochs = 2;
  p.refine_coding_iterations = 20;
  const auto r = mlcsc::learn_multilayer(s.noisy, p);
  for (Index l = 0; l < 2; ++l) {
    REQUIRE(r.model.layer(l).matrix().minCoeff() >= 0.0);
    REQUIRE(r.model.shrinkage(l) == mlcsc::Shrinkage::NonnegSoft);
  }
}

TEST_CASE("learn_multilayer: a convolutional model is learned layer by layer", "[learn]") {
  // Two colour-like images (C = 2) of fresh odd sizes; 4 filters of 5x5, then 6 of 3x3 over the
  // first layer's 4 code maps.
  const Index H = 15 + 2 * Index(mlcsc_test::uniform_int(0, 3)), W = 17;
  const auto images = mlcsc_test::random_maps<float>(2, 2, H, W);
  mlcsc::ConvMultiLayerLearnParams<float> p;
  p.layers.resize(2);
  p.layers[0].num_filters = 4;
  p.layers[0].kernel_height = p.layers[0].kernel_width = 5;
  p.layers[0].lambda = 0.3f;
  p.layers[0].iterations = 12;
  p.layers[1].num_filters = 6;
  p.layers[1].kernel_height = p.layers[1].kernel_width = 3;
  p.layers[1].lambda = 0.1f;
  p.layers[1].iterations = 8;
  p.layers[1].seed = 3;
  p.coding_iterations = 100;
  const auto r = mlcsc::learn_multilayer(images, p);
  REQUIRE(r.model.depth() == 2);
  REQUIRE(r.model.layer(1).channels() == 4);

  const auto first = mlcsc::learn_conv_dictionary(images, p.layers[0]);
  REQUIRE(first.dictionary.filters() == r.model.layer(0).filters());
  REQUIRE(first.objective == r.layer_objective[0]);
  std::vector<mlcsc::LassoParams<float>> lp(2);
  for (size_t l = 0; l < 2; ++l) {
    lp[l].lambda = p.layers[l].lambda;
    lp[l].method = mlcsc::Method::ADMM;
    lp[l].max_iterations = p.coding_iterations;
    lp[l].tolerance = p.coding_tolerance;
  }
  const auto layered = r.model.layered_lasso(images, lp);
  for (size_t l = 0; l < 2; ++l) REQUIRE(layered[l].code.data() == r.codes[l].data());
  const auto second = mlcsc::learn_conv_dictionary(r.codes[0], p.layers[1]);
  REQUIRE(second.dictionary.filters() == r.model.layer(1).filters());
  REQUIRE(second.objective == r.layer_objective[1]);

  // The report: the Lasso objective of each layer's code by a naive loop-free recomputation, the
  // nonzeros, and the stripe sparsity as the largest of each image's.
  for (size_t l = 0; l < 2; ++l) {
    const auto& D = r.model.layer(Index(l));
    const mlcsc::FeatureMaps<float>& in = l == 0 ? images : r.codes[0];
    const auto& G = r.codes[l];
    const double fit =
        0.5 * (in.data() - D.synthesize(G).data()).template cast<double>().squaredNorm();
    const double pen =
        double(p.layers[l].lambda) * G.data().template cast<double>().cwiseAbs().sum();
    REQUIRE(double(r.layers[l].fit) == Approx(fit).epsilon(1e-4));  // float sums
    REQUIRE(double(r.layers[l].penalty) == Approx(pen).epsilon(1e-4));
    REQUIRE(r.layers[l].mean_nonzeros == Approx(double((G.data().array() != 0.0f).count()) / 2.0));
    Index most = 0;
    for (Index n = 0; n < 2; ++n)
      most = std::max(most, mlcsc::stripe_sparsity(mlcsc::FeatureMaps<float>(G.image(n)),
                                                   D.kernel_height(), D.kernel_width()));
    REQUIRE(r.layers[l].stripe_sparsity == most);
    REQUIRE(most > 0);
  }

  // Bad input names the field.
  auto q = p;
  q.layers[1].kernel_height = H + 1;
  REQUIRE(contains(invalid_argument_message([&] { (void)mlcsc::learn_multilayer(images, q); }),
                   "kernel_height"));
  q = p;
  q.coding_iterations = 0;
  REQUIRE(contains(invalid_argument_message([&] { (void)mlcsc::learn_multilayer(images, q); }),
                   "'coding_iterations'"));
  REQUIRE(contains(invalid_argument_message(
                       [&] { (void)mlcsc::learn_multilayer(mlcsc::FeatureMaps<float>(), p); }),
                   "'images'"));
}

TEST_CASE("learn_multilayer: bad input names the argument", "[learn]") {
  const Eigen::MatrixXd Y = mlcsc_test::randn<double>(6, 40);
  auto message = [&](const mlcsc::MultiLayerLearnParams<double>& p, const Eigen::MatrixXd& y) {
    return invalid_argument_message([&] { (void)mlcsc::learn_multilayer(y, p); });
  };
  auto p = two_layers<double>(8, 10, 0.1, 1);
  REQUIRE(contains(message(mlcsc::MultiLayerLearnParams<double>{}, Y), "'layers'"));
  auto q = p;
  q.layers[1].num_atoms = 0;
  REQUIRE(contains(message(q, Y), "num_atoms"));
  q = p;
  q.layers[0].lambda = -1;
  REQUIRE(contains(message(q, Y), "lambda"));
  q = p;
  q.refine_epochs = -1;
  REQUIRE(contains(message(q, Y), "'refine_epochs'"));
  q = p;
  q.refine_coding_iterations = 0;
  REQUIRE(contains(message(q, Y), "'refine_coding_iterations'"));
  Eigen::MatrixXd bad = Y;
  bad(2, 3) = std::nan("");
  REQUIRE(contains(message(p, bad), "'Y'"));
  REQUIRE(contains(message(p, Eigen::MatrixXd(0, 4)), "'Y'"));
}
