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

template <class Scalar>
class OnlineDictionaryLearner {
 public:
  OnlineDictionaryLearner(const Eigen::Ref<const Matrix<Scalar>>& Y,
                          const DictLearnParams<Scalar>& p, Matrix<Scalar> D0, LearnRng& rng)
      : Y_(Y), p_(p), rng_(rng), D_(std::move(D0)) {
    const Index n = Y.rows(), m = D_.cols();
    eta_ = std::min(p.batch_size, Y.cols());
    A_.setZero(m, m);
    B_.setZero(n, m);
    G_.resize(m, m);
    Yb_.resize(n, eta_);
    Gb_.resize(m, eta_);
    R_.resize(n, eta_);
    u_.resize(n);
    support_.resize(std::size_t(m));
    values_.resize(std::size_t(m));
    taken_.resize(std::size_t(eta_));
    order_.resize(std::size_t(Y.cols()));
    for (Index b = 0; b < Y.cols(); ++b) order_[std::size_t(b)] = b;
    lp_.lambda = p.lambda;
    lp_.nonnegative = p.nonnegative;
    lp_.tolerance = p.coding_tolerance;
    lp_.method = Method::CoordinateDescent;
    eval_code_.resize(m, std::min<Index>(Y.cols(), 4096));
  }

  DictLearnResult<Scalar> run() {
    std::vector<Scalar> objective;
    for (int epoch = 1; epoch <= p_.epochs; ++epoch) {
      if (p_.shuffle) rng_.shuffle(order_);
      for (Index s0 = 0; s0 < Y_.cols(); s0 += eta_) step(s0, std::min(eta_, Y_.cols() - s0));
      gram_into(D_, G_);
      const Scalar obj = Scalar(lasso_objective(D_, G_, Y_, lp_, cd_, eval_code_));
      objective.push_back(obj);
      if (p_.callback && !p_.callback(epoch, obj)) break;
    }
    return DictLearnResult<Scalar>{Dictionary<Scalar>(D_), std::move(objective), replaced_};
  }

 private:
  // One mini-batch: the signals order_[s0 .. s0 + b).
  void step(Index s0, Index b) {
    auto Yb = Yb_.leftCols(b);
    auto Gb = Gb_.leftCols(b);
    for (Index i = 0; i < b; ++i) Yb.col(i) = Y_.col(order_[std::size_t(s0 + i)]);
    gram_into(D_, G_);
    cd_.run(D_, G_, Yb, lp_, false, Gb, stats_);
    update_statistics(Yb, Gb);
    update_atoms(Yb, Gb);
    ++t_;
  }

  template <class YB, class GB>
  void update_statistics(const YB& Yb, const GB& Gb) {
    // The weights of scikit-learn's MiniBatchDictionaryLearning (theta_t below; the first
    // mini-batches weigh less, Mairal et al. 3.4.4) raised to the power rho (3.4.2).
    const double eta = double(eta_), t = double(t_);
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

  Eigen::Ref<const Matrix<Scalar>> Y_;
  const DictLearnParams<Scalar>& p_;
  LearnRng& rng_;
  Matrix<Scalar> D_, A_, B_, G_, Yb_, Gb_, R_, eval_code_;
  Vector<Scalar> u_;
  std::vector<Index> support_, order_;
  std::vector<Scalar> values_;
  std::vector<bool> taken_;
  LassoParams<Scalar> lp_;
  CoordinateDescentBatch<Scalar> cd_;
  PursuitStats<Scalar> stats_;
  Index eta_ = 1, t_ = 0, replaced_ = 0;
};

}  // namespace mlcsc::internal
