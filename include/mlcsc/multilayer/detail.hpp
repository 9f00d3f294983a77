// mlcsc: helpers shared by the multi-layer headers (not part of the public API): shape keys of
// signals and codes, layer-chain checks for any model of the operator concept, and the per-row
// shrinkage of a code's values matrix in either storage order.
#pragma once

#include <array>
#include <string>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "../core/errors.hpp"
#include "../core/feature_maps.hpp"
#include "../core/fwd.hpp"
#include "../core/operator.hpp"
#include "../core/shrinkage.hpp"

namespace mlcsc::internal {

/// The full shape of a signal or code: {rows, cols, 0} for a dense matrix, {C, H, W} for maps.
using ShapeKey = std::array<Index, 3>;

template <class Derived>
ShapeKey shape_key(const Eigen::MatrixBase<Derived>& m) {
  return {m.rows(), m.cols(), -1};
}
template <class S>
ShapeKey shape_key(const FeatureMaps<S>& f) {
  return {f.channels(), f.height(), f.width()};
}

inline std::string to_string(const ShapeKey& k) {
  return k[2] < 0 ? shape(k[0], k[1]) : shape(k[0], k[1], k[2]);
}

// --- what kind of operator is it (detected, so the headers need not include each other) ---
template <class Op, class = void>
struct has_filters : std::false_type {};
template <class Op>
struct has_filters<Op, std::void_t<decltype(std::declval<const Op&>().num_filters()),
                                   decltype(std::declval<const Op&>().channels())>>
    : std::true_type {};

template <class Op, class = void>
struct has_boundary : std::false_type {};
template <class Op>
struct has_boundary<Op, std::void_t<decltype(std::declval<const Op&>().boundary())>>
    : std::true_type {};

template <class Op, class = void>
struct has_atoms : std::false_type {};
template <class Op>
struct has_atoms<Op, std::void_t<decltype(std::declval<const Op&>().num_atoms()),
                                 decltype(std::declval<const Op&>().signal_size())>>
    : std::true_type {};

template <class Op, class = void>
struct has_kernel : std::false_type {};
template <class Op>
struct has_kernel<Op, std::void_t<decltype(std::declval<const Op&>().kernel_height()),
                                  decltype(std::declval<const Op&>().kernel_width())>>
    : std::true_type {};

/// "n x m" for a dense dictionary, "K x C x kh x kw (Boundary)" for a convolutional one.
template <class Op>
std::string describe(const Op& D) {
  if constexpr (has_filters<Op>::value && has_kernel<Op>::value) {
    std::string s = message(D.num_filters(), " filters x ", D.channels(), " channels x ",
                            D.kernel_height(), " x ", D.kernel_width());
    if constexpr (has_boundary<Op>::value) s += message(" (", mlcsc::to_string(D.boundary()), ")");
    return s;
  } else if constexpr (has_atoms<Op>::value) {
    return shape(D.signal_size(), D.num_atoms());
  } else {
    return message(D.code_rows(), " code rows");
  }
}

/// Throws unless layer `next` reads the code of layer `prev` as its signal:
/// dense: next.signal_size() == prev.num_atoms(); conv: next.channels() == prev.num_filters()
/// and the same boundary.
template <class Op>
void check_chain(const Op& prev, const Op& next, Index l, const char* where, const char* name) {
  if constexpr (has_filters<Op>::value) {
    if (next.channels() != prev.num_filters())
      throw_invalid(where, ": '", name, "' (layer ", l, ", ", describe(next), ") must have ",
                    prev.num_filters(), " channels, the number of filters of layer ", l - 1, " (",
                    describe(prev), "), got ", next.channels());
    if constexpr (has_boundary<Op>::value) {
      if (next.boundary() != prev.boundary())
        throw_invalid(where, ": '", name, "' (layer ", l, ") must have the boundary of layer ",
                      l - 1, " (", mlcsc::to_string(prev.boundary()), "), got ",
                      mlcsc::to_string(next.boundary()));
    }
  } else if constexpr (has_atoms<Op>::value) {
    if (next.signal_size() != prev.num_atoms())
      throw_invalid(where, ": '", name, "' (layer ", l, ", ", describe(next), ") must have ",
                    prev.num_atoms(), " rows, the number of atoms of layer ", l - 1, " (",
                    describe(prev), "), got ", next.signal_size());
  }
  // other operator models carry no shape information to check: the first pursuit checks them.
}

/// out = S_{scale * thr_r}(x) row by row of a values matrix (one threshold per row: atom or
/// channel), for either storage order. `x` may alias `out` or be an expression. No allocation.
template <class Out, class X, class Scalar>
void shrink_rows(Out& out, const X& x, const Vector<Scalar>& thr, Scalar scale, Shrinkage kind) {
  if constexpr (std::decay_t<Out>::IsRowMajor) {
    for (Index r = 0; r < out.rows(); ++r)
      shrink_into(out.row(r).array(), x.row(r).array(), Scalar(scale * thr(r)), kind);
  } else {
    for (Index c = 0; c < out.cols(); ++c)
      shrink_into(out.col(c).array(), x.col(c).array(), scale * thr.array(), kind);
  }
}

/// sum_r w_r ||row r||_1 of a values matrix (the weighted l1 norm of a code).
template <class M, class Scalar>
double weighted_l1_rows(const M& G, const Vector<Scalar>& w) {
  return double((G.array().abs().colwise() * w.array()).sum());
}

/// Copies of a shape: a zero code/signal like `x` (works for dense matrices and feature maps).
template <class S>
Matrix<S> zeros_like(const Matrix<S>& x) {
  return Matrix<S>::Zero(x.rows(), x.cols());
}
template <class S>
FeatureMaps<S> zeros_like(const FeatureMaps<S>& x) {
  return FeatureMaps<S>(x.channels(), x.height(), x.width());
}

}  // namespace mlcsc::internal
