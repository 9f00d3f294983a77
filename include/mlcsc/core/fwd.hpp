// mlcsc: forward declarations and the aliases every header shares.
#pragma once

#include <Eigen/Core>

namespace mlcsc {

using Index = Eigen::Index;

/// Dense column-major matrix: dictionaries (n x m, one atom a column), batches of signals
/// (n x B, one signal a column) and their codes (m x B).
template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
/// Row-major storage of feature maps: one plane (an image's channel) a row, H*W pixels along it.
template <class Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class Shrinkage;
enum class Boundary;
enum class Method;

template <class Scalar>
class Dictionary;
template <class Scalar>
class FeatureMaps;
template <class Scalar>
class FeatureMapsView;
template <class Scalar>
class ConstFeatureMapsView;
template <class Scalar>
class ConvDictionary;
template <class Op>
class MultiLayer;

template <class Scalar>
struct LassoParams;
template <class Code, class Scalar>
struct PursuitResult;

}  // namespace mlcsc
