// mlcsc: the operator concept. Every dictionary type models it, so every pursuit is written once.
//
// A type Op models the concept when it provides (docs/operator-concept.md, plus the helpers below
// that the generic pursuits use):
//
//   using Scalar, Signal, Code;
//   void   analyze(const Signal& x, Code& gamma) const;     // gamma = D^T x   (correlation)
//   void   synthesize(const Code& gamma, Signal& x) const;  // x = D gamma     (sum_k d_k *
//   gamma_k) Code   analyze(const Signal& x) const; Signal synthesize(const Code& gamma) const;
//   Scalar lipschitz_for(const Signal& y) const;   // ||D||_2^2 for signals shaped like y
//   Code   code_like(const Signal& y) const;       // zero code for a signal shaped like y
//   Signal signal_like(const Code& g) const;       // zero signal for a code shaped like g
//   Index  code_rows() const;                      // rows of values(code): atoms or filters
//   void   check_signal(const Signal& y, const char* where, const char* name) const;
//   signal_view(y)                                 // the signal argument as a Signal (no copy
//                                                  // for plain objects)
//
// Codes and signals expose their coefficients as one Eigen matrix through `values(x)`: a dense
// code is itself (m x B, one atom a row); FeatureMaps give data() (C x HW, one channel a row).
// Per-atom thresholds are therefore always "one per row of values(code)".
#pragma once

#include <type_traits>

#include "fwd.hpp"

namespace mlcsc {

template <class Scalar>
Matrix<Scalar>& values(Matrix<Scalar>& m) {
  return m;
}
template <class Scalar>
const Matrix<Scalar>& values(const Matrix<Scalar>& m) {
  return m;
}
template <class Scalar>
const Eigen::Ref<const Matrix<Scalar>>& values(const Eigen::Ref<const Matrix<Scalar>>& m) {
  return m;
}

namespace internal {
/// Whether Op is a dense Dictionary (the pursuits that need a Gram matrix or explicit atoms).
template <class T>
struct is_dense_dictionary : std::false_type {};
template <class S>
struct is_dense_dictionary<Dictionary<S>> : std::true_type {};
}  // namespace internal

}  // namespace mlcsc
