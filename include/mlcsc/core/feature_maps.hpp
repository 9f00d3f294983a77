// mlcsc: feature maps, the signals and codes of convolutional dictionaries. C channels of H x W
// pixels, stored channel-major (CHW) in one contiguous buffer; 1-D signals have height 1.
#pragma once

#include <Eigen/Core>

#include "errors.hpp"
#include "fwd.hpp"

namespace mlcsc {

/// \brief C x H x W feature maps, channel-major (CHW) and contiguous.
///
/// `data()` is the whole buffer as one row-major Eigen matrix of C x (H W) (one channel a row),
/// `channel(c)` is channel c as a writable H x W row-major `Eigen::Map`:
/// \f$ x_c[i, j] = \mathrm{data}()(c, i W + j) \f$.
/// \code
///   mlcsc::FeatureMaps<float> x(3, 64, 64);        // zero-filled
///   x.channel(0).setRandom();                      // H x W view of channel 0
///   float energy = x.data().squaredNorm();         // all channels at once
/// \endcode
/// A FeatureMaps with a zero dimension can be constructed (an empty object), but every
/// dictionary operation rejects it with std::invalid_argument.
template <class Scalar_>
class FeatureMaps {
 public:
  using Scalar = Scalar_;
  using Storage = RowMatrix<Scalar>;
  using ChannelMap = Eigen::Map<RowMatrix<Scalar>>;
  using ConstChannelMap = Eigen::Map<const RowMatrix<Scalar>>;

  /// An empty object (0 x 0 x 0).
  FeatureMaps() = default;

  /// C x H x W, zero-filled. Throws std::invalid_argument if a dimension is negative.
  FeatureMaps(Index channels, Index height, Index width) : height_(height), width_(width) {
    if (channels < 0 || height < 0 || width < 0)
      internal::throw_invalid("FeatureMaps: expected non-negative channels x height x width, got ",
                              internal::shape(channels, height, width));
    data_.setZero(channels, height * width);
  }

  Index channels() const { return data_.rows(); }
  Index height() const { return height_; }
  Index width() const { return width_; }
  /// C H W, the number of coefficients.
  Index size() const { return data_.size(); }
  bool empty() const { return data_.size() == 0; }
  /// True when both have the same channels, height and width.
  template <class Other>
  bool same_shape(const FeatureMaps<Other>& o) const {
    return channels() == o.channels() && height() == o.height() && width() == o.width();
  }

  /// Channel c as an H x W row-major map (no bounds check beyond Eigen's assertions).
  ChannelMap channel(Index c) {
    return ChannelMap(data_.data() + c * height_ * width_, height_, width_);
  }
  ConstChannelMap channel(Index c) const {
    return ConstChannelMap(data_.data() + c * height_ * width_, height_, width_);
  }

  /// All coefficients as a C x (H W) row-major matrix, one channel a row. Resizing it through
  /// this reference breaks the object's invariants: don't.
  Storage& data() { return data_; }
  const Storage& data() const { return data_; }

  void setZero() { data_.setZero(); }

 private:
  Storage data_;
  Index height_ = 0, width_ = 0;
};

/// The coefficients of feature maps as one Eigen matrix (C x HW), for the generic pursuits.
template <class Scalar>
RowMatrix<Scalar>& values(FeatureMaps<Scalar>& x) {
  return x.data();
}
template <class Scalar>
const RowMatrix<Scalar>& values(const FeatureMaps<Scalar>& x) {
  return x.data();
}

}  // namespace mlcsc
