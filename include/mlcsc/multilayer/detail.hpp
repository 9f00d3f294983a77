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
#include "../internal/parallel.hpp"

namespace mlcsc::internal {

/// The full shape of a signal or code: {rows, cols, -1, -1} for a dense matrix, {N, C, H, W} for
/// feature maps (owned or views).
using ShapeKey = std::array<Index, 4>;

template <class Derived>
ShapeKey shape_key(const Eigen::MatrixBase<Derived>& m) {
  return {m.rows(), m.cols(), -1, -1};
}
template <class S>
ShapeKey shape_key(const ConstFeatureMapsView<S>& f) {
  return {f.batch(), f.channels(), f.height(), f.width()};
}
template <class S>
ShapeKey shape_key(const FeatureMaps<S>& f) {
  return shape_key(ConstFeatureMapsView<S>(f));
}
template <class S>
ShapeKey shape_key(const FeatureMapsView<S>& f) {
  return shape_key(ConstFeatureMapsView<S>(f));
}

inline std::string to_string(const ShapeKey& k) {
  return k[2] < 0 ? shape(k[0], k[1]) : message(k[0], " x ", shape(k[1], k[2], k[3]));
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

template <class Op, class = void>
struct has_geometry : std::false_type {};
template <class Op>
struct has_geometry<Op, std::void_t<decltype(std::declval<const Op&>().code_height(Index(1))),
                                    decltype(std::declval<const Op&>().code_width(Index(1)))>>
    : std::true_type {};

/// The shape of D's code for a signal of shape `signal` (no allocation): conv layers through
/// their geometry (code_height / code_width), dense ones m x B.
template <class Op>
ShapeKey code_key(const Op& D, const ShapeKey& signal) {
  if constexpr (has_geometry<Op>::value)
    return {signal[0], D.code_rows(), D.code_height(signal[2]), D.code_width(signal[3])};
  else
    return {D.code_rows(), signal[1], signal[2], signal[3]};
}

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
/// (each layer keeps its own boundary and geometry; whether a code's size is a valid signal of
/// the next layer is checked by the pursuit, for the signal it is given).
template <class Op>
void check_chain(const Op& prev, const Op& next, Index l, const char* where, const char* name) {
  if constexpr (has_filters<Op>::value) {
    if (next.channels() != prev.num_filters())
      throw_invalid(where, ": '", name, "' (layer ", l, ", ", describe(next), ") must have ",
                    prev.num_filters(), " channels, the number of filters of layer ", l - 1, " (",
                    describe(prev), "), got ", next.channels());
  } else if constexpr (has_atoms<Op>::value) {
    if (next.signal_size() != prev.num_atoms())
      throw_invalid(where, ": '", name, "' (layer ", l, ", ", describe(next), ") must have ",
                    prev.num_atoms(), " rows, the number of atoms of layer ", l - 1, " (",
                    describe(prev), "), got ", next.signal_size());
  }
  // other operator models carry no shape information to check: the first pursuit checks them.
}

/// out = S_{scale * thr_r}(x) row by row of a values matrix (one threshold per atom or filter:
/// row r of feature maps, whose images follow each other, takes thr(r mod K)), for either
/// storage order. `x` may alias `out` or be an expression. No allocation. Feature maps are
/// shrunk image by image (K rows at a time), in parallel over the images when there are many
/// values; maps of one value (a network's last layer: a batch of 64 with 512 filters is 32,768
/// rows of one value) as one vector per image. Row by row, the MNIST model's forward pass spent
/// 0.12 ms here, 5% of the pass (bench_geometry), all of it on one thread; now 0.03 ms.
template <class Out, class X, class Scalar>
void shrink_rows(Out&& out, const X& x, const Vector<Scalar>& thr, Scalar scale, Shrinkage kind) {
  if constexpr (std::decay_t<Out>::IsRowMajor) {
    const Index K = thr.size(), cols = out.cols();
    if (out.rows() % K == 0) {
      const Index images = out.rows() / K;
      const int threads = double(out.size()) >= 1e5 ? max_threads() : 1;
      parallel_for(images, threads, [&](Index n) {
        if (cols == 1) {
          shrink_into(out.middleRows(n * K, K).col(0).array(),
                      x.middleRows(n * K, K).col(0).array(), scale * thr.array(), kind);
        } else {
          for (Index k = 0; k < K; ++k)
            shrink_into(out.row(n * K + k).array(), x.row(n * K + k).array(),
                        Scalar(scale * thr(k)), kind);
        }
      });
      return;
    }
    for (Index r = 0; r < out.rows(); ++r)
      shrink_into(out.row(r).array(), x.row(r).array(), Scalar(scale * thr(r % K)), kind);
  } else {
    for (Index c = 0; c < out.cols(); ++c)
      shrink_into(out.col(c).array(), x.col(c).array(), scale * thr.array(), kind);
  }
}

/// sum_r w_r ||row r||_1 of a values matrix (the weighted l1 norm of a code; feature maps' row r
/// takes w(r mod K)).
template <class M, class Scalar>
double weighted_l1_rows(const M& G, const Vector<Scalar>& w) {
  if (G.rows() == w.size()) return double((G.array().abs().colwise() * w.array()).sum());
  double s = 0;
  for (Index r = 0; r < G.rows(); ++r)
    s += double(w(r % w.size())) * double(G.row(r).cwiseAbs().sum());
  return s;
}

/// Copies of a shape: a zero code/signal like `x` (works for dense matrices and feature maps).
template <class S>
Matrix<S> zeros_like(const Matrix<S>& x) {
  return Matrix<S>::Zero(x.rows(), x.cols());
}
template <class S>
FeatureMaps<S> zeros_like(const ConstFeatureMapsView<S>& x) {
  return FeatureMaps<S>(x.batch(), x.channels(), x.height(), x.width());
}
template <class S>
FeatureMaps<S> zeros_like(const FeatureMaps<S>& x) {
  return zeros_like(ConstFeatureMapsView<S>(x));
}

}  // namespace mlcsc::internal
