// mlcsc: online (mini-batch) dictionary learning, Mairal, Bach, Ponce, Sapiro, "Online learning
// for matrix factorization and sparse coding", JMLR 11 (2010), Algorithms 1 and 2 with the
// mini-batch extension of their section 3.4.3:
//   for each mini-batch Y_t (eta signals, shuffled every epoch), t = 0, 1, ...:
//     G_t = argmin_G 0.5||Y_t - D G||^2 + lambda ||G||_1      (the exact Lasso: coordinate descent)
//     A <- beta_t^rho A + G_t G_t^T,   B <- beta_t^rho B + Y_t G_t^T
//     for each atom j:  u = d_j + (b_j - D a_j) / A_jj,   d_j = u / ||u||
// beta_t = (theta_t + 1 - eta) / (theta_t + 1), theta_t = (t + 1) eta for t < eta - 1, else
// eta^2 + t + 1 - eta, are scikit-learn's weights for its MiniBatchDictionaryLearning: the past
// statistics are averaged, the first mini-batches (codes of the poorest dictionaries) weighing
// less (Mairal et al. 3.4.4). rho (`forgetting`, Mairal et al. 3.4.2) forgets them faster:
// after the first eta mini-batches the statistics remember about the last eta / rho. The atom
// step is the exact minimizer of the surrogate over d_j on the unit sphere (the surrogate is
// isotropic in d_j: (A_jj / 2)||d_j - u||^2 + const), so atoms stay unit-norm; with
// `nonnegative` the codes are the non-negative Lasso's and u is replaced by its positive part. An
// atom no signal has used (A_jj <= 1e-10 max_k A_kk) is replaced by the mini-batch's signal
// with the largest residual (Mairal et al. 3.4.5 replace it by a signal; the worst-represented
// one is the useful choice), and its statistics restart.
// The statistics are accumulated over each code's support only (a code has ~n nonzeros of m).
// Per epoch the objective is that of all signals coded with the epoch's dictionary.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../pursuit/coordinate_descent.hpp"
#include "params.hpp"
#include "sampling.hpp"

namespace mlcsc::internal {

/// Writes G = D^T D (both triangles) into the caller's m x m buffer.
template <class Scalar>
void gram_into(const Matrix<Scalar>& D, Matrix<Scalar>& G) {
  G.template triangularView<Eigen::Lower>() = D.transpose() * D;
  G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
}

/// The Lasso objective of every column of Y coded with the atoms D (and G = D^T D), summed in
/// double, coding chunks of columns into `code` (m x chunk).
template <class Scalar>
double lasso_objective(const Matrix<Scalar>& D, const Matrix<Scalar>& G,
                       const Eigen::Ref<const Matrix<Scalar>>& Y, const LassoParams<Scalar>& lp,
                       CoordinateDescentBatch<Scalar>& cd, Matrix<Scalar>& code) {
  PursuitStats<Scalar> st;
  double sum = 0;
  for (Index b0 = 0; b0 < Y.cols(); b0 += code.cols()) {
    const Index nb = std::min(code.cols(), Y.cols() - b0);
    cd.run(D, G, Y.middleCols(b0, nb), lp, false, code.leftCols(nb), st);
    sum += double(st.objective);
  }
  return sum;
}

}  // namespace mlcsc::internal

namespace mlcsc {

/// \brief The state of online dictionary learning between mini-batches, and its step: the atoms
/// D (n x m, unit norm), the statistics A = sum_t beta g g^T (m x m) and B = sum_t beta y g^T
/// (n x m), and the number of mini-batches seen (scikit-learn's `components_`, `_inner_stats`
/// and `n_steps_`). `learn_dictionary` (DictLearnMethod::Online) runs it over epochs of
/// shuffled mini-batches; `partial_fit` takes the mini-batches a caller streams in. \code
///   mlcsc::OnlineDictionaryLearner<float> learner(p, initial_atoms);   // p.batch_size = 256
///   for (auto& batch : stream) learner.partial_fit(batch);             // 64 x 256 each
///   mlcsc::Dictionary<float> D(learner.atoms());
/// \endcode
/// The statistics' weights use `p.batch_size` as the mini-batch size eta (scikit-learn uses each
/// mini-batch's own size; learn_dictionary sets it to min(batch_size, B), so a short last
/// mini-batch of an epoch weighs as a full one). The workspace grows to the largest mini-batch
/// seen and is then reused: no allocation per step.
template <class Scalar>
class OnlineDictionaryLearner {
 public:
  /// Starts from the atoms D0 (n x p.num_atoms; atoms off the unit sphere normalized) with empty
  /// statistics.
  OnlineDictionaryLearner(const DictLearnParams<Scalar>& p, Matrix<Scalar> D0)
      : OnlineDictionaryLearner(p, std::move(D0), Matrix<Scalar>(), Matrix<Scalar>(), 0) {}

  /// Resumes after `steps` mini-batches from the atoms D (n x m), A (m x m) and B (n x m); empty
  /// A and B start the statistics at zero.
  OnlineDictionaryLearner(const DictLearnParams<Scalar>& p, Matrix<Scalar> D, Matrix<Scalar> A,
                          Matrix<Scalar> B, Index steps)
      : p_(p), D_(std::move(D)), A_(std::move(A)), B_(std::move(B)), t_(steps) {
    constexpr const char* where = "OnlineDictionaryLearner";
    const Index n = D_.rows(), m = D_.cols();
    if (p.method != DictLearnMethod::Online)
      internal::throw_invalid(where, ": 'method' must be DictLearnMethod::Online");
    if (n < 1 || m != p.num_atoms)
      internal::throw_invalid(where, ": the atoms must be n x num_atoms = n x ", p.num_atoms,
                              " with n >= 1, got ", internal::shape(n, m));
    p.check(n, where);
    internal::require_finite(D_, where, "atoms");
    // Atoms off the unit sphere are normalized; unit atoms are kept bit for bit (normalizing
    // again would move their last bits, and with them the whole run).
    const Scalar eps = std::numeric_limits<Scalar>::epsilon();
    for (Index j = 0; j < m; ++j) {
      const Scalar nrm = D_.col(j).norm();
      if (!(nrm > Scalar(0)))
        internal::throw_invalid(where, ": atom ", j, " of ", internal::shape(n, m),
                                " has zero norm");
      if (std::abs(nrm - Scalar(1)) > 4 * eps) D_.col(j) /= nrm;
    }
    if (A_.size() == 0 && B_.size() == 0) {
      A_.setZero(m, m);
      B_.setZero(n, m);
    }
    if (A_.rows() != m || A_.cols() != m)
      internal::throw_invalid(where, ": 'A' must be ", internal::shape(m, m), " (num_atoms x ",
                              "num_atoms), got ", internal::shape(A_.rows(), A_.cols()));
    if (B_.rows() != n || B_.cols() != m)
      internal::throw_invalid(where, ": 'B' must be ", internal::shape(n, m),
                              " (signal size x num_atoms), got ",
                              internal::shape(B_.rows(), B_.cols()));
    internal::require_finite(A_, where, "A");
    internal::require_finite(B_, where, "B");
    if (steps < 0) internal::throw_invalid(where, ": 'steps' must be >= 0, got ", steps);
    G_.resize(m, m);
    u_.resize(n);
    support_.resize(std::size_t(m));
    values_.resize(std::size_t(m));
    lp_.lambda = p.lambda;
    lp_.nonnegative = p.nonnegative;
    lp_.tolerance = p.coding_tolerance;
    lp_.method = Method::CoordinateDescent;
  }

  /// One step on the mini-batch Y (n x b, b >= 1): its exact Lasso codes G with the current
  /// atoms, the statistics A <- beta^rho A + G G^T, B <- beta^rho B + Y G^T, one block-coordinate
  /// step on every atom. Returns the mini-batch's Lasso objective with the atoms it was coded
  /// with, summed over its signals. Throws std::invalid_argument for a wrong or non-finite Y.
  Scalar partial_fit(const Eigen::Ref<const Matrix<Scalar>>& Y) {
    constexpr const char* where = "OnlineDictionaryLearner::partial_fit";
    if (Y.rows() != D_.rows() || Y.cols() < 1)
      internal::throw_invalid(where, ": 'Y' must have ", D_.rows(),
                              " rows (the atoms' size) and at least one column, got ",
                              internal::shape(Y.rows(), Y.cols()));
    internal::require_finite(Y, where, "Y");
    const Index b = Y.cols();
    if (Gb_.cols() < b) {
      Gb_.resize(D_.cols(), b);
      R_.resize(D_.rows(), b);
      taken_.resize(std::size_t(b));
    }
    auto Gb = Gb_.leftCols(b);
    internal::gram_into(D_, G_);
    cd_.run(D_, G_, Y, lp_, false, Gb, stats_);
    update_statistics(Y, Gb);
    update_atoms(Y, Gb);
    ++t_;
    return stats_.objective;
  }

  const Matrix<Scalar>& atoms() const { return D_; }  ///< n x m, unit-norm columns
  const Matrix<Scalar>& A() const { return A_; }      ///< m x m, sum of beta g g^T
  const Matrix<Scalar>& B() const { return B_; }      ///< n x m, sum of beta y g^T
  Index steps() const { return t_; }                  ///< mini-batches seen
  /// Atoms no signal had used, replaced by a badly represented signal of their mini-batch.
  Index replaced_atoms() const { return replaced_; }
  const DictLearnParams<Scalar>& params() const { return p_; }

 private:
  template <class YB, class GB>
  void update_statistics(const YB& Yb, const GB& Gb) {
    // The weights of scikit-learn's MiniBatchDictionaryLearning (theta_t below; the first
    // mini-batches weigh less, Mairal et al. 3.4.4) raised to the power rho (3.4.2).
    const double eta = double(p_.batch_size), t = double(t_);
    const double theta = t < eta - 1 ? (t + 1) * eta : eta * eta + t + 1 - eta;
    const Scalar beta = Scalar(std::pow((theta + 1 - eta) / (theta + 1), double(p_.forgetting)));
    A_ *= beta;
    B_ *= beta;
    const Index m = D_.cols();
    for (Index i = 0; i < Gb.cols(); ++i) {
      // The code's support, then its outer products: ~k^2 + k n operations instead of m^2 + m n.
      std::size_t k = 0;
      for (Index j = 0; j < m; ++j)
        if (Gb(j, i) != Scalar(0)) {
          support_[k] = j;
          values_[k++] = Gb(j, i);
        }
      for (std::size_t a = 0; a < k; ++a) {
        const Scalar ga = values_[a];
        for (std::size_t c = 0; c < k; ++c) A_(support_[c], support_[a]) += ga * values_[c];
        B_.col(support_[a]) += ga * Yb.col(i);
      }
    }
  }

  template <class YB, class GB>
  void update_atoms(const YB& Yb, const GB& Gb) {
    const Index m = D_.cols();
    const Scalar floor = Scalar(1e-10) * A_.diagonal().maxCoeff();
    bool residual = false;
    std::fill(taken_.begin(), taken_.end(), false);
    for (Index j = 0; j < m; ++j) {
      const Scalar ajj = A_(j, j);
      if (ajj > floor && ajj > Scalar(0)) {
        u_ = B_.col(j);
        u_.noalias() -= D_ * A_.col(j);
        u_ = D_.col(j) + u_ / ajj;
        if (p_.nonnegative) u_ = u_.cwiseMax(Scalar(0));
        const Scalar nrm = u_.norm();
        if (nrm > Scalar(0) && std::isfinite(double(nrm))) {
          D_.col(j) = u_ / nrm;
          continue;
        }
      }
      // Unused (or projected to zero): the worst-represented signal of the mini-batch that is
      // not yet taken, its statistics restarted.
      if (!residual) {
        R_.leftCols(Yb.cols()).noalias() = Yb;
        R_.leftCols(Yb.cols()).noalias() -= D_ * Gb;
        residual = true;
      }
      Index best = -1;
      Scalar best_norm = Scalar(0);
      for (Index i = 0; i < Yb.cols(); ++i) {
        if (taken_[std::size_t(i)]) continue;
        const Scalar r = p_.nonnegative ? R_.col(i).cwiseMax(Scalar(0)).norm() : R_.col(i).norm();
        if (r > best_norm) best_norm = r, best = i;
      }
      if (best < 0) continue;  // nothing left to represent: keep the atom
      taken_[std::size_t(best)] = true;
      if (p_.nonnegative)
        D_.col(j) = R_.col(best).cwiseMax(Scalar(0)) / best_norm;
      else
        D_.col(j) = R_.col(best) / best_norm;
      A_.row(j).setZero();
      A_.col(j).setZero();
      B_.col(j).setZero();
      ++replaced_;
    }
  }

  DictLearnParams<Scalar> p_;
  Matrix<Scalar> D_, A_, B_, G_, Gb_, R_;
  Vector<Scalar> u_;
  std::vector<Index> support_;
  std::vector<Scalar> values_;
  std::vector<bool> taken_;
  LassoParams<Scalar> lp_;
  internal::CoordinateDescentBatch<Scalar> cd_;
  PursuitStats<Scalar> stats_;
  Index t_ = 0, replaced_ = 0;
};

}  // namespace mlcsc

namespace mlcsc::internal {

/// scikit-learn's early stopping of MiniBatchDictionaryLearning (1.1+), mini-batch by mini-batch
/// (b signals of B): skip while the step count is at most min(100, B / b); then stop when the
/// dictionary moved by at most `tolerance` (||D_t - D_{t-1}||_F / m) or when the exponentially
/// weighted average of the per-signal mini-batch objective (weight min(1, b / (B + 1))) has not
/// reached a new minimum for `max_no_improvement` mini-batches in a row. 0 switches either rule
/// off. As scikit-learn's, b is each mini-batch's own size (a short last one of an epoch extends
/// the warm-up).
template <class Scalar>
class OnlineStopping {
 public:
  OnlineStopping(const DictLearnParams<Scalar>& p, Index B)
      : tolerance_(double(p.tolerance)), patience_(p.max_no_improvement), signals_(double(B)) {}

  bool active() const { return tolerance_ > 0 || patience_ > 0; }

  /// After mini-batch `step` (from 1) of b signals with objective `objective` (summed), the
  /// atoms moved by `moved` (Frobenius) over m atoms: true when learning should stop.
  bool converged(Index step, Index b, double objective, double moved, Index m) {
    if (double(step) <= std::min(100.0, signals_ / double(b))) return false;
    const double cost = objective / double(b);
    const double weight = std::min(1.0, double(b) / (signals_ + 1));
    ewa_ = seen_ ? ewa_ * (1 - weight) + cost * weight : cost;
    if (tolerance_ > 0 && moved / double(m) <= tolerance_) return true;
    if (!seen_ || ewa_ < best_) {
      best_ = ewa_;
      stalled_ = 0;
    } else {
      ++stalled_;
    }
    seen_ = true;
    return patience_ > 0 && stalled_ >= patience_;
  }

 private:
  double tolerance_;
  int patience_;
  double signals_;
  double ewa_ = 0, best_ = 0;
  bool seen_ = false;
  int stalled_ = 0;
};

/// learn_dictionary's online method: epochs of shuffled mini-batches through an
/// OnlineDictionaryLearner, the objective of all signals after each (and at an early stop).
template <class Scalar>
DictLearnResult<Scalar> learn_online(const Eigen::Ref<const Matrix<Scalar>>& Y,
                                     const DictLearnParams<Scalar>& p, Matrix<Scalar> D0,
                                     LearnRng& rng) {
  const Index n = Y.rows(), m = D0.cols(), N = Y.cols();
  DictLearnParams<Scalar> q = p;
  q.batch_size = std::min(p.batch_size, N);
  const Index eta = q.batch_size;
  OnlineDictionaryLearner<Scalar> learner(q, std::move(D0));
  OnlineStopping<Scalar> stopping(p, N);
  Matrix<Scalar> Yb(n, eta), previous(stopping.active() ? n : 0, stopping.active() ? m : 0);
  Matrix<Scalar> G(m, m), code(m, std::min<Index>(N, 4096));
  std::vector<Index> order(static_cast<std::size_t>(N));
  for (Index i = 0; i < N; ++i) order[std::size_t(i)] = i;
  LassoParams<Scalar> lp;
  lp.lambda = p.lambda;
  lp.nonnegative = p.nonnegative;
  lp.tolerance = p.coding_tolerance;
  lp.method = Method::CoordinateDescent;
  CoordinateDescentBatch<Scalar> cd;
  std::vector<Scalar> objectives;
  bool stop = false, converged = false;
  for (int epoch = 1; epoch <= p.epochs && !stop; ++epoch) {
    if (p.shuffle) rng.shuffle(order);
    for (Index s0 = 0; s0 < N && !stop; s0 += eta) {
      const Index b = std::min(eta, N - s0);
      for (Index i = 0; i < b; ++i) Yb.col(i) = Y.col(order[std::size_t(s0 + i)]);
      if (stopping.active()) previous = learner.atoms();
      const Scalar objective = learner.partial_fit(Yb.leftCols(b));
      if (stopping.active() && stopping.converged(learner.steps(), b, double(objective),
                                                  double((learner.atoms() - previous).norm()), m))
        stop = converged = true;
      if (p.step_callback && !p.step_callback(learner.steps(), objective)) stop = true;
    }
    gram_into(learner.atoms(), G);
    const Scalar obj = Scalar(lasso_objective(learner.atoms(), G, Y, lp, cd, code));
    objectives.push_back(obj);
    if (p.callback && !p.callback(epoch, obj)) stop = true;
  }
  return DictLearnResult<Scalar>{Dictionary<Scalar>(learner.atoms()),
                                 std::move(objectives),
                                 learner.replaced_atoms(),
                                 learner.steps(),
                                 converged,
                                 learner.A(),
                                 learner.B()};
}

}  // namespace mlcsc::internal
