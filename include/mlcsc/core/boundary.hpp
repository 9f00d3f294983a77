// mlcsc: how a convolutional dictionary treats pixels outside the signal.
#pragma once

namespace mlcsc {

/// Boundary handling of a convolutional dictionary.
enum class Boundary {
  Circular,  ///< the signal wraps around: the theory's banded-circulant global dictionary
  Zero       ///< pixels outside are 0: a CNN layer's "same" padding
};

inline const char* to_string(Boundary b) {
  return b == Boundary::Circular ? "Circular" : "Zero";
}

}  // namespace mlcsc
