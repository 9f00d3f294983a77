// mlcsc: feature maps, the signals and codes of convolutional dictionaries. A batch of N images of
// C channels of H x W pixels, stored NCHW (PyTorch's layout) in one contiguous buffer; 1-D signals
// have height 1. FeatureMaps owns its buffer; FeatureMapsView and ConstFeatureMapsView are the
// same shape over the caller's memory, and every dictionary operation and pursuit reads and
// writes through them, so an owned object and a view give the same results.
#pragma once

#include <Eigen/Core>

#include "errors.hpp"
#include "fwd.hpp"

namespace mlcsc {

namespace internal {
/// The shape shared by feature maps and their views.
struct MapsShape {
  Index batch = 0, channels = 0, height = 0, width = 0;
  Index planes() const { return batch * channels; }
  Index plane_size() const { return height * width; }
};

inline void check_maps_shape(const char* where, Index n, Index c, Index h, Index w) {
  if (n < 0 || c < 0 || h < 0 || w < 0)
    throw_invalid(where, ": expected non-negative batch x channels x height x width, got ", n,
                  " x ", c, " x ", h, " x ", w);
}

inline void check_image_range(const char* where, Index first, Index count, Index batch) {
  if (first < 0 || count < 0 || first > batch - count)
    throw_invalid(where, ": images [", first, ", ", first + count, ") (first ", first, ", count ",
                  count, ") must lie in the batch of ", batch);
}

/// The members every kind of feature maps has, from its shape and its first coefficient.
template <class Derived, class Ptr>
class MapsAccess {
 public:
  Index batch() const { return shape().batch; }
  Index channels() const { return shape().channels; }
  Index height() const { return shape().height; }
  Index width() const { return shape().width; }
  /// N C H W, the number of coefficients.
  Index size() const { return shape().planes() * shape().plane_size(); }
  /// C H W, the coefficients of one image.
  Index image_size() const { return shape().channels * shape().plane_size(); }
  bool empty() const { return size() == 0; }
  /// True when both have the same batch, channels, height and width.
  template <class Other>
  bool same_shape(const Other& o) const {
    return batch() == o.batch() && channels() == o.channels() && height() == o.height() &&
           width() == o.width();
  }

 protected:
  const MapsShape& shape() const { return static_cast<const Derived&>(*this).shape_; }
  Ptr plane_ptr(Index n, Index c) const {
    return static_cast<const Derived&>(*this).ptr() +
           (n * shape().channels + c) * shape().plane_size();
  }
};
}  // namespace internal

template <class Scalar>
class ConstFeatureMapsView;

/// \brief N x C x H x W feature maps over memory the caller owns (no copy), NCHW contiguous.
///
/// Usable wherever feature maps are written: a pursuit or an operator writes its result straight
/// into it. A FeatureMaps converts to it implicitly.
/// \code
///   std::vector<float> out(64 * 32 * 12 * 12);
///   mlcsc::FeatureMapsView<float> gamma(out.data(), 64, 32, 12, 12);
///   D.analyze(x, gamma);                          // writes into `out`
/// \endcode
template <class Scalar_>
class FeatureMapsView : public internal::MapsAccess<FeatureMapsView<Scalar_>, Scalar_*> {
 public:
  using Scalar = Scalar_;
  using Values = Eigen::Map<RowMatrix<Scalar>>;
  using ChannelMap = Eigen::Map<RowMatrix<Scalar>>;

  /// N x C x H x W maps at `data`. Throws std::invalid_argument on a null pointer or a negative
  /// size.
  FeatureMapsView(Scalar* data, Index batch, Index channels, Index height, Index width)
      : data_(data), shape_{batch, channels, height, width} {
    internal::check_maps_shape("FeatureMapsView", batch, channels, height, width);
    if (data == nullptr)
      internal::throw_invalid("FeatureMapsView: 'data' is a null pointer (for ", batch, " x ",
                              channels, " x ", height, " x ", width, " maps)");
  }
  FeatureMapsView(FeatureMaps<Scalar>& m);  // NOLINT: implicit, a view of the whole object

  /// All coefficients as an (N C) x (H W) row-major map, one plane a row.
  Values data() const { return Values(data_, shape_.planes(), shape_.plane_size()); }
  /// Channel c of image n as an H x W row-major map.
  ChannelMap channel(Index n, Index c) const {
    return ChannelMap(this->plane_ptr(n, c), shape_.height, shape_.width);
  }
  /// Images [first, first + count) as a view of a batch of `count` (no copy, like PyTorch's
  /// `x.narrow(0, first, count)`). Throws std::invalid_argument when the range leaves the batch.
  FeatureMapsView images(Index first, Index count) const {
    internal::check_image_range("FeatureMapsView::images", first, count, shape_.batch);
    return FeatureMapsView(this->plane_ptr(first, 0), MapsShapeTag{},
                           {count, shape_.channels, shape_.height, shape_.width});
  }
  /// Image n as a view of a batch of one.
  FeatureMapsView image(Index n) const { return images(n, 1); }
  Scalar* ptr() const { return data_; }

 private:
  friend class internal::MapsAccess<FeatureMapsView, Scalar*>;
  friend class ConstFeatureMapsView<Scalar>;
  friend class FeatureMaps<Scalar>;
  struct MapsShapeTag {};
  FeatureMapsView(Scalar* data, MapsShapeTag, internal::MapsShape s) : data_(data), shape_(s) {}

  Scalar* data_;
  internal::MapsShape shape_;
};

/// \brief Read-only N x C x H x W feature maps over memory the caller owns, NCHW contiguous.
/// FeatureMaps and FeatureMapsView convert to it implicitly.
template <class Scalar_>
class ConstFeatureMapsView
    : public internal::MapsAccess<ConstFeatureMapsView<Scalar_>, const Scalar_*> {
 public:
  using Scalar = Scalar_;
  using Values = Eigen::Map<const RowMatrix<Scalar>>;
  using ChannelMap = Eigen::Map<const RowMatrix<Scalar>>;

  /// N x C x H x W maps at `data`. Throws std::invalid_argument on a null pointer or a negative
  /// size.
  ConstFeatureMapsView(const Scalar* data, Index batch, Index channels, Index height, Index width)
      : data_(data), shape_{batch, channels, height, width} {
    internal::check_maps_shape("ConstFeatureMapsView", batch, channels, height, width);
    if (data == nullptr)
      internal::throw_invalid("ConstFeatureMapsView: 'data' is a null pointer (for ", batch, " x ",
                              channels, " x ", height, " x ", width, " maps)");
  }
  ConstFeatureMapsView(const FeatureMaps<Scalar>& m);     // NOLINT: implicit
  ConstFeatureMapsView(const FeatureMapsView<Scalar>& v)  // NOLINT: implicit
      : data_(v.data_), shape_(v.shape_) {}

  Values data() const { return Values(data_, shape_.planes(), shape_.plane_size()); }
  ChannelMap channel(Index n, Index c) const {
    return ChannelMap(this->plane_ptr(n, c), shape_.height, shape_.width);
  }
  ConstFeatureMapsView images(Index first, Index count) const {
    internal::check_image_range("ConstFeatureMapsView::images", first, count, shape_.batch);
    ConstFeatureMapsView v(*this);
    v.data_ = this->plane_ptr(first, 0);
    v.shape_.batch = count;
    return v;
  }
  ConstFeatureMapsView image(Index n) const { return images(n, 1); }
  const Scalar* ptr() const { return data_; }

 private:
  friend class internal::MapsAccess<ConstFeatureMapsView, const Scalar*>;
  friend class FeatureMaps<Scalar>;
  ConstFeatureMapsView() = default;

  const Scalar* data_ = nullptr;
  internal::MapsShape shape_;
};

/// \brief N x C x H x W feature maps, NCHW and contiguous, owning their buffer.
///
/// `data()` is the whole buffer as one row-major Eigen matrix of (N C) x (H W) (one plane a row),
/// `channel(n, c)` is channel c of image n as a writable H x W row-major `Eigen::Map`:
/// \f$ x_{n,c}[i, j] = \mathrm{data}()(n C + c, i W + j) \f$.
/// \code
///   mlcsc::FeatureMaps<float> x(3, 64, 64);        // one image (N = 1), zero-filled
///   x.channel(0).setRandom();                      // H x W view of channel 0
///   mlcsc::FeatureMaps<float> batch(16, 3, 64, 64);  // 16 images
///   float energy = batch.data().squaredNorm();     // all coefficients at once
/// \endcode
/// A FeatureMaps with a zero dimension can be constructed (an empty object), but every
/// dictionary operation rejects it with std::invalid_argument.
template <class Scalar_>
class FeatureMaps : public internal::MapsAccess<FeatureMaps<Scalar_>, const Scalar_*> {
 public:
  using Scalar = Scalar_;
  using Storage = RowMatrix<Scalar>;
  using ChannelMap = Eigen::Map<RowMatrix<Scalar>>;
  using ConstChannelMap = Eigen::Map<const RowMatrix<Scalar>>;

  /// An empty object (0 x 0 x 0 x 0).
  FeatureMaps() = default;

  /// One image (N = 1) of C x H x W, zero-filled. Throws std::invalid_argument if a dimension is
  /// negative.
  FeatureMaps(Index channels, Index height, Index width)
      : FeatureMaps(1, channels, height, width) {}

  /// N images of C x H x W, zero-filled. Throws std::invalid_argument if a dimension is negative.
  FeatureMaps(Index batch, Index channels, Index height, Index width)
      : shape_{batch, channels, height, width} {
    internal::check_maps_shape("FeatureMaps", batch, channels, height, width);
    data_.setZero(batch * channels, height * width);
  }

  /// A copy of a view's coefficients.
  explicit FeatureMaps(const ConstFeatureMapsView<Scalar>& v)
      : data_(v.data()), shape_{v.batch(), v.channels(), v.height(), v.width()} {}

  /// Channel c of image n as an H x W row-major map (no bounds check beyond Eigen's assertions).
  ChannelMap channel(Index n, Index c) {
    return ChannelMap(data_.data() + (n * shape_.channels + c) * shape_.plane_size(), shape_.height,
                      shape_.width);
  }
  ConstChannelMap channel(Index n, Index c) const {
    return ConstChannelMap(this->plane_ptr(n, c), shape_.height, shape_.width);
  }
  /// Channel c of the first image (the only one when N = 1).
  ChannelMap channel(Index c) { return channel(0, c); }
  ConstChannelMap channel(Index c) const { return channel(0, c); }

  /// Images [first, first + count) as a view (no copy); throws std::invalid_argument when the
  /// range leaves the batch.
  FeatureMapsView<Scalar> images(Index first, Index count) {
    return FeatureMapsView<Scalar>(*this).images(first, count);
  }
  ConstFeatureMapsView<Scalar> images(Index first, Index count) const {
    return ConstFeatureMapsView<Scalar>(*this).images(first, count);
  }
  /// Image n as a view of a batch of one.
  FeatureMapsView<Scalar> image(Index n) { return images(n, 1); }
  ConstFeatureMapsView<Scalar> image(Index n) const { return images(n, 1); }

  /// All coefficients as an (N C) x (H W) row-major matrix, one plane a row. Resizing it through
  /// this reference breaks the object's invariants: don't.
  Storage& data() { return data_; }
  const Storage& data() const { return data_; }

  void setZero() { data_.setZero(); }

 private:
  friend class internal::MapsAccess<FeatureMaps, const Scalar*>;
  friend class FeatureMapsView<Scalar>;
  friend class ConstFeatureMapsView<Scalar>;
  const Scalar* ptr() const { return data_.data(); }

  Storage data_;
  internal::MapsShape shape_;
};

template <class Scalar>
FeatureMapsView<Scalar>::FeatureMapsView(FeatureMaps<Scalar>& m)
    : data_(m.data_.data()), shape_(m.shape_) {}

template <class Scalar>
ConstFeatureMapsView<Scalar>::ConstFeatureMapsView(const FeatureMaps<Scalar>& m)
    : data_(m.data_.data()), shape_(m.shape_) {}

/// The coefficients of feature maps as one Eigen matrix ((N C) x (H W), one plane a row), for the
/// generic pursuits.
template <class Scalar>
RowMatrix<Scalar>& values(FeatureMaps<Scalar>& x) {
  return x.data();
}
template <class Scalar>
const RowMatrix<Scalar>& values(const FeatureMaps<Scalar>& x) {
  return x.data();
}
template <class Scalar>
Eigen::Map<RowMatrix<Scalar>> values(const FeatureMapsView<Scalar>& x) {
  return x.data();
}
template <class Scalar>
Eigen::Map<const RowMatrix<Scalar>> values(const ConstFeatureMapsView<Scalar>& x) {
  return x.data();
}

}  // namespace mlcsc
