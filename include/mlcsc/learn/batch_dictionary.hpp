// mlcsc: the two batch dictionary learners on OMP codes (at most T = `sparsity` nonzeros each),
// alternating over the whole data set, epoch by epoch:
//   coding: Batch-OMP of every signal with the current atoms (pursuit/omp.hpp); a signal keeps its
//     previous code when that one still represents it better (OMP is greedy, so a new code can
//     be worse), which makes the objective 0.5||Y - D G||_F^2 non-increasing over the epochs;
//   MOD (Engan, Aase, Husoy 1999): D = Y G^T (G G^T)^{-1}, the least-squares atoms for fixed
//     codes, then each atom scaled to unit norm and its coefficients scaled inversely (D G is
//     unchanged);
//   K-SVD (Aharon, Elad, Bruckstein 2006): for each atom j in turn, with w the signals that use it
//     and E = Y_w - D G_w + d_j g_{j,w} their residual without it, (d_j, g_{j,w}) = (u, s v^T) is
//     the best rank-one approximation of E (the top eigenvector u of E E^T, g = E^T u);
// an atom no signal uses becomes the signal with the largest residual (normalized). The codes
// are kept sparse (T indices and values per signal) and the residual R = Y - D G is kept up to
// date, so memory is n B + 2 T B, not m B.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "../pursuit/omp.hpp"
#include "params.hpp"

namespace mlcsc::internal {

template <class Scalar>
class BatchDictionaryLearner {
 public:
  static constexpr Index kChunk = 4096;  // signals coded per OMP call (its dense m x chunk code)

  BatchDictionaryLearner(const Eigen::Ref<const Matrix<Scalar>>& Y,
                         const DictLearnParams<Scalar>& p, Matrix<Scalar> D0)
      : Y_(Y), p_(p), D_(std::move(D0)), T_(p.sparsity) {
    const Index n = Y.rows(), B = Y.cols();
    idx_.setConstant(T_, B, -1);
    val_.setZero(T_, B);
    R_ = Y;  // the residual of the zero code
    chunk_res_.resize(n, std::min(kChunk, B));
  }

  DictLearnResult<Scalar> run() {
    std::vector<Scalar> objective;
    for (int epoch = 1; epoch <= p_.epochs; ++epoch) {
      double obj = 0;
      if (epoch > 1 && clear_duplicates()) {
        // Accepted only if the epoch then ends lower than the last one did.
        obj = alternate();
        if (obj > double(objective.back())) {
          restore();
          obj = alternate();
        } else {
          replaced_ += cleared_;
        }
      } else {
        obj = alternate();
      }
      objective.push_back(Scalar(obj));
      if (p_.callback && !p_.callback(epoch, Scalar(obj))) break;
    }
    const Index epochs = Index(objective.size());
    return DictLearnResult<Scalar>{
        Dictionary<Scalar>(D_), std::move(objective), replaced_, epochs, false,
        Matrix<Scalar>(),       Matrix<Scalar>()};
  }

 private:
  // One epoch: codes, then atoms; returns 0.5||Y - D G||^2.
  double alternate() {
    code();
    if (p_.method == DictLearnMethod::MOD)
      mod_step();
    else
      ksvd_step();
    return 0.5 * R_.template cast<double>().squaredNorm();
  }

  // Atoms that nearly repeat an earlier one (|<d_i, d_j>| > 0.99) waste a place in the
  // dictionary, and the alternation cannot separate them: such an atom is replaced by a badly
  // represented signal, as in K-SVD's dictionary clearing (Aharon et al. 2006, section IV-E), its
  // coefficients moved to its twin (scaled by <d_i, d_j>; the fit rises by at most
  // g^2 (1 - 0.99^2) per coefficient). The next epoch usually more than recovers that, but not
  // always, so the state is kept aside and the epoch is run again without the clearing unless
  // its objective is lower than the last one.
  bool clear_duplicates() {
    const Index m = D_.cols();
    const Matrix<Scalar> C = D_.transpose() * D_;
    std::vector<Index> twin(std::size_t(m), -1);
    cleared_ = 0;
    for (Index j = 1; j < m; ++j)
      for (Index i = 0; i < j; ++i)
        if (twin[std::size_t(i)] < 0 && std::abs(C(i, j)) > Scalar(0.99)) {
          twin[std::size_t(j)] = i;
          ++cleared_;
          break;
        }
    if (cleared_ == 0) return false;
    saved_D_ = D_;
    saved_R_ = R_;
    saved_idx_ = idx_;
    saved_val_ = val_;
    const Index replaced_before = replaced_;
    for (Index b = 0; b < Y_.cols(); ++b)
      for (Index t = 0; t < T_; ++t) {
        const int j = idx_(t, b);
        if (j < 0 || twin[std::size_t(j)] < 0) continue;
        const Index i = twin[std::size_t(j)];
        const Scalar g = val_(t, b), gi = C(i, j) * g;
        R_.col(b) += D_.col(j) * g - D_.col(i) * gi;
        Index at = t;  // the twin's slot: its own if the code has it, else this one
        for (Index s = 0; s < T_; ++s)
          if (idx_(s, b) == int(i)) at = s;
        if (at == t) {
          idx_(t, b) = int(i);
          val_(t, b) = gi;
        } else {
          val_(at, b) += gi;
          idx_(t, b) = -1;
          val_(t, b) = Scalar(0);
        }
      }
    std::vector<bool> taken(std::size_t(Y_.cols()), false);
    for (Index j = 0; j < m; ++j)
      if (twin[std::size_t(j)] >= 0) replace(j, taken);
    replaced_ = replaced_before;  // counted when accepted
    return true;
  }

  void restore() {
    D_.swap(saved_D_);
    R_.swap(saved_R_);
    idx_.swap(saved_idx_);
    val_.swap(saved_val_);
  }

  // OMP codes of every signal; a signal whose new code leaves a larger residual keeps its old.
  void code() {
    const Dictionary<Scalar> D(D_);
    OmpParams<Scalar> op;
    op.max_atoms = int(T_);
    const Index B = Y_.cols();
    for (Index b0 = 0; b0 < B; b0 += kChunk) {
      const Index nb = std::min(kChunk, B - b0);
      auto Yc = Y_.middleCols(b0, nb);
      auto res = omp(D, Yc, op);
      chunk_res_.leftCols(nb).noalias() = Yc;
      chunk_res_.leftCols(nb).noalias() -= D_ * res.code;
      for (Index i = 0; i < nb; ++i) {
        const Index b = b0 + i;
        if (chunk_res_.col(i).squaredNorm() > R_.col(b).squaredNorm()) continue;
        R_.col(b) = chunk_res_.col(i);
        Index t = 0;
        for (Index j = 0; j < D_.cols() && t < T_; ++j)
          if (res.code(j, i) != Scalar(0)) {
            idx_(t, b) = int(j);
            val_(t++, b) = res.code(j, i);
          }
        for (; t < T_; ++t) idx_(t, b) = -1, val_(t, b) = Scalar(0);
      }
    }
  }

  // The users of every atom: positions (t, b) of the codes, grouped by atom (a counting sort).
  void index_users() {
    const Index m = D_.cols(), B = Y_.cols();
    start_.assign(std::size_t(m + 1), 0);
    for (Index b = 0; b < B; ++b)
      for (Index t = 0; t < T_; ++t)
        if (idx_(t, b) >= 0) ++start_[std::size_t(idx_(t, b)) + 1];
    for (Index j = 0; j < m; ++j) start_[std::size_t(j + 1)] += start_[std::size_t(j)];
    users_.resize(std::size_t(start_[std::size_t(m)]));
    std::vector<Index> fill(start_.begin(), start_.end() - 1);
    for (Index b = 0; b < B; ++b)
      for (Index t = 0; t < T_; ++t)
        if (idx_(t, b) >= 0) users_[std::size_t(fill[std::size_t(idx_(t, b))]++)] = b * T_ + t;
  }

  // d_j <- the signal with the largest residual not taken yet (normalized); its code is zero,
  // so the fit does not change.
  void replace(Index j, std::vector<bool>& taken) {
    Index best = -1;
    Scalar best_norm = Scalar(0);
    for (Index b = 0; b < Y_.cols(); ++b) {
      if (taken[std::size_t(b)]) continue;
      const Scalar r = R_.col(b).norm();
      if (r > best_norm) best_norm = r, best = b;
    }
    if (best < 0) return;  // every signal is represented exactly: keep the atom
    taken[std::size_t(best)] = true;
    D_.col(j) = R_.col(best) / best_norm;
    ++replaced_;
  }

  void ksvd_step() {
    index_users();
    const Index n = D_.rows(), m = D_.cols();
    std::vector<bool> taken(std::size_t(Y_.cols()), false);
    Index most = 0;  // the most signals one atom has: E's buffers are sized once
    for (Index j = 0; j < m; ++j)
      most = std::max(most, start_[std::size_t(j + 1)] - start_[std::size_t(j)]);
    Matrix<Scalar> E(n, most);
    Matrix<double> Ed(n, most), M(n, n);
    Eigen::SelfAdjointEigenSolver<Matrix<double>> eig(n);
    for (Index j = 0; j < m; ++j) {
      const Index u0 = start_[std::size_t(j)], nu = start_[std::size_t(j + 1)] - u0;
      if (nu == 0) {
        replace(j, taken);
        continue;
      }
      auto Ej = E.leftCols(nu);
      for (Index a = 0; a < nu; ++a) {
        const Index pos = users_[std::size_t(u0 + a)], b = pos / T_, t = pos % T_;
        Ej.col(a) = R_.col(b) + D_.col(j) * val_(t, b);
      }
      Ed.leftCols(nu) = Ej.template cast<double>();
      M.noalias() = Ed.leftCols(nu) * Ed.leftCols(nu).transpose();
      eig.compute(M);
      D_.col(j) = eig.eigenvectors().col(n - 1).template cast<Scalar>();
      const auto u = D_.col(j);
      for (Index a = 0; a < nu; ++a) {
        const Index pos = users_[std::size_t(u0 + a)], b = pos / T_, t = pos % T_;
        const Scalar g = Ej.col(a).dot(u);
        val_(t, b) = g;
        R_.col(b) = Ej.col(a) - u * g;
      }
    }
  }

  void mod_step() {
    const Index n = D_.rows(), m = D_.cols(), B = Y_.cols();
    // Y G^T and G G^T over the codes' supports.
    Matrix<double> YG = Matrix<double>::Zero(n, m), GG = Matrix<double>::Zero(m, m);
    for (Index b = 0; b < B; ++b)
      for (Index s = 0; s < T_; ++s) {
        const int i = idx_(s, b);
        if (i < 0) continue;
        const double gi = double(val_(s, b));
        YG.col(i) += gi * Y_.col(b).template cast<double>();
        for (Index t = 0; t < T_; ++t)
          if (idx_(t, b) >= 0) GG(idx_(t, b), i) += gi * double(val_(t, b));
      }
    std::vector<Index> used;
    for (Index j = 0; j < m; ++j)
      if (GG(j, j) > 0) used.push_back(j);
    const Index k = Index(used.size());
    Matrix<double> S(k, k), Yu(n, k);
    for (Index a = 0; a < k; ++a) {
      Yu.col(a) = YG.col(used[std::size_t(a)]);
      for (Index c = 0; c < k; ++c) S(c, a) = GG(used[std::size_t(c)], used[std::size_t(a)]);
    }
    // D_used = Y G^T (G G^T)^{-1}: S is symmetric positive semi-definite; a singular S (codes
    // that do not determine some atoms) gets the smallest ridge that makes it definite.
    Eigen::LDLT<Matrix<double>> ldlt(S);
    if (ldlt.info() != Eigen::Success ||
        !(ldlt.vectorD().minCoeff() > 1e-12 * S.diagonal().maxCoeff())) {
      S.diagonal().array() += 1e-10 * S.diagonal().maxCoeff();
      ldlt.compute(S);
    }
    const Matrix<double> Du = ldlt.solve(Yu.transpose()).transpose();
    std::vector<Scalar> scale(std::size_t(m), Scalar(1));
    for (Index a = 0; a < k; ++a) {
      const Index j = used[std::size_t(a)];
      const double nrm = Du.col(a).norm();
      if (!(nrm > 0) || !std::isfinite(nrm)) continue;  // keep the old atom
      D_.col(j) = (Du.col(a) / nrm).template cast<Scalar>();
      scale[std::size_t(j)] = Scalar(nrm);
    }
    for (Index b = 0; b < B; ++b) {
      R_.col(b) = Y_.col(b);
      for (Index t = 0; t < T_; ++t) {
        const int i = idx_(t, b);
        if (i < 0) continue;
        val_(t, b) *= scale[std::size_t(i)];
        R_.col(b) -= D_.col(i) * val_(t, b);
      }
    }
    std::vector<bool> taken(std::size_t(B), false);
    for (Index j = 0; j < m; ++j)
      if (!(GG(j, j) > 0)) replace(j, taken);
  }

  Eigen::Ref<const Matrix<Scalar>> Y_;
  const DictLearnParams<Scalar>& p_;
  Matrix<Scalar> D_, R_, val_, chunk_res_, saved_D_, saved_R_, saved_val_;
  Eigen::MatrixXi idx_, saved_idx_;
  Index cleared_ = 0;
  Index T_;
  std::vector<Index> start_, users_;
  Index replaced_ = 0;
};

}  // namespace mlcsc::internal
