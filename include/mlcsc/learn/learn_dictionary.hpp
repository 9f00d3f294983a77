// mlcsc: learn_dictionary, a dense dictionary learned from a batch of signals (API.md section 11):
// online / mini-batch learning (learn/online_dictionary.hpp), MOD or K-SVD
// (learn/batch_dictionary.hpp).
#pragma once

#include "../core/errors.hpp"
#include "../dense/dictionary.hpp"
#include "batch_dictionary.hpp"
#include "online_dictionary.hpp"
#include "params.hpp"
#include "sampling.hpp"

namespace mlcsc {

/// \brief Learns a dictionary of `p.num_atoms` unit-norm atoms from the signals Y (n x B, one a
/// column) for the model y = D g with g sparse:
/// \f$ \min_{D, G} \sum_b \tfrac12\|y_b - D g_b\|_2^2 + \lambda\|g_b\|_1 \f$, \f$ \|d_j\|_2 = 1
/// \f$, by `p.method` (DictLearnMethod::Online by default: Mairal et al., JMLR 2010). \code
///   mlcsc::DictLearnParams<float> p;
///   p.num_atoms = 256;  p.lambda = 0.1f;  p.epochs = 5;
///   auto r = mlcsc::learn_dictionary(patches, p);   // patches: 64 x 100000
///   mlcsc::Dictionary<float>& D = r.dictionary;      // r.objective: one value per epoch
/// \endcode
/// Throws std::invalid_argument for an empty or non-finite Y and invalid parameters (naming the
/// field). Seeded: the same Y, parameters and seed give the same dictionary.
template <class Scalar, class Derived>
auto learn_dictionary(const Eigen::MatrixBase<Derived>& Y, const DictLearnParams<Scalar>& p) {
  static_assert(std::is_same<typename Derived::Scalar, Scalar>::value,
                "learn_dictionary: the signals' scalar type must be the parameters' Scalar");
  const Eigen::Ref<const Matrix<Scalar>> Yr(Y.derived());
  if (Yr.rows() == 0 || Yr.cols() == 0)
    internal::throw_invalid("learn_dictionary: 'Y' must have at least one row and one column, got ",
                            internal::shape(Yr.rows(), Yr.cols()));
  internal::require_finite(Yr, "learn_dictionary", "Y");
  p.check(Yr.rows(), "learn_dictionary");
  internal::LearnRng rng(p.seed);
  Matrix<Scalar> D0;
  if (p.initial_dictionary.size() != 0) {
    D0 = p.initial_dictionary.colwise().normalized();
    if (p.nonnegative) {
      D0 = D0.cwiseMax(Scalar(0));
      for (Index j = 0; j < D0.cols(); ++j)
        if (!(D0.col(j).norm() > Scalar(0)))
          internal::throw_invalid("learn_dictionary: atom ", j,
                                  " of 'initial_dictionary' has no positive entry (nonnegative)");
      D0.colwise().normalize();
    }
  } else {
    D0 = internal::initial_atoms<Scalar>(Yr, p.num_atoms, p.nonnegative, rng);
  }
  if (p.method == DictLearnMethod::Online)
    return internal::learn_online<Scalar>(Yr, p, std::move(D0), rng);
  return internal::BatchDictionaryLearner<Scalar>(Yr, p, std::move(D0)).run();
}

}  // namespace mlcsc
