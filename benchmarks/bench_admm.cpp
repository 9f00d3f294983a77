// bench_admm: the convolutional Lasso in the frequency domain (issue 13), one thread.
//  (1) Time to the objective SPORCO's ADMM (admm.cbpdn.ConvBPDN, Wohlberg 2016) reaches in 200
//      iterations, by mlcsc's Method::ADMM and Method::FISTA, float and double, next to SPORCO's
//      own time for its 200 iterations (the ratio is SPORCO's time over mlcsc's);
//  (2) one ADMM iteration against the 2 K FFTs it makes (K forward, K inverse per image);
//  (3) the rule that picks the FFT or the direct kernels for analyze / synthesize, against
//      both timed (--rule: this part alone).
// Problems: benchmarks/compare/sporco_cbpdn.py writes SPORCO's example problems into a directory
// (default /tmp/sporco_problems): <name>_signal.npy (N x C x H x W), <name>_dict.npy
// (K x C x kh x kw) and <name>_target.txt (lambda, and per data type SPORCO's objective after 200
// iterations and its time). For clr_gd (a colour image, a grey dictionary) each colour channel is
// its own image of the batch. Without those files, a synthetic problem of the grey one's size: 36
// random 12 x 12 filters on a smooth random 256 x 256 image, lambda 0.05, and as the target the
// objective of 200 of mlcsc's own ADMM iterations in double.
// The objective is evaluated by the solver's callback (a direct synthesis) in a first run; the
// time is that of a second run of as many iterations without it. --csv DIR writes each run's
// (seconds, objective) curve for compare/plot_objective.py.
//   bench_admm [--dir DIR] [--problems grey,clr_gd,clr_cd] [--max-fista N] [--csv DIR] [--rule]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <mlcsc/mlcsc.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

using mlcsc::Index;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
  double lambda = 0.05;
  std::map<std::string, std::pair<double, double>> by_type;  // float64/float32: objective, seconds
};

struct Problem {
  std::string name;
  mlcsc::FeatureMaps<double> signal;
  mlcsc::ConvDictionary<double> dict{1, 1, 1, 1};
  Target target;
  bool sporco = false;
};

bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

Target read_target(const std::string& path) {
  Target t;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string key;
    ss >> key;
    if (key == "lambda") {
      ss >> t.lambda;
    } else if (!key.empty()) {
      double obj, sec;
      if (ss >> obj >> sec) t.by_type[key] = {obj, sec};
    }
  }
  return t;
}

Problem synthetic() {
  Problem p;
  p.name = "synthetic";
  std::mt19937 g(7);
  std::normal_distribution<double> nd(0.0, 1.0);
  p.dict = mlcsc::ConvDictionary<double>(36, 1, 12, 12, mlcsc::Boundary::Circular);
  for (Index i = 0; i < p.dict.filters().size(); ++i) p.dict.filters().data()[i] = nd(g);
  p.dict.normalize();
  // a smooth random image: white noise through a 7 x 7 box, twice, then zero mean
  const Index H = 256, W = 256;
  std::vector<double> a(H * W), b(H * W);
  for (auto& v : a) v = nd(g);
  for (int pass = 0; pass < 2; ++pass) {
    for (Index i = 0; i < H; ++i)
      for (Index j = 0; j < W; ++j) {
        double s = 0;
        for (Index u = -3; u <= 3; ++u)
          for (Index v = -3; v <= 3; ++v) s += a[((i + u + H) % H) * W + (j + v + W) % W];
        b[i * W + j] = s / 49;
      }
    a.swap(b);
  }
  p.signal = mlcsc::FeatureMaps<double>(1, 1, H, W);
  const double mean = std::accumulate(a.begin(), a.end(), 0.0) / double(a.size());
  for (Index i = 0; i < H * W; ++i) p.signal.data().data()[i] = (a[i] - mean) * 2;
  p.target.lambda = 0.05;
  return p;
}

template <class S>
mlcsc::ConvDictionary<S> cast(const mlcsc::ConvDictionary<double>& D) {
  mlcsc::ConvDictionary<S> d(D.num_filters(), D.channels(), D.kernel_height(), D.kernel_width(),
                             mlcsc::Boundary::Circular);
  d.filters() = D.filters().template cast<S>();
  return d;
}

struct Run {
  int iterations = 0;
  double seconds = 0;  // to the target (or the whole run when it is not reached)
  double objective = 0;
  bool reached = false;
  std::vector<std::pair<double, double>> curve;
};

// Solves until the objective is at most `target` (or max_iterations): a first run with the
// callback finds the iterations and the objective curve; a second, without a callback (the same
// deterministic iterates), is timed, best of `reps`. The curve's times are the iteration counts
// at that rate.
template <class S>
Run run(const mlcsc::ConvDictionary<S>& D, const mlcsc::FeatureMaps<S>& y, mlcsc::Method m,
        double lambda, double target, int max_iterations, int reps = 2) {
  mlcsc::LassoParams<S> p;
  p.method = m;
  p.lambda = S(lambda);
  p.tolerance = S(0);
  p.max_iterations = max_iterations;
  Run r;
  std::vector<double> objective;
  p.callback = [&](int k, S obj) {
    objective.push_back(double(obj));
    r.iterations = k;
    r.objective = double(obj);
    r.reached = double(obj) <= target;
    return !r.reached;
  };
  (void)mlcsc::lasso(D, y, p);
  p.callback = nullptr;
  p.max_iterations = r.iterations;
  mlcsc::LassoSolver<mlcsc::ConvDictionary<S>> solver(D, p);
  auto code = D.code_like(y);
  r.seconds = 1e30;
  for (int rep = 0; rep < reps; ++rep) {
    const auto a = Clock::now();
    solver.solve(y, code);
    r.seconds = std::min(r.seconds, std::chrono::duration<double>(Clock::now() - a).count());
  }
  for (std::size_t k = 0; k < objective.size(); ++k)
    r.curve.push_back({r.seconds * double(k + 1) / double(r.iterations), objective[k]});
  return r;
}

// Seconds per ADMM iteration (no callback) and per set of 2 K FFTs of the same planes.
template <class S>
std::pair<double, double> iteration_vs_ffts(const mlcsc::ConvDictionary<S>& D,
                                            const mlcsc::FeatureMaps<S>& y, double lambda) {
  // the difference of 60 and 20 iterations: the per-solve setup (signal spectra, Gram) cancels
  auto timed = [&](int its) {
    mlcsc::LassoParams<S> p;
    p.method = mlcsc::Method::ADMM;
    p.lambda = S(lambda);
    p.tolerance = S(0);
    p.max_iterations = its;
    mlcsc::LassoSolver<mlcsc::ConvDictionary<S>> solver(D, p);
    auto code = D.code_like(y);
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      const auto a = Clock::now();
      solver.solve(y, code);
      best = std::min(best, std::chrono::duration<double>(Clock::now() - a).count());
    }
    return best;
  };
  const double best_it = (timed(60) - timed(20)) / 40;
  const Index K = D.num_filters(), N = y.batch(), H = y.height(), W = y.width();
  mlcsc::internal::RealFFT2<S> fft(H, W);
  mlcsc::Vector<S> planes = mlcsc::Vector<S>::Random(K * H * W);
  Eigen::Array<std::complex<S>, Eigen::Dynamic, 1> spec(K * fft.spectrum_size());
  double best_fft = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto a = Clock::now();
    for (Index n = 0; n < N; ++n) {
      fft.forward(planes.data(), spec.data(), K);
      fft.inverse(spec.data(), planes.data(), K);
    }
    best_fft = std::min(best_fft, std::chrono::duration<double>(Clock::now() - a).count());
    planes /= S(H * W);
  }
  return {best_it, best_fft};
}

void write_csv(const std::string& dir, const std::string& label, const Run& r) {
  if (dir.empty()) return;
  std::ofstream out(dir + "/" + label + ".csv");
  out.precision(17);
  out << "seconds,objective\n";
  for (const auto& [t, f] : r.curve) out << t << "," << f << "\n";
}

template <class S>
void bench(const Problem& pb, const char* type, int max_fista, const std::string& csv) {
  const auto D = cast<S>(pb.dict);
  mlcsc::FeatureMaps<S> y(pb.signal.batch(), pb.signal.channels(), pb.signal.height(),
                          pb.signal.width());
  y.data() = pb.signal.data().template cast<S>();
  double target, sporco_seconds = 0;
  auto it = pb.target.by_type.find(type);
  if (it != pb.target.by_type.end()) {
    target = it->second.first;
    sporco_seconds = it->second.second;
  } else {
    target = run(cast<double>(pb.dict), pb.signal, mlcsc::Method::ADMM, pb.target.lambda, -1, 200)
                 .objective;
  }
  for (auto m : {mlcsc::Method::ADMM, mlcsc::Method::FISTA}) {
    const bool admm = m == mlcsc::Method::ADMM;
    const Run r = run(D, y, m, pb.target.lambda, target, admm ? 2000 : max_fista);
    const std::string label =
        pb.name + "_" + type + "_" + (admm ? "admm" : "fista") + "_" +
        (std::strcmp(mlcsc::internal::fft_backend_name(), "FFTW 3") == 0 ? "fftw" : "eigen");
    write_csv(csv, label, r);
    char ratio[32] = "-";
    if (sporco_seconds > 0 && r.reached)
      std::snprintf(ratio, sizeof ratio, "%.1fx", sporco_seconds / r.seconds);
    std::printf("  %-7s %-6s %-8s %6d %s %9.3f s %16.9g  %8s\n", pb.name.c_str(), type,
                admm ? "ADMM" : "FISTA", r.iterations, r.reached ? "reached" : "not yet", r.seconds,
                r.objective, ratio);
  }
  const auto [it_s, fft_s] = iteration_vs_ffts(D, y, pb.target.lambda);
  std::printf("  %-7s %-6s one ADMM iteration %.2f ms, its 2K FFTs %.2f ms: %.2fx\n",
              pb.name.c_str(), type, 1e3 * it_s, 1e3 * fft_s, it_s / fft_s);
}

// (3) The cost model of fft/frequency_conv.hpp against measurement: analyze and synthesize of one
// image, direct kernels (FrequencyDomain::Never) and FFT (Always), and what Automatic picks.
void frequency_rule() {
  std::printf(
      "(3) direct kernels or FFT (analyze + synthesize, float, one image; the rule's choice "
      "starred)\n");
  struct Shape {
    Index K, C, k, H;
  };
  const Shape shapes[] = {{36, 1, 12, 256}, {64, 1, 7, 256},  {64, 3, 8, 256},
                          {64, 16, 5, 64},  {16, 1, 16, 256}, {8, 1, 32, 128}};
  std::mt19937 g(3);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (const Shape& sh : shapes) {
    mlcsc::ConvDictionary<float> D(sh.K, sh.C, sh.k, sh.k, mlcsc::Boundary::Circular);
    for (Index i = 0; i < D.filters().size(); ++i) D.filters().data()[i] = float(nd(g));
    mlcsc::FeatureMaps<float> x(1, sh.C, sh.H, sh.H), gam(1, sh.K, sh.H, sh.H);
    for (Index i = 0; i < x.data().size(); ++i) x.data().data()[i] = float(nd(g));
    const bool automatic = D.uses_frequency_domain(sh.H, sh.H);
    double t[2];
    for (int f = 0; f < 2; ++f) {
      D.set_frequency_domain(f ? mlcsc::FrequencyDomain::Always : mlcsc::FrequencyDomain::Never);
      t[f] = 1e30;
      for (int rep = 0; rep < 4; ++rep) {
        const auto a = Clock::now();
        D.analyze(x, gam);
        D.synthesize(gam, x);
        t[f] = std::min(t[f], std::chrono::duration<double>(Clock::now() - a).count());
        x.data() /= x.data().norm();
      }
    }
    std::printf(
        "  %3ld -> %3ld filters %2ldx%-2ld on %ldx%ld: direct %8.2f ms%s  FFT %8.2f ms%s  "
        "(direct / FFT %.2f)\n",
        long(sh.C), long(sh.K), long(sh.k), long(sh.k), long(sh.H), long(sh.H), 1e3 * t[0],
        automatic ? " " : "*", 1e3 * t[1], automatic ? "*" : " ", t[0] / t[1]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/sporco_problems", list = "grey,clr_gd,clr_cd", csv;
  int max_fista = 1500;
  bool rule_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--problems")
      list = argv[i + 1];
    else if (a == "--max-fista")
      max_fista = std::atoi(argv[i + 1]);
    else if (a == "--csv")
      csv = argv[i + 1];
  }
  for (int i = 1; i < argc; ++i) rule_only = rule_only || std::string(argv[i]) == "--rule";
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
  std::vector<Problem> problems;
  std::stringstream names(list);
  for (std::string name; std::getline(names, name, ',');) {
    const std::string base = dir + "/" + name;
    if (!exists(base + "_signal.npy") || !exists(base + "_dict.npy")) continue;
    Problem p;
    p.name = name;
    p.signal = mlcsc::io::load_feature_maps<double>(base + "_signal.npy");
    p.dict = mlcsc::io::load_conv_dictionary<double>(base + "_dict.npy", mlcsc::Boundary::Circular);
    if (p.dict.channels() == 1 && p.signal.channels() > 1) {  // each channel its own image
      mlcsc::FeatureMaps<double> s(p.signal.batch() * p.signal.channels(), 1, p.signal.height(),
                                   p.signal.width());
      s.data() = Eigen::Map<const mlcsc::RowMatrix<double>>(p.signal.data().data(), s.data().rows(),
                                                            s.data().cols());
      p.signal = std::move(s);
    }
    if (exists(base + "_target.txt")) {
      p.target = read_target(base + "_target.txt");
      p.sporco = true;
    }
    problems.push_back(std::move(p));
  }
  if (problems.empty()) {
    std::printf(
        "(no SPORCO problems in %s: run benchmarks/compare/sporco_cbpdn.py; a synthetic "
        "problem instead)\n",
        dir.c_str());
    problems.push_back(synthetic());
  }
  std::printf("mlcsc bench_admm: FFT backend %s, one thread\n",
              mlcsc::internal::fft_backend_name());
  if (rule_only) {
    frequency_rule();
    return 0;
  }
  std::printf(
      "(1) time to the objective of SPORCO's 200 ADMM iterations (ratio: SPORCO's time / "
      "mlcsc's)\n");
  for (const auto& p : problems) {
    std::printf("  %s: %ld x %ld x %ld x %ld signal, %ld filters of %ld x %ld x %ld, lambda %g%s\n",
                p.name.c_str(), long(p.signal.batch()), long(p.signal.channels()),
                long(p.signal.height()), long(p.signal.width()), long(p.dict.num_filters()),
                long(p.dict.channels()), long(p.dict.kernel_height()), long(p.dict.kernel_width()),
                p.target.lambda, p.sporco ? "" : " (no SPORCO figures)");
    for (const char* type : {"float32", "float64"}) {
      auto it = p.target.by_type.find(type);
      if (it != p.target.by_type.end())
        std::printf("  %-7s %-6s SPORCO   %6d reached %9.3f s %16.9g\n", p.name.c_str(), type, 200,
                    it->second.second, it->second.first);
      if (std::strcmp(type, "float32") == 0)
        bench<float>(p, type, max_fista, csv);
      else
        bench<double>(p, type, max_fista, csv);
    }
  }
  frequency_rule();
}
