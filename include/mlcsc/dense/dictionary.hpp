// mlcsc: a dense dictionary D (n x m, one atom a column). Signals are the columns of a matrix, so
// every operation codes a whole batch at once (n x B -> m x B) with matrix-matrix products.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>

#include <Eigen/Core>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"
#include "../core/operator.hpp"
#include "../internal/gemm.hpp"
#include "../internal/lanczos.hpp"

namespace mlcsc {

/// \brief Dense dictionary: X = D Gamma with D an n x m matrix of atoms (columns).
/// \code
///   mlcsc::Dictionary<double> D(Eigen::MatrixXd::Random(64, 256));
///   D.normalize();
///   Eigen::MatrixXd G = D.analyze(Y);      // D^T Y
///   Eigen::MatrixXd X = D.synthesize(G);   // D G
/// \endcode
template <class Scalar_>
class Dictionary {
 public:
  using Scalar = Scalar_;
  using Signal = Matrix<Scalar>;
  using Code = Matrix<Scalar>;
  using SignalView = Eigen::Ref<const Matrix<Scalar>>;
  /// A writable code or signal in the caller's memory: a Matrix, a block with unit inner stride
  /// or an Eigen::Map converts to it without a copy.
  using CodeView = Eigen::Ref<Matrix<Scalar>>;

  /// Takes a copy of `atoms` (n x m). Throws std::invalid_argument if it is empty or not finite.
  template <class Derived>
  explicit Dictionary(const Eigen::MatrixBase<Derived>& atoms)
      : atoms_(atoms.template cast<Scalar>()) {
    if (atoms_.rows() == 0 || atoms_.cols() == 0)
      internal::throw_invalid("Dictionary: 'atoms' must be non-empty, got ",
                              internal::shape(atoms_.rows(), atoms_.cols()));
    internal::require_finite(atoms_, "Dictionary", "atoms");
    atoms_changed();
  }

  Index signal_size() const { return atoms_.rows(); }
  Index num_atoms() const { return atoms_.cols(); }
  Index code_rows() const { return atoms_.cols(); }
  const Matrix<Scalar>& matrix() const { return atoms_; }

  /// Scales every atom to unit l2 norm. Throws if an atom has zero norm (it cannot be normalized).
  void normalize() {
    for (Index j = 0; j < atoms_.cols(); ++j) {
      const Scalar nrm = atoms_.col(j).norm();
      if (!(nrm > Scalar(0)) || !std::isfinite(double(nrm)))
        internal::throw_invalid("Dictionary::normalize: atom ", j, " of 'atoms' (",
                                internal::shape(atoms_.rows(), atoms_.cols()), ") has norm ", nrm,
                                " and cannot be normalized");
    }
    atoms_.colwise().normalize();
    atoms_changed();
  }

  /// The signal argument as a view: no copy for plain column-major matrices and their blocks.
  template <class Derived>
  SignalView signal_view(const Eigen::MatrixBase<Derived>& y) const {
    return SignalView(y.derived());
  }

  void check_signal(const SignalView& y, const char* where, const char* name) const {
    if (y.rows() != signal_size() || y.cols() == 0)
      internal::throw_invalid(
          where, ": '", name, "' must have ", signal_size(), " rows (the dictionary is ",
          internal::shape(signal_size(), num_atoms()), ") and at least one column, got ",
          internal::shape(y.rows(), y.cols()));
    internal::require_finite(y, where, name);
  }
  void check_code(const Eigen::Ref<const Matrix<Scalar>>& g, const char* where,
                  const char* name) const {
    if (g.rows() != num_atoms() || g.cols() == 0)
      internal::throw_invalid(
          where, ": '", name, "' must have ", num_atoms(), " rows (the dictionary is ",
          internal::shape(signal_size(), num_atoms()), ") and at least one column, got ",
          internal::shape(g.rows(), g.cols()));
    internal::require_finite(g, where, name);
  }

  Code code_like(const SignalView& y) const { return Code::Zero(num_atoms(), y.cols()); }
  Signal signal_like(const Eigen::Ref<const Matrix<Scalar>>& g) const {
    return Signal::Zero(signal_size(), g.cols());
  }

  /// gamma = D^T x (x: n x B, gamma: m x B, sized by the caller; a Matrix or a view).
  void analyze(const SignalView& x, CodeView gamma) const {
    check_out(gamma, num_atoms(), x.cols(), "analyze", "gamma");
    if (x.rows() != signal_size()) check_signal(x, "Dictionary::analyze", "x");
    internal::gemm<Scalar>(atoms_, true, x, gamma);  // no allocation once warm (internal/gemm.hpp)
  }
  /// x = D gamma (gamma: m x B, x: n x B, sized by the caller).
  void synthesize(const Eigen::Ref<const Matrix<Scalar>>& gamma, CodeView x) const {
    check_out(x, signal_size(), gamma.cols(), "synthesize", "x");
    if (gamma.rows() != num_atoms()) check_code(gamma, "Dictionary::synthesize", "gamma");
    internal::gemm<Scalar>(atoms_, false, gamma, x);
  }
  Code analyze(const SignalView& x) const {
    check_signal(x, "Dictionary::analyze", "x");
    Code gamma(num_atoms(), x.cols());
    analyze(x, gamma);
    return gamma;
  }
  Signal synthesize(const Eigen::Ref<const Matrix<Scalar>>& gamma) const {
    check_code(gamma, "Dictionary::synthesize", "gamma");
    Signal x(signal_size(), gamma.cols());
    synthesize(gamma, x);
    return x;
  }

  /// \f$ L = \|D\|_2^2 = \lambda_{\max}(D^T D) \f$, the Lipschitz constant of the gradient of
  /// \f$ \tfrac12\|y - D\gamma\|^2 \f$; computed on the first call after the atoms change
  /// and cached (thread-safe, as `shared_gram`).
  Scalar lipschitz() const {
    if (!cache_) return compute_lipschitz();  // moved-from
    Cache& c = *cache_;
    std::call_once(c.lipschitz_once, [&] { c.lipschitz = compute_lipschitz(); });
    return c.lipschitz;
  }
  Scalar lipschitz_for(const SignalView&) const { return lipschitz(); }

  /// The Gram matrix D^T D (m x m), a copy of the cached one (see `shared_gram`).
  Matrix<Scalar> gram() const { return *shared_gram(); }

  /// \brief The Gram matrix \f$ G = D^T D \f$ (m x m, symmetric), computed on the first call
  /// after the atoms change and cached.
  /// Concurrent const calls are safe: the first computes it (once), the others wait for it and
  /// then share it. The matrix is immutable: when the atoms change (`normalize`) the dictionary
  /// starts a new cache and the old matrix stays valid for whoever still holds it, so a solver
  /// may keep the pointer across calls and detect a change of atoms by comparing it with a new
  /// `shared_gram()`. Copies of a dictionary share the cache (their atoms are the same).
  std::shared_ptr<const Matrix<Scalar>> shared_gram() const {
    if (!cache_) return std::make_shared<const Matrix<Scalar>>(compute_gram());  // moved-from
    Cache& c = *cache_;
    std::call_once(c.gram_once, [&] { c.G = compute_gram(); });
    return std::shared_ptr<const Matrix<Scalar>>(cache_, &c.G);  // aliasing: shares the cache
  }

  /// Replaces the atoms by `atoms`, which must have the dictionary's shape (n x m) and be
  /// finite; what was cached from the old atoms is dropped (holders of an old Gram matrix keep
  /// theirs). The dictionary learners update their atoms this way.
  template <class Derived>
  void set_atoms(const Eigen::MatrixBase<Derived>& atoms) {
    if (atoms.rows() != atoms_.rows() || atoms.cols() != atoms_.cols())
      internal::throw_invalid(
          "Dictionary::set_atoms: 'atoms' must be ", internal::shape(atoms_.rows(), atoms_.cols()),
          " (the dictionary's shape), got ", internal::shape(atoms.rows(), atoms.cols()));
    internal::require_finite(atoms, "Dictionary::set_atoms", "atoms");
    atoms_ = atoms.template cast<Scalar>();
    atoms_changed();
  }

 private:
  template <class Out>
  void check_out(const Out& out, Index rows, Index cols, const char* fn, const char* name) const {
    if (out.rows() != rows || out.cols() != cols)
      internal::throw_invalid("Dictionary::", fn, ": output '", name, "' must be ",
                              internal::shape(rows, cols), ", got ",
                              internal::shape(out.rows(), out.cols()));
  }

  Matrix<Scalar> compute_gram() const {
    Matrix<Scalar> G(num_atoms(), num_atoms());
    G.template triangularView<Eigen::Lower>() = atoms_.transpose() * atoms_;
    G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
    return G;
  }

  // Everything cached from the atoms starts again, computed on demand (the m x m Gram matrix
  // may be large, and no pursuit needs both it and L).
  void atoms_changed() { cache_ = std::make_shared<Cache>(); }

  // lambda_max of the smaller Gram matrix in double: exact up to 1024, Lanczos beyond
  // (internal/lanczos.hpp).
  Scalar compute_lipschitz() const {
    return Scalar(internal::gram_lambda_max(atoms_.template cast<double>()));
  }

  struct Cache {
    std::once_flag gram_once, lipschitz_once;
    Matrix<Scalar> G;
    Scalar lipschitz = Scalar(0);
  };

  Matrix<Scalar> atoms_;
  std::shared_ptr<Cache> cache_;  // never null once constructed; replaced when atoms change
};

}  // namespace mlcsc
