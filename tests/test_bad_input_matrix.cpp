// The bad-input matrix: every public entry point against each kind of bad argument. Each case must
// throw std::invalid_argument whose message names the argument (and, for shapes, gives them);
// none may crash or return. The number of cases is printed (it is reported in the issue notes).
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

struct Case {
  std::string entry;     // the entry point, e.g. "lasso"
  std::string problem;   // what is wrong
  std::string mentions;  // a piece of text the message must contain (argument name or shape)
  std::function<void()> call;
};

template <class Scalar>
std::vector<Case> cases() {
  using M = mlcsc::Matrix<Scalar>;
  using V = mlcsc::Vector<Scalar>;
  using FM = mlcsc::FeatureMaps<Scalar>;
  using CD = mlcsc::ConvDictionary<Scalar>;
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  const mlcsc::Index n = 7, m = 11, B = 3;

  auto D = std::make_shared<mlcsc::Dictionary<Scalar>>(mlcsc_test::random_dictionary<Scalar>(n, m));
  auto Y = std::make_shared<M>(mlcsc_test::randn<Scalar>(n, B));
  auto bad_y = [=](Scalar v) {
    M y = *Y;
    y(1, 2) = v;
    return y;
  };
  auto lp = [](auto edit) {
    mlcsc::LassoParams<Scalar> p;
    edit(p);
    return p;
  };

  std::vector<Case> c;
  auto add = [&](std::string e, std::string p, std::string mention, std::function<void()> f) {
    c.push_back({std::move(e), std::move(p), std::move(mention), std::move(f)});
  };

  // --- shrinkage
  add("shrink", "negative soft threshold", "threshold",
      [=] { (void)mlcsc::shrink(*Y, Scalar(-1), mlcsc::Shrinkage::Soft); });
  add("shrink", "negative hard threshold", "threshold",
      [=] { (void)mlcsc::shrink(*Y, Scalar(-1), mlcsc::Shrinkage::Hard); });
  add("shrink", "NaN threshold", "threshold",
      [=] { (void)mlcsc::shrink(*Y, nan, mlcsc::Shrinkage::NonnegSoft); });
  add("shrink", "NaN in x", "'x'",
      [=] { (void)mlcsc::shrink(bad_y(nan), Scalar(1), mlcsc::Shrinkage::Soft); });
  add("shrink", "Inf in x", "'x'",
      [=] { (void)mlcsc::shrink(bad_y(inf), Scalar(1), mlcsc::Shrinkage::Soft); });
  add("shrink", "per-row thresholds of wrong length", "thresholds",
      [=] { (void)mlcsc::shrink(*Y, V::Ones(n + 1), mlcsc::Shrinkage::Soft); });

  // --- Dictionary
  add("Dictionary", "zero rows", "atoms", [] { mlcsc::Dictionary<Scalar> d(M(0, 4)); });
  add("Dictionary", "zero columns", "atoms", [] { mlcsc::Dictionary<Scalar> d(M(4, 0)); });
  add("Dictionary", "NaN atom", "atoms", [=] {
    M a = M::Ones(3, 4);
    a(2, 1) = nan;
    mlcsc::Dictionary<Scalar> d(a);
  });
  add("Dictionary", "-Inf atom", "atoms", [=] {
    M a = M::Ones(3, 4);
    a(0, 3) = -inf;
    mlcsc::Dictionary<Scalar> d(a);
  });
  add("Dictionary::normalize", "zero atom", "atom 2", [] {
    M a = M::Ones(3, 4);
    a.col(2).setZero();
    mlcsc::Dictionary<Scalar> d(a);
    d.normalize();
  });
  add("Dictionary::analyze", "wrong signal rows", "x",
      [=] { (void)D->analyze(M::Ones(n + 1, 2)); });
  add("Dictionary::analyze", "NaN signal", "x", [=] { (void)D->analyze(bad_y(nan)); });
  add("Dictionary::analyze", "wrong output shape", "gamma", [=] {
    M g(m, B + 1);
    D->analyze(*Y, g);
  });
  add("Dictionary::synthesize", "wrong code rows", "gamma",
      [=] { (void)D->synthesize(M::Ones(m - 1, 2)); });
  add("Dictionary::synthesize", "wrong output shape", "'x'", [=] {
    M x(n + 2, B);
    D->synthesize(M::Ones(m, B), x);
  });

  // --- thresholding
  add("thresholding", "wrong signal rows", "'y'", [=] {
    (void)mlcsc::thresholding(*D, M::Ones(n - 1, 2), Scalar(0.1), mlcsc::Shrinkage::Soft);
  });
  add("thresholding", "zero signals", "'y'",
      [=] { (void)mlcsc::thresholding(*D, M(n, 0), Scalar(0.1), mlcsc::Shrinkage::Soft); });
  add("thresholding", "Inf in y", "'y'",
      [=] { (void)mlcsc::thresholding(*D, bad_y(inf), Scalar(0.1), mlcsc::Shrinkage::Soft); });
  add("thresholding", "negative soft threshold", "threshold",
      [=] { (void)mlcsc::thresholding(*D, *Y, Scalar(-0.1), mlcsc::Shrinkage::Soft); });
  add("thresholding", "NaN threshold", "threshold",
      [=] { (void)mlcsc::thresholding(*D, *Y, nan, mlcsc::Shrinkage::NonnegSoft); });
  add("thresholding", "per-atom thresholds of wrong length", "threshold",
      [=] { (void)mlcsc::thresholding(*D, *Y, V::Ones(m - 1), mlcsc::Shrinkage::Soft); });

  // --- lasso, every method
  for (auto method :
       {mlcsc::Method::ISTA, mlcsc::Method::FISTA, mlcsc::Method::CoordinateDescent}) {
    const std::string e = std::string("lasso/") + (method == mlcsc::Method::ISTA    ? "ISTA"
                                                   : method == mlcsc::Method::FISTA ? "FISTA"
                                                                                    : "CD");
    auto with = [=](auto edit) {
      return lp([=](auto& p) {
        p.method = method;
        edit(p);
      });
    };
    const auto ok = with([](auto&) {});
    add(e, "wrong signal rows", "'y'", [=] { (void)mlcsc::lasso(*D, M::Ones(n + 1, B), ok); });
    add(e, "zero signals", "'y'", [=] { (void)mlcsc::lasso(*D, M(n, 0), ok); });
    add(e, "NaN in y", "'y'", [=] { (void)mlcsc::lasso(*D, bad_y(nan), ok); });
    add(e, "+Inf in y", "'y'", [=] { (void)mlcsc::lasso(*D, bad_y(inf), ok); });
    add(e, "negative lambda", "lambda",
        [=] { (void)mlcsc::lasso(*D, *Y, with([](auto& p) { p.lambda = Scalar(-0.5); })); });
    add(e, "NaN lambda", "lambda",
        [=] { (void)mlcsc::lasso(*D, *Y, with([=](auto& p) { p.lambda = nan; })); });
    add(e, "Inf lambda", "lambda",
        [=] { (void)mlcsc::lasso(*D, *Y, with([=](auto& p) { p.lambda = inf; })); });
    add(e, "max_iterations = 0", "max_iterations",
        [=] { (void)mlcsc::lasso(*D, *Y, with([](auto& p) { p.max_iterations = 0; })); });
    add(e, "max_iterations < 0", "max_iterations",
        [=] { (void)mlcsc::lasso(*D, *Y, with([](auto& p) { p.max_iterations = -3; })); });
    add(e, "NaN tolerance", "tolerance",
        [=] { (void)mlcsc::lasso(*D, *Y, with([=](auto& p) { p.tolerance = nan; })); });
    add(e, "per-atom lambdas of wrong length", "lambdas",
        [=] { (void)mlcsc::lasso(*D, *Y, with([=](auto& p) { p.lambdas = V::Ones(m + 1); })); });
    add(e, "negative per-atom lambda", "lambdas", [=] {
      (void)mlcsc::lasso(*D, *Y, with([=](auto& p) {
        p.lambdas = V::Ones(m);
        p.lambdas(3) = Scalar(-1);
      }));
    });
    add(e, "warm start of wrong shape", "init",
        [=] { (void)mlcsc::lasso(*D, *Y, ok, M(M::Zero(m, B + 1))); });
    add(e, "NaN warm start", "init", [=] {
      M g = M::Zero(m, B);
      g(0, 0) = nan;
      (void)mlcsc::lasso(*D, *Y, ok, g);
    });
  }

  // --- omp and basis pursuit
  add("omp", "max_atoms = 0", "max_atoms", [=] {
    mlcsc::OmpParams<Scalar> p;
    p.max_atoms = 0;
    (void)mlcsc::omp(*D, *Y, p);
  });
  add("omp", "max_atoms > m", "max_atoms", [=] {
    mlcsc::OmpParams<Scalar> p;
    p.max_atoms = int(m) + 1;
    (void)mlcsc::omp(*D, *Y, p);
  });
  add("omp", "negative tolerance", "tolerance", [=] {
    mlcsc::OmpParams<Scalar> p;
    p.tolerance = Scalar(-1);
    (void)mlcsc::omp(*D, *Y, p);
  });
  add("omp", "wrong signal rows", "'y'",
      [=] { (void)mlcsc::omp(*D, M::Ones(n + 1, 1), mlcsc::OmpParams<Scalar>{}); });
  add("omp", "NaN in y", "'y'",
      [=] { (void)mlcsc::omp(*D, bad_y(nan), mlcsc::OmpParams<Scalar>{}); });
  add("basis_pursuit", "wrong signal rows", "'x'", [=] {
    (void)mlcsc::basis_pursuit(*D, M(M::Ones(n + 1, 1)), mlcsc::BasisPursuitParams<Scalar>{});
  });
  add("basis_pursuit", "Inf in x", "'x'",
      [=] { (void)mlcsc::basis_pursuit(*D, bad_y(inf), mlcsc::BasisPursuitParams<Scalar>{}); });
  add("basis_pursuit", "max_iterations = 0", "max_iterations", [=] {
    mlcsc::BasisPursuitParams<Scalar> p;
    p.max_iterations = 0;
    (void)mlcsc::basis_pursuit(*D, *Y, p);
  });
  add("basis_pursuit", "rank-deficient D", "full row rank", [=] {
    M a = mlcsc_test::randn<Scalar>(n, m);
    a.row(n - 1) = a.row(0);
    mlcsc::Dictionary<Scalar> d(a);
    (void)mlcsc::basis_pursuit(d, *Y, mlcsc::BasisPursuitParams<Scalar>{});
  });

  // --- theory
  add("mutual_coherence", "one atom", "2 atoms",
      [] { (void)mlcsc::mutual_coherence(mlcsc::Dictionary<Scalar>(M::Ones(3, 1))); });
  add("mutual_coherence", "zero atom", "zero norm", [] {
    M a = M::Ones(3, 3);
    a.col(1).setZero();
    (void)mlcsc::mutual_coherence(mlcsc::Dictionary<Scalar>(a));
  });
  add("welch_bound", "zero atoms", "num_atoms", [] { (void)mlcsc::welch_bound(0, 4); });
  add("conv_welch_bound", "zero filter size", "filter_size",
      [] { (void)mlcsc::conv_welch_bound(3, 0); });
  add("l0_uniqueness_bound", "mu > 1", "mu", [] { (void)mlcsc::l0_uniqueness_bound(1.5); });
  add("l0_uniqueness_bound", "NaN mu", "mu",
      [] { (void)mlcsc::l0_uniqueness_bound(std::nan("")); });

  // --- convolutional
  const mlcsc::Index K = 3, C = 2, kh = 3, kw = 4, H = 9, W = 10;
  auto make_conv = [=](mlcsc::Boundary b) {
    auto d = std::make_shared<CD>(K, C, kh, kw, b);
    for (mlcsc::Index k = 0; k < K; ++k)
      for (mlcsc::Index ch = 0; ch < C; ++ch) d->filter(k, ch) = mlcsc_test::randn<Scalar>(kh, kw);
    d->normalize();
    return d;
  };
  auto maps = [](mlcsc::Index c, mlcsc::Index h, mlcsc::Index w) {
    FM x(c, h, w);
    x.data() = mlcsc_test::randn<Scalar>(c, h * w);
    return x;
  };
  add("ConvDictionary", "negative filters", "num_filters", [] { CD d(-1, 1, 3, 3); });
  add("ConvDictionary", "zero kernel height", "kernel", [] { CD d(2, 1, 0, 3); });
  add("ConvDictionary::normalize", "zero filter", "filter", [] {
    CD d(2, 1, 3, 3);
    d.normalize();
  });
  add("FeatureMaps", "negative height", "height", [] { FM x(1, -2, 3); });
  for (auto b : {mlcsc::Boundary::Circular, mlcsc::Boundary::Zero}) {
    const std::string e = b == mlcsc::Boundary::Circular ? "conv/Circular" : "conv/Zero";
    auto D2 = make_conv(b);
    add(e + " analyze", "channel mismatch", "channels",
        [=] { (void)D2->analyze(maps(C + 1, H, W)); });
    add(e + " analyze", "empty maps", "x", [=] { (void)D2->analyze(FM(C, 0, W)); });
    add(e + " analyze", "NaN in x", "x", [=] {
      FM x = maps(C, H, W);
      x.channel(1)(2, 3) = nan;
      (void)D2->analyze(x);
    });
    add(e + " analyze", "wrong output shape", "gamma", [=] {
      FM g(K, H, W + 1);
      D2->analyze(maps(C, H, W), g);
    });
    add(e + " synthesize", "code channel mismatch", "gamma",
        [=] { (void)D2->synthesize(maps(K - 1, H, W)); });
    add(e + " synthesize", "wrong output shape", "x", [=] {
      FM x(C + 1, H, W);
      D2->synthesize(maps(K, H, W), x);
    });
    add(e + " lasso", "channel mismatch", "y",
        [=] { (void)mlcsc::lasso(*D2, maps(C + 1, H, W), mlcsc::LassoParams<Scalar>{}); });
    add(e + " lasso", "Inf in y", "y", [=] {
      FM x = maps(C, H, W);
      x.channel(0)(0, 0) = -inf;
      (void)mlcsc::lasso(*D2, x, mlcsc::LassoParams<Scalar>{});
    });
    add(e + " lasso", "negative lambda", "lambda", [=] {
      mlcsc::LassoParams<Scalar> p;
      p.lambda = Scalar(-1);
      (void)mlcsc::lasso(*D2, maps(C, H, W), p);
    });
    add(e + " lasso", "per-filter lambdas of wrong length", "lambdas", [=] {
      mlcsc::LassoParams<Scalar> p;
      p.lambdas = V::Ones(K + 2);
      (void)mlcsc::lasso(*D2, maps(C, H, W), p);
    });
    add(e + " lasso", "CoordinateDescent", "CoordinateDescent", [=] {
      mlcsc::LassoParams<Scalar> p;
      p.method = mlcsc::Method::CoordinateDescent;
      (void)mlcsc::lasso(*D2, maps(C, H, W), p);
    });
    add(e + " thresholding", "negative soft threshold", "threshold",
        [=] { (void)mlcsc::thresholding(*D2, maps(C, H, W), Scalar(-1), mlcsc::Shrinkage::Soft); });
    add(e + " stripe_sparsity", "zero kernel", "k",
        [=] { (void)mlcsc::stripe_sparsity(maps(K, H, W), 0, 3, b); });
    add(e + " stripe_norm", "empty maps", "g",
        [=] { (void)mlcsc::stripe_norm(FM(K, 0, 0), 3, 3, b); });
  }
  auto Dc = make_conv(mlcsc::Boundary::Circular);
  add("conv/Circular analyze", "filter larger than the signal", "at least as large",
      [=] { (void)Dc->analyze(maps(C, kh - 1, W)); });
  add("conv lipschitz", "zero height", "signal size", [=] { (void)Dc->lipschitz(0, W); });

  // --- multi-layer
  add("MultiLayer", "empty model", "layer", [] {
    mlcsc::MultiLayer<mlcsc::Dictionary<Scalar>> net;
    (void)net.layered_thresholding(M(M::Ones(4, 1)));
  });
  add("MultiLayer::add_layer", "mismatched dense layer", "add_layer", [=] {
    mlcsc::MultiLayer<mlcsc::Dictionary<Scalar>> net;
    net.add_layer(*D, Scalar(0.1));
    net.add_layer(mlcsc_test::random_dictionary<Scalar>(m + 1, 5), Scalar(0.1));
  });
  add("MultiLayer::add_layer", "mismatched conv channels", "channels", [=] {
    mlcsc::MultiLayer<CD> net;
    net.add_layer(*Dc, Scalar(0.1));
    net.add_layer(CD(4, K + 1, 3, 3), Scalar(0.1));
  });
  add("MultiLayer::add_layer", "negative soft threshold", "threshold", [=] {
    mlcsc::MultiLayer<mlcsc::Dictionary<Scalar>> net;
    net.add_layer(*D, Scalar(-0.1), mlcsc::Shrinkage::Soft);
  });
  add("MultiLayer::layered_lasso", "parameter list of wrong length", "per_layer", [=] {
    mlcsc::MultiLayer<mlcsc::Dictionary<Scalar>> net;
    net.add_layer(*D, Scalar(0.1));
    (void)net.layered_lasso(*Y, std::vector<mlcsc::LassoParams<Scalar>>(2));
  });
  add("MultiLayer::layered_ista", "parameter list of wrong length", "per_layer", [=] {
    mlcsc::MultiLayer<mlcsc::Dictionary<Scalar>> net;
    net.add_layer(*D, Scalar(0.1));
    (void)net.layered_ista(*Y, std::vector<mlcsc::LassoParams<Scalar>>());
  });
  add("MultiLayer::layered_thresholding", "wrong signal rows", "y", [=] {
    mlcsc::MultiLayer<mlcsc::Dictionary<Scalar>> net;
    net.add_layer(*D, Scalar(0.1));
    (void)net.layered_thresholding(M(M::Ones(n + 3, 2)));
  });
  add("MultiLayer::layer", "index out of range", "layer", [=] {
    mlcsc::MultiLayer<mlcsc::Dictionary<Scalar>> net;
    net.add_layer(*D, Scalar(0.1));
    (void)net.layer(1);
  });
  return c;
}

template <class Scalar>
void run_matrix() {
  const auto all = cases<Scalar>();
  int passed = 0;
  for (const auto& c : all) {
    INFO(c.entry << ": " << c.problem);
    bool threw = false;
    try {
      c.call();
    } catch (const std::invalid_argument& e) {
      threw = true;
      INFO("message: " << e.what());
      CHECK(std::string(e.what()).find(c.mentions) != std::string::npos);
    } catch (const std::exception& e) {
      FAIL_CHECK("threw another exception: " << e.what());
      continue;
    }
    CHECK(threw);
    passed += threw;
  }
  WARN("bad-input matrix (" << (sizeof(Scalar) == 4 ? "float" : "double") << "): " << passed
                            << " of " << all.size() << " cases throw std::invalid_argument");
}

}  // namespace

TEST_CASE("every public entry point rejects bad input (float)", "[bad-input]") {
  run_matrix<float>();
}
TEST_CASE("every public entry point rejects bad input (double)", "[bad-input]") {
  run_matrix<double>();
}
