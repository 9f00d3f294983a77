// mlcsc: learn_multilayer, a multi-layer (convolutional) sparse coding model learned from signals
// (dense, the columns of a matrix) or from a batch of images (convolutional, circular).
//
// Model (Papyan, Romano, Elad, JMLR 2017; Sulam, Papyan, Romano, Elad, "Multilayer convolutional
// sparse modeling: pursuit and dictionary learning", IEEE TSP 2018):
//   Y ~ D_1 Gamma_1,  Gamma_{l-1} = D_l Gamma_l,  every Gamma_l sparse.
// 1. Layer by layer: D_1 is learned from Y by learn_dictionary (learn_conv_dictionary), then D_l
//    from the previous layer's codes, which are the layered Lasso's (multilayer/multi_layer.hpp):
//      Gamma_l = argmin_G 0.5||Gamma_{l-1} - D_l G||^2 + lambda_l ||G||_1,  Gamma_0 = Y,
//    by exact coordinate descent (dense) or ADMM (convolutional: the K_{l-1} code maps are the
//    next layer's channels, so D_l is a multi-channel dictionary).
// 2. Dense models, optionally: a joint refinement of all dictionaries on the multi-layer basis
// pursuit (ML-BP)
//    objective of Sulam, Aberdam, Beck, Elad ("On multi-layer basis pursuit, efficient algorithms
//    and convolutional neural networks", TPAMI 2019, arXiv 1806.00701):
//      F(D_1..D_L, Gamma_L) = 0.5||Y - D_1 Gamma_1||^2 + sum_i lambda_i ||Gamma_i||_1,
//      Gamma_i = D_{i+1} ... D_L Gamma_L,  ||columns of D_i|| <= 1,
//    alternating the codes (ML-FISTA from zero; a signal keeps its previous code when the new one
//    scores worse, so F never rises) with projected subgradient steps on each D_i in turn:
//      dF/dD_i = U_{i-1} Gamma_i^T,  U_0 = D_1 Gamma_1 - Y,  U_j = D_j^T U_{j-1} + lambda_j
//      sign(Gamma_j)
//    (U_j is the (sub)gradient of F with respect to Gamma_j through the chain), the step size
//    found by backtracking until F decreases (a step that finds no decrease leaves D_i as it is).
//    Sulam et al. learn by back-propagating through unrolled ML-FISTA on a task loss; this is the
//    unsupervised counterpart on F itself.
#pragma once

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "../conv/conv_dictionary.hpp"
#include "../core/errors.hpp"
#include "../core/feature_maps.hpp"
#include "../dense/dictionary.hpp"
#include "../multilayer/multi_layer.hpp"
#include "../pursuit/lasso.hpp"
#include "../theory/stripe.hpp"
#include "conv_dictionary_learning.hpp"
#include "learn_dictionary.hpp"
#include "params.hpp"

namespace mlcsc {

/// \brief Parameters of learn_multilayer on signals (a dense model).
template <class Scalar>
struct MultiLayerLearnParams {
  /// One entry per layer, the first for D_1: D_l has `layers[l].num_atoms` atoms of the previous
  /// layer's code size and is learned with these parameters (method, epochs, seed, callback...).
  /// `lambda` and `nonnegative` are also the layer's in the layered Lasso and in ML-BP.
  std::vector<DictLearnParams<Scalar>> layers;
  int refine_epochs = 0;               ///< joint refinement epochs on ML-BP (>= 0; 0: none)
  int refine_coding_iterations = 100;  ///< ML-FISTA iterations per refinement epoch (>= 1)
  int refine_dictionary_steps = 5;     ///< projected subgradient steps per dictionary per epoch
  /// Called after each refinement epoch with the ML-BP objective; returning false stops.
  std::function<bool(int epoch, Scalar objective)> refine_callback;

  void check(Index n, const char* where) const {
    if (layers.empty()) internal::throw_invalid(where, ": 'layers' must hold at least one layer");
    Index rows = n;
    for (const auto& l : layers) {
      l.check(rows, where);
      rows = l.num_atoms;
    }
    if (refine_epochs < 0)
      internal::throw_invalid(where, ": 'refine_epochs' must be >= 0, got ", refine_epochs);
    if (refine_coding_iterations < 1)
      internal::throw_invalid(where, ": 'refine_coding_iterations' must be >= 1, got ",
                              refine_coding_iterations);
    if (refine_dictionary_steps < 0)
      internal::throw_invalid(where, ": 'refine_dictionary_steps' must be >= 0, got ",
                              refine_dictionary_steps);
  }
};

/// \brief Parameters of learn_multilayer on a batch of images (a circular convolutional model).
template <class Scalar>
struct ConvMultiLayerLearnParams {
  /// One entry per layer, the first for D_1: layer l's filters read the previous layer's
  /// `num_filters` code maps as channels and are learned by learn_conv_dictionary with these
  /// parameters; `lambda` is also the layer's in the layered Lasso.
  std::vector<ConvDictLearnParams<Scalar>> layers;
  /// The layered Lasso that codes each layer's input (Method::ADMM): its iterations and
  /// tolerance (LassoParams::tolerance's ADMM rule).
  int coding_iterations = 200;
  Scalar coding_tolerance = Scalar(1e-4);

  void check(Index N, Index C, Index H, Index W, const char* where) const {
    if (layers.empty()) internal::throw_invalid(where, ": 'layers' must hold at least one layer");
    Index channels = C;
    for (const auto& l : layers) {
      l.check(N, channels, H, W, where);
      channels = l.num_filters;
    }
    if (coding_iterations < 1)
      internal::throw_invalid(where, ": 'coding_iterations' must be >= 1, got ", coding_iterations);
    if (!(coding_tolerance >= Scalar(0)) || !std::isfinite(double(coding_tolerance)))
      internal::throw_invalid(where, ": 'coding_tolerance' must be finite and >= 0, got ",
                              coding_tolerance);
  }
};

/// \brief One layer's figures on the training signals' codes.
template <class Scalar>
struct LayerReport {
  Scalar fit = 0;      ///< 0.5 ||Gamma_{l-1} - D_l Gamma_l||^2 (Gamma_0 = Y)
  Scalar penalty = 0;  ///< lambda_l ||Gamma_l||_1
  Scalar objective() const { return fit + penalty; }
  double mean_nonzeros = 0;  ///< mean number of nonzeros of a signal's (an image's) code
  /// The stripe sparsity ||Gamma_l||_{0,inf}, the most nonzeros in a stripe of any signal
  /// (theory/stripe.hpp, with layer l's kernel size; a dense code is one stripe, so there it is
  /// the largest ||gamma_l||_0 of any signal).
  Index stripe_sparsity = 0;
};

/// \brief What learn_multilayer returns; `Op` is `Dictionary<S>` or `ConvDictionary<S>`.
template <class Op>
struct MultiLayerLearnResult {
  using Scalar = typename Op::Scalar;
  /// The model, layer l with threshold lambda_l (Shrinkage::NonnegSoft for a non-negative layer,
  /// else Soft), so its forward pass is layered soft thresholding at the learning lambdas.
  MultiLayer<Op> model;
  /// Per layer, its learn_dictionary objective per epoch (on the previous layer's codes).
  std::vector<std::vector<Scalar>> layer_objective;
  /// The ML-BP objective F after each refinement epoch (empty without refinement).
  std::vector<Scalar> refine_objective;
  /// The training signals' codes Gamma_1..Gamma_L: the layered Lasso's, or after refinement the
  /// ML-BP codes (Gamma_L and its propagations D_{l+1} Gamma_{l+1}).
  std::vector<typename Op::Code> codes;
  /// Per layer, its fit, penalty and sparsity on `codes`. For layered Lasso codes these are the
  /// per-layer Lasso objectives; for ML-BP codes the fit of layers >= 2 is 0 and the sum of all
  /// objectives is F.
  std::vector<LayerReport<Scalar>> layers;
};

namespace internal {

/// The state of the joint refinement: the dictionaries, the deepest codes, and the buffers of
/// the chain Gamma_i = D_{i+1} Gamma_{i+1} and its backward pass U_i, sized once.
template <class Scalar>
class MultiLayerRefiner {
 public:
  MultiLayerRefiner(const Eigen::Ref<const Matrix<Scalar>>& Y, std::vector<Matrix<Scalar>> D,
                    std::vector<Scalar> lambda, std::vector<bool> nonneg)
      : Y_(Y), D_(std::move(D)), lambda_(std::move(lambda)), nonneg_(std::move(nonneg)) {
    const size_t L = D_.size();
    chain_.resize(L);
    U_.resize(L);
    for (size_t i = 0; i < L; ++i) {
      chain_[i].resize(D_[i].cols(), Y_.cols());
      U_[i].resize(D_[i].rows(), Y_.cols());
    }
    residual_.resize(Y_.rows(), Y_.cols());
    step_.assign(L, Scalar(0));
  }

  const std::vector<Matrix<Scalar>>& dictionaries() const { return D_; }
  /// Gamma_1..Gamma_L of the last propagate().
  const std::vector<Matrix<Scalar>>& chain() const { return chain_; }

  /// The chain from Gamma_L = G into chain_ (element i = Gamma_{i+1}) and residual_ = D_1 Gamma_1 -
  /// Y.
  void propagate(const Matrix<Scalar>& G) {
    const size_t L = D_.size();
    chain_[L - 1] = G;
    for (size_t i = L - 1; i >= 1; --i) chain_[i - 1].noalias() = D_[i] * chain_[i];
    residual_.noalias() = D_[0] * chain_[0];
    residual_ -= Y_;
  }

  /// F of the chain in chain_ / residual_.
  Scalar objective() const {
    Scalar f = Scalar(0.5) * residual_.squaredNorm();
    for (size_t i = 0; i < D_.size(); ++i) f += lambda_[i] * chain_[i].cwiseAbs().sum();
    return f;
  }

  /// F per signal (column), for the chain in chain_ / residual_.
  void objective_per_signal(Vector<Scalar>& f) const {
    f = Scalar(0.5) * residual_.colwise().squaredNorm().transpose();
    for (size_t i = 0; i < D_.size(); ++i)
      f += lambda_[i] * chain_[i].cwiseAbs().colwise().sum().transpose();
  }

  /// The subgradient of F with respect to D_i (0-based) at the chain in chain_ / residual_:
  /// U_{i-1} Gamma_i^T with the backward pass of the file's comment.
  void gradient(size_t i, Matrix<Scalar>& g) {
    U_[0] = residual_;
    for (size_t j = 1; j <= i; ++j) {
      U_[j].noalias() = D_[j - 1].transpose() * U_[j - 1];
      U_[j] += lambda_[j - 1] * chain_[j - 1].cwiseSign();
    }
    g.noalias() = U_[i] * chain_[i].transpose();
  }

  /// Projected subgradient steps on every D_i in turn (the codes G fixed), each step's size
  /// found by backtracking from twice the last accepted one until F decreases. Returns F.
  Scalar update_dictionaries(const Matrix<Scalar>& G, int steps) {
    propagate(G);
    Scalar f = objective();
    for (int s = 0; s < steps; ++s)
      for (size_t i = 0; i < D_.size(); ++i) {
        gradient(i, grad_);
        const Scalar gn = grad_.squaredNorm();
        if (!(gn > Scalar(0))) continue;
        if (!(step_[i] > Scalar(0))) step_[i] = initial_step(i);
        saved_ = D_[i];
        Scalar t = Scalar(2) * step_[i];
        bool accepted = false;
        for (int k = 0; k < 40 && !accepted; ++k, t *= Scalar(0.5)) {
          D_[i] = saved_ - t * grad_;
          project(i);
          propagate(G);
          const Scalar fn = objective();
          if (fn < f) {
            f = fn;
            step_[i] = t;
            accepted = true;
          }
        }
        if (!accepted) {
          D_[i] = saved_;
          propagate(G);
        }
      }
    return f;
  }

 private:
  // 1 / (||Gamma_i||_F^2 prod_{j<i} ||D_j||_F^2): the inverse of a bound on the data term's
  // Lipschitz constant in D_i (backtracking and doubling adapt it).
  Scalar initial_step(size_t i) const {
    Scalar l = chain_[i].squaredNorm();
    for (size_t j = 0; j < i; ++j) l *= D_[j].squaredNorm();
    return l > Scalar(0) ? Scalar(1) / l : Scalar(1);
  }

  // Onto {columns of norm <= 1} (and >= 0 for a non-negative layer).
  void project(size_t i) {
    Matrix<Scalar>& D = D_[i];
    if (nonneg_[i]) D = D.cwiseMax(Scalar(0));
    for (Index j = 0; j < D.cols(); ++j) {
      const Scalar nrm = D.col(j).norm();
      if (nrm > Scalar(1)) D.col(j) /= nrm;
    }
  }

  const Eigen::Ref<const Matrix<Scalar>> Y_;
  std::vector<Matrix<Scalar>> D_;
  std::vector<Scalar> lambda_;
  std::vector<bool> nonneg_;
  std::vector<Matrix<Scalar>> chain_, U_;
  Matrix<Scalar> residual_, grad_, saved_;
  std::vector<Scalar> step_;
};

/// Layer l's fit, penalty and sparsity: dense codes (one signal a column).
template <class Scalar>
LayerReport<Scalar> layer_report(const Dictionary<Scalar>& D,
                                 const Eigen::Ref<const Matrix<Scalar>>& input,
                                 const Matrix<Scalar>& code, Scalar lambda) {
  LayerReport<Scalar> rep;
  rep.fit = Scalar(0.5) * (input - D.matrix() * code).squaredNorm();
  rep.penalty = lambda * code.cwiseAbs().sum();
  const auto nnz = (code.array() != Scalar(0)).template cast<Index>().colwise().sum();
  rep.mean_nonzeros = double(nnz.sum()) / double(code.cols());
  rep.stripe_sparsity = nnz.maxCoeff();
  return rep;
}

/// Layer l's fit, penalty and sparsity: convolutional codes (N x K x H x W), the stripes of
/// each image measured on their own.
template <class Scalar>
LayerReport<Scalar> layer_report(const ConvDictionary<Scalar>& D, const FeatureMaps<Scalar>& input,
                                 const FeatureMaps<Scalar>& code, Scalar lambda) {
  LayerReport<Scalar> rep;
  rep.fit = Scalar(0.5) * (input.data() - D.synthesize(code).data()).squaredNorm();
  rep.penalty = lambda * code.data().cwiseAbs().sum();
  rep.mean_nonzeros = double((code.data().array() != Scalar(0)).count()) / double(code.batch());
  for (Index n = 0; n < code.batch(); ++n)
    rep.stripe_sparsity = std::max(
        rep.stripe_sparsity, stripe_sparsity(FeatureMaps<Scalar>(code.image(n)), D.kernel_height(),
                                             D.kernel_width(), Boundary::Circular));
  return rep;
}

}  // namespace internal

/// \brief Learns a dense multi-layer sparse coding model from the signals Y (n x B, one a
/// column): layer by layer (each dictionary by learn_dictionary on the previous layer's layered
/// Lasso codes), then `p.refine_epochs` of joint refinement on the ML-BP objective (see the
/// file's comment). \code
///   mlcsc::MultiLayerLearnParams<double> p;
///   p.layers.resize(2);
///   p.layers[0].num_atoms = 128;  p.layers[0].lambda = 0.1;
///   p.layers[1].num_atoms = 256;  p.layers[1].lambda = 0.05;
///   p.refine_epochs = 10;
///   auto r = mlcsc::learn_multilayer(Y, p);      // r.model: a MultiLayer<Dictionary<double>>
///   r.layers[1].stripe_sparsity;                  // ||Gamma_2||_{0,inf} on the training signals
/// \endcode
/// Throws std::invalid_argument for an empty or non-finite Y and invalid parameters (naming the
/// layer's field). Seeded through each layer's `seed`.
template <class Scalar, class Derived>
MultiLayerLearnResult<Dictionary<Scalar>> learn_multilayer(const Eigen::MatrixBase<Derived>& Y,
                                                           const MultiLayerLearnParams<Scalar>& p) {
  static_assert(std::is_same<typename Derived::Scalar, Scalar>::value,
                "learn_multilayer: the signals' scalar type must be the parameters' Scalar");
  const Eigen::Ref<const Matrix<Scalar>> Yr(Y.derived());
  if (Yr.rows() == 0 || Yr.cols() == 0)
    internal::throw_invalid("learn_multilayer: 'Y' must have at least one row and one column, got ",
                            internal::shape(Yr.rows(), Yr.cols()));
  internal::require_finite(Yr, "learn_multilayer", "Y");
  p.check(Yr.rows(), "learn_multilayer");
  const size_t L = p.layers.size();

  // 1. Layer by layer, coding each layer's input by the exact Lasso (the layered Lasso).
  MultiLayerLearnResult<Dictionary<Scalar>> r;
  std::vector<LassoParams<Scalar>> lasso_p(L);
  std::vector<Matrix<Scalar>> D(L);
  r.codes.reserve(L);
  // Layer l's input: Y, then the previous layer's codes.
  auto input = [&](size_t l) {
    return l == 0 ? Yr : Eigen::Ref<const Matrix<Scalar>>(r.codes[l - 1]);
  };
  for (size_t l = 0; l < L; ++l) {
    lasso_p[l].lambda = p.layers[l].lambda;
    lasso_p[l].nonnegative = p.layers[l].nonnegative;
    lasso_p[l].method = Method::CoordinateDescent;
    lasso_p[l].tolerance = p.layers[l].coding_tolerance;
    auto learned = learn_dictionary(input(l), p.layers[l]);
    r.layer_objective.push_back(std::move(learned.objective));
    r.codes.push_back(lasso(learned.dictionary, input(l), lasso_p[l]).code);
    D[l] = learned.dictionary.matrix();
  }

  // 2. Joint refinement on ML-BP.
  if (p.refine_epochs > 0) {
    std::vector<Scalar> lambda(L);
    std::vector<bool> nonneg(L);
    MLBPParams<Scalar> mp;
    for (size_t l = 0; l < L; ++l) {
      lambda[l] = p.layers[l].lambda;
      nonneg[l] = p.layers[l].nonnegative;
      mp.layers.push_back(lasso_p[l]);
    }
    mp.max_iterations = p.refine_coding_iterations;
    internal::MultiLayerRefiner<Scalar> refiner(Yr, std::move(D), lambda, nonneg);
    Matrix<Scalar> G = r.codes[L - 1];  // the layered Lasso's Gamma_L: the first candidate
    Vector<Scalar> f_old, f_new;
    for (int e = 1; e <= p.refine_epochs; ++e) {
      MultiLayer<Dictionary<Scalar>> net;
      for (const auto& Di : refiner.dictionaries()) net.add_layer(Dictionary<Scalar>(Di));
      const Matrix<Scalar> cand = net.ml_fista(Yr, mp)[L - 1].code;
      refiner.propagate(G);
      refiner.objective_per_signal(f_old);
      refiner.propagate(cand);
      refiner.objective_per_signal(f_new);
      for (Index b = 0; b < G.cols(); ++b)
        if (f_new(b) < f_old(b)) G.col(b) = cand.col(b);
      const Scalar f = refiner.update_dictionaries(G, p.refine_dictionary_steps);
      r.refine_objective.push_back(f);
      if (p.refine_callback && !p.refine_callback(e, f)) break;
    }
    refiner.propagate(G);
    for (size_t l = 0; l < L; ++l) r.codes[l] = refiner.chain()[l];
    D = refiner.dictionaries();
  }

  // The model and the per-layer report on the codes.
  for (size_t l = 0; l < L; ++l) {
    const Shrinkage kind = p.layers[l].nonnegative ? Shrinkage::NonnegSoft : Shrinkage::Soft;
    r.model.add_layer(Dictionary<Scalar>(D[l]), p.layers[l].lambda, kind);
    r.layers.push_back(
        internal::layer_report(r.model.layer(Index(l)), input(l), r.codes[l], p.layers[l].lambda));
  }
  return r;
}

/// \brief Learns a circular convolutional multi-layer model (ML-CSC) from a batch of images
/// (N x C x H x W), layer by layer: D_1 by learn_conv_dictionary on the images, then each D_l on
/// the previous layer's layered Lasso codes (ADMM), whose K_{l-1} maps are its channels.
/// \code
///   mlcsc::ConvMultiLayerLearnParams<float> p;
///   p.layers.resize(2);
///   p.layers[0].num_filters = 16;  p.layers[0].kernel_height = p.layers[0].kernel_width = 7;
///   p.layers[1].num_filters = 32;  p.layers[1].kernel_height = p.layers[1].kernel_width = 5;
///   p.layers[0].lambda = 0.1f;     p.layers[1].lambda = 0.05f;
///   auto r = mlcsc::learn_multilayer(images, p);  // r.model: a MultiLayer<ConvDictionary<float>>
///   r.layers[0].stripe_sparsity;                   // ||Gamma_1||_{0,inf}, the worst image
/// \endcode
/// Throws std::invalid_argument for empty or non-finite images and invalid parameters (naming
/// the layer's field).
template <class Scalar>
MultiLayerLearnResult<ConvDictionary<Scalar>> learn_multilayer(
    const FeatureMaps<Scalar>& images, const ConvMultiLayerLearnParams<Scalar>& p) {
  const char* where = "learn_multilayer";
  internal::require_training_images<Scalar>(images, where);
  p.check(images.batch(), images.channels(), images.height(), images.width(), where);
  const size_t L = p.layers.size();
  MultiLayerLearnResult<ConvDictionary<Scalar>> r;
  r.codes.reserve(L);
  for (size_t l = 0; l < L; ++l) {
    const FeatureMaps<Scalar>& input = l == 0 ? images : r.codes[l - 1];
    auto learned = learn_conv_dictionary(input, p.layers[l]);
    r.layer_objective.push_back(std::move(learned.objective));
    LassoParams<Scalar> lp;
    lp.lambda = p.layers[l].lambda;
    lp.method = Method::ADMM;
    lp.max_iterations = p.coding_iterations;
    lp.tolerance = p.coding_tolerance;
    r.codes.push_back(lasso(learned.dictionary, input, lp).code);
    r.model.add_layer(std::move(learned.dictionary), p.layers[l].lambda, Shrinkage::Soft);
    r.layers.push_back(
        internal::layer_report(r.model.layer(Index(l)), input, r.codes[l], p.layers[l].lambda));
  }
  return r;
}

}  // namespace mlcsc
