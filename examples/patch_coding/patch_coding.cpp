// patch_coding: the dense sparse-coding demo. Every 8x8 patch of a photograph (on a grid of
// stride 4 by default, so each pixel lies in up to 4 patches), mean removed, is coded over the
// 256-atom overcomplete 2-D DCT by thresholding, by FISTA and by exact coordinate descent; the
// patches are averaged back into an image. Prints mean nonzeros per patch, PSNR and time, and
// writes the reconstructions and the atoms as PNG.
//
//   patch_coding [--image PATH] [--out DIR] [--lambda X] [--stride S]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <mlcsc/mlcsc.hpp>

#include "image_io.hpp"

namespace {

constexpr int kP = 8;  // patch side

struct Patches {
  Eigen::MatrixXd Y;      // 64 x B, mean removed, flattened row by row (u * 8 + v)
  Eigen::VectorXd means;  // B
  std::vector<int> r0, c0;
};

Patches extract(const examples::Image& img, int stride) {
  std::vector<int> rows, cols;
  for (int r = 0; r + kP <= img.rows(); r += stride) rows.push_back(r);
  for (int c = 0; c + kP <= img.cols(); c += stride) cols.push_back(c);
  // make sure the last row/column of pixels is covered
  if (rows.back() != img.rows() - kP) rows.push_back(int(img.rows()) - kP);
  if (cols.back() != img.cols() - kP) cols.push_back(int(img.cols()) - kP);
  Patches p;
  const Eigen::Index B = Eigen::Index(rows.size() * cols.size());
  p.Y.resize(kP * kP, B);
  p.means.resize(B);
  Eigen::Index b = 0;
  for (int r : rows)
    for (int c : cols) {
      for (int u = 0; u < kP; ++u)
        for (int v = 0; v < kP; ++v) p.Y(u * kP + v, b) = img(r + u, c + v);
      p.means(b) = p.Y.col(b).mean();
      p.Y.col(b).array() -= p.means(b);
      p.r0.push_back(r);
      p.c0.push_back(c);
      ++b;
    }
  return p;
}

// Puts every coded patch (plus its mean) back and averages the overlaps.
examples::Image assemble(const Patches& p, const Eigen::MatrixXd& X, Eigen::Index h,
                         Eigen::Index w) {
  examples::Image sum = examples::Image::Zero(h, w), cnt = examples::Image::Zero(h, w);
  for (Eigen::Index b = 0; b < X.cols(); ++b)
    for (int u = 0; u < kP; ++u)
      for (int v = 0; v < kP; ++v) {
        sum(p.r0[b] + u, p.c0[b] + v) += X(u * kP + v, b) + p.means(b);
        cnt(p.r0[b] + u, p.c0[b] + v) += 1;
      }
  return sum.cwiseQuotient(cnt.cwiseMax(1.0));
}

// The overcomplete 2-D DCT of the K-SVD papers: 1-D atoms cos(pi i k / 16), i < 8, k < 16 (the
// non-constant ones made zero-mean), unit norm; 2-D atoms are their outer products.
Eigen::MatrixXd overcomplete_dct() {
  const int K = 16;
  Eigen::MatrixXd D1(kP, K);
  for (int k = 0; k < K; ++k) {
    for (int i = 0; i < kP; ++i) D1(i, k) = std::cos(M_PI * i * k / K);
    if (k > 0) D1.col(k).array() -= D1.col(k).mean();
    D1.col(k).normalize();
  }
  Eigen::MatrixXd D(kP * kP, K * K);
  for (int k1 = 0; k1 < K; ++k1)
    for (int k2 = 0; k2 < K; ++k2)
      for (int u = 0; u < kP; ++u)
        for (int v = 0; v < kP; ++v) D(u * kP + v, k1 * K + k2) = D1(u, k1) * D1(v, k2);
  return D;
}

double mean_nnz(const Eigen::MatrixXd& G) {
  return double((G.array() != 0.0).count()) / double(G.cols());
}

// The soft threshold giving (about) `nnz` nonzeros per patch: the matching quantile of |D^T Y|.
double threshold_for(const Eigen::MatrixXd& C, double nnz) {
  std::vector<double> a(C.data(), C.data() + C.size());
  for (double& v : a) v = std::abs(v);
  const size_t keep = std::min(a.size() - 1, size_t(nnz * double(C.cols())));
  std::nth_element(a.begin(), a.begin() + long(keep), a.end(), std::greater<double>());
  return a[keep];
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string image = std::string(MLCSC_EXAMPLE_DATA_DIR) + "/camera.png";
  std::string out = ".";
  double lambda = 0.04;
  int stride = 4;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 < argc && a == "--image")
      image = argv[++i];
    else if (i + 1 < argc && a == "--out")
      out = argv[++i];
    else if (i + 1 < argc && a == "--lambda")
      lambda = std::atof(argv[++i]);
    else if (i + 1 < argc && a == "--stride")
      stride = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr,
                   "usage: patch_coding [--image PATH] [--out DIR] [--lambda X] [--stride S]\n"
                   "  codes the 8x8 patches of a grayscale image over a 256-atom overcomplete DCT\n"
                   "  (defaults: %s/camera.png, --out ., --lambda 0.04, --stride 4)\n",
                   MLCSC_EXAMPLE_DATA_DIR);
      return 2;
    }
  }
  if (!(lambda > 0)) {
    std::fprintf(stderr, "patch_coding: --lambda must be > 0\n");
    return 2;
  }
  try {
    const examples::Image img = examples::load_gray(image);
    const Patches p = extract(img, stride);
    mlcsc::Dictionary<double> D(overcomplete_dct());
    D.normalize();
    std::printf(
        "patch_coding: %s (%ldx%ld), %ld patches of 8x8 (stride %d, mean removed), "
        "%ld atoms (overcomplete DCT), lambda = %g, mu(D) = %.3f\n\n",
        image.c_str(), long(img.rows()), long(img.cols()), long(p.Y.cols()), stride,
        long(D.num_atoms()), lambda, double(mlcsc::mutual_coherence(D)));

    struct Line {
      const char* name;
      double nnz, psnr, seconds, objective;
      int iterations;
    };
    std::vector<Line> lines;
    auto record = [&](const char* name, const char* file, const Eigen::MatrixXd& G, double secs,
                      int its) {
      const Eigen::MatrixXd X = D.synthesize(G);
      const examples::Image rec = assemble(p, X, img.rows(), img.cols());
      examples::save_gray(out + "/" + file, rec);
      const double obj = 0.5 * (p.Y - X).squaredNorm() + lambda * G.cwiseAbs().sum();
      lines.push_back({name, mean_nnz(G), examples::psnr(img, rec), secs, obj, its});
    };

    mlcsc::LassoParams<double> cdp;
    cdp.lambda = lambda;
    cdp.method = mlcsc::Method::CoordinateDescent;
    auto t0 = std::chrono::steady_clock::now();
    const auto cd = mlcsc::lasso(D, p.Y, cdp);
    const double t_cd = seconds_since(t0);

    // Thresholding at the threshold that keeps as many coefficients as the Lasso solution.
    const double b = threshold_for(D.analyze(p.Y), mean_nnz(cd.code));
    t0 = std::chrono::steady_clock::now();
    const Eigen::MatrixXd Gt = mlcsc::thresholding(D, p.Y, b, mlcsc::Shrinkage::Soft);
    const double t_thr = seconds_since(t0);
    record("thresholding S_b(D^T y)", "reconstruction_thresholding.png", Gt, t_thr, 1);

    // FISTA in float (twice the GEMM speed of double): the images are 8-bit anyway.
    const mlcsc::Dictionary<float> Df(D.matrix().cast<float>());
    const Eigen::MatrixXf Yf = p.Y.cast<float>();
    mlcsc::LassoParams<float> fp;
    fp.lambda = float(lambda);
    fp.method = mlcsc::Method::FISTA;
    fp.max_iterations = 200;
    fp.tolerance = 1e-4f;
    t0 = std::chrono::steady_clock::now();
    const auto fista = mlcsc::lasso(Df, Yf, fp);
    const double t_fista = seconds_since(t0);
    record("FISTA, float (tol 1e-4)", "reconstruction_fista.png", fista.code.cast<double>(),
           t_fista, fista.iterations);
    record("CoordinateDescent (exact)", "reconstruction_cd.png", cd.code, t_cd, cd.iterations);

    {  // the atoms, tiled, each pixel shown as 4x4
      const examples::Image t = examples::tile_atoms(D.matrix(), kP);
      examples::Image big(t.rows() * 4, t.cols() * 4);
      for (Eigen::Index i = 0; i < big.rows(); ++i)
        for (Eigen::Index j = 0; j < big.cols(); ++j) big(i, j) = t(i / 4, j / 4);
      examples::save_gray(out + "/atoms.png", big);
    }
    examples::save_gray(out + "/original.png", img);

    std::printf("%-30s %9s %10s %9s %11s %14s\n", "method", "nnz/patch", "PSNR [dB]", "time [s]",
                "iterations", "Lasso obj.");
    for (const Line& l : lines)
      std::printf("%-30s %9.2f %10.2f %9.3f %11d %14.6f\n", l.name, l.nnz, l.psnr, l.seconds,
                  l.iterations, l.objective);
    std::printf(
        "\nthresholding uses b = %.4f (as many nonzeros as the Lasso); on this coherent\n"
        "dictionary correlated atoms all respond to the same structure, so S_b(D^T y)\n"
        "over-counts it. CD iterations: the most any patch needed (screenings + exact\n"
        "solves). Times are wall-clock, OpenMP threads as set by OMP_NUM_THREADS.\n",
        b);
    std::printf(
        "wrote %s/{reconstruction_thresholding,reconstruction_fista,reconstruction_cd,"
        "atoms,original}.png\n",
        out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "patch_coding: %s\n", e.what());
    return 1;
  }
  return 0;
}
