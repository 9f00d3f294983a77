// mlcsc: how a convolutional dictionary treats pixels outside the signal.
#pragma once

namespace mlcsc {

/// Boundary handling of a convolutional dictionary (docs/operator-concept.md has the formulas).
enum class Boundary {
  Circular,  ///< the signal wraps around: the theory's banded-circulant global dictionary
  Zero,      ///< pixels outside are 0: a CNN layer's padding (e - 1) / 2, "same" at stride 1
  Valid      ///< no padding: the code covers only where the filter fits (torch padding=0)
};

inline const char* to_string(Boundary b) {
  return b == Boundary::Circular ? "Circular" : b == Boundary::Zero ? "Zero" : "Valid";
}

}  // namespace mlcsc
