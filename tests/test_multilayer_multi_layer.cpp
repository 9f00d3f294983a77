// MultiLayer: layered thresholding against explicit formulas and a plain-loop CNN forward pass,
// layered Lasso KKT conditions, layered ISTA against a hand loop, ML-ISTA / ML-FISTA objectives,
// and the input checks.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "test_support.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

using mlcsc_test::random_conv;
using mlcsc_test::random_maps;

using mlcsc::Index;
using mlcsc::Shrinkage;
template <class S>
using Mat = mlcsc::Matrix<S>;

namespace {

template <class S>
S shrink1(S x, S b, Shrinkage kind) {
  switch (kind) {
    case Shrinkage::Soft:
      return x > b ? x - b : (x < -b ? x + b : S(0));
    case Shrinkage::Hard:
      return std::abs(x) > b ? x : S(0);
    case Shrinkage::NonnegSoft:
      return std::max(x - b, S(0));
  }
  return 0;
}

// conv2d(x, w, padding = k // 2) - bias, then ReLU: a plain loop in double.
template <class S>
mlcsc::FeatureMaps<double> cnn_layer(const mlcsc::FeatureMaps<double>& x,
                                     const mlcsc::ConvDictionary<S>& D,
                                     const mlcsc::Vector<S>& bias_neg) {
  const Index K = D.num_filters(), C = D.channels(), kh = D.kernel_height(), kw = D.kernel_width(),
              H = x.height(), W = x.width();
  mlcsc::FeatureMaps<double> out(K, H, W);
  for (Index k = 0; k < K; ++k)
    for (Index i = 0; i < H; ++i)
      for (Index j = 0; j < W; ++j) {
        double acc = 0;
        for (Index c = 0; c < C; ++c)
          for (Index u = 0; u < kh; ++u)
            for (Index v = 0; v < kw; ++v) {
              const Index ii = i + u - (kh - 1) / 2, jj = j + v - (kw - 1) / 2;
              if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
              acc += double(D.filter(k, c)(u, v)) * x.channel(c)(ii, jj);
            }
        out.channel(k)(i, j) = std::max(acc - double(bias_neg(k)), 0.0);
      }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("dense layered_thresholding is S_b(D_l^T G_{l-1}) layer by layer",
                   "[multilayer]", float, double) {
  using S = TestType;
  const Index n = mlcsc_test::uniform_int(5, 23), m1 = mlcsc_test::uniform_int(7, 31),
              m2 = mlcsc_test::uniform_int(3, 29), m3 = mlcsc_test::uniform_int(2, 17),
              B = mlcsc_test::uniform_int(1, 7);
  auto D1 = mlcsc_test::random_dictionary<S>(n, m1);
  auto D2 = mlcsc_test::random_dictionary<S>(m1, m2);
  auto D3 = mlcsc_test::random_dictionary<S>(m2, m3);
  const Mat<S> Y = mlcsc_test::randn<S>(n, B);
  for (Shrinkage kind : {Shrinkage::NonnegSoft, Shrinkage::Soft, Shrinkage::Hard}) {
    SECTION(mlcsc::to_string(kind)) {
      mlcsc::MultiLayer<mlcsc::Dictionary<S>> net;
      const mlcsc::Vector<S> b2 = mlcsc::Vector<S>::LinSpaced(m2, S(0.05), S(0.4));
      net.add_layer(D1, S(0.2), kind);
      net.add_layer(D2, b2, kind);
      net.add_layer(D3, S(0.1), kind);
      REQUIRE(net.depth() == 3);
      const auto G = net.layered_thresholding(Y);
      REQUIRE(G.size() == 3);
      // explicit formula, coefficient by coefficient
      Mat<S> prev = Y;
      const std::vector<const mlcsc::Dictionary<S>*> Ds{&D1, &D2, &D3};
      for (int l = 0; l < 3; ++l) {
        const Mat<S> z = Ds[l]->matrix().transpose() * prev;
        // The library's product may sum in another order than Eigen's (small products are
        // coefficient-based there): a dot product of length r is exact to r eps sum |d||g|.
        // Soft and NonnegSoft are 1-Lipschitz; Hard may go either way within that of b.
        const Mat<S> bound = Ds[l]->matrix().cwiseAbs().transpose() * prev.cwiseAbs();
        const S eps = std::numeric_limits<S>::epsilon() * S(prev.rows());
        REQUIRE(G[l].rows() == z.rows());
        REQUIRE(G[l].cols() == B);
        for (Index j = 0; j < B; ++j)
          for (Index i = 0; i < z.rows(); ++i) {
            const S b = l == 1 ? b2(i) : (l == 0 ? S(0.2) : S(0.1));
            const S tol = eps * bound(i, j);
            if (kind == Shrinkage::Hard && std::abs(std::abs(z(i, j)) - b) <= tol) continue;
            INFO("layer " << l << " (" << i << ", " << j << ")");
            REQUIRE(std::abs(G[l](i, j) - shrink1(z(i, j), b, kind)) <= tol);
          }
        prev = G[l];
      }
    }
  }
}

TEMPLATE_TEST_CASE(
    "conv layered_thresholding with NonnegSoft and Zero boundary is a CNN forward "
    "pass",
    "[multilayer][conv]", float, double) {
  using S = TestType;
  const Index C0 = mlcsc_test::uniform_int(1, 3), K1 = mlcsc_test::uniform_int(2, 6),
              K2 = mlcsc_test::uniform_int(2, 7), K3 = mlcsc_test::uniform_int(1, 5);
  const Index H = mlcsc_test::uniform_int(5, 19), W = mlcsc_test::uniform_int(4, 17);
  const Index k1 = 2 * mlcsc_test::uniform_int(0, 2) + 1,
              k2 = 2 * mlcsc_test::uniform_int(0, 2) + 1;
  const auto bd = mlcsc::Boundary::Zero;
  auto D1 = random_conv<S>(K1, C0, k1, k2, bd);
  auto D2 = random_conv<S>(K2, K1, 3, 3, bd);
  auto D3 = random_conv<S>(K3, K2, k2, 1, bd);
  // thresholds of both signs (a CNN bias is -b, of either sign)
  const mlcsc::Vector<S> b1 = mlcsc::Vector<S>::LinSpaced(K1, S(-0.3), S(0.5));
  const S b2 = S(0.25);
  const mlcsc::Vector<S> b3 = mlcsc::Vector<S>::LinSpaced(K3, S(0.1), S(-0.2));
  mlcsc::MultiLayer<mlcsc::ConvDictionary<S>> net;
  net.add_layer(D1, b1);
  net.add_layer(D2, b2);
  net.add_layer(D3, b3);
  const auto x = random_maps<S>(C0, H, W);
  const auto G = net.layered_thresholding(x);
  REQUIRE(G.size() == 3);

  mlcsc::FeatureMaps<double> ref(C0, H, W);
  ref.data() = x.data().template cast<double>();
  const mlcsc::Vector<S> b2v = mlcsc::Vector<S>::Constant(K2, b2);
  ref = cnn_layer(ref, D1, b1);
  const auto ref1 = ref;
  ref = cnn_layer(ref, D2, b2v);
  const auto ref2 = ref;
  ref = cnn_layer(ref, D3, b3);
  const std::vector<const mlcsc::FeatureMaps<double>*> refs{&ref1, &ref2, &ref};
  // rounding only: the reference sums in double; float accumulates ~1e-6 relative per layer
  const double tol = std::is_same<S, float>::value ? 2e-5 : 1e-12;
  for (int l = 0; l < 3; ++l) {
    REQUIRE(G[l].channels() == refs[l]->channels());
    REQUIRE(G[l].height() == H);
    REQUIRE(G[l].width() == W);
    const double scale = std::max(1.0, refs[l]->data().cwiseAbs().maxCoeff());
    const double err =
        (G[l].data().template cast<double>() - refs[l]->data()).cwiseAbs().maxCoeff();
    INFO("layer " << l << " max error " << err);
    REQUIRE(err <= tol * scale);
  }
}

TEMPLATE_TEST_CASE(
    "conv layered_thresholding on a batch ending in 1 x 1 codes, per-filter thresholds",
    "[multilayer][conv]", float, double) {
  // the last layer Valid with a kernel the size of its input (a dense layer): codes of one value
  // per filter and image, shrunk with one threshold per filter
  using S = TestType;
  const Index N = mlcsc_test::uniform_int(2, 5), C0 = mlcsc_test::uniform_int(1, 3),
              K1 = mlcsc_test::uniform_int(2, 6), K2 = mlcsc_test::uniform_int(3, 40);
  const Index H = mlcsc_test::uniform_int(3, 9), W = mlcsc_test::uniform_int(3, 9);
  auto D1 = random_conv<S>(K1, C0, 3, 3, mlcsc::Boundary::Zero);
  auto D2 = random_conv<S>(K2, K1, H, W, mlcsc::Boundary::Valid);
  const mlcsc::Vector<S> b1 = mlcsc::Vector<S>::LinSpaced(K1, S(-0.3), S(0.4));
  const mlcsc::Vector<S> b2 = mlcsc::Vector<S>::LinSpaced(K2, S(0.2), S(-0.25));
  mlcsc::MultiLayer<mlcsc::ConvDictionary<S>> net;
  net.add_layer(D1, b1);
  net.add_layer(D2, b2);
  mlcsc::FeatureMaps<S> x(N, C0, H, W);
  x.data() = mlcsc_test::randn<S>(N * C0, H * W);
  const auto G = net.layered_thresholding(x);
  REQUIRE(G[1].batch() == N);
  REQUIRE(G[1].channels() == K2);
  REQUIRE(G[1].height() == 1);
  REQUIRE(G[1].width() == 1);
  const double tol = std::is_same<S, float>::value ? 2e-5 : 1e-12;
  for (Index n = 0; n < N; ++n) {
    mlcsc::FeatureMaps<double> xn(C0, H, W);
    for (Index c = 0; c < C0; ++c) xn.channel(c) = x.channel(n, c).template cast<double>();
    const auto g1 = cnn_layer(xn, D1, b1);
    for (Index k = 0; k < K2; ++k) {
      double acc = 0;
      for (Index c = 0; c < K1; ++c)
        acc += (D2.filter(k, c).template cast<double>().array() * g1.channel(c).array()).sum();
      const double want = std::max(acc - double(b2(k)), 0.0);
      INFO("image " << n << " filter " << k);
      REQUIRE(std::abs(double(G[1].channel(n, k)(0, 0)) - want) <= tol * std::max(1.0, acc));
    }
  }
}

TEMPLATE_TEST_CASE("layered_thresholding into reused codes equals the allocating call",
                   "[multilayer][conv]", float, double) {
  using S = TestType;
  const Index C0 = mlcsc_test::uniform_int(1, 3), K1 = mlcsc_test::uniform_int(2, 9),
              K2 = mlcsc_test::uniform_int(1, 8);
  // a circular signal is at least as large as the filters (3 x 5, then 3 x 3)
  const Index H = mlcsc_test::uniform_int(3, 21), W = mlcsc_test::uniform_int(5, 37);
  mlcsc::MultiLayer<mlcsc::ConvDictionary<S>> net;
  net.add_layer(random_conv<S>(K1, C0, 3, 5, mlcsc::Boundary::Circular), S(0.1));
  net.add_layer(random_conv<S>(K2, K1, 3, 3, mlcsc::Boundary::Circular), S(-0.05));
  const auto x = random_maps<S>(C0, H, W);
  const auto G = net.layered_thresholding(x);
  std::vector<mlcsc::FeatureMaps<S>> out;
  net.layered_thresholding(x, out);  // empty: sized here
  REQUIRE(out.size() == 2);
  for (auto& o : out) o.data().setConstant(std::numeric_limits<S>::quiet_NaN());
  const S* kept = out[1].data().data();
  net.layered_thresholding(x, out);  // reused: overwritten in place, bitwise the same values
  REQUIRE(out[1].data().data() == kept);
  for (int l = 0; l < 2; ++l) REQUIRE(out[size_t(l)].data() == G[size_t(l)].data());

  // anything but empty or the exact shapes is refused, and nothing is resized
  std::vector<mlcsc::FeatureMaps<S>> one{G[0]};
  const std::string count =
      mlcsc_test::invalid_argument_message([&] { net.layered_thresholding(x, one); });
  CHECK(mlcsc_test::contains(count, "'out'"));
  CHECK(one.size() == 1);
  std::vector<mlcsc::FeatureMaps<S>> wrong{G[0], mlcsc::FeatureMaps<S>(K2, H, W + 1)};
  const std::string shape =
      mlcsc_test::invalid_argument_message([&] { net.layered_thresholding(x, wrong); });
  CHECK(mlcsc_test::contains(shape, "'out[1]'"));
  CHECK(mlcsc_test::contains(shape, mlcsc::internal::shape(K2, H, W)));
  CHECK(mlcsc_test::contains(shape, mlcsc::internal::shape(K2, H, W + 1)));
  CHECK(wrong[1].width() == W + 1);

  // dense: the code's columns must match the batch
  const Index n = mlcsc_test::uniform_int(4, 17), m = mlcsc_test::uniform_int(5, 23);
  mlcsc::MultiLayer<mlcsc::Dictionary<S>> dense;
  dense.add_layer(mlcsc_test::random_dictionary<S>(n, m), S(0.1));
  const Mat<S> Y = mlcsc_test::randn<S>(n, 3);
  std::vector<Mat<S>> codes{Mat<S>::Zero(m, 3)};
  dense.layered_thresholding(Y, codes);
  REQUIRE(codes[0] == dense.layered_thresholding(Y)[0]);
  std::vector<Mat<S>> bad{Mat<S>::Zero(m, 4)};
  CHECK(mlcsc_test::contains(
      mlcsc_test::invalid_argument_message([&] { dense.layered_thresholding(Y, bad); }),
      "'out[0]'"));
}

TEMPLATE_TEST_CASE("conv layered_thresholding on several threads: each image as if alone",
                   "[multilayer][conv][threads]", float, double) {
  // Batches that split evenly over the threads (and large ones that do not) run image-parallel,
  // each thread taking a share of the images through every layer; the rest layer by layer. Either
  // way each image's codes are those of the image alone on one thread: bitwise where a layer runs
  // the direct kernels (one order of summation per output value), within the rounding of a
  // matrix product where it runs lowered (the products group the images differently).
  using S = TestType;
  const Index C0 = mlcsc_test::uniform_int(1, 3), K1 = mlcsc_test::uniform_int(2, 9),
              K2 = mlcsc_test::uniform_int(2, 11), K3 = mlcsc_test::uniform_int(3, 40);
  const Index H = 2 * mlcsc_test::uniform_int(5, 9) + 1, W = 2 * mlcsc_test::uniform_int(5, 9);
  auto D1 = random_conv<S>(K1, C0, 5, 4, mlcsc::Boundary::Valid);
  D1.set_stride(2, 2);
  const Index H1 = (H - 5) / 2 + 1, W1 = (W - 4) / 2 + 1;
  const auto D2 = random_conv<S>(K2, K1, 3, 3, mlcsc::Boundary::Zero);
  const auto D3 = random_conv<S>(K3, K2, H1, W1, mlcsc::Boundary::Valid);  // a dense layer
  mlcsc::MultiLayer<mlcsc::ConvDictionary<S>> net;
  net.add_layer(D1);
  net.add_layer(D2);
  net.add_layer(D3);
  const std::vector<mlcsc::Vector<S>> thr{mlcsc::Vector<S>::LinSpaced(K1, S(0.02), S(0.3)),
                                          mlcsc::Vector<S>::Constant(1, S(0.1)),
                                          mlcsc::Vector<S>::LinSpaced(K3, S(0.2), S(0.01))};
  const mlcsc::ConvDictionary<S>* layer[3] = {&D1, &D2, &D3};
  const Index Hs[3] = {H, H1, H1}, Ws[3] = {W, W1, W1};
#ifdef _OPENMP
  const int before = omp_get_max_threads();
#endif
  for (int threads : {2, 3})
    for (Index N : {1, 2, 3, 5, 6, 7, 17, 25}) {
      CAPTURE(threads, N, C0, K1, K2, K3, H, W);
      mlcsc::FeatureMaps<S> x(N, C0, H, W);
      x.data() = mlcsc_test::randn<S>(N * C0, H * W);
      const Shrinkage kind = N % 2 ? Shrinkage::NonnegSoft : Shrinkage::Soft;
#ifdef _OPENMP
      omp_set_num_threads(threads);
#endif
      std::vector<mlcsc::FeatureMaps<S>> out;
      net.layered_thresholding(x, thr, out, kind);
#ifdef _OPENMP
      omp_set_num_threads(1);
#endif
      for (Index n = 0; n < N; ++n) {
        const auto alone = net.layered_thresholding(mlcsc::FeatureMaps<S>(x.image(n)), thr, kind);
        for (int l = 0; l < 3; ++l) {
          const auto got = out[size_t(l)].image(n).data();
          const auto& want = alone[size_t(l)].data();
          REQUIRE(got.rows() == want.rows());
          REQUIRE(got.cols() == want.cols());
          const mlcsc::ConvDictionary<S>& D = *layer[l];
          double tol = 0;
          if (mlcsc::internal::lowered_chosen<S>(mlcsc::internal::ConvKernel::Automatic, D.shape(),
                                                 D.num_filters(), Hs[l], Ws[l])) {
            // a sum of R products in another order: a few R eps of its largest value
            const double R = double(D.channels() * D.kernel_height() * D.kernel_width());
            tol = 4 * R * double(std::numeric_limits<S>::epsilon()) *
                  std::max(1.0, double(want.cwiseAbs().maxCoeff()));
          }
          const double err = double((got - want).cwiseAbs().maxCoeff());
          INFO("image " << n << " layer " << l << " error " << err << " tolerance " << tol);
          REQUIRE(err <= tol);
        }
      }
    }
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
}

TEMPLATE_TEST_CASE("layered_lasso: every layer satisfies its own Lasso KKT conditions",
                   "[multilayer]", float, double) {
  using S = TestType;
  const Index n = mlcsc_test::uniform_int(15, 31), m1 = mlcsc_test::uniform_int(20, 41),
              m2 = mlcsc_test::uniform_int(9, 35), B = mlcsc_test::uniform_int(1, 5);
  auto D1 = mlcsc_test::random_dictionary<S>(n, m1);
  auto D2 = mlcsc_test::random_dictionary<S>(m1, m2);
  mlcsc::MultiLayer<mlcsc::Dictionary<S>> net;
  net.add_layer(D1, S(0.1));
  net.add_layer(D2, S(0.1));
  const Mat<S> Y = mlcsc_test::randn<S>(n, B);
  std::vector<mlcsc::LassoParams<S>> p(2);
  p[0].lambda = S(0.3);
  p[1].lambda = S(0.05);
  const bool nonneg = GENERATE(false, true);
  for (auto& q : p) {
    q.method = mlcsc::Method::CoordinateDescent;
    q.tolerance = S(1e-7);
    q.max_iterations = 5000;
    q.nonnegative = nonneg;
  }
  const auto R = net.layered_lasso(Y, p);
  REQUIRE(R.size() == 2);
  Mat<S> prev = Y;
  const std::vector<const mlcsc::Dictionary<S>*> Ds{&D1, &D2};
  const double tol = std::is_same<S, float>::value ? 2e-3 : 1e-6;
  for (int l = 0; l < 2; ++l) {
    REQUIRE(R[l].converged);
    const Mat<S>& g = R[l].code;
    const Mat<S> c = Ds[l]->matrix().transpose() * (prev - Ds[l]->matrix() * g);
    const double lam = double(p[l].lambda);
    for (Index j = 0; j < g.cols(); ++j)
      for (Index i = 0; i < g.rows(); ++i) {
        if (g(i, j) != 0) {
          INFO("layer " << l << " active " << i);
          REQUIRE(std::abs(double(c(i, j)) - lam * (g(i, j) > 0 ? 1 : -1)) <= tol * (1 + lam));
          if (nonneg) REQUIRE(g(i, j) > 0);
        } else if (nonneg) {
          REQUIRE(double(c(i, j)) <= lam + tol * (1 + lam));
        } else {
          REQUIRE(std::abs(double(c(i, j))) <= lam + tol * (1 + lam));
        }
      }
    // the reported objective is this layer's Lasso objective
    const double obj =
        0.5 * double((prev - Ds[l]->matrix() * g).squaredNorm()) + lam * double(g.cwiseAbs().sum());
    REQUIRE(std::abs(obj - double(R[l].objective)) <= 1e-4 * (1 + obj));
    prev = g;
  }
}

TEST_CASE("layered_ista runs max_iterations ISTA steps per layer from zero", "[multilayer]") {
  using S = double;
  const Index n = 13, m1 = 21, m2 = 11, B = 3;
  auto D1 = mlcsc_test::random_dictionary<S>(n, m1);
  auto D2 = mlcsc_test::random_dictionary<S>(m1, m2);
  mlcsc::MultiLayer<mlcsc::Dictionary<S>> net;
  net.add_layer(D1, 0.0);
  net.add_layer(D2, 0.0);
  const Mat<S> Y = mlcsc_test::randn<S>(n, B);
  std::vector<mlcsc::LassoParams<S>> p(2);
  p[0].lambda = 0.2;
  p[0].max_iterations = 7;
  p[1].lambda = 0.05;
  p[1].max_iterations = 4;
  p[1].nonnegative = true;
  const auto G = net.layered_ista(Y, p);
  Mat<S> prev = Y;
  const std::vector<const mlcsc::Dictionary<S>*> Ds{&D1, &D2};
  for (int l = 0; l < 2; ++l) {
    const Mat<S>& A = Ds[l]->matrix();
    const double L = Ds[l]->lipschitz();
    Mat<S> g = Mat<S>::Zero(A.cols(), B);
    for (int t = 0; t < p[l].max_iterations; ++t) {
      const Mat<S> z = g - (A.transpose() * (A * g - prev)) / L;
      for (Index i = 0; i < z.size(); ++i)
        g(i) = shrink1(z(i), p[l].lambda / L,
                       p[l].nonnegative ? Shrinkage::NonnegSoft : Shrinkage::Soft);
    }
    REQUIRE((G[l] - g).norm() <= 1e-10 * (1 + g.norm()));
    prev = g;
  }
}

TEMPLATE_TEST_CASE("ml_ista settles near its start; ml_fista nearer its fixed point",
                   "[multilayer]", float, double) {
  using S = TestType;
  const Index n = mlcsc_test::uniform_int(20, 40), m1 = mlcsc_test::uniform_int(25, 50),
              m2 = mlcsc_test::uniform_int(15, 40), B = mlcsc_test::uniform_int(1, 4);
  auto D1 = mlcsc_test::random_dictionary<S>(n, m1);
  auto D2 = mlcsc_test::random_dictionary<S>(m1, m2);
  mlcsc::MultiLayer<mlcsc::Dictionary<S>> net;
  net.add_layer(D1, S(0));
  net.add_layer(D2, S(0));
  const Mat<S> Y = mlcsc_test::randn<S>(n, B);
  mlcsc::MLBPParams<S> p;
  p.layers.resize(2);
  p.layers[0].lambda = S(0.2);
  p.layers[1].lambda = S(0.1);
  p.max_iterations = 300;
  p.tolerance = S(0);
  std::vector<double> obj;
  p.callback = [&](int, S f) {
    obj.push_back(double(f));
    return true;
  };
  const auto R = net.ml_ista(Y, p);
  REQUIRE(R.size() == 2);
  // Tolerance 0 stops early only where every signal's iterate repeats exactly, which further
  // iterations would not change (float, seed 1796401723 of this file: all signals at a fixed
  // point after 295 iterations).
  REQUIRE(R[0].iterations <= 300);
  REQUIRE(obj.size() == size_t(R[0].iterations));
  if (R[0].iterations < 300) REQUIRE(R[0].converged);
  // ML-ISTA is not a descent method for the ML-BP objective (Sulam et al. prove convergence to
  // near-fixed points, not monotonicity): its prox of the nested l1 terms is inexact, the
  // objective rises a little when an intermediate support changes, and its fixed point may lie
  // above its first iterate. What it must do is settle near the better of its start (G = 0) and
  // its first step (the forward pass). Measured on 3,000 random problems (1,500 seeds, float and
  // double): the rises add up to at most 0.52% of the first value, the last value is within 0.66%
  // of the lowest, and the last was below the first wherever the first was below the start. Two
  // float draws found since end above both: seed 1796361320, whose solution is all but 0 (the
  // first step 15.4448 against 15.4423 at G = 0, the end 1.7% above the start), and seed
  // 1796401723 (the first step 1% below the start, the fixed point 1.0% above the first step).
  // 2% is allowed for each.
  double rises = 0;
  for (size_t k = 1; k < obj.size(); ++k) rises += std::max(0.0, obj[k] - obj[k - 1]);
  const double lowest = *std::min_element(obj.begin(), obj.end());
  INFO("first " << obj.front() << ", last " << obj.back() << ", lowest " << lowest
                << ", sum of rises " << rises);
  const double start = 0.5 * double(Y.template cast<double>().squaredNorm());  // at G = 0
  INFO("the objective at G = 0: " << start);
  REQUIRE(obj.back() <= 1.02 * std::min(obj.front(), start));
  REQUIRE(rises <= 0.02 * obj.front());
  REQUIRE(obj.back() <= lowest * 1.02);
  // the reported objective and codes are consistent with the propagated codes
  std::vector<mlcsc::LassoParams<S>> pl = p.layers;
  REQUIRE(std::abs(double(net.ml_objective(Y, R[1].code, pl)) - double(R[1].objective)) <=
          1e-4 * (1 + std::abs(double(R[1].objective))));
  REQUIRE((R[0].code - D2.matrix() * R[1].code).norm() <= 1e-4 * (1 + R[0].code.norm()));

  // the forward pass = one ML-ISTA iteration from zero; ML-FISTA ends at ML-ISTA's fixed point
  // (below), held to the same bound: within 2% of the better of the forward pass and G = 0
  mlcsc::MLBPParams<S> one = p;
  one.callback = nullptr;
  one.max_iterations = 1;
  const double forward = double(net.ml_ista(Y, one)[1].objective);
  mlcsc::MLBPParams<S> pf = p;
  pf.callback = nullptr;
  pf.max_iterations = 300;
  const auto F = net.ml_fista(Y, pf);
  REQUIRE(double(F[1].objective) <= 1.02 * std::min(forward, start));
  // ML-ISTA and ML-FISTA share their fixed point G* (epsilon-optimal, not the ML-BP minimizer:
  // ML-ISTA's objective can pass below F(G*) on the way). ML-FISTA with its gradient restart
  // (the default) is closer to G* after the same 300 iterations (measured on 300 random
  // problems: at most 0.13x ML-ISTA's distance). Textbook momentum oscillates in the end game,
  // where ML-ISTA converges linearly on a fixed support: usually closer still, but measured up to
  // 1.3x farther once in 300, so it is held to 2x.
  mlcsc::MLBPParams<S> ps = pf;
  ps.max_iterations = 200000;
  ps.tolerance = S(sizeof(S) == 4 ? 1e-7 : 1e-13);
  const Mat<S> star = net.ml_fista(Y, ps)[1].code;
  const double dist_ista = (R[1].code - star).norm();
  for (bool restart : {true, false}) {
    pf.adaptive_restart = restart;
    const double dist_fista = (net.ml_fista(Y, pf)[1].code - star).norm();
    INFO("restart " << restart << ": |G_fista - G*| = " << dist_fista
                    << ", |G_ista - G*| = " << dist_ista);
    REQUIRE(dist_fista <= (restart ? 0.5 : 2.0) * dist_ista + 1e-5);
  }
}

// An independent reference for the ML-BP problem (see MLBPParams): ADMM on
//   min_x 0.5||y - A x||^2 + sum_i lambda_i ||A_i x||_1,  A = D_1..D_L, A_i = D_{i+1}..D_L (A_L =
//   I),
// with the splits w_i = A_i x (Boyd et al. 2011, Sec. 6.4), run far past convergence in double.
static double mlbp_reference(const std::vector<Mat<double>>& D, const mlcsc::Vector<double>& y,
                             const std::vector<double>& lambda) {
  const size_t L = D.size();
  std::vector<Mat<double>> Ai(L);
  Ai[L - 1] = Mat<double>::Identity(D[L - 1].cols(), D[L - 1].cols());
  for (size_t i = L - 1; i >= 1; --i) Ai[i - 1] = D[i] * Ai[i];
  const Mat<double> A = D[0] * Ai[0];
  const double r = 1.0;
  Mat<double> H = A.transpose() * A;
  for (size_t i = 0; i < L; ++i) H += r * Ai[i].transpose() * Ai[i];
  const Eigen::LLT<Mat<double>> llt(H);
  mlcsc::Vector<double> x = mlcsc::Vector<double>::Zero(A.cols());
  std::vector<mlcsc::Vector<double>> w(L), u(L);
  for (size_t i = 0; i < L; ++i) w[i] = u[i] = mlcsc::Vector<double>::Zero(Ai[i].rows());
  auto soft = [](const mlcsc::Vector<double>& v, double t) {
    return mlcsc::Vector<double>(
        v.unaryExpr([t](double a) { return a > t ? a - t : (a < -t ? a + t : 0.0); }));
  };
  for (int it = 0; it < 20000; ++it) {
    mlcsc::Vector<double> rhs = A.transpose() * y;
    for (size_t i = 0; i < L; ++i) rhs += r * Ai[i].transpose() * (w[i] - u[i]);
    x = llt.solve(rhs);
    for (size_t i = 0; i < L; ++i) {
      const mlcsc::Vector<double> ax = Ai[i] * x;
      w[i] = soft(ax + u[i], lambda[i] / r);
      u[i] += ax - w[i];
    }
  }
  double f = 0.5 * (y - A * x).squaredNorm();
  for (size_t i = 0; i < L; ++i) f += lambda[i] * (Ai[i] * x).lpNorm<1>();
  return f;
}

TEST_CASE("ml_ista / ml_fista reach the ML-BP optimum of an independent ADMM solve",
          "[multilayer]") {
  // ML-ISTA handles the penalties of the layers above through their gradient mapping with step
  // rho_1..rho_{i-1}, so its fixed points are optimal up to a bias that vanishes with rho_1
  // (Sulam et al. 2019: epsilon-optimal points). Measured on random problems: relative gap
  // 1e-2 .. 3e-2 at rho_1 = 1/L_1 and 2.7e-3 .. 3.3e-3 at rho_1 = 0.1/L_1. Tolerances: 6e-2 and
  // 1e-2. (Thresholding layer i at rho_i lambda_i instead of rho_1..rho_i lambda_i, as the code
  // once did, ends at a gap of 16% or more, worse than the zero code.)
  const Index depth = mlcsc_test::uniform_int(2, 3);
  const Index n = mlcsc_test::uniform_int(16, 31);
  std::vector<Index> m{mlcsc_test::uniform_int(25, 45), mlcsc_test::uniform_int(15, 35),
                       mlcsc_test::uniform_int(11, 25)};
  INFO("depth " << depth << ", n " << n << ", m " << m[0] << " " << m[1] << " " << m[2]);
  std::vector<Mat<double>> D;
  mlcsc::MultiLayer<mlcsc::Dictionary<double>> net;
  std::vector<double> Lip;
  for (Index l = 0; l < depth; ++l) {
    auto Dl = mlcsc_test::random_dictionary<double>(l == 0 ? n : m[size_t(l - 1)], m[size_t(l)]);
    D.push_back(Dl.matrix());
    Lip.push_back(double(Dl.lipschitz()));
    net.add_layer(Dl, 0.0);
  }
  const mlcsc::Vector<double> y = mlcsc_test::randn<double>(n, 1);
  // lambdas at a fraction of each layer's critical value, so that the optimum is not zero
  std::vector<double> lambda;
  Mat<double> Aty = D[0].transpose() * y;
  for (Index l = 0; l < depth; ++l) {
    if (l > 0) Aty = D[size_t(l)].transpose() * Aty;
    lambda.push_back(0.15 * Aty.cwiseAbs().maxCoeff() / double(depth));
  }
  const double ref = mlbp_reference(D, y, lambda);
  REQUIRE(ref < 0.5 * y.squaredNorm() * (1 - 1e-3));  // a non-trivial optimum

  mlcsc::MLBPParams<double> p;
  p.layers.resize(size_t(depth));
  for (Index l = 0; l < depth; ++l) p.layers[size_t(l)].lambda = lambda[size_t(l)];
  p.max_iterations = 200000;
  p.tolerance = 1e-12;
  for (double s1 : {1.0, 0.1}) {
    p.steps.clear();
    for (Index l = 0; l < depth; ++l) p.steps.push_back((l == 0 ? s1 : 1.0) / Lip[size_t(l)]);
    for (bool fista : {false, true}) {
      const auto R = fista ? net.ml_fista(y, p) : net.ml_ista(y, p);
      INFO("rho_1 = " << s1 << " / L_1, " << (fista ? "ML-FISTA" : "ML-ISTA") << ", iterations "
                      << R.back().iterations << ", objective " << R.back().objective
                      << ", reference " << ref);
      // at rho_1 = 0.1 / L_1 a 3-layer problem moves in steps of 0.1 / (L_1 L_2 L_3) and may
      // use all 200,000 iterations without meeting the 1e-12 tolerance, and ML-FISTA's momentum
      // can keep its iterates moving at that level (seen once in 40 seeds); the gap holds
      if (s1 == 1.0 && !fista) REQUIRE(R.back().converged);
      const double gap = double(R.back().objective) / ref - 1;
      REQUIRE(gap >= -1e-9);  // the reference is optimal
      REQUIRE(gap <= (s1 == 1.0 ? 6e-2 : 1e-2));
    }
  }
}

TEST_CASE("ml_fista converges and reports it", "[multilayer]") {
  auto D1 = mlcsc_test::random_dictionary<double>(24, 40);
  auto D2 = mlcsc_test::random_dictionary<double>(40, 30);
  mlcsc::MultiLayer<mlcsc::Dictionary<double>> net;
  net.add_layer(D1, 0.0);
  net.add_layer(D2, 0.0);
  const Mat<double> Y = mlcsc_test::randn<double>(24, 2);
  std::vector<mlcsc::LassoParams<double>> pl(2);
  pl[0].lambda = 0.3;
  pl[1].lambda = 0.2;
  pl[1].max_iterations = 5000;
  pl[1].tolerance = 1e-9;
  const auto R = net.ml_fista(Y, pl);
  REQUIRE(R[1].converged);
  REQUIRE(R[1].iterations < 5000);
  pl[1].max_iterations = 3;
  const auto R3 = net.ml_fista(Y, pl);
  REQUIRE_FALSE(R3[1].converged);
  REQUIRE(R3[1].iterations == 3);
}

TEMPLATE_TEST_CASE("conv MultiLayer: layered_lasso, layered_ista, ml_fista run and chain",
                   "[multilayer][conv]", float, double) {
  using S = TestType;
  for (auto bd : {mlcsc::Boundary::Circular, mlcsc::Boundary::Zero}) {
    auto D1 = random_conv<S>(4, 1, 5, 5, bd);
    auto D2 = random_conv<S>(6, 4, 3, 3, bd);
    mlcsc::MultiLayer<mlcsc::ConvDictionary<S>> net;
    net.add_layer(D1, S(0.1));
    net.add_layer(D2, S(0.1));
    const auto x = random_maps<S>(1, 15, 13);
    std::vector<mlcsc::LassoParams<S>> p(2);
    p[0].lambda = S(0.2);
    p[1].lambda = S(0.05);
    p[0].max_iterations = p[1].max_iterations = 200;
    const auto ll = net.layered_lasso(x, p);
    REQUIRE(ll.size() == 2);
    REQUIRE(ll[1].code.channels() == 6);
    REQUIRE(ll[1].code.height() == 15);
    const auto li = net.layered_ista(x, p);
    REQUIRE(li[1].channels() == 6);
    mlcsc::MLBPParams<S> q;
    q.layers = p;
    q.max_iterations = 100;
    std::vector<double> obj;
    q.callback = [&](int, S f) {
      obj.push_back(double(f));
      return true;
    };
    const auto mf = net.ml_fista(x, q);
    REQUIRE(mf[1].code.channels() == 6);
    REQUIRE(mf[0].code.channels() == 4);
    REQUIRE(obj.back() < obj.front());
    REQUIRE(std::abs(double(net.ml_objective(x, mf[1].code, p)) - double(mf[1].objective)) <=
            1e-3 * (1 + std::abs(double(mf[1].objective))));
  }
}

TEST_CASE("MultiLayer input checks", "[multilayer][errors]") {
  using S = double;
  mlcsc::MultiLayer<mlcsc::Dictionary<S>> net;
  const Mat<S> Y = mlcsc_test::randn<S>(9, 2);
  std::vector<mlcsc::LassoParams<S>> p0;
  SECTION("empty model") {
    REQUIRE(net.depth() == 0);
    REQUIRE_THROWS_AS(net.layered_thresholding(Y), std::invalid_argument);
    REQUIRE_THROWS_AS(net.layered_lasso(Y, p0), std::invalid_argument);
    REQUIRE_THROWS_AS(net.layered_ista(Y, p0), std::invalid_argument);
    REQUIRE_THROWS_AS(net.ml_ista(Y, p0), std::invalid_argument);
    REQUIRE_THROWS_AS(net.ml_fista(Y, mlcsc::MLBPParams<S>{}), std::invalid_argument);
    REQUIRE_THROWS_AS(net.layer(0), std::invalid_argument);
    REQUIRE_THROWS_AS(net.effective(0), std::invalid_argument);
  }
  net.add_layer(mlcsc_test::random_dictionary<S>(9, 14), 0.1);
  net.add_layer(mlcsc_test::random_dictionary<S>(14, 6), 0.1);
  SECTION("mismatched layer shapes") {
    REQUIRE_THROWS_AS(net.add_layer(mlcsc_test::random_dictionary<S>(7, 5), 0.1),
                      std::invalid_argument);
    REQUIRE(net.depth() == 2);
    mlcsc::MultiLayer<mlcsc::ConvDictionary<S>> cn;
    cn.add_layer(random_conv<S>(4, 1, 3, 3, mlcsc::Boundary::Zero), 0.1);
    REQUIRE_THROWS_AS(cn.add_layer(random_conv<S>(5, 3, 3, 3, mlcsc::Boundary::Zero), 0.1),
                      std::invalid_argument);
    // each layer keeps its own boundary (a padded layer, then an unpadded one as in a CNN)
    cn.add_layer(random_conv<S>(5, 4, 3, 3, mlcsc::Boundary::Valid), 0.1);
    REQUIRE(cn.depth() == 2);
  }
  SECTION("bad thresholds") {
    REQUIRE_THROWS_AS(net.add_layer(mlcsc_test::random_dictionary<S>(6, 5), -0.1, Shrinkage::Soft),
                      std::invalid_argument);
    REQUIRE_THROWS_AS(
        net.add_layer(mlcsc_test::random_dictionary<S>(6, 5), mlcsc::Vector<S>::Constant(4, 0.1)),
        std::invalid_argument);
    REQUIRE_THROWS_AS(net.add_layer(mlcsc_test::random_dictionary<S>(6, 5), std::nan("")),
                      std::invalid_argument);
    net.add_layer(mlcsc_test::random_dictionary<S>(6, 5), -0.1);  // a positive CNN bias is fine
  }
  SECTION("wrong list lengths") {
    std::vector<mlcsc::LassoParams<S>> p1(1), p3(3);
    REQUIRE_THROWS_AS(net.layered_lasso(Y, p1), std::invalid_argument);
    REQUIRE_THROWS_AS(net.layered_lasso(Y, p3), std::invalid_argument);
    REQUIRE_THROWS_AS(net.layered_ista(Y, p1), std::invalid_argument);
    REQUIRE_THROWS_AS(net.ml_ista(Y, p3), std::invalid_argument);
    mlcsc::MLBPParams<S> q;
    q.layers.resize(2);
    q.steps = {0.1};
    REQUIRE_THROWS_AS(net.ml_fista(Y, q), std::invalid_argument);
    q.steps = {0.1, -1.0};
    REQUIRE_THROWS_AS(net.ml_fista(Y, q), std::invalid_argument);
    q.steps.clear();
    q.max_iterations = 0;
    REQUIRE_THROWS_AS(net.ml_ista(Y, q), std::invalid_argument);
  }
  SECTION("bad per-layer parameters and signals") {
    std::vector<mlcsc::LassoParams<S>> p(2);
    p[1].lambda = -1;
    REQUIRE_THROWS_AS(net.layered_lasso(Y, p), std::invalid_argument);
    p[1].lambda = 0.1;
    const Mat<S> wrong = mlcsc_test::randn<S>(8, 2);
    REQUIRE_THROWS_AS(net.layered_thresholding(wrong), std::invalid_argument);
    REQUIRE_THROWS_AS(net.layered_lasso(wrong, p), std::invalid_argument);
    REQUIRE_THROWS_AS(net.ml_ista(wrong, p), std::invalid_argument);
    REQUIRE_THROWS_AS(net.layer(2), std::invalid_argument);
    REQUIRE_THROWS_AS(net.layer(-1), std::invalid_argument);
    try {
      net.add_layer(mlcsc_test::random_dictionary<S>(7, 5), 0.1);
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      REQUIRE(msg.find("14") != std::string::npos);  // names the expected rows
      REQUIRE(msg.find("7") != std::string::npos);   // and what it got
    }
  }
}
