// Dense batch-coding benchmark: 10,000 real 8x8 patches of examples/data/camera.png (mean removed)
// coded over the 256-atom overcomplete 2-D DCT, in float and double, on 1 and 2 threads.
//
//   bench_dense                      the full table (thresholding, ISTA, FISTA, CD, OMP-10)
//   bench_dense --lambda X           another lambda (default 0.08)
//   bench_dense --repeats N          best of N timed runs (default 3)
//   bench_dense --dump DIR           write DIR/Y.npy (64 x 10000), DIR/D.npy (64 x 256), both
//                                    float64, and DIR/lambda.txt, then exit
//   bench_dense --compare F_sklearn  machine-readable lines for
//   benchmarks/compare/sklearn_lasso.py:
//                                    CD (double, 1 thread) time and objective, FISTA iterations to
//                                    reach F_sklearn (restart and textbook)
//   bench_dense --sweep              the exact Lasso (CoordinateDescent, 1 thread) over a sweep of
//                                    lambda = f lambda_max, f in {0.05, 0.1, 0.2, 0.3, 0.5}, on two
//                                    dictionaries (see below), double and float: time, objective,
//                                    mean nonzeros, KKT violation; one `sweep ...` line per point
//   bench_dense --sweep --dump DIR   write the sweep's data for sklearn_lasso.py --sweep:
//                                    DIR/Y_sweep.npy, DIR/D_gauss.npy, DIR/D_patch.npy,
//                                    DIR/sweep.txt (one `dict fraction lambda` line a point)
//
// The sweep codes 10,000 mean-removed 8x8 patches of examples/data/brick.png (the same grid as
// above) over (a) a Gaussian dictionary, 64 x 256, unit-norm columns (mt19937_64 seed 11,
// Box-Muller) and (b) 256 unit-norm mean-removed 8x8 patches of examples/data/camera.png at
// random positions (mt19937_64 seed 12; patches of norm < 0.5 are skipped so that no atom is
// flat noise). lambda_max = max_b ||D^T y_b||_inf over the batch: the smallest lambda for which
// every code is 0.
//
// Timings on a shared 2-core machine are noisy: every figure is the best of --repeats runs, and
// the ratios (FISTA iteration / two GEMMs, 2 threads / 1 thread) are measured in the same run.
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <mlcsc/mlcsc.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPatch = 8;
constexpr int kPatches = 10000;

void set_threads(int t) {
#ifdef _OPENMP
  omp_set_num_threads(t);
#else
  (void)t;
#endif
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best wall time of `repeats` calls of f.
double best_of(int repeats, const std::function<void()>& f) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// 10,000 8x8 patches on a regular grid (stride 5: 101 x 101 positions, the first 10,000 in
// row-major order), flattened row by row (index u*8 + v), each with its mean removed.
Eigen::MatrixXd load_patches(const std::string& path) {
  int w = 0, h = 0, c = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &c, 1);
  if (!data) throw std::runtime_error("cannot read image '" + path + "'");
  const int stride = 5;
  const int per_row = (w - kPatch) / stride + 1, per_col = (h - kPatch) / stride + 1;
  if (per_row * per_col < kPatches) throw std::runtime_error("image too small: " + path);
  Eigen::MatrixXd Y(kPatch * kPatch, kPatches);
  for (int p = 0; p < kPatches; ++p) {
    const int r0 = (p / per_row) * stride, c0 = (p % per_row) * stride;
    for (int u = 0; u < kPatch; ++u)
      for (int v = 0; v < kPatch; ++v) Y(u * kPatch + v, p) = data[(r0 + u) * w + c0 + v] / 255.0;
  }
  stbi_image_free(data);
  Y.rowwise() -= Y.colwise().mean();
  return Y;
}

// The overcomplete 2-D DCT of the K-SVD papers: 1-D atoms cos(pi i k / 16), i < 8, k < 16 (the
// non-constant ones made zero-mean), unit norm; 2-D atoms are their outer products (k1 * 16 + k2).
Eigen::MatrixXd overcomplete_dct() {
  const int K = 16;
  Eigen::MatrixXd D1(kPatch, K);
  for (int k = 0; k < K; ++k) {
    for (int i = 0; i < kPatch; ++i) D1(i, k) = std::cos(M_PI * i * k / K);
    if (k > 0) D1.col(k).array() -= D1.col(k).mean();
    D1.col(k).normalize();
  }
  Eigen::MatrixXd D(kPatch * kPatch, K * K);
  for (int k1 = 0; k1 < K; ++k1)
    for (int k2 = 0; k2 < K; ++k2)
      for (int u = 0; u < kPatch; ++u)
        for (int v = 0; v < kPatch; ++v) D(u * kPatch + v, k1 * K + k2) = D1(u, k1) * D1(v, k2);
  D.colwise().normalize();
  return D;
}

// The Gaussian dictionary of the sweep: n x m, N(0, 1) entries by Box-Muller over mt19937_64
// (reproducible across standard libraries), unit-norm columns.
Eigen::MatrixXd gaussian_dictionary(int n, int m, unsigned seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return (double(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
  Eigen::MatrixXd D(n, m);
  for (Eigen::Index i = 0; i < D.size(); ++i)
    D.data()[i] = std::sqrt(-2 * std::log(uniform())) * std::cos(2 * M_PI * uniform());
  D.colwise().normalize();
  return D;
}

// The image-patch dictionary of the sweep: m mean-removed 8x8 patches of `path` at random
// positions (mt19937_64 `seed`), those of norm >= min_norm (pixel values in [0, 1]), unit norm.
Eigen::MatrixXd patch_dictionary(const std::string& path, int m, unsigned seed, double min_norm) {
  int w = 0, h = 0, c = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &c, 1);
  if (!data) throw std::runtime_error("cannot read image '" + path + "'");
  std::mt19937_64 rng(seed);
  Eigen::MatrixXd D(kPatch * kPatch, m);
  for (int j = 0; j < m;) {
    const int r0 = int(rng() % unsigned(h - kPatch + 1)),
              c0 = int(rng() % unsigned(w - kPatch + 1));
    Eigen::VectorXd a(kPatch * kPatch);
    for (int u = 0; u < kPatch; ++u)
      for (int v = 0; v < kPatch; ++v) a(u * kPatch + v) = data[(r0 + u) * w + c0 + v] / 255.0;
    a.array() -= a.mean();
    if (a.norm() < min_norm) continue;
    D.col(j++) = a.normalized();
  }
  stbi_image_free(data);
  return D;
}

struct SweepData {
  Eigen::MatrixXd Y;
  std::vector<std::string> names;
  std::vector<Eigen::MatrixXd> dicts;
  std::vector<double> fractions{0.05, 0.1, 0.2, 0.3, 0.5};
};

SweepData sweep_data() {
  const std::string dir = std::string(MLCSC_SOURCE_DIR) + "/examples/data/";
  SweepData s;
  s.Y = load_patches(dir + "brick.png");
  s.names = {"gauss", "patch"};
  s.dicts = {gaussian_dictionary(kPatch * kPatch, 256, 11),
             patch_dictionary(dir + "camera.png", 256, 12, 0.5)};
  return s;
}

double lambda_max(const Eigen::MatrixXd& D, const Eigen::MatrixXd& Y) {
  return (D.transpose() * Y).cwiseAbs().maxCoeff();
}

// A float64 .npy in C order holding M (rows x cols) written by hand.
void save_npy(const std::string& path, const Eigen::MatrixXd& M) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" +
                       std::to_string(M.rows()) + ", " + std::to_string(M.cols()) + "), }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  const unsigned short len = (unsigned short)header.size();
  f.write("\x93NUMPY\x01\x00", 8);
  f.put(char(len & 0xff));
  f.put(char(len >> 8));
  f.write(header.data(), std::streamsize(header.size()));
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> R = M;
  f.write(reinterpret_cast<const char*>(R.data()), std::streamsize(sizeof(double) * R.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

// Largest violation of the Lasso KKT conditions, relative to lambda:
// |(D^T(y - D g))_j| <= lambda off the support, = lambda sign(g_j) on it.
template <class S>
double kkt_violation(const Eigen::MatrixXd& D, const Eigen::MatrixXd& Y, const mlcsc::Matrix<S>& G,
                     double lambda) {
  const Eigen::MatrixXd Gd = G.template cast<double>();
  const Eigen::MatrixXd C = D.transpose() * (Y - D * Gd);
  double worst = 0;
  for (Eigen::Index b = 0; b < C.cols(); ++b)
    for (Eigen::Index j = 0; j < C.rows(); ++j) {
      const double g = Gd(j, b), c = C(j, b);
      const double v = g == 0 ? std::max(0.0, std::abs(c) - lambda)
                              : std::abs(c - lambda * (g > 0 ? 1.0 : -1.0));
      worst = std::max(worst, v);
    }
  return worst / lambda;
}

template <class S>
double objective(const Eigen::MatrixXd& D, const Eigen::MatrixXd& Y, const mlcsc::Matrix<S>& G,
                 double lambda) {
  const Eigen::MatrixXd Gd = G.template cast<double>();
  return 0.5 * (Y - D * Gd).squaredNorm() + lambda * Gd.cwiseAbs().sum();
}

template <class S>
double mean_nnz(const mlcsc::Matrix<S>& G) {
  return double((G.array() != S(0)).count()) / double(G.cols());
}

// FISTA iterations until the objective (in double) reaches `target`; -1 when max_it is reached.
template <class S>
int fista_iterations_to(const mlcsc::Dictionary<S>& D, const mlcsc::Matrix<S>& Y, double lambda,
                        bool restart, double target, int max_it) {
  mlcsc::LassoParams<S> p;
  p.lambda = S(lambda);
  p.method = mlcsc::Method::FISTA;
  p.adaptive_restart = restart;
  p.tolerance = S(0);
  p.max_iterations = max_it;
  int reached = -1;
  p.callback = [&](int it, S obj) {
    if (double(obj) <= target) {
      reached = it;
      return false;
    }
    return true;
  };
  (void)mlcsc::lasso(D, Y, p);
  return reached;
}

struct Row {
  std::string method;
  double seconds[2] = {0, 0};  // 1 and 2 threads
  int iterations = 0;
  double flops = 0;  // per run, 0 when not meaningful
  double nnz = 0, obj = 0, kkt = -1;
};

template <class S>
void run_precision(const Eigen::MatrixXd& Dd, const Eigen::MatrixXd& Yd, double lambda, int repeats,
                   const char* name) {
  using M = mlcsc::Matrix<S>;
  mlcsc::Dictionary<S> D(Dd.cast<S>());
  const M Y = Yd.cast<S>();
  const double n = double(D.signal_size()), m = double(D.num_atoms()), B = double(Y.cols());
  std::vector<Row> rows;

  auto lasso_row = [&](const char* label, mlcsc::Method method, int max_it, S tol, bool restart) {
    Row r;
    r.method = label;
    mlcsc::LassoParams<S> p;
    p.lambda = S(lambda);
    p.method = method;
    p.max_iterations = max_it;
    p.tolerance = tol;
    p.adaptive_restart = restart;
    mlcsc::PursuitResult<M, S> res;
    for (int t = 1; t <= 2; ++t) {
      set_threads(t);
      r.seconds[t - 1] = best_of(repeats, [&] { res = mlcsc::lasso(D, Y, p); });
    }
    r.iterations = res.iterations;
    if (method != mlcsc::Method::CoordinateDescent) r.flops = 4 * n * m * B * res.iterations;
    r.nnz = mean_nnz(res.code);
    r.obj = objective(Dd, Yd, res.code, lambda);
    r.kkt = kkt_violation(Dd, Yd, res.code, lambda);
    rows.push_back(r);
    return res;
  };

  {  // thresholding at lambda
    Row r;
    r.method = "thresholding (b = lambda)";
    M G;
    for (int t = 1; t <= 2; ++t) {
      set_threads(t);
      r.seconds[t - 1] = best_of(
          repeats, [&] { G = mlcsc::thresholding(D, Y, S(lambda), mlcsc::Shrinkage::Soft); });
    }
    r.iterations = 1;
    r.flops = 2 * n * m * B;
    r.nnz = mean_nnz(G);
    r.obj = objective(Dd, Yd, G, lambda);
    rows.push_back(r);
  }
  lasso_row("ISTA (100 iterations)", mlcsc::Method::ISTA, 100, S(0), false);
  lasso_row("FISTA (300 it.; default)", mlcsc::Method::FISTA, 300, S(0), false);
  lasso_row("FISTA, restart (300 it.)", mlcsc::Method::FISTA, 300, S(0), true);
  const auto cd =
      lasso_row("CoordinateDescent", mlcsc::Method::CoordinateDescent, 1000, S(1e-6), true);
  {
    Row r;
    r.method = "OMP, 10 atoms";
    mlcsc::OmpParams<S> p;
    p.max_atoms = 10;
    mlcsc::PursuitResult<M, S> res;
    for (int t = 1; t <= 2; ++t) {
      set_threads(t);
      r.seconds[t - 1] = best_of(repeats, [&] { res = mlcsc::omp(D, Y, p); });
    }
    r.iterations = res.iterations;
    r.nnz = mean_nnz(res.code);
    r.obj = 0.5 * (Yd - Dd * res.code.template cast<double>()).squaredNorm();
    rows.push_back(r);
  }

  // One FISTA iteration against the two GEMMs it needs, same shapes, same run, per thread count.
  double gemm[2], fista_it[2];
  {
    const M Gm = cd.code;
    M X(D.signal_size(), Y.cols()), C(D.num_atoms(), Y.cols());
    mlcsc::LassoParams<S> p;
    p.lambda = S(lambda);
    p.method = mlcsc::Method::FISTA;
    p.tolerance = S(0);
    const int its = 50;
    p.max_iterations = its;
    for (int t = 1; t <= 2; ++t) {
      set_threads(t);
      gemm[t - 1] = best_of(repeats + 2, [&] {
        X.noalias() = D.matrix() * Gm;
        C.noalias() = D.matrix().transpose() * X;
      });
      // 50 iterations plus setup and the final objective (one synthesis): count that as overhead.
      fista_it[t - 1] = best_of(repeats, [&] { (void)mlcsc::lasso(D, Y, p); }) / its;
    }
  }

  std::printf("\n== %s: %d patches of %dx%d, %d atoms, lambda = %g ==\n", name, int(B), kPatch,
              kPatch, int(m), lambda);
  std::printf("%-28s %10s %10s %7s %6s %9s %8s %7s %14s %9s\n", "method", "1T [ms]", "2T [ms]",
              "2T/1T", "iters", "GFLOP/s", "GFLOP/s", "nnz", "objective", "KKT/lam");
  std::printf("%-28s %10s %10s %7s %6s %9s %8s %7s %14s %9s\n", "", "", "", "", "", "1T", "2T", "",
              "", "");
  for (const Row& r : rows) {
    char g1[32] = "-", g2[32] = "-", kkt[32] = "-";
    if (r.flops > 0) {
      std::snprintf(g1, sizeof g1, "%.1f", r.flops / r.seconds[0] * 1e-9);
      std::snprintf(g2, sizeof g2, "%.1f", r.flops / r.seconds[1] * 1e-9);
    }
    if (r.kkt >= 0) std::snprintf(kkt, sizeof kkt, "%.1e", r.kkt);
    std::printf("%-28s %10.2f %10.2f %7.2f %6d %9s %8s %7.2f %14.8e %9s\n", r.method.c_str(),
                r.seconds[0] * 1e3, r.seconds[1] * 1e3, r.seconds[0] / r.seconds[1], r.iterations,
                g1, g2, r.nnz, r.obj, kkt);
  }
  const double gemm_flops = 4 * n * m * B;
  for (int t = 0; t < 2; ++t)
    std::printf(
        "FISTA iteration vs its two GEMMs (D*G, D^T*R), %dT: %.3f ms / %.3f ms = %.2fx"
        "  (GEMMs at %.1f GFLOP/s)\n",
        t + 1, fista_it[t] * 1e3, gemm[t] * 1e3, fista_it[t] / gemm[t],
        gemm_flops / gemm[t] * 1e-9);
  const double F = objective(Dd, Yd, cd.code, lambda);
  set_threads(2);
  const int it_restart = fista_iterations_to(D, Y, lambda, true, F * (1 + 1e-6), 3000);
  const int it_text = fista_iterations_to(D, Y, lambda, false, F * (1 + 1e-6), 3000);
  std::printf(
      "FISTA iterations to the CD objective x (1 + 1e-6): textbook (the default) %d, adaptive "
      "restart %d%s\n",
      it_text, it_restart, (it_restart < 0 || it_text < 0) ? "  (-1: not in 3000)" : "");
}

// CPU time of the calling thread (the sweep runs on one thread): less disturbed than wall time
// by other jobs on a shared machine.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// The lambda sweep of the exact Lasso: one thread, best of `repeats` (wall and CPU time); one
// line a point.
template <class S>
void run_sweep(const SweepData& s, int repeats, const char* precision) {
  set_threads(1);
  const mlcsc::Matrix<S> Y = s.Y.cast<S>();
  for (size_t d = 0; d < s.dicts.size(); ++d) {
    const Eigen::MatrixXd& Dd = s.dicts[d];
    mlcsc::Dictionary<S> D(Dd.cast<S>());
    const double lmax = lambda_max(Dd, s.Y);
    for (double f : s.fractions) {
      const double lambda = f * lmax;
      mlcsc::LassoParams<S> p;
      p.lambda = S(lambda);
      p.method = mlcsc::Method::CoordinateDescent;
      mlcsc::PursuitResult<mlcsc::Matrix<S>, S> res;
      double cpu = std::numeric_limits<double>::infinity();
      const double t = best_of(repeats, [&] {
        const double c0 = thread_cpu_seconds();
        res = mlcsc::lasso(D, Y, p);
        cpu = std::min(cpu, thread_cpu_seconds() - c0);
      });
      std::printf("sweep %s %s %.2f %.9e %.6f %.6f %.12e %.3f %.1e %d\n", precision,
                  s.names[d].c_str(), f, lambda, t, cpu, objective(Dd, s.Y, res.code, lambda),
                  mean_nnz(res.code), kkt_violation(Dd, s.Y, res.code, lambda), int(res.converged));
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string image = std::string(MLCSC_SOURCE_DIR) + "/examples/data/camera.png";
  std::string dump;
  double lambda = 0.08, compare_target = -1;
  int repeats = 3;
  bool sweep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument("missing value after " + a);
      return argv[++i];
    };
    if (a == "--lambda")
      lambda = std::stod(next());
    else if (a == "--repeats")
      repeats = std::max(1, std::stoi(next()));
    else if (a == "--dump")
      dump = next();
    else if (a == "--image")
      image = next();
    else if (a == "--compare")
      compare_target = std::stod(next());
    else if (a == "--sweep")
      sweep = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_dense [--lambda X] [--repeats N] [--image PATH] [--dump DIR]"
                   " [--compare F_sklearn] [--sweep]\n");
      return 2;
    }
  }
  if (sweep) {
    const SweepData s = sweep_data();
    if (!dump.empty()) {
      save_npy(dump + "/Y_sweep.npy", s.Y);
      std::ofstream list(dump + "/sweep.txt");
      for (size_t d = 0; d < s.dicts.size(); ++d) {
        save_npy(dump + "/D_" + s.names[d] + ".npy", s.dicts[d]);
        const double lmax = lambda_max(s.dicts[d], s.Y);
        for (double f : s.fractions) {
          char line[128];
          std::snprintf(line, sizeof line, "%s %.2f %.17g\n", s.names[d].c_str(), f, f * lmax);
          list << line;
        }
      }
      std::printf("wrote %s/Y_sweep.npy, D_gauss.npy, D_patch.npy, sweep.txt\n", dump.c_str());
      return 0;
    }
    std::printf(
        "# sweep precision dict fraction lambda time_s cpu_s objective nnz kkt/lambda "
        "converged\n");
    run_sweep<double>(s, repeats, "double");
    run_sweep<float>(s, repeats, "float");
    return 0;
  }
  const Eigen::MatrixXd Y = load_patches(image);
  const Eigen::MatrixXd D = overcomplete_dct();

  if (!dump.empty()) {
    save_npy(dump + "/Y.npy", Y);
    save_npy(dump + "/D.npy", D);
    std::ofstream(dump + "/lambda.txt") << std::to_string(lambda) << "\n";
    std::printf("wrote %s/Y.npy (%dx%d), D.npy (%dx%d), lambda.txt (%g)\n", dump.c_str(),
                int(Y.rows()), int(Y.cols()), int(D.rows()), int(D.cols()), lambda);
    return 0;
  }

  if (compare_target > 0) {  // for sklearn_lasso.py: double, CD on 1 thread, then FISTA counts
    mlcsc::Dictionary<double> Dict(D);
    mlcsc::LassoParams<double> p;
    p.lambda = lambda;
    p.method = mlcsc::Method::CoordinateDescent;
    mlcsc::PursuitResult<Eigen::MatrixXd, double> res;
    set_threads(1);
    const double t1 = best_of(repeats, [&] { res = mlcsc::lasso(Dict, Y, p); });
    set_threads(2);
    const double t2 = best_of(repeats, [&] { res = mlcsc::lasso(Dict, Y, p); });
    const double F = objective(D, Y, res.code, lambda);
    std::printf("cd_time_1t %.6f\ncd_time_2t %.6f\ncd_objective %.12e\ncd_sweeps %d\n", t1, t2, F,
                res.iterations);
    std::printf("cd_kkt %.3e\ncd_nnz %.3f\n", kkt_violation(D, Y, res.code, lambda),
                mean_nnz(res.code));
    const double target = compare_target * (1 + 1e-6);
    const int with_restart = fista_iterations_to(Dict, Y, lambda, true, target, 5000);
    const int textbook = fista_iterations_to(Dict, Y, lambda, false, target, 5000);
    const bool default_restart = mlcsc::LassoParams<double>{}.adaptive_restart;
    std::printf("fista_restart_iterations %d\nfista_textbook_iterations %d\n", with_restart,
                textbook);
    std::printf("fista_default_iterations %d\n", default_restart ? with_restart : textbook);
    return 0;
  }

  std::printf("bench_dense: %s, best of %d runs per entry; machine shared, compare ratios.\n",
              image.c_str(), repeats);
#ifdef _OPENMP
  std::printf("OpenMP: up to %d threads\n", omp_get_max_threads());
#endif
  run_precision<double>(D, Y, lambda, repeats, "double");
  run_precision<float>(D, Y, lambda, repeats, "float");
  return 0;
}
