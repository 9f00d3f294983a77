// Benchmark of the convolution kernels: GFLOP/s (2 * multiply-adds / time, best of several
// repeats) of ConvDictionary::analyze and ::synthesize (Boundary::Zero, the CNN "same" layer), and
// their percentage of Eigen's single-core GEMM rate measured in the same run (1024^3), on
//   (a) 1 channel 256 x 256, 64 filters 7 x 7
//   (b) 64 channels 64 x 64 -> 128 filters 3 x 3
//   (c) 1-D: 1 channel of length 65,536, 32 filters of 64
// for float and double, 1 and 2 threads, next to the plain reference loop (timed once, float).
// Where the library chooses the Winograd path (shape (b)) or the scattered synthesize (shape
// (a)), the direct kernel is timed next to it.
// The machine is shared: compare the ratios of one run, not absolute numbers across runs.
// The header line says which instruction set, packet sizes and register blocking
// (conv/kernels/blocking.hpp) the kernels were built with (set by -march, see MLCSC_BENCH_MARCH in
// benchmarks/CMakeLists.txt). Option --variants times other blockings of the direct kernel on the
// three shapes (float, one thread), side by side with the default.
// One-thread figures use the thread's CPU time (immune to preemption), two-thread ones wall time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include <time.h>

#include <mlcsc/conv/conv_dictionary.hpp>
#include <mlcsc/internal/reference_conv.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

using mlcsc::Index;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Single-threaded runs are timed in this thread's CPU time: the machine is shared, and wall time
// of a run that was preempted says nothing about the kernel. Multi-threaded runs use wall time.
bool g_cpu_clock = true;
double thread_cpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
double clock_now() {
  return g_cpu_clock ? thread_cpu() : now();
}

void set_threads(int t) {
#ifdef _OPENMP
  omp_set_num_threads(t);
#else
  (void)t;
#endif
  Eigen::setNbThreads(t);
  g_cpu_clock = t == 1;
}

/// Best time of `f` over at least `min_reps` runs and at least `min_seconds` in total.
template <class F>
double best_time(F&& f, int min_reps = 5, double min_seconds = 0.4) {
  f();  // warm up (grows the per-thread buffers, faults pages in)
  double best = 1e30, total = 0;
  for (int r = 0; r < min_reps || (total < min_seconds && r < 200); ++r) {
    const double t0 = clock_now();
    f();
    const double dt = clock_now() - t0;
    best = std::min(best, dt);
    total += dt;
  }
  return best;
}

// The GEMM reference: the better of 1024^3 and 512^3 (the latter runs about as long as one
// kernel call, so both see the same interference on a shared machine); the higher rate is used,
// which can only lower the percentages.
template <class Scalar>
double gemm_gflops() {
  double best = 0;
  for (Index n : {Index(1024), Index(512)}) {
    using M = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    M A = M::Random(n, n), B = M::Random(n, n), C(n, n);
    const double t = best_time([&] { C.noalias() = A * B; }, 5, 1.0);
    best = std::max(best, 2.0 * double(n) * double(n) * double(n) / t * 1e-9);
  }
  return best;
}

struct ConvShape {
  const char* name;
  Index K, C, kh, kw, H, W;
  double macs() const { return double(K) * double(C) * double(kh * kw) * double(H * W); }
};

template <class Scalar>
mlcsc::ConvDictionary<Scalar> make_dict(const ConvShape& s) {
  mlcsc::ConvDictionary<Scalar> D(s.K, s.C, s.kh, s.kw, mlcsc::Boundary::Zero);
  std::mt19937 gen(1);
  std::normal_distribution<double> g(0, 1);
  for (Index i = 0; i < D.filters().size(); ++i) D.filters().data()[i] = Scalar(g(gen));
  D.normalize();
  return D;
}

template <class Scalar>
mlcsc::FeatureMaps<Scalar> make_maps(Index c, Index h, Index w) {
  mlcsc::FeatureMaps<Scalar> m(c, h, w);
  std::mt19937 gen(2);
  std::normal_distribution<double> g(0, 1);
  for (Index i = 0; i < m.size(); ++i) m.data().data()[i] = Scalar(g(gen));
  return m;
}

template <class Scalar>
void run_shape(const ConvShape& s, const char* type, double gemm, int max_threads) {
  using mlcsc::internal::ConvKernel;
  auto D = make_dict<Scalar>(s);
  const auto x = make_maps<Scalar>(s.C, s.H, s.W);
  const auto g = make_maps<Scalar>(s.K, s.H, s.W);
  mlcsc::FeatureMaps<Scalar> gout(s.K, s.H, s.W), xout(s.C, s.H, s.W);
  const double flop = 2.0 * s.macs();
  const Scalar* f = D.filters().data();
  const mlcsc::Boundary bd = mlcsc::Boundary::Zero;
  for (int op = 0; op < 2; ++op) {
    // the library's choice (ConvDictionary::analyze / synthesize); when that is Winograd or the
    // scattered synthesize, the direct kernel too, side by side
    const bool wino = op == 0
                          ? mlcsc::internal::use_winograd<Scalar>(s.C, s.K, s.kh, s.kw, s.H, s.W)
                          : mlcsc::internal::use_winograd<Scalar>(s.K, s.C, s.kh, s.kw, s.H, s.W);
    const bool scatter =
        op == 1 && mlcsc::internal::scatter_chosen<Scalar>(
                       ConvKernel::Automatic,
                       mlcsc::internal::conv_shape(f, s.K, s.C, s.kh, s.kw, bd), s.H, s.W);
    const char* chosen = wino ? "winograd" : scatter ? "scatter" : "direct";
    for (int variant = 0; variant < (wino || scatter ? 2 : 1); ++variant) {
      for (int t = 1; t <= max_threads; ++t) {
        set_threads(t);
        double sec;
        if (variant == 0)
          sec = op == 0 ? best_time([&] { D.analyze(x, gout); })
                        : best_time([&] { D.synthesize(g, xout); });
        else
          sec = op == 0 ? best_time([&] {
            mlcsc::internal::conv_analyze(mlcsc::internal::conv_shape(f, s.K, s.C, s.kh, s.kw, bd),
                                          x, gout, ConvKernel::Direct);
          })
                        : best_time([&] {
                            mlcsc::internal::conv_synthesize(
                                mlcsc::internal::conv_shape(f, s.K, s.C, s.kh, s.kw, bd), g, xout,
                                ConvKernel::Direct);
                          });
        const double gf = flop / sec * 1e-9;
        std::printf("%-34s %-10s %-6s %-9s %7d %10.3f %9.1f %8.0f%%\n", s.name,
                    op == 0 ? "analyze" : "synthesize", type, variant == 0 ? chosen : "direct", t,
                    sec * 1e3, gf, 100.0 * gf / gemm);
      }
    }
  }
  set_threads(1);
}

template <class B>
std::string blocking_name() {
  return std::to_string(B::maps) + "x" + std::to_string(B::packets) +
         " maps x packets (few maps 1-2 x " + std::to_string(B::few_packets) + ", 3-4 x " +
         std::to_string(B::mid_packets) + ", rows " + std::to_string(B::rows) + "x" +
         std::to_string(B::row_packets) + "), for " + std::to_string(B::registers) + " registers";
}

// One blocking of the direct kernel on shape s (float, one thread): analyze and synthesize.
template <class B>
void run_variant(const ConvShape& s, const char* label, double gemm) {
  using mlcsc::internal::ConvKernel;
  auto D = make_dict<float>(s);
  const auto x = make_maps<float>(s.C, s.H, s.W);
  const auto g = make_maps<float>(s.K, s.H, s.W);
  mlcsc::FeatureMaps<float> gout(s.K, s.H, s.W), xout(s.C, s.H, s.W);
  const float* f = D.filters().data();
  const mlcsc::Boundary bd = mlcsc::Boundary::Zero;
  set_threads(1);
  const double a = best_time([&] {
    mlcsc::internal::conv_analyze<float, B>(
        mlcsc::internal::conv_shape(f, s.K, s.C, s.kh, s.kw, bd), x, gout, ConvKernel::Direct);
  });
  const double y = best_time([&] {
    mlcsc::internal::conv_synthesize<float, B>(
        mlcsc::internal::conv_shape(f, s.K, s.C, s.kh, s.kw, bd), g, xout, ConvKernel::Direct);
  });
  const double flop = 2.0 * s.macs();
  std::printf("%-34s %-28s analyze %6.1f GFLOP/s %4.0f%%   synthesize %6.1f GFLOP/s %4.0f%%\n",
              s.name, label, flop / a * 1e-9, 100.0 * flop / a * 1e-9 / gemm, flop / y * 1e-9,
              100.0 * flop / y * 1e-9 / gemm);
}

template <class Scalar>
void run_reference(const ConvShape& s, const char* type, double gemm) {
  auto D = make_dict<Scalar>(s);
  const auto x = make_maps<Scalar>(s.C, s.H, s.W);
  const auto g = make_maps<Scalar>(s.K, s.H, s.W);
  mlcsc::FeatureMaps<Scalar> gout(s.K, s.H, s.W), xout(s.C, s.H, s.W);
  const double flop = 2.0 * s.macs();
  for (int op = 0; op < 2; ++op) {
    const double t0 = now();
    if (op == 0)
      mlcsc::internal::reference_analyze(D.filters().data(), s.K, s.C, s.kh, s.kw,
                                         mlcsc::Boundary::Zero, x, gout);
    else
      mlcsc::internal::reference_synthesize(D.filters().data(), s.K, s.C, s.kh, s.kw,
                                            mlcsc::Boundary::Zero, g, xout);
    const double sec = now() - t0;
    const double gf = flop / sec * 1e-9;
    std::printf("%-34s %-10s %-6s %-9s %7d %10.3f %9.1f %8.0f%%\n", s.name,
                op == 0 ? "analyze" : "synthesize", type, "reference", 1, sec * 1e3, gf,
                100.0 * gf / gemm);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // options: --no-reference, --only <a|b|c>, --variants
  bool with_reference = true, variants = false;
  char only = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-reference") with_reference = false;
    if (a == "--only" && i + 1 < argc) only = argv[++i][0];
    if (a == "--variants") variants = true;
  }
  using mlcsc::internal::DefaultConvBlocking;
  std::printf("Built for %s: %d vector registers, packets of %d floats / %d doubles; blocking %s\n",
              Eigen::SimdInstructionSetsInUse(), mlcsc::internal::kVectorRegisters,
              mlcsc::internal::packet_size<float>, mlcsc::internal::packet_size<double>,
              blocking_name<DefaultConvBlocking>().c_str());
  int max_threads = 1;
#ifdef _OPENMP
  max_threads = std::min(2, omp_get_num_procs());
#endif
  set_threads(1);
  const double gemm_f = gemm_gflops<float>();
  const double gemm_d = gemm_gflops<double>();
  std::printf(
      "Eigen single-core GEMM (best of 1024^3, 512^3): float %.1f GFLOP/s, double %.1f GFLOP/s "
      "(SIMD: %s)\n\n",
      gemm_f, gemm_d, Eigen::SimdInstructionSetsInUse());
  const ConvShape shapes[] = {
      {"(a) 1ch 256x256, 64 filt 7x7", 64, 1, 7, 7, 256, 256},
      {"(b) 64ch 64x64 -> 128 filt 3x3", 128, 64, 3, 3, 64, 64},
      {"(c) 1-D 1ch 65536, 32 filt 64", 32, 1, 1, 64, 1, 65536},
  };
  if (variants) {
    using namespace mlcsc::internal;
    for (const auto& s : shapes) {
      if (only && s.name[1] != only) continue;
      run_variant<DefaultConvBlocking>(s, "default", gemm_f);
      run_variant<ConvBlocking32>(s, "32 registers", gemm_f);
      run_variant<ConvBlocking16>(s, "16 registers", gemm_f);
    }
    return 0;
  }
  std::printf(
      "GFLOP/s = 2 K C kh kw H W / time, the direct convolution's count for every kernel (the\n"
      "Winograd F(2x2,3x3) path does 2.25x fewer multiply-adds, so its rate can pass GEMM's).\n\n");
  std::printf("%-34s %-10s %-6s %-9s %7s %10s %9s %9s\n", "shape (Zero boundary)", "op", "type",
              "kernel", "threads", "ms", "GFLOP/s", "% GEMM");
  for (const auto& s : shapes) {
    if (only && s.name[1] != only) continue;
    run_shape<float>(s, "float", gemm_f, max_threads);
    run_shape<double>(s, "double", gemm_d, max_threads);
    if (with_reference) run_reference<float>(s, "float", gemm_f);
  }
  return 0;
}
