// mlcsc: the thresholding pursuit  G = S_b(D^T y), the simplest estimate of a sparse code and,
// with NonnegSoft, exactly one CNN layer: ReLU(conv(y, D) - b).
#pragma once

#include <type_traits>

#include "../core/operator.hpp"
#include "../core/shrinkage.hpp"

namespace mlcsc {

/// \brief Thresholding pursuit \f$ \hat\Gamma = S_b(D^T y) \f$ on a batch (dense) or an image
/// (conv, a batch of images). `threshold` is a scalar, or an Eigen vector with one value per atom
/// (filter).
template <class Op, class SignalLike, class T>
auto thresholding(const Op& D, const SignalLike& y, const T& threshold, Shrinkage kind) {
  static_assert(internal::require_operator<Op>::value);
  using Scalar = typename Op::Scalar;
  decltype(auto) ys = D.signal_view(y);
  D.check_signal(ys, "thresholding", "y");
  auto code = D.code_like(ys);
  D.analyze(ys, code);
  auto& v = values(code);
  if constexpr (std::is_arithmetic_v<T>) {
    internal::check_threshold(Scalar(threshold), kind, "thresholding", "threshold");
    internal::shrink_into(v.array(), v.array(), Scalar(threshold), kind);
  } else {
    internal::check_thresholds(threshold, D.code_rows(), kind, "thresholding", "threshold");
    const Eigen::Array<Scalar, Eigen::Dynamic, 1> b =
        threshold.derived().template cast<Scalar>().reshaped().array();
    using V = std::decay_t<decltype(v)>;
    if constexpr (V::IsRowMajor) {
      for (Index r = 0; r < v.rows(); ++r)
        internal::shrink_into(v.row(r).array(), v.row(r).array(), b(r % b.size()), kind);
    } else {
      for (Index c = 0; c < v.cols(); ++c)
        internal::shrink_into(v.col(c).array(), v.col(c).array(), b, kind);
    }
  }
  return code;
}

}  // namespace mlcsc
