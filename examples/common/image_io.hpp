// Examples' image helpers: grayscale PNG <-> Eigen matrices (values in [0, 1]), patch
// extraction and tiling, PSNR. stb_image / stb_image_write come from Debian's libstb-dev.
// Include this header from exactly one translation unit of an example.
#pragma once

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>

namespace examples {

using Image = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Loads an 8-bit PNG/JPEG as grayscale in [0, 1]; throws std::runtime_error naming the path.
inline Image load_gray(const std::string& path) {
  int w = 0, h = 0, c = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &c, 1);
  if (!data) throw std::runtime_error("cannot read image '" + path + "': " + stbi_failure_reason());
  Image img(h, w);
  for (int i = 0; i < h; ++i)
    for (int j = 0; j < w; ++j) img(i, j) = data[i * w + j] / 255.0;
  stbi_image_free(data);
  return img;
}

/// Writes `img` as an 8-bit grayscale PNG, mapping [lo, hi] to [0, 255] (clipping outside).
inline void save_gray(const std::string& path, const Image& img, double lo = 0.0, double hi = 1.0) {
  std::vector<unsigned char> bytes(size_t(img.size()));
  const double scale = hi > lo ? 255.0 / (hi - lo) : 0.0;
  for (Eigen::Index i = 0; i < img.rows(); ++i)
    for (Eigen::Index j = 0; j < img.cols(); ++j)
      bytes[size_t(i * img.cols() + j)] =
          (unsigned char)std::clamp(std::lround((img(i, j) - lo) * scale), 0L, 255L);
  if (!stbi_write_png(path.c_str(), int(img.cols()), int(img.rows()), 1, bytes.data(),
                      int(img.cols())))
    throw std::runtime_error("cannot write image '" + path + "'");
}

/// Writes `img` scaled from its own min..max to 0..255.
inline void save_gray_autoscale(const std::string& path, const Image& img) {
  save_gray(path, img, img.minCoeff(), img.maxCoeff());
}

/// Peak signal-to-noise ratio in dB for signals whose peak is `peak`.
inline double psnr(const Image& a, const Image& b, double peak = 1.0) {
  const double mse = (a - b).squaredNorm() / double(a.size());
  return mse > 0 ? 10.0 * std::log10(peak * peak / mse) : INFINITY;
}

/// Tiles columns of `atoms` (each a p x p patch flattened row by row: entry u * p + v is (u, v))
/// into a grid image, each atom scaled to its own range, with a 1-pixel border.
inline Image tile_atoms(const Eigen::MatrixXd& atoms, int p) {
  const int m = int(atoms.cols());
  const int per_row = int(std::ceil(std::sqrt(double(m))));
  const int rows = (m + per_row - 1) / per_row;
  Image out = Image::Constant(rows * (p + 1) + 1, per_row * (p + 1) + 1, 1.0);
  for (int k = 0; k < m; ++k) {
    const double lo = atoms.col(k).minCoeff(), hi = atoms.col(k).maxCoeff();
    const int r0 = (k / per_row) * (p + 1) + 1, c0 = (k % per_row) * (p + 1) + 1;
    for (int u = 0; u < p; ++u)
      for (int v = 0; v < p; ++v)
        out(r0 + u, c0 + v) = hi > lo ? (atoms(u * p + v, k) - lo) / (hi - lo) : 0.5;
  }
  return out;
}

}  // namespace examples
