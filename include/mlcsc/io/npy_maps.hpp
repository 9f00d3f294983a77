// mlcsc: feature maps and convolutional filter banks as NumPy .npy files, in PyTorch's layouts.
//   load_feature_maps<S>(path): an (N, C, H, W), (C, H, W) (N = 1) or (H, W) (N = C = 1) array;
//   save_npy(path, maps): (N, C, H, W).
//   load_conv_dictionary<S>(path, boundary): a (K, C, kh, kw) weight (torch conv2d's) or a
//     (K, C, k) one (conv1d's: kh = 1); save_npy(path, D): (K, C, kh, kw). Stride and dilation
//     are not part of the file: set them on the dictionary.
// Problems with a file, a wrong rank or an unsupported dtype throw std::runtime_error naming the
// path and the problem.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../conv/conv_dictionary.hpp"
#include "../core/boundary.hpp"
#include "../core/feature_maps.hpp"
#include "npy.hpp"

namespace mlcsc::io {

/// \brief Reads feature maps from an (N, C, H, W), (C, H, W) or (H, W) array.
/// \code
///   auto x = mlcsc::io::load_feature_maps<float>("images.npy");   // e.g. 64 x 1 x 28 x 28
/// \endcode
template <class Scalar>
FeatureMaps<Scalar> load_feature_maps(const std::string& path) {
  detail::Array<Scalar> a = detail::read_array<Scalar>(path);
  const std::size_t r = a.shape.size();
  if (r < 2 || r > 4)
    detail::fail(path, "expected feature maps of shape (N, C, H, W), (C, H, W) or (H, W), got a " +
                           std::to_string(r) + "-D array " + detail::shape_string(a.shape));
  const std::int64_t n = r == 4 ? a.shape[0] : 1, c = r >= 3 ? a.shape[r - 3] : 1;
  FeatureMaps<Scalar> x(n, c, a.shape[r - 2], a.shape[r - 1]);
  std::copy(a.values.begin(), a.values.end(), x.data().data());
  return x;
}

/// \brief Writes feature maps as an (N, C, H, W) array.
template <class Scalar>
void save_npy(const std::string& path, const ConstFeatureMapsView<Scalar>& x) {
  detail::write_array<Scalar>(path, {x.batch(), x.channels(), x.height(), x.width()}, false,
                              x.ptr(), std::size_t(x.size()));
}
template <class Scalar>
void save_npy(const std::string& path, const FeatureMapsView<Scalar>& x) {
  save_npy(path, ConstFeatureMapsView<Scalar>(x));
}
template <class Scalar>
void save_npy(const std::string& path, const FeatureMaps<Scalar>& x) {
  save_npy(path, ConstFeatureMapsView<Scalar>(x));
}

/// \brief Reads a filter bank, torch's conv2d weight (K, C, kh, kw) or conv1d weight (K, C, k),
/// into a ConvDictionary with the given boundary (stride and dilation 1; set them after).
/// \code
///   auto D = mlcsc::io::load_conv_dictionary<float>("conv1.npy", mlcsc::Boundary::Valid);
///   D.set_stride(2, 2);
/// \endcode
template <class Scalar>
ConvDictionary<Scalar> load_conv_dictionary(const std::string& path,
                                            Boundary boundary = Boundary::Circular) {
  detail::Array<Scalar> a = detail::read_array<Scalar>(path);
  const std::size_t r = a.shape.size();
  if (r != 3 && r != 4)
    detail::fail(path, "expected filters of shape (K, C, kh, kw) or (K, C, k), got a " +
                           std::to_string(r) + "-D array " + detail::shape_string(a.shape));
  for (std::int64_t d : a.shape)
    if (d < 1)
      detail::fail(
          path, "expected filters with every dimension >= 1, got " + detail::shape_string(a.shape));
  const std::int64_t kh = r == 4 ? a.shape[2] : 1, kw = a.shape[r - 1];
  ConvDictionary<Scalar> D(a.shape[0], a.shape[1], kh, kw, boundary);
  std::copy(a.values.begin(), a.values.end(), D.filters().data());
  return D;
}

/// \brief Writes a dictionary's filters as a (K, C, kh, kw) array (torch's conv2d weight).
template <class Scalar>
void save_npy(const std::string& path, const ConvDictionary<Scalar>& D) {
  detail::write_array<Scalar>(path,
                              {D.num_filters(), D.channels(), D.kernel_height(), D.kernel_width()},
                              false, D.filters().data(), std::size_t(D.filters().size()));
}

}  // namespace mlcsc::io
