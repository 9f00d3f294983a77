// mlcsc: input checks. Every public entry point validates its arguments with these and throws
// std::invalid_argument naming the argument and the shapes ("expected ..., got ...").
#pragma once

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include <Eigen/Core>

namespace mlcsc::internal {

/// Concatenates its arguments with operator<< into one message.
template <class... Args>
std::string message(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <class... Args>
[[noreturn]] void throw_invalid(const Args&... args) {
  throw std::invalid_argument(message(args...));
}

/// "r x c", the way every shape is printed in an error message.
inline std::string shape(Eigen::Index rows, Eigen::Index cols) {
  return message(rows, " x ", cols);
}
inline std::string shape(Eigen::Index c, Eigen::Index h, Eigen::Index w) {
  return message(c, " x ", h, " x ", w);
}

/// Throws unless every coefficient of `x` is finite (no NaN, no +-Inf). The test is one
/// vectorized sum of x * 0, NaN exactly when some coefficient is not finite (Eigen's allFinite
/// reduces with scalar code: 2-4x slower on a batch of signals).
template <class Derived>
void require_finite(const Eigen::DenseBase<Derived>& x, const char* where, const char* name) {
  using Scalar = typename Derived::Scalar;
  if (x.size() > 0 && std::isnan((x.derived().array() * Scalar(0)).sum())) {
    throw_invalid(where, ": '", name, "' (", shape(x.rows(), x.cols()),
                  ") contains NaN or infinite values");
  }
}

template <class Scalar>
void require_finite_scalar(Scalar v, const char* where, const char* name) {
  if (!std::isfinite(double(v))) throw_invalid(where, ": '", name, "' must be finite, got ", v);
}

}  // namespace mlcsc::internal
