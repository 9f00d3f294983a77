// mlcsc: the operator concept. Every dictionary type models it, so every pursuit is written once.
//
// A type Op models the concept when it provides (docs/operator-concept.md, plus the helpers below
// that the generic pursuits use):
//
//   using Scalar, Signal, Code;
//   using CodeView;                                  // a writable view a Code& converts to (a
//                                                    // caller's memory the pursuits write into)
//   void   analyze(const Signal& x, Code& gamma) const;     // gamma = D^T x   (correlation)
//   void   synthesize(const Code& gamma, Signal& x) const;  // x = D gamma (sum_k d_k * gamma_k)
//   Code   analyze(const Signal& x) const;
//   Signal synthesize(const Code& gamma) const;
//   Scalar lipschitz_for(const Signal& y) const;   // ||D||_2^2 for signals shaped like y
//   Code   code_like(const Signal& y) const;       // zero code for a signal shaped like y
//   Signal signal_like(const Code& g) const;       // zero signal for a code shaped like g
//   Index  code_rows() const;                      // rows of values(code): atoms or filters
//   void   check_signal(const Signal& y, const char* where, const char* name) const;
//   signal_view(y)                                 // the signal argument as a Signal (no copy
//                                                  // for plain objects)
//
// Codes and signals expose their coefficients as one Eigen matrix through `values(x)`: a dense
// code is itself (m x B, one atom a row, one signal a column); FeatureMaps give data() ((N C) x
// HW, one plane a row, the images one after another). Per-atom thresholds are one per atom
// (filter): a row of a dense code, or row r of feature maps takes threshold r mod code_rows().
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
template <class Scalar>
Eigen::Ref<Matrix<Scalar>> values(const Eigen::Ref<Matrix<Scalar>>& m) {
  return m;  // a writable view, like FeatureMapsView's
}

// --- the concept as code ----------------------------------------------------------------------

namespace internal::concept_detail {
template <class T>
const T& cref();
template <class T>
T& ref();

#define MLCSC_DETECT(name, expr)    \
  template <class Op, class = void> \
  struct name : std::false_type {}; \
  template <class Op>               \
  struct name<Op, std::void_t<decltype(expr)>> : std::true_type {}

MLCSC_DETECT(has_types,
             (std::declval<typename Op::Scalar>(), cref<typename Op::Signal>(),
              cref<typename Op::Code>(), typename Op::CodeView(ref<typename Op::Code>())));
MLCSC_DETECT(has_analyze,
             cref<Op>().analyze(cref<typename Op::Signal>(), ref<typename Op::Code>()));
MLCSC_DETECT(has_synthesize,
             cref<Op>().synthesize(cref<typename Op::Code>(), ref<typename Op::Signal>()));
MLCSC_DETECT(has_analyze_new, typename Op::Code(cref<Op>().analyze(cref<typename Op::Signal>())));
MLCSC_DETECT(has_synthesize_new,
             typename Op::Signal(cref<Op>().synthesize(cref<typename Op::Code>())));
MLCSC_DETECT(has_lipschitz_for, double(cref<Op>().lipschitz_for(cref<typename Op::Signal>())));
MLCSC_DETECT(has_code_like, typename Op::Code(cref<Op>().code_like(cref<typename Op::Signal>())));
MLCSC_DETECT(has_signal_like,
             typename Op::Signal(cref<Op>().signal_like(cref<typename Op::Code>())));
MLCSC_DETECT(has_code_rows, Index(cref<Op>().code_rows()));
MLCSC_DETECT(has_check_signal,
             cref<Op>().check_signal(cref<typename Op::Signal>(), static_cast<const char*>(nullptr),
                                     static_cast<const char*>(nullptr)));
MLCSC_DETECT(has_signal_view, cref<Op>().signal_view(cref<typename Op::Signal>()));
MLCSC_DETECT(has_values, (values(ref<typename Op::Code>()), values(cref<typename Op::Signal>())));
#undef MLCSC_DETECT
}  // namespace internal::concept_detail

/// True when Op models the operator concept at the top of this file (docs/operator-concept.md).
template <class Op>
inline constexpr bool is_operator_v = [] {
  using namespace internal::concept_detail;
  return has_types<Op>::value && has_analyze<Op>::value && has_synthesize<Op>::value &&
         has_analyze_new<Op>::value && has_synthesize_new<Op>::value &&
         has_lipschitz_for<Op>::value && has_code_like<Op>::value && has_signal_like<Op>::value &&
         has_code_rows<Op>::value && has_check_signal<Op>::value && has_signal_view<Op>::value &&
         has_values<Op>::value;
}();

namespace internal {
/// Checked by every pursuit (static_assert(internal::require_operator<Op>::value)): a type that
/// does not model the concept fails to compile there, first with a message naming the first
/// member it lacks.
template <class Op>
struct require_operator {
  static_assert(concept_detail::has_types<Op>::value,
                "mlcsc: not an operator: needs the types Op::Scalar, Op::Signal, Op::Code and "
                "Op::CodeView (a writable view a Code converts to; docs/operator-concept.md)");
  static_assert(concept_detail::has_analyze<Op>::value,
                "mlcsc: not an operator: needs void analyze(const Signal&, Code&) const");
  static_assert(concept_detail::has_synthesize<Op>::value,
                "mlcsc: not an operator: needs void synthesize(const Code&, Signal&) const");
  static_assert(concept_detail::has_analyze_new<Op>::value,
                "mlcsc: not an operator: needs Code analyze(const Signal&) const");
  static_assert(concept_detail::has_synthesize_new<Op>::value,
                "mlcsc: not an operator: needs Signal synthesize(const Code&) const");
  static_assert(concept_detail::has_lipschitz_for<Op>::value,
                "mlcsc: not an operator: needs Scalar lipschitz_for(const Signal&) const");
  static_assert(concept_detail::has_code_like<Op>::value,
                "mlcsc: not an operator: needs Code code_like(const Signal&) const");
  static_assert(concept_detail::has_signal_like<Op>::value,
                "mlcsc: not an operator: needs Signal signal_like(const Code&) const");
  static_assert(concept_detail::has_code_rows<Op>::value,
                "mlcsc: not an operator: needs Index code_rows() const");
  static_assert(concept_detail::has_check_signal<Op>::value,
                "mlcsc: not an operator: needs void check_signal(const Signal&, const char* "
                "where, const char* name) const");
  static_assert(concept_detail::has_signal_view<Op>::value,
                "mlcsc: not an operator: needs signal_view(const Signal&) const");
  static_assert(concept_detail::has_values<Op>::value,
                "mlcsc: not an operator: needs values(Code&) and values(const Signal&), the "
                "coefficients as one Eigen matrix");
  static constexpr bool value = true;
};
}  // namespace internal

namespace internal {
/// Whether Op is a dense Dictionary (the pursuits that need a Gram matrix or explicit atoms).
template <class T>
struct is_dense_dictionary : std::false_type {};
template <class S>
struct is_dense_dictionary<Dictionary<S>> : std::true_type {};
/// True for ConvDictionary (the frequency-domain solvers need its filters and geometry).
template <class T>
struct is_conv_dictionary : std::false_type {};
template <class S>
struct is_conv_dictionary<ConvDictionary<S>> : std::true_type {};
}  // namespace internal

}  // namespace mlcsc
