// mlcsc: the guarantees of multi-layer (convolutional) sparse coding, checked layer by layer for
// a model and its true codes (Papyan, Romano, Elad, "Convolutional neural networks analyzed via
// convolutional sparse coding", JMLR 18, 2017, arXiv 1607.08194).
//
// What is verified, and against what (docs/theory.md; the full paper text was not reachable, only
// its abstract and the typeset formulas of a talk on the paper that reproduces the theorems):
//   VERIFIED against those typeset formulas:
//     uniqueness          ||Gamma_l||_{0,inf} <= lambda_l < 1/2 (1 + 1/mu(D_l))
//     forward pass        ||Gamma_l||_{0,inf} < 1/2 (1 + (1/mu_l) |G_l^min| / |G_l^max|)
//                                               - (1/mu_l) eps_{l-1} / |G_l^max|
//     layered Lasso       ||Gamma_l||_{0,inf} < 1/3 (1 + 1/mu(D_l))   (the slide typesets mu(D_L))
//     and their conclusions qualitatively: supports found (forward pass), only correct supports and
//     all large enough coefficients (layered Lasso), ||hat Gamma_l - Gamma_l||_{2,inf} <= eps_l.
//   UNVERIFIED (written from memory of the papers; used only for the reported eps
//   values and the suggested thresholds, never for a pass/fail of the conditions above):
//     forward-pass threshold interval  |G^min| - C_l - eps_{l-1} > beta_l > K_l + eps_{l-1},
//       C_l = (k_l - 1) mu_l |G^max|, K_l = k_l mu_l |G^max|;
//     forward-pass error   eps_l = sqrt(||Gamma_l||^P_{0,inf}) (eps_{l-1} + mu_l (k_l - 1)|G^max|
//                                   + beta_l)   (beta_l dropped for Hard thresholding);
//     layered Lasso        alpha_l = 4 eps_{l-1}, eps_l = 7.5 eps_{l-1}
//     sqrt(||Gamma_l||^P_{0,inf}),
//                          coefficients above 7.5 eps_{l-1} are recovered.
// Norms: the sparsity conditions use the stripe norm ||.||^S_{0,inf} of Gamma_l under D_l; errors
// passed between layers use patch norms ||.||^P_{2,inf}, and the factor sqrt(||Gamma_l||^P_{0,inf})
// uses the patch size of D_{l+1} (the last layer: its own). For dense layers a stripe and a patch
// are the whole column, so these are ||.||_0 and ||.||_2, maximized over the batch.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../conv/conv_dictionary.hpp"
#include "../core/errors.hpp"
#include "../dense/dictionary.hpp"
#include "../multilayer/multi_layer.hpp"
#include "coherence.hpp"
#include "conv_coherence.hpp"
#include "stripe.hpp"

namespace mlcsc {

/// The guarantees of one layer (0-based `layer`; the papers' layer layer+1).
struct LayerGuarantee {
  Index layer = 0;
  double mu = 0;              ///< mutual coherence of D_l
  Index stripe_sparsity = 0;  ///< ||Gamma_l||^S_{0,inf} (dense: max over columns of ||.||_0)
  Index patch_sparsity = 0;   ///< ||Gamma_l||^P_{0,inf}, patches of D_{l+1} (dense: ||.||_0)
  double gamma_min = 0, gamma_max = 0;  ///< smallest / largest nonzero |Gamma_l|

  double uniqueness_bound = 0;  ///< 1/2 (1 + 1/mu)            [verified]
  bool unique = false;          ///< stripe_sparsity < uniqueness_bound

  double eps_in = 0;          ///< eps_{l-1}: patch-norm error of the forward pass's input
  double forward_bound = 0;   ///< 1/2(1 + |Gmin|/(mu |Gmax|)) - eps_{l-1}/(mu |Gmax|) [verified]
  bool forward_pass = false;  ///< stripe_sparsity < forward_bound (and all previous layers)
  double beta_low = 0,
         beta_high = 0;    ///< the soft threshold interval (beta_low, beta_high) [unverified]
  double forward_eps = 0;  ///< eps_l of the forward pass [unverified]

  double lasso_eps_in = 0;     ///< eps_{l-1} of the layered Lasso chain
  double lasso_bound = 0;      ///< 1/3 (1 + 1/mu)            [verified]
  bool layered_lasso = false;  ///< stripe_sparsity < lasso_bound (and all previous layers)
  double lasso_lambda = 0;     ///< alpha_l = 4 eps_{l-1} [unverified]
  double lasso_eps = 0;        ///< eps_l = 7.5 eps_{l-1} sqrt(patch_sparsity) [unverified]
};

namespace internal {

inline double bound_half(double mu) {
  return mu > 0 ? 0.5 * (1.0 + 1.0 / mu) : std::numeric_limits<double>::infinity();
}
inline double bound_third(double mu) {
  return mu > 0 ? (1.0 + 1.0 / mu) / 3.0 : std::numeric_limits<double>::infinity();
}

template <class S>
void nonzero_range(const Eigen::Ref<const Matrix<S>>& v, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity();
  hi = 0;
  for (Index j = 0; j < v.cols(); ++j)
    for (Index i = 0; i < v.rows(); ++i) {
      const double a = std::abs(double(v(i, j)));
      if (a > 0) {
        lo = std::min(lo, a);
        hi = std::max(hi, a);
      }
    }
  if (hi == 0) lo = 0;
}

// Local measures of a true code under its dictionary D (stripes) and the next one (patches).
template <class S>
void local_measures(const Dictionary<S>&, const Dictionary<S>*, const Matrix<S>& g,
                    LayerGuarantee& r) {
  Index k = 0;
  for (Index j = 0; j < g.cols(); ++j) k = std::max<Index>(k, (g.col(j).array() != S(0)).count());
  r.stripe_sparsity = r.patch_sparsity = k;
  nonzero_range<S>(g, r.gamma_min, r.gamma_max);
}
template <class S>
void local_measures(const ConvDictionary<S>& D, const ConvDictionary<S>* next,
                    const FeatureMaps<S>& g, LayerGuarantee& r) {
  r.stripe_sparsity = stripe_sparsity(g, D.kernel_height(), D.kernel_width(), D.boundary());
  const ConvDictionary<S>& P = next ? *next : D;
  const auto counts = nonzeros_per_position(g, S(0));
  r.patch_sparsity = max_window_sum(counts, g.height(), g.width(), P.kernel_height(),
                                    P.kernel_width(), (P.kernel_height() - 1) / 2,
                                    (P.kernel_width() - 1) / 2, is_circular(D.boundary()));
  const RowMatrix<S>& d = g.data();
  Matrix<S> flat = Eigen::Map<const Matrix<S>>(d.data(), d.size(), 1);
  nonzero_range<S>(flat, r.gamma_min, r.gamma_max);
}

}  // namespace internal

/// \brief Which ML-CSC guarantees hold, layer by layer, for the model `net` and its true codes
/// `codes` (element l = Gamma_{l+1}) with noise \f$ \|E\|^P_{2,\infty} \le \f$ `noise` (patches
/// of D_1's size; dense: \f$ \|E\|_2 \f$ per signal). Papyan, Romano, Elad, JMLR 2017:
///   uniqueness \f$ \|\Gamma_l\|^S_{0,\infty} < \tfrac12(1 + 1/\mu_l) \f$;
///   forward pass \f$ \|\Gamma_l\|^S_{0,\infty} < \tfrac12(1 + \tfrac{1}{\mu_l}
///     \tfrac{|\Gamma_l^{min}|}{|\Gamma_l^{max}|}) - \tfrac{1}{\mu_l}
///     \tfrac{\epsilon_{l-1}}{|\Gamma_l^{max}|} \f$ with \f$ \epsilon_0 = \f$ noise and the
///     propagated \f$ \epsilon_l \f$ (uses the model's thresholds \f$ \beta_l \f$);
///   layered Lasso \f$ \|\Gamma_l\|^S_{0,\infty} < \tfrac13(1 + 1/\mu_l) \f$.
/// A chain guarantee (forward_pass, layered_lasso) of layer l also requires it of every layer
/// before. See the header comment for which constants are verified.
template <class Op>
std::vector<LayerGuarantee> multilayer_guarantees(const MultiLayer<Op>& net,
                                                  const std::vector<typename Op::Code>& codes,
                                                  double noise) {
  const Index L = net.depth();
  if (L == 0) internal::throw_invalid("multilayer_guarantees: the model is empty (depth 0)");
  if (Index(codes.size()) != L)
    internal::throw_invalid("multilayer_guarantees: 'codes' must hold one code per layer (", L,
                            "), got ", codes.size());
  if (!(noise >= 0) || !std::isfinite(noise))
    internal::throw_invalid("multilayer_guarantees: 'noise' must be finite and >= 0, got ", noise);
  std::vector<LayerGuarantee> out(static_cast<size_t>(L));
  double eps_fw = noise, eps_ls = noise;
  bool chain_fw = true, chain_ls = true;
  for (Index l = 0; l < L; ++l) {
    const auto& D = net.layer(l);
    if (values(codes[size_t(l)]).rows() != D.code_rows())
      internal::throw_invalid("multilayer_guarantees: 'codes[", l, "]' must have ", D.code_rows(),
                              " rows (atoms or filters of layer ", l, "), got ",
                              values(codes[size_t(l)]).rows());
    if (net.thresholds(l).size() == 0)
      internal::throw_invalid("multilayer_guarantees: layer ", l,
                              " was added without thresholds; the forward-pass bounds need them");
    if constexpr (internal::has_geometry<Op>::value) {
      if (D.stride_h() != 1 || D.stride_w() != 1 || D.dilation_h() != 1 || D.dilation_w() != 1)
        internal::throw_invalid(
            "multilayer_guarantees: layer ", l, " has stride ",
            internal::shape(D.stride_h(), D.stride_w()), " and dilation ",
            internal::shape(D.dilation_h(), D.dilation_w()),
            "; the stripe bounds (Papyan, Romano, Elad, JMLR 2017) are stated for stride 1 and "
            "dilation 1");
    }
    LayerGuarantee& r = out[size_t(l)];
    r.layer = l;
    r.mu = double(mutual_coherence(D));
    internal::local_measures(D, l + 1 < L ? &net.layer(l + 1) : nullptr, codes[size_t(l)], r);
    const double k = double(r.stripe_sparsity);
    const double beta = double(net.thresholds(l).cwiseAbs().maxCoeff());
    const bool hard = net.shrinkage(l) == Shrinkage::Hard;

    r.uniqueness_bound = internal::bound_half(r.mu);
    r.unique = k < r.uniqueness_bound;

    r.eps_in = eps_fw;
    if (r.gamma_max > 0 && r.mu > 0) {
      r.forward_bound =
          0.5 * (1.0 + r.gamma_min / (r.mu * r.gamma_max)) - eps_fw / (r.mu * r.gamma_max);
    } else {
      r.forward_bound = r.gamma_max > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    }
    chain_fw = chain_fw && k < r.forward_bound;
    r.forward_pass = chain_fw;
    r.beta_low = k * r.mu * r.gamma_max + eps_fw;
    r.beta_high = r.gamma_min - std::max(0.0, k - 1) * r.mu * r.gamma_max - eps_fw;
    r.forward_eps = std::sqrt(double(r.patch_sparsity)) *
                    (eps_fw + r.mu * std::max(0.0, k - 1) * r.gamma_max + (hard ? 0.0 : beta));
    eps_fw = r.forward_eps;

    r.lasso_eps_in = eps_ls;
    r.lasso_bound = internal::bound_third(r.mu);
    chain_ls = chain_ls && k < r.lasso_bound;
    r.layered_lasso = chain_ls;
    r.lasso_lambda = 4.0 * eps_ls;
    r.lasso_eps = 7.5 * eps_ls * std::sqrt(double(r.patch_sparsity));
    eps_ls = r.lasso_eps;
  }
  return out;
}

}  // namespace mlcsc
