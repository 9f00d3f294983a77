// pytorch_network: a PyTorch CNN run as a multi-layer convolutional sparse coding (ML-CSC) model.
// The network is the MNIST model of the ML-ISTA paper (Sulam, Aberdam, Beck, Elad, TPAMI 2019,
// arXiv 1806.00701): conv 1->32 6x6 stride 2, conv 32->64 6x6 stride 2, conv 64->512 4x4 stride 1,
// each with a bias and a ReLU, no padding: 28x28 -> 12x12 -> 4x4 -> 1x1, here with its untrained
// (default-initialized) weights. In mlcsc each layer is a ConvDictionary with Boundary::Valid and
// the layer's stride (D_l^T = torch's conv2d(x, W_l, stride=s, padding=0)), and the forward pass is
// MultiLayer::layered_thresholding with NonnegSoft shrinkage and thresholds -b_l:
// G_l = ReLU(D_l^T G_{l-1} - (-b_l)) = ReLU(conv2d(G_{l-1}, W_l) + b_l), G_0 = x.
//
// Input: 64 images of 28x28 cut from examples/data/camera.png (an 8 x 8 grid of overlapping 84x84
// crops at offsets round(i (512 - 84) / 7), each averaged over 3x3 blocks; values in [0, 1];
// image n = 8 i + j is crop row i, column j).
//  1. The forward pass: per layer the share of nonzero activations; the time of the whole pass
//     into reused codes, best of --runs taken in 4 rounds that alternate 1 thread and all of
//     OpenMP's threads (OMP_NUM_THREADS), and whether both give bit-identical activations.
//     compare_torch.py --check compares the activations with torch's, --time times torch.
//  2. ML-ISTA and ML-FISTA (the multi-layer basis pursuit of the same paper,
//     min_G3 0.5||x - D1 D2 D3 G3||^2 + sum_l lambda_l ||G_l||_1, G2 = D3 G3, G1 = D2 G2) on the
//     same filters scaled to unit norm (the biases play no part), with
//     lambda_l = --lambda (default 0.02) x the largest entry of D_l^T G_{l-1} along the forward
//     pass with thresholds lambda_l; steps 1/||D_l||_2^2, at most --iterations, tolerance 1e-5.
//     Run twice: with every layer's code non-negative (NonnegSoft, the ReLU model) and signed.
//     Per run: G3's nonzeros, iterations (most and per image), images converged, the objective,
//     the relative reconstruction error ||x - D1 D2 D3 G3|| / ||x||, and the nonzeros of the
//     propagated G2, G1. What it shows: random filters of both signs admit few codes whose every
//     layer is non-negative, so the non-negative model explains almost nothing of these images
//     (the objective barely moves from its value at G3 = 0), while the signed model reaches a
//     relative error of about 0.7 (unconstrained least squares over the 512 atoms of D1 D2 D3:
//     0.63). ML-FISTA gets there in fewer iterations. ML-ISTA's fixed points are epsilon-optimal
//     (multi_layer.hpp): at large lambda its objective can end above the one of G3 = 0.
//
// Weights: with --weights DIR, DIR/conv{1,2,3}_weight.npy (K, C, kh, kw) and conv{1,2,3}_bias.npy
// (K,) as compare_torch.py --export writes them (torch.manual_seed(0), torch's default init).
// Without it the example needs no Python: it draws weights and biases like torch's default init
// (kaiming-uniform with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both, fan_in = C kh
// kw) from std::mt19937 seeded with --seed (default 0; other numbers than torch's generator's).
// Output: only with --out DIR (without it nothing is written): DIR/images.npy (64, 1, 28, 28) and
// the forward pass's DIR/layer{1,2,3}.npy ((64, 32, 12, 12), (64, 64, 4, 4), (64, 512, 1, 1)),
// float32, and, when it drew the weights itself, those as DIR/conv{1,2,3}_weight.npy and
// conv{1,2,3}_bias.npy (K, 1), so that compare_torch.py --check DIR runs torch on them.
//
// The whole comparison, from the repository root with the examples built into build/ (Debian's
// python3 with python3-numpy and python3-torch):
//   /usr/bin/python3 examples/pytorch_network/compare_torch.py --export /tmp/w &&
//   build/examples/pytorch_network --weights /tmp/w --out /tmp/w &&
//   /usr/bin/python3 examples/pytorch_network/compare_torch.py --check /tmp/w --time
// (or, without the export step, build/examples/pytorch_network --out /tmp/w and the check).
//
// Usage: pytorch_network [--weights DIR] [--out DIR] [--image PATH] [--seed N] [--runs N]
//                        [--lambda FRAC] [--iterations N]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <mlcsc/mlcsc.hpp>

#include "image_io.hpp"

using S = float;
using Op = mlcsc::ConvDictionary<S>;
using Maps = mlcsc::FeatureMaps<S>;
using Net = mlcsc::MultiLayer<Op>;
using mlcsc::Index;

namespace {

struct LayerSpec {
  Index K, C, k, stride;
};
// The ML-ISTA paper's MNIST model.
const LayerSpec kSpecs[3] = {{32, 1, 6, 2}, {64, 32, 6, 2}, {512, 64, 4, 1}};
constexpr Index kBatch = 64, kSide = 28, kDown = 3, kGrid = 8;

struct Layer {
  Op D;
  mlcsc::Vector<S> bias;
};

// U[0, 1) from the 24 high bits of a 32-bit Mersenne twister draw: the same numbers on every
// standard library (std::uniform_real_distribution's algorithm is not specified).
S uniform01(std::mt19937& g) {
  return S(g() >> 8) * S(1.0 / 16777216.0);
}

// torch.nn.Conv2d's default init: kaiming_uniform_(a = sqrt(5)) for the weight, which is
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
std::vector<Layer> draw_layers(unsigned seed) {
  std::mt19937 g(seed);
  std::vector<Layer> out;
  for (const LayerSpec& s : kSpecs) {
    Layer L{Op(s.K, s.C, s.k, s.k, mlcsc::Boundary::Valid), mlcsc::Vector<S>(s.K)};
    const S bound = S(1) / std::sqrt(S(s.C * s.k * s.k));
    for (Index i = 0; i < L.D.filters().size(); ++i)
      L.D.filters().data()[i] = bound * (2 * uniform01(g) - 1);
    for (Index k = 0; k < s.K; ++k) L.bias(k) = bound * (2 * uniform01(g) - 1);
    L.D.set_stride(s.stride, s.stride);
    out.push_back(std::move(L));
  }
  return out;
}

std::vector<Layer> load_layers(const std::string& dir) {
  std::vector<Layer> out;
  for (int l = 0; l < 3; ++l) {
    const LayerSpec& s = kSpecs[l];
    const std::string p = dir + "/conv" + std::to_string(l + 1);
    Op D = mlcsc::io::load_conv_dictionary<S>(p + "_weight.npy", mlcsc::Boundary::Valid);
    const mlcsc::Matrix<S> b = mlcsc::io::load_npy<S>(p + "_bias.npy");
    if (D.num_filters() != s.K || D.channels() != s.C || D.kernel_height() != s.k ||
        D.kernel_width() != s.k || b.size() != s.K)
      throw std::runtime_error(p + "_{weight,bias}.npy: expected a (" + std::to_string(s.K) + ", " +
                               std::to_string(s.C) + ", " + std::to_string(s.k) + ", " +
                               std::to_string(s.k) + ") weight and " + std::to_string(s.K) +
                               " biases");
    D.set_stride(s.stride, s.stride);
    out.push_back({std::move(D), b.reshaped()});
  }
  return out;
}

// 64 images of 28x28: an 8 x 8 grid of 84x84 crops (overlapping on a 512x512 photograph), each
// averaged over 3x3 blocks.
Maps make_batch(const examples::Image& img) {
  const Index crop = kSide * kDown;
  if (img.rows() < crop || img.cols() < crop)
    throw std::runtime_error("the photograph must be at least 84 x 84");
  Maps x(kBatch, 1, kSide, kSide);
  for (Index i = 0; i < kGrid; ++i)
    for (Index j = 0; j < kGrid; ++j) {
      const Index r0 = std::lround(double(i * (img.rows() - crop)) / double(kGrid - 1));
      const Index c0 = std::lround(double(j * (img.cols() - crop)) / double(kGrid - 1));
      auto m = x.channel(i * kGrid + j, 0);
      for (Index u = 0; u < kSide; ++u)
        for (Index v = 0; v < kSide; ++v)
          m(u, v) = S(img.block(r0 + kDown * u, c0 + kDown * v, kDown, kDown).mean());
    }
  return x;
}

double percent_nonzero(const Maps& g) {
  return 100.0 * double((g.data().array() != S(0)).count()) / double(g.size());
}

int available_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
void use_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

template <class F>
double best_ms(int runs, F&& f) {
  double best = 1e300;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

std::string geometry(const Op& D) {
  return std::to_string(D.num_filters()) + " x " + std::to_string(D.channels()) + " x " +
         std::to_string(D.kernel_height()) + "x" + std::to_string(D.kernel_width()) + " /" +
         std::to_string(D.stride_h());
}

}  // namespace

int main(int argc, char** argv) {
  std::string image = std::string(MLCSC_EXAMPLE_DATA_DIR) + "/camera.png", weights, out;
  unsigned seed = 0;
  int runs = 20, iterations = 500;
  double lambda_frac = 0.02;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--weights" && i + 1 < argc)
      weights = argv[++i];
    else if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--image" && i + 1 < argc)
      image = argv[++i];
    else if (a == "--seed" && i + 1 < argc)
      seed = unsigned(std::strtoul(argv[++i], nullptr, 10));
    else if (a == "--runs" && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--lambda" && i + 1 < argc)
      lambda_frac = std::atof(argv[++i]);
    else if (a == "--iterations" && i + 1 < argc)
      iterations = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr,
                   "usage: %s [--weights DIR] [--out DIR] [--image PATH] [--seed N] [--runs N] "
                   "[--lambda FRAC] [--iterations N]\n",
                   argv[0]);
      return 2;
    }
  }

  const std::vector<Layer> layers = weights.empty() ? draw_layers(seed) : load_layers(weights);
  const Maps x = make_batch(examples::load_gray(image));
  Net net;
  std::vector<mlcsc::Vector<S>> thresholds;
  for (const Layer& L : layers) {
    net.add_layer(L.D);
    thresholds.push_back(-L.bias);  // ReLU(conv + b) = NonnegSoft with threshold -b
  }
  std::printf("the ML-ISTA paper's MNIST network (Sulam, Aberdam, Beck, Elad 2019): weights %s\n",
              weights.empty() ? ("drawn in C++ like torch's default init, std::mt19937 seed " +
                                 std::to_string(seed))
                                    .c_str()
                              : ("from " + weights + " (compare_torch.py --export)").c_str());
  std::printf(
      "input: %ld images %ldx%ld from %s (84x84 crops averaged 3x3), values in [%.3f, %.3f]\n",
      long(x.batch()), long(x.height()), long(x.width()), image.c_str(),
      double(x.data().minCoeff()), double(x.data().maxCoeff()));

  // --- 1. the forward pass ----------------------------------------------------------------------
  std::vector<Maps> G;
  net.layered_thresholding(x, thresholds, G);
  std::printf("\nforward pass = layered_thresholding(x, -bias), NonnegSoft, Boundary::Valid\n");
  std::printf("%5s %18s %18s %12s %12s %12s\n", "layer", "filters K x C x k /s", "output N,K,H,W",
              "nonzeros %", "max act.", "mean act.");
  for (size_t l = 0; l < G.size(); ++l) {
    const Maps& g = G[l];
    const std::string shape = std::to_string(g.batch()) + "," + std::to_string(g.channels()) + "," +
                              std::to_string(g.height()) + "," + std::to_string(g.width());
    std::printf("%5zu %18s %18s %12.2f %12.4f %12.4f\n", l + 1, geometry(layers[l].D).c_str(),
                shape.c_str(), percent_nonzero(g), double(g.data().maxCoeff()),
                double(g.data().mean()));
  }
  // The forward pass's time, into the reused codes G (allocation-free), 1 thread vs all.
  const int all = available_threads();
  std::vector<int> thread_counts{1};
  if (all > 1) thread_counts.push_back(all);
  double flops = 0;
  for (size_t l = 0; l < G.size(); ++l) {
    const Op& D = layers[l].D;
    flops +=
        2.0 * double(G[l].size()) * double(D.channels() * D.kernel_height() * D.kernel_width());
  }
  // Best of `runs` per thread count, taken in 4 rounds that alternate the thread counts, so that
  // a burst of load from other processes does not fall on one count only.
  const int rounds = std::min(4, runs);
  std::vector<double> best(thread_counts.size(), 1e300);
  bool same_result = true;
  for (int round = 0; round < rounds; ++round)
    for (size_t i = 0; i < thread_counts.size(); ++i) {
      use_threads(thread_counts[i]);
      std::vector<Maps> Gt = G;
      net.layered_thresholding(x, thresholds, Gt);  // warm-up: per-thread buffers, caches
      for (size_t l = 0; l < G.size(); ++l) same_result &= Gt[l].data() == G[l].data();
      const int n = runs / rounds + (round < runs % rounds ? 1 : 0);
      best[i] = std::min(best[i], best_ms(n, [&] { net.layered_thresholding(x, thresholds, Gt); }));
    }
  use_threads(all);
  std::printf(
      "time of the forward pass on the batch, best of %d runs in %d alternating rounds "
      "(into reused codes; %.1f MFLOP of direct convolution):\n",
      runs, rounds, flops * 1e-6);
  for (size_t i = 0; i < thread_counts.size(); ++i)
    std::printf("  %d thread%s: %8.3f ms  (%.1f us per image, %.1f GFLOP/s)\n", thread_counts[i],
                thread_counts[i] > 1 ? "s" : " ", best[i], 1e3 * best[i] / double(x.batch()),
                flops / best[i] * 1e-6);
  if (all > 1)
    std::printf("  the activations with %d threads are bit-identical to the 1-thread ones: %s\n",
                all, same_result ? "yes" : "NO");
  use_threads(all);
  if (!out.empty()) {
    mlcsc::io::save_npy(out + "/images.npy", x);
    for (size_t l = 0; l < G.size(); ++l)
      mlcsc::io::save_npy(out + "/layer" + std::to_string(l + 1) + ".npy", G[l]);
    if (weights.empty())
      for (size_t l = 0; l < layers.size(); ++l) {
        const std::string p = out + "/conv" + std::to_string(l + 1);
        mlcsc::io::save_npy(p + "_weight.npy", layers[l].D);
        mlcsc::io::save_npy(p + "_bias.npy", layers[l].bias);
      }
    std::printf(
        "wrote %s/images.npy and layer{1,2,3}.npy%s: compare_torch.py --check %s\n", out.c_str(),
        weights.empty() ? " and the weights conv{1,2,3}_{weight,bias}.npy" : "", out.c_str());
  } else {
    std::printf("(no --out: nothing written)\n");
  }

  // --- 2. ML-ISTA and ML-FISTA on the normalized model ------------------------------------------
  Net unit;
  for (const Layer& L : layers) {
    Op D = L.D;
    D.normalize();
    unit.add_layer(std::move(D));
  }
  // lambda_l: a fraction of the largest correlation D_l^T G_{l-1} along the forward pass with
  // thresholds lambda_l.
  mlcsc::MLBPParams<S> p;
  p.max_iterations = iterations;
  p.tolerance = S(1e-5);
  {
    Maps prev = x;
    for (Index l = 0; l < unit.depth(); ++l) {
      Maps z = unit.layer(l).analyze(prev);
      mlcsc::LassoParams<S> lp;
      lp.lambda = S(lambda_frac) * z.data().maxCoeff();
      lp.nonnegative = true;
      p.layers.push_back(lp);
      z.data() = (z.data().array() - lp.lambda).max(S(0));
      prev = std::move(z);
    }
  }
  std::printf(
      "\nML-ISTA / ML-FISTA (multi-layer basis pursuit) on the same filters scaled to unit "
      "norm (biases unused),\nlambda_l = %.3g max(D_l^T G_{l-1}):",
      lambda_frac);
  for (size_t l = 0; l < p.layers.size(); ++l)
    std::printf(" lambda_%zu = %.4g", l + 1, double(p.layers[l].lambda));
  std::printf("; steps rho_l = 1/L_l, L_l = ||D_l||_2^2 =");
  for (Index l = 0; l < unit.depth(); ++l) {
    const Maps& in = l == 0 ? x : G[size_t(l - 1)];
    std::printf(" %.3g", double(unit.layer(l).lipschitz(in.height(), in.width())));
  }
  std::printf(
      ";\nat most %d iterations, tolerance %.0e. Objective 0.5||x - D1 D2 D3 G3||^2 + "
      "sum_l lambda_l ||G_l||_1 (0.5||x||^2 = %.2f at G3 = 0)\n",
      p.max_iterations, double(p.tolerance), 0.5 * double(x.data().squaredNorm()));
  std::printf("%-20s %5s %9s %10s %6s %9s %12s %10s %9s\n", "method", "layer", "code", "nonzeros %",
              "iters", "converged", "objective", "rel. error", "time ms");
  Maps xr(x.batch(), x.channels(), x.height(), x.width());
  for (int signed_codes = 0; signed_codes < 2; ++signed_codes) {
    for (auto& lp : p.layers) lp.nonnegative = !signed_codes;
    for (int fista = 0; fista < 2; ++fista) {
      std::vector<Net::Result> r;
      const double ms = best_ms(1, [&] { r = fista ? unit.ml_fista(x, p) : unit.ml_ista(x, p); });
      unit.layer(0).synthesize(r[0].code, xr);  // D1 G1 = D1 D2 D3 G3
      const double rel = double((xr.data() - x.data()).norm() / x.data().norm());
      const Eigen::VectorXi& its = r.back().signal_iterations;
      std::vector<int> sorted(its.data(), its.data() + its.size());
      std::sort(sorted.begin(), sorted.end());
      const std::string name =
          std::string(fista ? "ML-FISTA" : "ML-ISTA") + (signed_codes ? " signed" : " G_l >= 0");
      for (size_t l = r.size(); l-- > 0;) {  // G3 first: the pursuit's own code
        const Maps& g = r[l].code;
        const std::string shape = std::to_string(g.channels()) + "x" + std::to_string(g.height()) +
                                  "x" + std::to_string(g.width());
        if (l + 1 == r.size())
          std::printf("%-20s %5zu %9s %10.2f %6d %5ld/%-3ld %12.3f %10.4f %9.1f\n", name.c_str(),
                      l + 1, shape.c_str(), percent_nonzero(g), r[l].iterations,
                      long(r.back().signal_converged.count()), long(its.size()),
                      double(r[l].objective), rel, ms);
        else
          std::printf("%-20s %5zu %9s %10.2f\n", "", l + 1, shape.c_str(), percent_nonzero(g));
      }
      std::printf("%-20s per image: iterations min %d, median %d, max %d\n", "", sorted.front(),
                  sorted[sorted.size() / 2], sorted.back());
    }
  }
  std::printf(
      "rel. error = ||x - D1 D2 D3 G3|| / ||x||. G3 is the pursuit's code; G2 = D3 G3 and G1 = "
      "D2 G2 are propagated from it\n(a nonzero of G3 fills a whole 64x4x4 block of G2 through a "
      "dense filter). Random filters of both signs leave\nfew codes with every G_l >= 0: the "
      "non-negative model explains little of these images, the signed one more.\n");
  return 0;
}
