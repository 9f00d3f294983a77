// mlcsc: mutual coherence of a dense dictionary.
#pragma once

#include <cmath>

#include "../core/errors.hpp"
#include "../dense/dictionary.hpp"

namespace mlcsc {

/// \brief Mutual coherence \f$ \mu(D) = \max_{i \ne j} |d_i^T d_j| / (\|d_i\| \|d_j\|) \f$
/// (Donoho & Huo 2001). Throws if an atom has zero norm or there is only one atom.
template <class Scalar>
Scalar mutual_coherence(const Dictionary<Scalar>& D) {
  const Index m = D.num_atoms();
  if (m < 2)
    internal::throw_invalid("mutual_coherence: needs at least 2 atoms, the dictionary is ",
                            internal::shape(D.signal_size(), m));
  const Matrix<double> A = D.matrix().template cast<double>();
  const Vector<double> norms = A.colwise().norm().transpose();
  Index j;
  if (norms.minCoeff(&j) <= 0)
    internal::throw_invalid("mutual_coherence: atom ", j, " of the dictionary (",
                            internal::shape(D.signal_size(), m), ") has zero norm");
  Matrix<double> G = A.transpose() * A;
  G = norms.cwiseInverse().asDiagonal() * G * norms.cwiseInverse().asDiagonal();
  G.diagonal().setZero();
  return Scalar(std::min(1.0, G.cwiseAbs().maxCoeff()));
}

}  // namespace mlcsc
