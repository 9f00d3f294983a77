// patch_coding: the demo, the talk's first picture. Sparse coding of natural-image patches learns
// localized, oriented, band-pass atoms (Olshausen & Field, Nature 1996), and a dictionary learned
// on a photograph represents it better than a fixed one of the same size:
//   1. the 8x8 patches of the photograph on a grid of stride 2, mean removed, are the training
//      signals; 256 atoms are learned from them by online dictionary learning (Mairal, Bach,
//      Ponce, Sapiro, JMLR 2010; learn/online_dictionary.hpp) with exact Lasso codes, starting
//      from random patches, in float;
//   2. the atoms are written as a mosaic PNG, most used first, beside the overcomplete DCT;
//   3. the photograph's patches on a grid of stride 4 (each pixel in up to 4 patches) are coded
//      with both dictionaries at equal sparsity (OMP, T nonzeros per patch), averaged back into
//      an image, and the PSNRs compared;
//   4. the learned dictionary's pursuits at the learning lambda: thresholding (at the threshold
//      that keeps as many nonzeros as the Lasso), FISTA and exact coordinate descent.
//
//   patch_coding [--image PATH] [--out DIR] [--lambda X] [--stride S] [--learn-stride S]
//                [--epochs E] [--seed N]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
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

// The atoms as a mosaic (each scaled to its own range), every pixel shown as 4x4.
void save_mosaic(const std::string& path, const Eigen::MatrixXd& atoms) {
  const examples::Image t = examples::tile_atoms(atoms, kP);
  examples::Image big(t.rows() * 4, t.cols() * 4);
  for (Eigen::Index i = 0; i < big.rows(); ++i)
    for (Eigen::Index j = 0; j < big.cols(); ++j) big(i, j) = t(i / 4, j / 4);
  examples::save_gray(path, big);
}

// The atoms reordered by how many patches use them in the code G (most used first).
Eigen::MatrixXd by_use(const Eigen::MatrixXd& atoms, const Eigen::MatrixXd& G) {
  const Eigen::VectorXd uses = (G.array() != 0.0).cast<double>().rowwise().sum();
  std::vector<Eigen::Index> order(size_t(atoms.cols()));
  std::iota(order.begin(), order.end(), Eigen::Index(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return uses(a) > uses(b); });
  Eigen::MatrixXd out(atoms.rows(), atoms.cols());
  for (size_t k = 0; k < order.size(); ++k) out.col(Eigen::Index(k)) = atoms.col(order[k]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string image = std::string(MLCSC_EXAMPLE_DATA_DIR) + "/camera.png";
  std::string out = ".";
  double lambda = 0.04;
  int stride = 4, learn_stride = 2, epochs = 10;
  unsigned seed = 0;
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
    else if (i + 1 < argc && a == "--learn-stride")
      learn_stride = std::max(1, std::atoi(argv[++i]));
    else if (i + 1 < argc && a == "--epochs")
      epochs = std::max(1, std::atoi(argv[++i]));
    else if (i + 1 < argc && a == "--seed")
      seed = unsigned(std::strtoul(argv[++i], nullptr, 10));
    else {
      std::fprintf(stderr,
                   "usage: patch_coding [--image PATH] [--out DIR] [--lambda X] [--stride S]\n"
                   "                    [--learn-stride S] [--epochs E] [--seed N]\n"
                   "  learns 256 atoms of 8x8 on the patches of a grayscale image and codes it\n"
                   "  with them and with the overcomplete DCT (defaults: %s/camera.png,\n"
                   "  --out ., --lambda 0.04, --stride 4, --learn-stride 2, --epochs 10,\n"
                   "  --seed 0)\n",
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
    const Eigen::MatrixXf train = extract(img, learn_stride).Y.cast<float>();
    std::printf(
        "patch_coding: %s (%ldx%ld), 8x8 patches with their mean removed: %ld for learning\n"
        "(stride %d), %ld for coding (stride %d)\n\n",
        image.c_str(), long(img.rows()), long(img.cols()), long(train.cols()), learn_stride,
        long(p.Y.cols()), stride);

    // 1. Learning: online / mini-batch, exact Lasso codes, in float (the images are 8-bit).
    mlcsc::DictLearnParams<float> lp;
    lp.num_atoms = 256;
    lp.lambda = float(lambda);
    lp.epochs = epochs;
    lp.seed = seed;
    lp.callback = [](int epoch, float objective) {
      std::printf("  epoch %2d  objective %.4f\n", epoch, double(objective));
      return true;
    };
    std::printf("learning 256 atoms (online, lambda = %g, batches of %ld, %d epochs):\n", lambda,
                long(lp.batch_size), epochs);
    auto t0 = std::chrono::steady_clock::now();
    const auto learned = mlcsc::learn_dictionary(train, lp);
    const double t_learn = seconds_since(t0);
    std::printf("  %.2f s, %ld unused atoms replaced\n\n", t_learn, long(learned.replaced_atoms));

    const mlcsc::Dictionary<double> L(learned.dictionary.matrix().cast<double>());
    const mlcsc::Dictionary<double> DCT(overcomplete_dct());  // unit-norm atoms

    // 3. Equal sparsity: T nonzeros per patch by OMP with either dictionary.
    std::printf("coding the photograph with T nonzeros per patch (OMP), PSNR [dB]:\n");
    std::printf("%4s %14s %14s %10s\n", "T", "learned", "DCT", "gain");
    for (int T : {2, 4, 8}) {
      mlcsc::OmpParams<double> op;
      op.max_atoms = T;
      double ps[2];
      int i = 0;
      for (const auto* D : {&L, &DCT}) {
        const Eigen::MatrixXd X = D->synthesize(mlcsc::omp(*D, p.Y, op).code);
        ps[i++] = examples::psnr(img, assemble(p, X, img.rows(), img.cols()));
      }
      std::printf("%4d %14.2f %14.2f %+10.2f\n", T, ps[0], ps[1], ps[0] - ps[1]);
    }

    // 4. The learned dictionary's pursuits at the learning lambda.
    struct Line {
      const char* name;
      double nnz, psnr, seconds, objective;
      int iterations;
    };
    std::vector<Line> lines;
    auto record = [&](const char* name, const char* file, const Eigen::MatrixXd& G, double secs,
                      int its) {
      const Eigen::MatrixXd X = L.synthesize(G);
      const examples::Image rec = assemble(p, X, img.rows(), img.cols());
      examples::save_gray(out + "/" + file, rec);
      const double obj = 0.5 * (p.Y - X).squaredNorm() + lambda * G.cwiseAbs().sum();
      lines.push_back({name, mean_nnz(G), examples::psnr(img, rec), secs, obj, its});
    };

    mlcsc::LassoParams<double> cdp;
    cdp.lambda = lambda;
    cdp.method = mlcsc::Method::CoordinateDescent;
    t0 = std::chrono::steady_clock::now();
    const auto cd = mlcsc::lasso(L, p.Y, cdp);
    const double t_cd = seconds_since(t0);

    const double b = threshold_for(L.analyze(p.Y), mean_nnz(cd.code));
    t0 = std::chrono::steady_clock::now();
    const Eigen::MatrixXd Gt = mlcsc::thresholding(L, p.Y, b, mlcsc::Shrinkage::Soft);
    const double t_thr = seconds_since(t0);
    record("thresholding S_b(D^T y)", "reconstruction_thresholding.png", Gt, t_thr, 1);

    const mlcsc::Dictionary<float> Lf(learned.dictionary.matrix());
    const Eigen::MatrixXf Yf = p.Y.cast<float>();
    mlcsc::LassoParams<float> fp;
    fp.lambda = float(lambda);
    fp.method = mlcsc::Method::FISTA;
    fp.max_iterations = 200;
    fp.tolerance = 1e-4f;
    t0 = std::chrono::steady_clock::now();
    const auto fista = mlcsc::lasso(Lf, Yf, fp);
    const double t_fista = seconds_since(t0);
    record("FISTA, float (tol 1e-4)", "reconstruction_fista.png", fista.code.cast<double>(),
           t_fista, fista.iterations);
    record("CoordinateDescent (exact)", "reconstruction_cd.png", cd.code, t_cd, cd.iterations);

    // 2. The mosaics: learned atoms by use (in the exact Lasso code), and the DCT.
    save_mosaic(out + "/learned_atoms.png", by_use(L.matrix(), cd.code));
    save_mosaic(out + "/dct_atoms.png", DCT.matrix());
    examples::save_gray(out + "/original.png", img);

    std::printf("\nthe learned dictionary's pursuits at lambda = %g (mu(D) = %.3f):\n", lambda,
                double(mlcsc::mutual_coherence(L)));
    std::printf("%-30s %9s %10s %9s %11s %14s\n", "method", "nnz/patch", "PSNR [dB]", "time [s]",
                "iterations", "Lasso obj.");
    for (const Line& l : lines)
      std::printf("%-30s %9.2f %10.2f %9.3f %11d %14.6f\n", l.name, l.nnz, l.psnr, l.seconds,
                  l.iterations, l.objective);
    std::printf(
        "\nthresholding uses b = %.4f (as many nonzeros as the Lasso). The learned atoms are\n"
        "coherent (mu(D) above): neighbouring atoms all respond to the same edge and S_b(D^T y),\n"
        "a CNN layer's forward pass, adds them all up; the Lasso selects among them. CD\n"
        "iterations: the most any patch needed (screenings + exact solves). Times are\n"
        "wall-clock, OpenMP threads as set by OMP_NUM_THREADS.\n",
        b);
    std::printf(
        "wrote %s/{learned_atoms,dct_atoms,reconstruction_thresholding,reconstruction_fista,"
        "reconstruction_cd,original}.png\n",
        out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "patch_coding: %s\n", e.what());
    return 1;
  }
  return 0;
}
