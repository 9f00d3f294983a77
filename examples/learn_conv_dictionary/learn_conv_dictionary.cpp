// learn_conv_dictionary: convolutional dictionary learning on a few photographs, and what the
// learned filters are worth against a fixed dictionary of the same size at equal sparsity.
//
//   1. each photograph (grayscale, [0, 1]) is halved (2 x 2 means) while it stays at least S x S
//      (S = 128 by default); its two smallest copies, centre-cropped to S x S, are training
//      images (the bundled 512 x 512 ones: halved and quartered, 4 images in all);
//   2. each is split as SPORCO does before CSC (signal.tikhonov_filter(s, 5, 16)): the low-pass
//      l solves (I + 5 G^T G) l = s (G the horizontal and vertical differences), by FFT on the
//      image mirrored 16 pixels each side; the high-pass s - l is what the CSC model codes;
//   3. K circular 8 x 8 zero-mean filters are learned from the high-pass images with
//      mlcsc::learn_conv_dictionary (float), printing the objective every 10 iterations;
//   4. the high-pass images are coded by the Lasso (Method::ADMM) with the learned filters at the
//      learning lambda, and with the K lowest-frequency non-constant atoms of the 8 x 8 2-D DCT
//      (an overcomplete DCT if K > 63) at the lambda that gives as many nonzeros (within 2%,
//      found by secant steps); the table shows lambda, nonzeros per pixel, PSNR of low-pass +
//      reconstruction against the original, and time;
//   5. writes to --out: filters.png (the learned filters, most used first) and filters_dct.png
//      (each tap 6 x 6 pixels), original.png, highpass.png, reconstruction_learned.png and
//      reconstruction_dct.png (the images tiled).
//
// Usage: learn_conv_dictionary [--image PATH]... [--out DIR] [--filters K] [--iterations N]
//                              [--lambda L] [--size S]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <unsupported/Eigen/FFT>

#include <mlcsc/mlcsc.hpp>

#include "args.hpp"
#include "image_io.hpp"

namespace {

using examples::Image;
using mlcsc::Index;
constexpr int kP = 8;  // filters are 8 x 8

struct Options {
  std::vector<std::string> images;  // empty: the two bundled photographs
  std::string out = ".";
  int filters = 32;      // K
  int iterations = 100;  // learning iterations
  double lambda = 0.1;
  int size = 128;  // S
};

void usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " [--image PATH]... [--out DIR] [--filters K >= 1] [--iterations N >= 1]\n"
               "       [--lambda L > 0] [--size S >= 16]\n"
               "  defaults: --image " MLCSC_EXAMPLE_DATA_DIR
               "/camera.png --image " MLCSC_EXAMPLE_DATA_DIR
               "/brick.png\n"
               "            --out . --filters 32 --iterations 100 --lambda 0.1 --size 128\n";
}

bool parse(int argc, char** argv, Options& o) {
  examples::Args args(argc, argv);
  for (std::string a; args.next(a);) {
    if (a == "--image")
      o.images.push_back(args.value("--image"));
    else if (a == "--out")
      o.out = args.value("--out");
    else if (a == "--filters")
      o.filters = args.integer("--filters");
    else if (a == "--iterations")
      o.iterations = args.integer("--iterations");
    else if (a == "--lambda")
      o.lambda = args.number("--lambda");
    else if (a == "--size")
      o.size = args.integer("--size");
    else if (a == "--help" || a == "-h")
      return false;
    else
      examples::Args::unknown(a);
  }
  if (o.images.empty())
    o.images = {MLCSC_EXAMPLE_DATA_DIR "/camera.png", MLCSC_EXAMPLE_DATA_DIR "/brick.png"};
  if (o.filters < 1) throw std::invalid_argument("--filters must be >= 1");
  if (o.iterations < 1) throw std::invalid_argument("--iterations must be >= 1");
  if (!(o.lambda > 0)) throw std::invalid_argument("--lambda must be > 0");
  if (o.size < 16) throw std::invalid_argument("--size must be >= 16");
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Image centre_crop(const Image& x, Index s) {
  return x.block((x.rows() - s) / 2, (x.cols() - s) / 2, s, s);
}

Image halve(const Image& x) {  // 2 x 2 means
  Image y(x.rows() / 2, x.cols() / 2);
  for (Index i = 0; i < y.rows(); ++i)
    for (Index j = 0; j < y.cols(); ++j) y(i, j) = x.block(2 * i, 2 * j, 2, 2).mean();
  return y;
}

/// SPORCO's signal.tikhonov_filter(s, mu, pad): the low-pass l = argmin ||l - s||^2 + mu ||G l||^2
/// (G: the differences [-1, 1] along rows and columns), i.e. L = S / (1 + mu |G|^2) in the
/// frequency domain, computed on s mirrored `pad` pixels each side (numpy's 'symmetric').
Image tikhonov_lowpass(const Image& s, double mu, Index pad) {
  const Index H = s.rows() + 2 * pad, W = s.cols() + 2 * pad;
  auto mirror = [](Index i, Index n) { return i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i; };
  using CMatrix = Eigen::Matrix<std::complex<double>, Eigen::Dynamic, Eigen::Dynamic>;
  CMatrix a(H, W);
  for (Index i = 0; i < H; ++i)
    for (Index j = 0; j < W; ++j) a(i, j) = s(mirror(i - pad, s.rows()), mirror(j - pad, s.cols()));
  // the 2-D DFT (or its inverse) by 1-D transforms of the columns, then of the rows
  Eigen::FFT<double> fft;
  auto dft2 = [&](bool inverse) {
    Eigen::VectorXcd in, out;
    for (Index j = 0; j < W; ++j) {
      in = a.col(j);
      inverse ? fft.inv(out, in) : fft.fwd(out, in);
      a.col(j) = out;
    }
    for (Index i = 0; i < H; ++i) {
      in = a.row(i).transpose();
      inverse ? fft.inv(out, in) : fft.fwd(out, in);
      a.row(i) = out.transpose();
    }
  };
  dft2(false);
  for (Index i = 0; i < H; ++i)
    for (Index j = 0; j < W; ++j) {
      const double gi = 2 * std::sin(M_PI * i / H), gj = 2 * std::sin(M_PI * j / W);  // |G|
      a(i, j) /= 1 + mu * (gi * gi + gj * gj);
    }
  dft2(true);
  return a.real().block(pad, pad, s.rows(), s.cols());
}

/// K atoms of 8 x 8 (K x 64, rows row-major): separable DCT-II atoms cos(pi (2i + 1) k / 2m),
/// k < m, the non-constant 1-D ones made zero-mean; the 2-D ones without the constant, by
/// increasing frequency k1^2 + k2^2, unit norm. m = 8 (the orthonormal 2-D DCT) while K <= 63,
/// else the smallest m with m^2 - 1 >= K (an overcomplete DCT).
Eigen::MatrixXd dct_filters(int K) {
  int m = kP;
  while (m * m - 1 < K) ++m;
  Eigen::MatrixXd d1(kP, m);
  for (int k = 0; k < m; ++k) {
    for (int i = 0; i < kP; ++i) d1(i, k) = std::cos(M_PI * (2 * i + 1) * k / (2.0 * m));
    if (k > 0) d1.col(k).array() -= d1.col(k).mean();
    d1.col(k).normalize();
  }
  std::vector<std::pair<int, int>> freq;
  for (int k1 = 0; k1 < m; ++k1)
    for (int k2 = 0; k2 < m; ++k2)
      if (k1 + k2 > 0) freq.push_back({k1, k2});
  std::stable_sort(freq.begin(), freq.end(), [](auto a, auto b) {
    return a.first * a.first + a.second * a.second < b.first * b.first + b.second * b.second;
  });
  Eigen::MatrixXd D(K, kP * kP);
  for (int k = 0; k < K; ++k)
    for (int u = 0; u < kP; ++u)
      for (int v = 0; v < kP; ++v) D(k, u * kP + v) = d1(u, freq[k].first) * d1(v, freq[k].second);
  return D;
}

/// The filters (rows of K x 64) as a mosaic, each tap `zoom` x `zoom` pixels.
Image filter_mosaic(const mlcsc::RowMatrix<float>& filters, int zoom) {
  const Image t = examples::tile_atoms(filters.transpose().cast<double>(), kP);
  Image big(t.rows() * zoom, t.cols() * zoom);
  for (Index i = 0; i < big.rows(); ++i)
    for (Index j = 0; j < big.cols(); ++j) big(i, j) = t(i / zoom, j / zoom);
  return big;
}

/// Images of one size side by side, ceil(sqrt(n)) a row, 4 white pixels between them.
Image tile_images(const std::vector<Image>& im) {
  const Index n = Index(im.size()), per_row = Index(std::ceil(std::sqrt(double(n))));
  const Index H = im[0].rows(), W = im[0].cols(), g = 4;
  Image out =
      Image::Constant(((n + per_row - 1) / per_row) * (H + g) - g, per_row * (W + g) - g, 1);
  for (Index k = 0; k < n; ++k)
    out.block((k / per_row) * (H + g), (k % per_row) * (W + g), H, W) = im[k];
  return out;
}

struct Coding {
  double lambda, nnz_per_pixel, psnr, seconds;
  int iterations;
  mlcsc::FeatureMaps<float> code;
  std::vector<Image> reconstructions;  // low-pass + D x, per image
};

/// The Lasso codes of the high-pass images over D (ADMM to relative residuals of `tolerance`,
/// from `init` if given), scored.
Coding code_images(const mlcsc::ConvDictionary<float>& D, const mlcsc::FeatureMaps<float>& high,
                   const std::vector<Image>& low, const std::vector<Image>& orig, double lambda,
                   double tolerance, const mlcsc::FeatureMaps<float>* init = nullptr) {
  mlcsc::LassoParams<float> p;
  p.lambda = float(lambda);
  p.method = mlcsc::Method::ADMM;
  p.max_iterations = 500;
  p.tolerance = float(tolerance);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = init ? mlcsc::lasso(D, high, p, *init) : mlcsc::lasso(D, high, p);
  Coding c{lambda, 0, 0, seconds_since(t0), r.iterations, std::move(r.code), {}};
  const auto model = D.synthesize(c.code);
  double sse = 0;
  for (Index n = 0; n < high.batch(); ++n) {
    c.reconstructions.push_back(low[n] + model.channel(n, 0).cast<double>());
    sse += (c.reconstructions.back() - orig[n]).squaredNorm();
  }
  c.nnz_per_pixel = double((c.code.data().array() != 0).count()) / double(high.size());
  c.psnr = 10 * std::log10(double(high.size()) / sse);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int rc =
          examples::read_command_line("learn_conv_dictionary", argc, argv, o, parse, usage);
      rc >= 0)
    return rc;
  try {
    const auto t_start = std::chrono::steady_clock::now();
    const Index S = o.size;
    std::vector<Image> orig, low;
    for (const std::string& path : o.images) {
      std::vector<Image> copies{examples::load_gray(path)};  // halved while still >= S x S
      for (Image h = halve(copies.back()); h.rows() >= S && h.cols() >= S; h = halve(h))
        copies.push_back(h);
      if (copies[0].rows() < S || copies[0].cols() < S)
        throw std::runtime_error("'" + path + "' is smaller than " + std::to_string(S) + " x " +
                                 std::to_string(S) + " (see --size)");
      for (size_t i = copies.size() < 2 ? 0 : copies.size() - 2; i < copies.size(); ++i)
        orig.push_back(centre_crop(copies[i], S));
    }
    const Index N = Index(orig.size());
    mlcsc::FeatureMaps<float> high(N, 1, S, S);
    for (Index n = 0; n < N; ++n) {
      low.push_back(tikhonov_lowpass(orig[n], 5.0, 16));
      high.channel(n, 0) = (orig[n] - low[n]).cast<float>();
    }
    std::printf(
        "%ld training images of %ld x %ld from %zu photograph(s) (halved, centre crops); "
        "high-pass = image -\nTikhonov low-pass (mu 5, as SPORCO), rms %.4f\n\n",
        long(N), long(S), long(S), o.images.size(),
        std::sqrt(double(high.data().squaredNorm()) / double(high.size())));

    mlcsc::ConvDictLearnParams<float> lp;
    lp.num_filters = o.filters;
    lp.kernel_height = lp.kernel_width = kP;
    lp.lambda = float(o.lambda);
    lp.iterations = o.iterations;
    lp.zero_mean = true;
    auto t0 = std::chrono::steady_clock::now();
    lp.callback = [&](int it, float objective) {
      if (it == 1 || it % 10 == 0 || it == o.iterations)
        std::printf("learning: iteration %4d / %d   objective %10.4f   %6.1f s\n", it, o.iterations,
                    double(objective), seconds_since(t0));
      return true;
    };
    const auto learned = mlcsc::learn_conv_dictionary(high, lp);
    const double t_learn = seconds_since(t0);
    std::printf("learned %d filters of %d x %d in %.1f s (%.0f ms an iteration)\n\n", o.filters, kP,
                kP, t_learn, 1e3 * t_learn / double(learned.objective.size()));

    // the reference: the same number of 8 x 8 filters, fixed
    mlcsc::ConvDictionary<float> dct(o.filters, 1, kP, kP, mlcsc::Boundary::Circular);
    dct.filters() = dct_filters(o.filters).cast<float>();
    const std::string dct_name = o.filters <= 63 ? "2-D DCT 8x8" : "overcomplete DCT";

    std::printf(
        "coding the %ld high-pass images by the Lasso (ADMM, tolerance 1e-3), the DCT at the "
        "lambda that\nmatches the learned dictionary's nonzeros:\n",
        long(N));
    const double tol = 1e-3;  // ADMM's relative residuals (SPORCO's ConvBPDN default)
    const Coding learned_fit = code_images(learned.dictionary, high, low, orig, o.lambda, tol);
    // the DCT's lambda for as many nonzeros (within 2%): log(nnz) is nearly linear in
    // log(lambda), so secant steps on that line (the first assumes the slope -1), each coding
    // warm-started from the last
    Coding dct_fit = code_images(dct, high, low, orig, o.lambda, tol), dct_prev = dct_fit;
    int codings = 1;
    auto report = [&] {
      std::printf("  DCT coding %d: lambda %.4f, %.4f nonzeros per pixel (learned: %.4f)\n",
                  codings, dct_fit.lambda, dct_fit.nnz_per_pixel, learned_fit.nnz_per_pixel);
    };
    report();
    while (codings < 8 && std::abs(dct_fit.nnz_per_pixel / learned_fit.nnz_per_pixel - 1) > 0.02) {
      double slope = codings > 1 ? std::log(dct_fit.nnz_per_pixel / dct_prev.nnz_per_pixel) /
                                       std::log(dct_fit.lambda / dct_prev.lambda)
                                 : -1;
      if (!(slope < -0.1)) slope = -1;
      const double lambda =
          dct_fit.lambda * std::pow(learned_fit.nnz_per_pixel / dct_fit.nnz_per_pixel, 1 / slope);
      dct_prev = std::move(dct_fit);
      dct_fit = code_images(dct, high, low, orig, lambda, tol, &dct_prev.code);
      ++codings;
      report();
    }
    double low_sse = 0;
    for (Index n = 0; n < N; ++n) low_sse += (low[n] - orig[n]).squaredNorm();

    std::printf("%-28s %8s %10s %10s %9s %10s\n", "dictionary", "lambda", "nnz/pixel", "PSNR [dB]",
                "time [s]", "ADMM its");
    auto row = [](const std::string& name, const Coding& c) {
      std::printf("%-28s %8.4f %10.4f %10.2f %9.2f %10d\n", name.c_str(), c.lambda, c.nnz_per_pixel,
                  c.psnr, c.seconds, c.iterations);
    };
    row("learned, " + std::to_string(o.filters) + " filters", learned_fit);
    row(dct_name + ", " + std::to_string(o.filters) + " atoms", dct_fit);
    std::printf("%-28s %8s %10s %10.2f\n", "low-pass alone", "-", "0",
                10 * std::log10(double(N * S * S) / low_sse));
    if (codings > 1)
      std::printf(
          "(the DCT's time and iterations: its last coding, warm-started from the one "
          "before)\n");

    std::filesystem::create_directories(o.out);
    const std::string dir = o.out + "/";
    // the learned filters by decreasing use (nonzeros in their codes)
    std::vector<std::pair<Index, Index>> use;  // (nonzeros, filter)
    for (Index k = 0; k < o.filters; ++k) {
      Index c = 0;
      for (Index n = 0; n < N; ++n)
        c += (learned_fit.code.data().row(n * o.filters + k).array() != 0).count();
      use.push_back({-c, k});
    }
    std::sort(use.begin(), use.end());
    mlcsc::RowMatrix<float> by_use(o.filters, kP * kP);
    for (Index k = 0; k < o.filters; ++k)
      by_use.row(k) = learned.dictionary.filters().row(use[k].second);
    examples::save_gray(dir + "filters.png", filter_mosaic(by_use, 6));
    examples::save_gray(dir + "filters_dct.png", filter_mosaic(dct.filters(), 6));
    examples::save_gray(dir + "original.png", tile_images(orig));
    std::vector<Image> hp;
    for (Index n = 0; n < N; ++n) hp.push_back(orig[n] - low[n]);
    examples::save_gray(dir + "highpass.png", tile_images(hp), -0.2, 0.2);
    examples::save_gray(dir + "reconstruction_learned.png",
                        tile_images(learned_fit.reconstructions));
    examples::save_gray(dir + "reconstruction_dct.png", tile_images(dct_fit.reconstructions));
    std::printf(
        "wrote filters.png, filters_dct.png, original.png, highpass.png, "
        "reconstruction_learned.png and reconstruction_dct.png to %s (total %.1f s)\n",
        o.out.c_str(), seconds_since(t_start));
  } catch (const std::exception& e) {
    std::cerr << "learn_conv_dictionary: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
