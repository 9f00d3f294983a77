// bench_geometry: batches, strides and solver objects (float; compare with
// benchmarks/compare/torch_geometry.py, run beside it):
//  (1) strided analyze / synthesize, one thread: 64 -> 128 filters 3x3 stride 2 over 128 x 128
//      (Zero boundary: torch conv2d padding 1) and the three layers of the ML-ISTA paper's MNIST
//      model on a batch of 64 images of 28 x 28 (Sulam et al. 2019: 1 -> 32 6x6 stride 2, 32 ->
//      64 6x6 stride 2, 64 -> 512 4x4, no padding: Boundary::Valid);
//  (2) the forward pass of that model (layered thresholding) on the batch of 64, on 1 and on 2
//      threads;
//  (3) one ML-FISTA iteration on the batch against the kernel calls it makes (L - 1 backward
//      syntheses, one synthesis of D_1, L analyses);
//  (4) LassoSolver against lasso() on 100 small dense batches (64 x 128 dictionary; 1, 4 and 16
//      signals; FISTA and coordinate descent; lambda 0.2, dense codes, and 1.0, about a third of
//      lambda_max, sparse ones): the per-call setup a solver object keeps (its workspaces and
//      per-signal state).
// Times are the best of several runs (wall clock): 20 by default, as torch_geometry.py takes, so
// that both sides of a ratio get the same chance at a quiet moment of a shared machine; the
// first argument sets another count.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <mlcsc/mlcsc.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

using S = float;
using Conv = mlcsc::ConvDictionary<S>;
using Maps = mlcsc::FeatureMaps<S>;
using mlcsc::Index;

namespace {

double best_of(int reps, const std::function<void()>& f) {
  f();  // warm-up: buffers, caches
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto a = std::chrono::steady_clock::now();
    f();
    best =
        std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  return best;
}

void set_threads(int t) {
#ifdef _OPENMP
  omp_set_num_threads(t);
#else
  (void)t;
#endif
}

Conv random_conv(Index K, Index C, Index k, mlcsc::Boundary b, Index stride, std::mt19937& g) {
  Conv D(K, C, k, k, b);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (Index i = 0; i < D.filters().size(); ++i) D.filters().data()[i] = S(nd(g));
  D.normalize();
  D.set_stride(stride, stride);
  return D;
}

Maps random_maps(Index N, Index C, Index H, Index W, std::mt19937& g) {
  Maps x(N, C, H, W);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (Index i = 0; i < x.size(); ++i) x.data().data()[i] = S(u(g));
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  std::mt19937 g(7);
  set_threads(1);

  // --- (1) strided kernels -----------------------------------------------------------------
  struct Shape {
    const char* name;
    Index N, K, C, k, stride, H;
    mlcsc::Boundary b;
  };
  const std::vector<Shape> shapes{
      {"64->128 3x3 s2 128^2 (Zero)", 1, 128, 64, 3, 2, 128, mlcsc::Boundary::Zero},
      {"MNIST conv1 1->32 6x6 s2 N=64", 64, 32, 1, 6, 2, 28, mlcsc::Boundary::Valid},
      {"MNIST conv2 32->64 6x6 s2 N=64", 64, 64, 32, 6, 2, 12, mlcsc::Boundary::Valid},
      {"MNIST conv3 64->512 4x4 N=64", 64, 512, 64, 4, 1, 4, mlcsc::Boundary::Valid},
  };
  std::printf("(1) strided analyze / synthesize, float, 1 thread (best of %d)\n", reps);
  std::printf("%-34s %10s %8s %10s %8s\n", "shape", "analyze", "GFLOP/s", "synthesize", "GFLOP/s");
  for (const Shape& s : shapes) {
    const Conv D = random_conv(s.K, s.C, s.k, s.b, s.stride, g);
    const Maps x = random_maps(s.N, s.C, s.H, s.H, g);
    Maps gam = D.code_like(x), y(s.N, s.C, s.H, s.H);
    const double flops =
        2.0 * double(s.N * s.K * s.C * s.k * s.k) * double(gam.height() * gam.width());
    const double ta = best_of(reps, [&] { D.analyze(x, gam); });
    const double ts = best_of(reps, [&] { D.synthesize(gam, y); });
    std::printf("%-34s %8.3f ms %8.1f %8.3f ms %8.1f\n", s.name, 1e3 * ta, flops / ta * 1e-9,
                1e3 * ts, flops / ts * 1e-9);
  }

  // --- (2) the MNIST model's forward pass on a batch of 64 ------------------------------------
  mlcsc::MultiLayer<Conv> net;
  net.add_layer(random_conv(32, 1, 6, mlcsc::Boundary::Valid, 2, g));
  net.add_layer(random_conv(64, 32, 6, mlcsc::Boundary::Valid, 2, g));
  net.add_layer(random_conv(512, 64, 4, mlcsc::Boundary::Valid, 1, g));
  const std::vector<mlcsc::Vector<S>> thr{mlcsc::Vector<S>::Constant(32, S(0.3)),
                                          mlcsc::Vector<S>::Constant(64, S(0.3)),
                                          mlcsc::Vector<S>::Constant(512, S(0.3))};
  const Maps batch = random_maps(64, 1, 28, 28, g);
  std::vector<Maps> out;
  std::printf("\n(2) layered thresholding (the forward pass), 64 images 28x28, codes reused\n");
  double t1 = 0;
  for (int t : {1, 2}) {
    set_threads(t);
    const double tt = best_of(reps, [&] { net.layered_thresholding(batch, thr, out); });
    if (t == 1) t1 = tt;
    std::printf("  %d thread%s  %8.3f ms  (%.2fx the 1-thread throughput)\n", t, t > 1 ? "s" : " ",
                1e3 * tt, t1 / tt);
  }
  set_threads(1);

  // --- (3) ML-FISTA: an iteration against its kernel calls --------------------------------------
  {
    mlcsc::MLBPParams<S> p;
    p.layers.resize(3);
    for (auto& l : p.layers) {
      l.lambda = S(0.05);
      l.nonnegative = true;
    }
    p.tolerance = S(0);  // run every iteration
    const int its = 20;
    p.max_iterations = its;
    const double t_ml = best_of(std::max(2, reps / 3), [&] { (void)net.ml_fista(batch, p); });
    p.max_iterations = 1;
    const double t_one = best_of(std::max(2, reps / 3), [&] { (void)net.ml_fista(batch, p); });
    // the kernel calls of one iteration: 2 backward syntheses, one synthesis of D_1, 3 analyses
    std::vector<Maps> codes = net.layered_thresholding(batch, thr);
    Maps res(64, 1, 28, 28);
    const double t_kernels = best_of(reps, [&] {
      net.layer(2).synthesize(codes[2], codes[1]);
      net.layer(1).synthesize(codes[1], codes[0]);
      net.layer(0).synthesize(codes[0], res);
      net.layer(0).analyze(res, codes[0]);
      net.layer(1).analyze(codes[0], codes[1]);
      net.layer(2).analyze(codes[1], codes[2]);
    });
    const double per_it = (t_ml - t_one) / (its - 1);
    std::printf(
        "\n(3) ML-FISTA on the batch, 1 thread: %.3f ms per iteration, its kernel calls "
        "%.3f ms: %.2fx\n",
        1e3 * per_it, 1e3 * t_kernels, per_it / t_kernels);
  }

  // --- (4) LassoSolver vs lasso() on 100 small dense batches -----------------------------------
  // Batches of 1, 4 and 16 signals: the smaller the batch (and the sparser the code, the
  // cheaper the solve), the larger lasso()'s per-call setup (workspaces, the per-signal state)
  // against the solve itself.
  {
    const Index n = 64, m = 128, batches = 100;
    std::normal_distribution<double> nd(0.0, 1.0);
    mlcsc::Matrix<S> A(n, m);
    for (Index i = 0; i < A.size(); ++i) A.data()[i] = S(nd(g));
    mlcsc::Dictionary<S> D(A);
    D.normalize();
    mlcsc::LassoParams<S> p;
    p.max_iterations = 50;
    p.tolerance = S(1e-4);
    std::printf("\n(4) 100 batches, %ld x %ld dictionary, 1 thread\n", long(n), long(m));
    for (const double lambda : {0.2, 1.0})
      for (const Index B : {Index(1), Index(4), Index(16)}) {
        p.lambda = S(lambda);
        std::vector<mlcsc::Matrix<S>> Ys(batches, mlcsc::Matrix<S>(n, B));
        for (auto& Y : Ys)
          for (Index i = 0; i < Y.size(); ++i) Y.data()[i] = S(nd(g));
        for (mlcsc::Method method : {mlcsc::Method::FISTA, mlcsc::Method::CoordinateDescent}) {
          p.method = method;
          const double t_calls = best_of(reps, [&] {
            for (const auto& Y : Ys) (void)mlcsc::lasso(D, Y, p);
          });
          mlcsc::LassoSolver<mlcsc::Dictionary<S>> solver(D, p);
          mlcsc::Matrix<S> code(m, B);
          const double t_solver = best_of(reps, [&] {
            for (const auto& Y : Ys) (void)solver.solve(Y, code);
          });
          std::printf(
              "  lambda %.1f %2ld signals %-18s lasso() x100 %8.3f ms   LassoSolver x100 %8.3f ms  "
              " "
              "%.2fx\n",
              lambda, long(B), method == mlcsc::Method::FISTA ? "FISTA" : "CoordinateDescent",
              1e3 * t_calls, 1e3 * t_solver, t_calls / t_solver);
        }
      }
  }
  return 0;
}
