// Convolutional sparse coding of a photograph with mlcsc.
//
//   1. load the image (grayscale, [0, 1]) and crop its centre (256 x 256 by default);
//   2. split it into a low-pass part (Gaussian blur, mirrored borders) and the high-pass rest,
//      the part CSC models (the standard pre-processing, e.g. Wohlberg's SPORCO examples);
//   3. build a dictionary of K filters from the high-passed image: its most energetic p x p
//      patches, normalized, skipping near-duplicates (|<d_i, d_j>| > 0.7) -- or random filters;
//   4. solve the convolutional Lasso min_G 0.5||x_hp - sum_k d_k * G_k||^2 + lambda ||G||_1 with
//      FISTA (mlcsc::lasso on a ConvDictionary), printing the objective every iteration;
//   5. report the PSNR of the reconstruction (low-pass added back), the fraction of nonzeros and
//      the stripe sparsity ||G||_{0,inf} (Papyan, Sulam, Elad 2017), and write PNGs to --out:
//      csc_highpass.png, csc_filters.png, csc_codes.png (|G_k| tiled) and csc_reconstruction.png.
//
// Usage: csc_image [--image PATH] [--out DIR] [--lambda L] [--iters N] [--crop S]
//                  [--filters K] [--size P] [--random]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <mlcsc/mlcsc.hpp>

#include "args.hpp"
#include "image_io.hpp"

namespace {

using examples::Image;
using mlcsc::Index;

struct Options {
  std::string image = MLCSC_EXAMPLE_DATA_DIR "/camera.png";
  std::string out = ".";
  double lambda = 0.05;
  int iters = 100;
  int crop = 256;    // 0 keeps the whole image
  int filters = 32;  // K
  int size = 8;      // p: filters are p x p
  bool random = false;
  double sigma = 4.0;  // Gaussian low-pass, pixels
};

void usage(const char* argv0) {
  std::cerr
      << "usage: " << argv0
      << " [--image PATH] [--out DIR] [--lambda L >= 0] [--iters N >= 1]\n"
         "       [--crop S (0 = whole image)] [--filters K >= 1] [--size P >= 1] [--random]\n";
}

bool parse(int argc, char** argv, Options& o) {
  examples::Args args(argc, argv);
  for (std::string a; args.next(a);) {
    if (a == "--image")
      o.image = args.value("--image");
    else if (a == "--out")
      o.out = args.value("--out");
    else if (a == "--lambda")
      o.lambda = args.number("--lambda");
    else if (a == "--iters")
      o.iters = args.integer("--iters");
    else if (a == "--crop")
      o.crop = args.integer("--crop");
    else if (a == "--filters")
      o.filters = args.integer("--filters");
    else if (a == "--size")
      o.size = args.integer("--size");
    else if (a == "--random")
      o.random = true;
    else if (a == "--help" || a == "-h")
      return false;
    else
      examples::Args::unknown(a);
  }
  if (o.lambda < 0) throw std::invalid_argument("--lambda must be >= 0");
  if (o.iters < 1) throw std::invalid_argument("--iters must be >= 1");
  if (o.crop < 0) throw std::invalid_argument("--crop must be >= 0");
  if (o.filters < 1) throw std::invalid_argument("--filters must be >= 1");
  if (o.size < 1) throw std::invalid_argument("--size must be >= 1");
  return true;
}

/// Separable Gaussian blur with mirrored borders (no wrap-around: the photograph is not periodic).
Image gaussian_blur(const Image& x, double sigma) {
  const int r = int(std::ceil(3 * sigma));
  std::vector<double> k(size_t(2 * r + 1));
  double sum = 0;
  for (int t = -r; t <= r; ++t) sum += k[size_t(t + r)] = std::exp(-0.5 * t * t / (sigma * sigma));
  for (double& v : k) v /= sum;
  auto mirror = [](Index i, Index n) {
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
    return i;
  };
  Image tmp(x.rows(), x.cols()), out(x.rows(), x.cols());
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.cols(); ++j) {
      double s = 0;
      for (int t = -r; t <= r; ++t) s += k[size_t(t + r)] * x(i, mirror(j + t, x.cols()));
      tmp(i, j) = s;
    }
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.cols(); ++j) {
      double s = 0;
      for (int t = -r; t <= r; ++t) s += k[size_t(t + r)] * tmp(mirror(i + t, x.rows()), j);
      out(i, j) = s;
    }
  return out;
}

/// K filters of p x p (rows of the returned K x p^2 matrix, row-major taps): the most energetic
/// patches of `x` (stride p/2), normalized, each with |<d_i, d_j>| <= 0.7 to those already taken.
/// Falls back to random filters for the remaining slots if the image has too few distinct ones.
Eigen::MatrixXd filters_from_patches(const Image& x, int K, int p, std::mt19937& rng) {
  struct Cand {
    double energy;
    Index i, j;
  };
  std::vector<Cand> cands;
  const int stride = std::max(1, p / 2);
  for (Index i = 0; i + p <= x.rows(); i += stride)
    for (Index j = 0; j + p <= x.cols(); j += stride)
      cands.push_back({x.block(i, j, p, p).squaredNorm(), i, j});
  std::sort(cands.begin(), cands.end(),
            [](const Cand& a, const Cand& b) { return a.energy > b.energy; });
  Eigen::MatrixXd D(K, p * p);
  int taken = 0;
  for (const Cand& c : cands) {
    if (taken == K) break;
    Eigen::RowVectorXd d(p * p);
    for (int u = 0; u < p; ++u)
      for (int v = 0; v < p; ++v) d(u * p + v) = x(c.i + u, c.j + v);
    d.array() -= d.mean();  // zero-mean: the high-pass has no DC to explain
    if (d.norm() <= 0) continue;
    d.normalize();
    if (taken > 0 && (D.topRows(taken) * d.transpose()).cwiseAbs().maxCoeff() > 0.7) continue;
    D.row(taken++) = d;
  }
  std::normal_distribution<double> n(0.0, 1.0);
  for (; taken < K; ++taken) {
    for (Index t = 0; t < D.cols(); ++t) D(taken, t) = n(rng);
    D.row(taken).normalize();
  }
  return D;
}

/// |G_k| for every filter k, tiled in a grid, one global scale (so the maps' activity compares).
Image tile_code_maps(const mlcsc::FeatureMaps<double>& g) {
  const Index K = g.channels(), H = g.height(), W = g.width();
  const Index per_row = Index(std::ceil(std::sqrt(double(K))));
  const Index rows = (K + per_row - 1) / per_row;
  const double top = std::max(g.data().cwiseAbs().maxCoeff(), 1e-12);
  Image out = Image::Constant(rows * (H + 2) + 2, per_row * (W + 2) + 2, 1.0);
  for (Index k = 0; k < K; ++k) {
    const Index r0 = (k / per_row) * (H + 2) + 2, c0 = (k % per_row) * (W + 2) + 2;
    // sqrt(|G| / max) shows the many small coefficients next to the few large ones
    out.block(r0, c0, H, W) = (g.channel(k).array().abs() / top).sqrt().matrix();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int rc = examples::read_command_line("csc_image", argc, argv, o, parse, usage); rc >= 0)
    return rc;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    Image img = examples::load_gray(o.image);
    if (o.crop > 0 && (img.rows() > o.crop || img.cols() > o.crop)) {
      const Index h = std::min<Index>(o.crop, img.rows()), w = std::min<Index>(o.crop, img.cols());
      img = Image(img.block((img.rows() - h) / 2, (img.cols() - w) / 2, h, w));
    }
    const Index H = img.rows(), W = img.cols();
    const Image low = gaussian_blur(img, o.sigma);
    const Image high = img - low;
    std::printf("image %s: %ld x %ld, high-pass = image - Gaussian(sigma %.1f), rms %.4f\n",
                o.image.c_str(), long(H), long(W), o.sigma,
                std::sqrt(high.squaredNorm() / double(high.size())));

    // dictionary: K filters of p x p, zero padding ("same" convolution, no wrap-around)
    std::mt19937 rng(12345);
    const int K = o.filters, p = o.size;
    mlcsc::ConvDictionary<double> D(K, 1, p, p, mlcsc::Boundary::Zero);
    if (o.random) {
      std::normal_distribution<double> n(0.0, 1.0);
      for (Index t = 0; t < D.filters().size(); ++t) D.filters()(t / (p * p), t % (p * p)) = n(rng);
    } else {
      D.filters() = filters_from_patches(high, K, p, rng);
    }
    D.normalize();
    std::printf("dictionary: %d filters of %d x %d (%s), Zero boundary, L = ||D||^2 = %.3f\n", K, p,
                p, o.random ? "random" : "high-energy patches", double(D.lipschitz(H, W)));

    mlcsc::FeatureMaps<double> x(1, H, W);
    x.channel(0) = high;

    // FISTA on the convolutional Lasso, one progress line per iteration
    const bool tty = isatty(fileno(stdout));
    mlcsc::LassoParams<double> lp;
    lp.lambda = o.lambda;
    lp.max_iterations = o.iters;
    lp.tolerance = 1e-5;
    lp.method = mlcsc::Method::FISTA;
    lp.callback = [&](int it, double objective) {
      if (tty) {
        std::printf("\rFISTA iteration %4d / %d   objective %.6f", it, o.iters, objective);
        std::fflush(stdout);
      } else {
        std::printf("FISTA iteration %4d / %d   objective %.6f\n", it, o.iters, objective);
      }
      return true;
    };
    const auto t1 = std::chrono::steady_clock::now();
    const auto r = mlcsc::lasso(D, x, lp);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    if (tty) std::printf("\n");
    std::printf("FISTA: %d iterations in %.2f s (%.1f ms each), %s, objective %.6f\n", r.iterations,
                secs, 1e3 * secs / r.iterations, r.converged ? "converged" : "not converged",
                double(r.objective));

    // results
    const mlcsc::FeatureMaps<double> xr = D.synthesize(r.code);
    const Image recon = Image(xr.channel(0)) + low;
    const Index nnz = (r.code.data().array() != 0).count();
    const Index stripe = mlcsc::stripe_sparsity(r.code, p, p, mlcsc::Boundary::Zero);
    std::printf(
        "PSNR of the reconstruction (low-pass added back): %.2f dB (low-pass alone %.2f dB)\n",
        examples::psnr(recon, img), examples::psnr(low, img));
    std::printf("nonzeros: %ld of %ld coefficients (mean fraction %.4f, %.3f per pixel)\n",
                long(nnz), long(r.code.size()), double(nnz) / double(r.code.size()),
                double(nnz) / double(H * W));
    std::printf(
        "stripe sparsity ||G||_{0,inf} = %ld of %ld coefficients per stripe (%d x %d x %d)\n",
        long(stripe), long(K * (2 * p - 1) * (2 * p - 1)), K, 2 * p - 1, 2 * p - 1);

    std::filesystem::create_directories(o.out);
    const std::string dir = o.out + "/";
    examples::save_gray(dir + "csc_input.png", img);
    examples::save_gray_autoscale(dir + "csc_highpass.png", high);
    examples::save_gray(dir + "csc_filters.png",
                        examples::tile_atoms(D.filters().transpose().cast<double>(), p));
    examples::save_gray(dir + "csc_codes.png", tile_code_maps(r.code));
    examples::save_gray(dir + "csc_reconstruction.png", recon);
    std::printf(
        "wrote csc_input.png, csc_highpass.png, csc_filters.png, csc_codes.png and "
        "csc_reconstruction.png to %s (total %.1f s)\n",
        o.out.c_str(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  } catch (const std::exception& e) {
    std::cerr << "csc_image: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
