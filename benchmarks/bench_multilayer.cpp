// bench_multilayer: (1) the CNN forward pass as layered thresholding on a 3-layer float conv model
// (1 -> 64 -> 128 -> 128 channels, 3x3, Zero boundary, 64 x 64 input), single-threaded, best and
// median of calls that allocate their three codes and of calls into reused codes (compare:
// benchmarks/compare/torch_forward.py, whose calls allocate; the fresh codes here are all three
// layers' 5 MiB, which glibc returns to the system between calls: the page faults cost more than
// the first two layers' convolutions on a virtual machine); (2) the cost of one
// iteration of the layered Lasso (FISTA) and of ML-FISTA against the sum of the kernel calls an
// iteration makes (Lasso layer l: one synthesis + one analysis of D_l; ML-FISTA: L-1 backward
// syntheses + one synthesis of D_1 + L analyses).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include <mlcsc/mlcsc.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

using S = float;
using Op = mlcsc::ConvDictionary<S>;
using Maps = mlcsc::FeatureMaps<S>;
using mlcsc::Index;

namespace {

struct Timing {
  double best, median;
};

Timing time_it(const std::function<void()>& f, int reps) {
  std::vector<double> t;
  f();  // warm-up
  for (int r = 0; r < reps; ++r) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2]};
}

Op random_layer(Index K, Index C, std::mt19937& g) {
  Op D(K, C, 3, 3, mlcsc::Boundary::Zero);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (Index i = 0; i < D.filters().size(); ++i) D.filters().data()[i] = S(nd(g));
  D.normalize();
  return D;
}

}  // namespace

int main() {
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
  std::mt19937 g(1);
  const std::vector<Op> Ds{random_layer(64, 1, g), random_layer(128, 64, g),
                           random_layer(128, 128, g)};
  mlcsc::MultiLayer<Op> net;
  for (const auto& D : Ds) net.add_layer(D, S(0.05));
  Maps x(1, 64, 64);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (Index i = 0; i < x.size(); ++i) x.data()(i) = S(nd(g));

  const double flops = 2.0 * 64 * 64 * 9 * (64 * 1 + 128 * 64 + 128 * 128);
  const Timing fw = time_it([&] { auto G = net.layered_thresholding(x); }, 30);
  std::vector<Maps> reused;
  const Timing fr = time_it([&] { net.layered_thresholding(x, reused); }, 30);
  std::printf("layered_thresholding 1->64->128->128, 3x3, 64x64, float, 1 thread:\n");
  std::printf("  fresh codes    best %.3f ms  median %.3f ms  (%.1f GFLOP/s)\n", 1e3 * fw.best,
              1e3 * fw.median, flops / fw.best * 1e-9);
  std::printf("  reused codes   best %.3f ms  median %.3f ms  (%.1f GFLOP/s)\n", 1e3 * fr.best,
              1e3 * fr.median, flops / fr.best * 1e-9);

  // (2) iteration costs on the same model
  const auto G = net.layered_thresholding(x);
  std::vector<Maps> sig{x, G[0], G[1]}, cod{G[0], G[1], G[2]};
  std::vector<double> t_an(3), t_sy(3);
  for (int l = 0; l < 3; ++l) {
    Maps c = cod[size_t(l)], s = sig[size_t(l)];
    t_an[size_t(l)] = time_it([&] { Ds[size_t(l)].analyze(sig[size_t(l)], c); }, 10).best;
    t_sy[size_t(l)] = time_it([&] { Ds[size_t(l)].synthesize(cod[size_t(l)], s); }, 10).best;
  }
  const int iters = 20;
  std::printf("\niteration cost vs the sum of its kernel calls (%d iterations, best of 3):\n",
              iters);
  std::printf("  %-22s %12s %12s %8s\n", "", "per iter ms", "kernels ms", "ratio");
  double lasso_per = 0, lasso_kern = 0;  // the layered Lasso: one iteration of every layer
  for (int l = 0; l < 3; ++l) {
    mlcsc::LassoParams<S> p;
    p.lambda = S(0.1);
    p.max_iterations = iters;
    p.tolerance = S(0);
    // measure the solve and subtract the set-up (a 1-iteration solve includes it once)
    const double t_full = time_it([&] { mlcsc::lasso(Ds[size_t(l)], sig[size_t(l)], p); }, 3).best;
    p.max_iterations = 1;
    const double t_one = time_it([&] { mlcsc::lasso(Ds[size_t(l)], sig[size_t(l)], p); }, 3).best;
    const double per = (t_full - t_one) / (iters - 1);
    const double kern = t_an[size_t(l)] + t_sy[size_t(l)];
    std::printf("  Lasso (FISTA) layer %d   %12.3f %12.3f %8.2f\n", l + 1, 1e3 * per, 1e3 * kern,
                per / kern);
    lasso_per += per;
    lasso_kern += kern;
  }
  std::printf("  %-22s %12.3f %12.3f %8.2f\n", "layered Lasso (all 3)", 1e3 * lasso_per,
              1e3 * lasso_kern, lasso_per / lasso_kern);
  {
    mlcsc::MLBPParams<S> p;
    p.layers.resize(3);
    for (auto& q : p.layers) q.lambda = S(0.001);  // small: the codes stay nonzero
    p.tolerance = S(0);
    p.max_iterations = iters;
    const double t_full = time_it([&] { net.ml_fista(x, p); }, 3).best;
    p.max_iterations = 1;
    const double t_one = time_it([&] { net.ml_fista(x, p); }, 3).best;
    const double per = (t_full - t_one) / (iters - 1);
    const double kern = t_sy[0] + t_sy[1] + t_sy[2] + t_an[0] + t_an[1] + t_an[2];
    std::printf("  %-22s %12.3f %12.3f %8.2f\n", "ML-FISTA (3 layers)", 1e3 * per, 1e3 * kern,
                per / kern);
  }
  return 0;
}
