// mlcsc: the multi-layer (convolutional) sparse coding model and its pursuits.
//
// ML-CSC (Papyan, Romano, Elad, "Convolutional neural networks analyzed via convolutional sparse
// coding", JMLR 18, 2017):  Y = D_1 Gamma_1 + E,  Gamma_1 = D_2 Gamma_2,  ...,
// Gamma_{L-1} = D_L Gamma_L, every Gamma_l sparse (in the stripe sense for convolutional layers).
//
// Pursuits (all generic over the operator concept, so Dictionary and ConvDictionary both work):
//   layered_thresholding  Gamma_l = S_{b_l}(D_l^T Gamma_{l-1}), Gamma_0 = Y    (JMLR 2017, Sec. 5)
//                         with NonnegSoft this is the CNN forward pass ReLU(conv(x, D_l) - b_l)
//   layered_lasso         Gamma_l = argmin 0.5||Gamma_{l-1} - D_l G||^2 + lambda_l ||G||_1
//                         (layered basis pursuit, JMLR 2017, Sec. 6)
//   layered_ista          the same with a fixed number of ISTA steps per layer from zero (the
//                         "layered iterative thresholding" of docs/theory.md: an unrolled network)
//   ml_ista / ml_fista    the multi-layer basis pursuit of Sulam, Aberdam, Beck, Elad (TPAMI
//                         2019, arXiv 1806.00701): a projection of Y onto the ML-CSC model
//                         through the deepest code Gamma_L
#pragma once

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"
#include "../core/operator.hpp"
#include "../core/shrinkage.hpp"
#include "../internal/no_malloc.hpp"
#include "../internal/parallel.hpp"
#include "../pursuit/lasso.hpp"
#include "../pursuit/params.hpp"
#include "detail.hpp"
#include "effective_dictionary.hpp"

namespace mlcsc {

/// \brief Parameters of ML-ISTA / ML-FISTA (the multi-layer basis pursuit).
///
/// Problem (ML-BP; Sulam, Aberdam, Beck, Elad, TPAMI 2019, arXiv 1806.00701), over the deepest
/// code only, with \f$ \Gamma_i := D_{i+1}\cdots D_L\Gamma_L \f$:
/// \f[ \min_{\Gamma_L} \tfrac12\|Y - D_1 \cdots D_L\Gamma_L\|_2^2
///     + \sum_{i=1}^{L} \lambda_i \|\Gamma_i\|_1 . \f]
template <class Scalar>
struct MLBPParams {
  /// One entry per layer: its `lambda` (or per-atom `lambdas`) and `nonnegative` are used; the
  /// other fields (iterations, tolerance, method, callback) are ignored here.
  std::vector<LassoParams<Scalar>> layers;
  int max_iterations = 500;  ///< > 0, outer iterations
  /// Stop when ||G_L^k - G_L^{k-1}|| <= tol max(1, ||G_L^k||) and the same holds for the
  /// residual ||G_L^k - Z^k|| of the point Z^k the iteration started from (ML-FISTA's momentum
  /// point; Gamma_L^{k-1} for ML-ISTA, where the two tests coincide).
  Scalar tolerance = Scalar(1e-6);
  /// Step sizes rho_i, one per layer (> 0); empty: rho_i = 1 / ||D_i||_2^2.
  std::vector<Scalar> steps;
  /// ML-FISTA: the gradient restart of O'Donoghue & Candes (2015) on Gamma_L (t <- 1, no
  /// extrapolation, when <Z - Gamma_L^{k+1}, Gamma_L^{k+1} - Gamma_L^k> > 0).
  bool adaptive_restart = true;
  /// Called every iteration with the ML-BP objective of the current Gamma_L (costs one extra
  /// backward pass); returning false stops.
  std::function<bool(int iteration, Scalar objective)> callback;
};

/// \brief A multi-layer (convolutional) sparse coding model: a chain of dictionaries with the
/// thresholds and shrinkage of its forward pass, and the pursuits of the ML-CSC papers.
///
/// Model (Papyan, Romano, Elad, JMLR 2017): \f$ Y = D_1\Gamma_1 + E \f$,
/// \f$ \Gamma_{l-1} = D_l\Gamma_l \f$ for l = 2..L. Layers are 0-based in the API: `layer(0)` is
/// \f$ D_1 \f$ and element l of every returned vector is \f$ \Gamma_{l+1} \f$.
/// `Op` is `Dictionary<S>` (codes m x B) or `ConvDictionary<S>` (codes are FeatureMaps).
/// \code
///   mlcsc::MultiLayer<mlcsc::ConvDictionary<float>> net;
///   net.add_layer(D1, 0.1f);                      // NonnegSoft: ReLU(conv(x, D1) - 0.1)
///   net.add_layer(D2, 0.2f);
///   auto maps = net.layered_thresholding(x);     // the CNN forward pass
///   std::vector<mlcsc::LassoParams<float>> p(2); // lambda per layer
///   auto lbp = net.layered_lasso(x, p);          // layered basis pursuit
/// \endcode
template <class Op>
class MultiLayer {
  static_assert(is_operator_v<Op>,
                "mlcsc::MultiLayer<Op>: Op does not model the operator concept "
                "(docs/operator-concept.md; internal::require_operator<Op> names what is missing)");

 public:
  using Scalar = typename Op::Scalar;
  using Signal = typename Op::Signal;
  using Code = typename Op::Code;
  using Result = PursuitResult<Code, Scalar>;

  /// Appends layer \f$ D_{l} \f$ with one threshold b for all its atoms (filters). Throws
  /// std::invalid_argument if it does not read the previous layer's code (dense:
  /// `signal_size() == ` previous `num_atoms()`; conv: `channels() == ` previous `num_filters()`
  /// and the same boundary), or if b is not finite (or negative for Soft/Hard).
  void add_layer(Op dictionary, Scalar threshold, Shrinkage kind = Shrinkage::NonnegSoft) {
    internal::check_threshold(threshold, kind, "MultiLayer::add_layer", "threshold");
    const Index rows = dictionary.code_rows();
    push(std::move(dictionary), Vector<Scalar>::Constant(rows, threshold), kind);
  }
  /// Appends a layer with one threshold per atom (filter): `thresholds` has code_rows() entries.
  /// With NonnegSoft this is a CNN layer with per-channel bias -thresholds.
  template <class Derived>
  void add_layer(Op dictionary, const Eigen::MatrixBase<Derived>& thresholds,
                 Shrinkage kind = Shrinkage::NonnegSoft) {
    internal::check_thresholds(thresholds, dictionary.code_rows(), kind, "MultiLayer::add_layer",
                               "thresholds");
    Vector<Scalar> t = thresholds.derived().template cast<Scalar>().reshaped();
    push(std::move(dictionary), std::move(t), kind);
  }

  /// Appends layer \f$ D_{l} \f$ alone: the forward pass then takes its thresholds as a parameter
  /// (`layered_thresholding(y, thresholds)`, a CNN's biases), the other pursuits their lambda.
  /// Throws std::invalid_argument if it does not read the previous layer's code.
  void add_layer(Op dictionary) {
    push(std::move(dictionary), Vector<Scalar>(), Shrinkage::NonnegSoft);
  }

  Index depth() const { return Index(layers_.size()); }
  /// Layer l (0-based: layer(0) is D_1). Throws std::invalid_argument out of range.
  const Op& layer(Index l) const { return *layers_[check_index(l, "layer")]; }
  /// The per-atom thresholds of layer l (all equal when given as a scalar; empty when the layer
  /// was added without them).
  const Vector<Scalar>& thresholds(Index l) const { return thr_[check_index(l, "thresholds")]; }
  Shrinkage shrinkage(Index l) const { return kind_[check_index(l, "shrinkage")]; }

  /// \brief The effective dictionary \f$ D^{(l+1)} = D_1 D_2 \cdots D_{l+1} \f$ that synthesizes
  /// the signal from code l (0-based), as an operator: `lasso(net.effective(L-1), y, p)` is the
  /// projection pursuit of Sulam, Papyan, Romano, Elad (IEEE TSP 2018). Shares the layers.
  ComposedOperator<Op> effective(Index l) const {
    check_index(l, "effective");
    return ComposedOperator<Op>(
        std::vector<std::shared_ptr<const Op>>(layers_.begin(), layers_.begin() + l + 1));
  }

  /// \brief Layered thresholding (the forward pass; JMLR 2017, Sec. 5):
  /// \f$ \hat\Gamma_l = S_{b_l}(D_l^T \hat\Gamma_{l-1}) \f$, \f$ \hat\Gamma_0 = Y \f$, with the
  /// thresholds and shrinkage given to add_layer. With Shrinkage::NonnegSoft,
  /// \f$ S^+_b(z) = \mathrm{ReLU}(z - b) \f$: each layer is a convolution with weights D_l, bias
  /// -b_l and a ReLU. Returns the L estimates. Throws std::invalid_argument if a layer was added
  /// without thresholds (pass them as a parameter then).
  template <class SignalLike>
  std::vector<Code> layered_thresholding(const SignalLike& y) const {
    std::vector<Code> out;
    layered_thresholding(y, out);
    return out;
  }

  /// \brief The same forward pass into caller-owned codes, for loops over many signals: `out`
  /// is either empty (then it is filled with depth() new codes) or holds exactly the depth()
  /// codes of the shapes this pass produces (e.g. from the previous call), which are overwritten
  /// without allocating. Anything else throws std::invalid_argument naming out[l] and the
  /// expected vs given shapes (never resized). Freshly allocated codes of a few MiB can cost
  /// more than the convolutions: the allocator hands the memory back to the system between calls
  /// and every page faults in again (bench_multilayer measures both ways).
  template <class SignalLike>
  void layered_thresholding(const SignalLike& y, std::vector<Code>& out) const {
    require_layers("layered_thresholding");
    for (size_t l = 0; l < layers_.size(); ++l)
      if (thr_[l].size() == 0)
        internal::throw_invalid(
            "MultiLayer::layered_thresholding: layer ", l,
            " was added without thresholds; pass them: layered_thresholding(y, thresholds)");
    forward(y, thr_, kind_.data(), false, out);
  }

  /// \brief The forward pass with its thresholds as a parameter: `thresholds[l]` holds layer l's
  /// threshold per atom (filter), or one for all (a CNN layer's bias is -thresholds[l]);
  /// `kind` is every layer's shrinkage (NonnegSoft: conv + bias + ReLU). The defaults given to
  /// add_layer are not used.
  template <class SignalLike>
  std::vector<Code> layered_thresholding(const SignalLike& y,
                                         const std::vector<Vector<Scalar>>& thresholds,
                                         Shrinkage kind = Shrinkage::NonnegSoft) const {
    std::vector<Code> out;
    layered_thresholding(y, thresholds, out, kind);
    return out;
  }
  /// The forward pass with thresholds as a parameter into caller-owned codes (see the overload
  /// without thresholds for `out`).
  template <class SignalLike>
  void layered_thresholding(const SignalLike& y, const std::vector<Vector<Scalar>>& thresholds,
                            std::vector<Code>& out, Shrinkage kind = Shrinkage::NonnegSoft) const {
    require_layers("layered_thresholding");
    if (thresholds.size() != layers_.size())
      internal::throw_invalid(
          "MultiLayer::layered_thresholding: 'thresholds' must hold one vector per layer (",
          layers_.size(), "), got ", thresholds.size());
    for (size_t l = 0; l < layers_.size(); ++l) {
      const std::string name = internal::message("thresholds[", l, "]");
      const Vector<Scalar>& t = thresholds[l];
      if (t.size() == 1)
        internal::check_threshold(t(0), kind, "MultiLayer::layered_thresholding", name.c_str());
      else
        internal::check_thresholds(t, layers_[l]->code_rows(), kind,
                                   "MultiLayer::layered_thresholding", name.c_str());
    }
    forward(y, thresholds, &kind, true, out);
  }

  /// \brief Layered Lasso (layered basis pursuit; JMLR 2017, Sec. 6):
  /// \f$ \hat\Gamma_1 = \arg\min_\Gamma \tfrac12\|Y - D_1\Gamma\|_2^2 + \lambda_1\|\Gamma\|_1 \f$,
  /// \f$ \hat\Gamma_l = \arg\min_\Gamma \tfrac12\|\hat\Gamma_{l-1} - D_l\Gamma\|_2^2 +
  /// \lambda_l\|\Gamma\|_1 \f$, each solved by `mlcsc::lasso` with `per_layer[l]` (which must
  /// hold depth() entries). The thresholds given to add_layer are not used. Each result carries
  /// its own layer's iterations, convergence and Lasso objective.
  template <class SignalLike>
  std::vector<Result> layered_lasso(const SignalLike& y,
                                    const std::vector<LassoParams<Scalar>>& per_layer) const {
    check_per_layer(per_layer, "layered_lasso", "per_layer");
    decltype(auto) ys = layers_[0]->signal_view(y);
    layers_[0]->check_signal(ys, "MultiLayer::layered_lasso", "y");
    std::vector<Result> out;
    out.reserve(layers_.size());
    out.push_back(lasso(*layers_[0], ys, per_layer[0]));
    for (size_t l = 1; l < layers_.size(); ++l)
      out.push_back(lasso(*layers_[l], out[l - 1].code, per_layer[l]));
    return out;
  }

  /// \brief Layered iterative thresholding (an unrolled network, docs/theory.md): layer l runs
  /// exactly `per_layer[l].max_iterations` ISTA steps from \f$ \Gamma_l^0 = 0 \f$ on the previous
  /// layer's estimate, \f$ \Gamma_l^t = S_{\lambda_l/L_l}(\Gamma_l^{t-1} - \tfrac1{L_l} D_l^T(D_l
  /// \Gamma_l^{t-1} - \hat\Gamma_{l-1})) \f$, \f$ L_l = \|D_l\|_2^2 \f$ (S = NonnegSoft when
  /// `nonnegative`, else Soft). The talk writes the step-1 form \f$ S_\alpha(D^TY + (I -
  /// D^TD)\Gamma) \f$, valid only when \f$ \|D\|_2 \le 1 \f$; here the step is 1/L_l, so
  /// \f$ \alpha_l = \lambda_l / L_l \f$. The first step is the forward pass of layer l with
  /// weights D_l/L_l and threshold lambda_l/L_l. `method` and `tolerance` are ignored (no early
  /// stop, except when an iterate repeats exactly, which changes nothing).
  template <class SignalLike>
  std::vector<Code> layered_ista(const SignalLike& y,
                                 const std::vector<LassoParams<Scalar>>& per_layer) const {
    check_per_layer(per_layer, "layered_ista", "per_layer");
    decltype(auto) ys = layers_[0]->signal_view(y);
    layers_[0]->check_signal(ys, "MultiLayer::layered_ista", "y");
    std::vector<Code> out;
    out.reserve(layers_.size());
    for (size_t l = 0; l < layers_.size(); ++l) {
      LassoParams<Scalar> p = per_layer[l];
      p.method = Method::ISTA;
      p.tolerance = Scalar(0);
      if (l == 0)
        out.push_back(lasso(*layers_[0], ys, p).code);
      else
        out.push_back(lasso(*layers_[l], out[l - 1], p).code);
    }
    return out;
  }

  /// \brief ML-ISTA (Sulam, Aberdam, Beck, Elad, TPAMI 2019, arXiv 1806.00701) for the ML-BP
  /// problem of MLBPParams, from \f$ \Gamma_L^0 = 0 \f$. One iteration:
  ///   backward \f$ \hat\Gamma_L = \Gamma_L^k \f$, \f$ \hat\Gamma_i = D_{i+1}\hat\Gamma_{i+1} \f$;
  ///   forward \f$ \Gamma_0 = Y \f$, \f$ \Gamma_i = S_{\tau_i\lambda_i}(\hat\Gamma_i -
  ///   \rho_i D_i^T(D_i\hat\Gamma_i - \Gamma_{i-1})) \f$, i = 1..L;  \f$ \Gamma_L^{k+1} = \Gamma_L
  ///   \f$, with \f$ \tau_i = \rho_1\cdots\rho_i \f$.
  /// Why tau_i: the residual \f$ D_i\hat\Gamma_i - \Gamma_{i-1} \f$ is
  /// \f$ \rho_1\cdots\rho_{i-1} \f$ times the gradient mapping of the layers above (the
  /// Moreau-envelope view of Sulam et al.), so layer i takes a proximal-gradient step of size
  /// tau_i and its fixed points weigh lambda_i correctly. They are epsilon-optimal for ML-BP,
  /// with a gap that shrinks with rho_1 (measured: 1-3% relative at rho_1 = 1/L_1, 0.3% at
  /// 0.1/L_1; see the tests). The first iteration is the forward pass scaled by tau_i:
  /// \f$ \Gamma_i = \tau_i S_{\lambda_i}(D_i^T S_{\lambda_{i-1}}(\cdots)) \f$.
  /// Returns one result per layer: element L-1 holds \f$ \Gamma_L \f$, element i < L-1 the
  /// propagated code \f$ D_{i+2}\cdots D_L\Gamma_L \f$ (0-based i); all carry the same
  /// iterations, convergence and objective, the ML-BP objective
  /// \f$ \tfrac12\|Y - D_1\cdots D_L\Gamma_L\|^2 + \sum_i \lambda_i\|\Gamma_i\|_1 \f$ of the
  /// propagated codes (for `nonnegative` layers the constraint \f$ \Gamma_i \ge 0 \f$ is not
  /// added to it: the propagated codes of a layer need not be non-negative).
  template <class SignalLike>
  std::vector<Result> ml_ista(const SignalLike& y, const MLBPParams<Scalar>& p) const {
    return ml_bp(y, p, false, "ml_ista");
  }
  /// \brief ML-FISTA: ML-ISTA with FISTA momentum on \f$ \Gamma_L \f$ (Sulam et al. 2019):
  /// \f$ t_{k+1} = (1 + \sqrt{1 + 4t_k^2})/2 \f$,
  /// \f$ Z = \Gamma_L^k + \tfrac{t_k - 1}{t_{k+1}}(\Gamma_L^k - \Gamma_L^{k-1}) \f$, then one
  /// ML-ISTA iteration from Z. Same result as ml_ista.
  template <class SignalLike>
  std::vector<Result> ml_fista(const SignalLike& y, const MLBPParams<Scalar>& p) const {
    return ml_bp(y, p, true, "ml_fista");
  }
  /// ML-ISTA with the per-layer Lasso parameters of layered_lasso: lambda/lambdas/nonnegative of
  /// each layer; max_iterations, tolerance and callback are taken from the last entry.
  template <class SignalLike>
  std::vector<Result> ml_ista(const SignalLike& y,
                              const std::vector<LassoParams<Scalar>>& per_layer) const {
    return ml_bp(y, to_mlbp(per_layer, "ml_ista"), false, "ml_ista");
  }
  /// ML-FISTA with per-layer Lasso parameters (see the ml_ista overload).
  template <class SignalLike>
  std::vector<Result> ml_fista(const SignalLike& y,
                               const std::vector<LassoParams<Scalar>>& per_layer) const {
    return ml_bp(y, to_mlbp(per_layer, "ml_fista"), true, "ml_fista");
  }

  /// The ML-BP objective (see ml_ista) of a deepest code Gamma_L for the signal y.
  template <class SignalLike>
  Scalar ml_objective(const SignalLike& y, const Code& gamma_L,
                      const std::vector<LassoParams<Scalar>>& per_layer) const {
    check_per_layer(per_layer, "ml_objective", "per_layer");
    decltype(auto) ys = layers_[0]->signal_view(y);
    layers_[0]->check_signal(ys, "MultiLayer::ml_objective", "y");
    std::vector<Code> prop = forward_shapes(ys);
    const size_t L = layers_.size();
    if (internal::shape_key(gamma_L) != internal::shape_key(prop[L - 1]))
      internal::throw_invalid("MultiLayer::ml_objective: 'gamma_L' must be ",
                              internal::to_string(internal::shape_key(prop[L - 1])),
                              " (the deepest code for 'y'), got ",
                              internal::to_string(internal::shape_key(gamma_L)));
    values(prop[L - 1]) = values(gamma_L);
    for (size_t i = L - 1; i >= 1; --i) layers_[i]->synthesize(prop[i], prop[i - 1]);
    double f = 0;
    for (size_t i = 0; i < L; ++i)
      f += internal::weighted_l1_rows(values(prop[i]),
                                      per_layer[i].lambda_vector(layers_[i]->code_rows()));
    Signal x(ys);
    layers_[0]->synthesize(prop[0], x);
    values(x) -= values(ys);
    return Scalar(f + 0.5 * double(values(x).squaredNorm()));
  }

  /// \f$ \Gamma_i = D_{i+1}\cdots D_L\Gamma_L \f$ for every layer (element L-1 is gamma_L), each
  /// the smallest signal of its layer for the code below it (the forward pass's size, except
  /// for strided layers whose signal size leaves a remainder: ml_ista's results carry the codes
  /// of the forward pass's sizes).
  std::vector<Code> propagate(const Code& gamma_L) const {
    require_layers("propagate");
    const size_t L = layers_.size();
    if (values(gamma_L).rows() != layers_[L - 1]->code_rows())
      internal::throw_invalid("MultiLayer::propagate: 'gamma_L' must have ",
                              layers_[L - 1]->code_rows(), " rows (atoms or filters of layer ",
                              L - 1, "), got ", values(gamma_L).rows());
    std::vector<Code> out(L);
    out[L - 1] = gamma_L;
    for (size_t i = L - 1; i >= 1; --i) out[i - 1] = layers_[i]->synthesize(out[i]);
    return out;
  }

 private:
  // The forward pass with thresholds thr[l] (one per code row, or one for all) and shrinkage
  // kinds[l] (kinds[0] for every layer when `one_kind`).
  // A batch of feature maps that splits evenly over the threads runs image-parallel: each thread
  // takes one contiguous share of the images through every layer (analyze, then shrink), so a
  // share's codes stay in its core's cache and the layers need no barrier between them. Layer by
  // layer, each analyze parallel on its own, the MNIST model's batch of 64 ran 1.69-1.73x its
  // 1-thread throughput on 2 threads; image-parallel 1.85-1.86x (bench_geometry, AMD Zen 5,
  // AVX-512 and AVX2 builds alike). Each image's codes are those of the layer-by-layer pass up
  // to the grouping of a lowered layer's matrix products (a rounding of the last bit).
  template <class SignalLike>
  void forward(const SignalLike& y, const std::vector<Vector<Scalar>>& thr, const Shrinkage* kinds,
               bool one_kind, std::vector<Code>& out) const {
    decltype(auto) ys = layers_[0]->signal_view(y);
    layers_[0]->check_signal(ys, "MultiLayer::layered_thresholding", "y");
    if (out.empty())
      out = forward_shapes(ys);
    else
      check_outputs(internal::shape_key(ys), out);
    // layers [0, L) on a signal and its codes (whole objects or views of some images)
    auto run = [&](const auto& signal, auto code) {
      for (size_t l = 0; l < layers_.size(); ++l) {
        if (l == 0)
          layers_[0]->analyze(signal, code(0));
        else
          layers_[l]->analyze(code(l - 1), code(l));
        auto&& v = values(code(l));
        const Shrinkage kind = kinds[one_kind ? 0 : l];
        if (thr[l].size() == 1)
          internal::shrink_into(v.array(), v.array(), thr[l](0), kind);
        else
          internal::shrink_rows(v, v, thr[l], Scalar(1), kind);
      }
    };
    if constexpr (std::is_same_v<Code, FeatureMaps<Scalar>> &&
                  std::is_same_v<std::decay_t<decltype(ys)>, ConstFeatureMapsView<Scalar>>) {
      const int threads = internal::max_threads();
      const Index N = ys.batch();
      if (threads > 1 && N >= threads && (N % threads == 0 || N >= 8 * threads)) {
        const Index share = (N + threads - 1) / threads;
        std::exception_ptr error;
        internal::parallel_for(threads, threads, [&](int t) {
          const Index n0 = std::min(N, t * share), n = std::min(share, N - n0);
          if (n == 0) return;
          try {
            run(ys.images(n0, n), [&](size_t l) { return out[l].images(n0, n); });
          } catch (...) {
#pragma omp critical(mlcsc_forward_error)
            if (!error) error = std::current_exception();
          }
        });
        if (error) std::rethrow_exception(error);
        return;
      }
    }
    run(ys, [&](size_t l) -> Code& { return out[l]; });
  }

  // Zero codes of every layer for a signal shaped like ys: the shapes of the forward pass.
  template <class View>
  std::vector<Code> forward_shapes(const View& ys) const {
    std::vector<Code> c;
    c.reserve(layers_.size());
    for (size_t i = 0; i < layers_.size(); ++i)
      c.push_back(i == 0 ? layers_[0]->code_like(ys) : layers_[i]->code_like(c[i - 1]));
    return c;
  }

  void push(Op D, Vector<Scalar> thr, Shrinkage kind) {
    if (!layers_.empty())
      internal::check_chain(*layers_.back(), D, depth(), "MultiLayer::add_layer", "dictionary");
    layers_.push_back(std::make_shared<const Op>(std::move(D)));
    thr_.push_back(std::move(thr));
    kind_.push_back(kind);
  }

  size_t check_index(Index l, const char* fn) const {
    if (l < 0 || l >= depth())
      internal::throw_invalid("MultiLayer::", fn, ": 'l' must be in [0, ", depth(),
                              ") (0-based layer index), got ", l);
    return size_t(l);
  }
  void require_layers(const char* fn) const {
    if (layers_.empty())
      internal::throw_invalid("MultiLayer::", fn,
                              ": the model is empty (depth 0); add layers with add_layer first");
  }
  // out[l] must have the shape of layer l's code for a signal of shape `key` (the signal keeps
  // its columns or height x width from layer to layer; the rows become code_rows()).
  void check_outputs(internal::ShapeKey key, const std::vector<Code>& out) const {
    if (out.size() != layers_.size())
      internal::throw_invalid(
          "MultiLayer::layered_thresholding: 'out' must be empty or hold one "
          "code per layer (",
          layers_.size(), "), got ", out.size());
    for (size_t l = 0; l < layers_.size(); ++l) {
      key = internal::code_key(*layers_[l], key);
      const internal::ShapeKey got = internal::shape_key(out[l]);
      if (got != key)
        internal::throw_invalid("MultiLayer::layered_thresholding: 'out[", l, "]' must be ",
                                internal::to_string(key), ", got ", internal::to_string(got));
    }
  }
  template <class P>
  void check_per_layer(const std::vector<P>& per_layer, const char* fn, const char* name) const {
    require_layers(fn);
    if (per_layer.size() != layers_.size())
      internal::throw_invalid("MultiLayer::", fn, ": '", name, "' must hold one entry per layer (",
                              layers_.size(), "), got ", per_layer.size());
    for (size_t l = 0; l < layers_.size(); ++l) {
      const std::string where = internal::message("MultiLayer::", fn, " (", name, "[", l, "])");
      per_layer[l].check(layers_[l]->code_rows(), where.c_str());
    }
  }

  MLBPParams<Scalar> to_mlbp(const std::vector<LassoParams<Scalar>>& per_layer,
                             const char* fn) const {
    check_per_layer(per_layer, fn, "per_layer");
    MLBPParams<Scalar> p;
    p.layers = per_layer;
    p.max_iterations = per_layer.back().max_iterations;
    p.tolerance = per_layer.back().tolerance;
    p.callback = per_layer.back().callback;
    return p;
  }

  template <class SignalLike>
  std::vector<Result> ml_bp(const SignalLike& y, const MLBPParams<Scalar>& p, bool fista,
                            const char* fn) const {
    check_per_layer(p.layers, fn, "params.layers");
    const std::string where = internal::message("MultiLayer::", fn);
    if (p.max_iterations <= 0)
      internal::throw_invalid(where, ": 'max_iterations' must be > 0, got ", p.max_iterations);
    if (!(p.tolerance >= Scalar(0)) || !std::isfinite(double(p.tolerance)))
      internal::throw_invalid(where, ": 'tolerance' must be finite and >= 0, got ", p.tolerance);
    if (!p.steps.empty() && p.steps.size() != layers_.size())
      internal::throw_invalid(where, ": 'steps' must be empty or hold one step per layer (",
                              layers_.size(), "), got ", p.steps.size());
    for (size_t i = 0; i < p.steps.size(); ++i)
      if (!(p.steps[i] > Scalar(0)) || !std::isfinite(double(p.steps[i])))
        internal::throw_invalid(where, ": 'steps[", i, "]' must be finite and > 0, got ",
                                p.steps[i]);

    decltype(auto) ys = layers_[0]->signal_view(y);
    layers_[0]->check_signal(ys, where.c_str(), "y");
    const size_t L = layers_.size();

    // --- workspace, sized once ---
    // hat[i]: backward codes (hat[L-1] is the point Z); fwd[i]: forward codes (fwd[L-1] is the
    // new Gamma_L); grad[i]: codes; res0: signal residual of layer 0; prev/cur: Gamma_L iterates;
    // prop[i], rsig: the objective's propagated codes and residual.
    std::vector<Code> hat, fwd, grad, prop;
    hat.reserve(L);
    for (size_t i = 0; i < L; ++i)
      hat.push_back(i == 0 ? layers_[0]->code_like(ys) : layers_[i]->code_like(hat[i - 1]));
    fwd = hat;
    grad = hat;
    prop = hat;
    Signal res0(ys);  // shaped like y (with strides, not always the smallest signal for hat[0])
    Signal rsig = res0;
    std::vector<Scalar> rho(L);
    std::vector<Vector<Scalar>> lam(L);
    std::vector<Shrinkage> kind(L);
    for (size_t i = 0; i < L; ++i) {
      const Scalar Li =
          i == 0 ? layers_[0]->lipschitz_for(ys) : layers_[i]->lipschitz_for(hat[i - 1]);
      if (p.steps.empty() && !(Li > Scalar(0) && std::isfinite(double(Li))))
        internal::throw_invalid(where, ": layer ", i, " has Lipschitz constant ", Li,
                                "; every atom is zero or the dictionary is not finite");
      rho[i] = p.steps.empty() ? Scalar(1) / Li : p.steps[i];
      lam[i] = p.layers[i].lambda_vector(layers_[i]->code_rows());
      kind[i] = p.layers[i].nonnegative ? Shrinkage::NonnegSoft : Shrinkage::Soft;
    }
    // Thresholds tau_i = rho_1 ... rho_i (times lambda_i): the residual D_i hat_i - Gamma_{i-1}
    // that layer i sees is rho_1 ... rho_{i-1} times the gradient mapping of the layers above, so
    // layer i takes a proximal step of size tau_i on its penalty. A threshold rho_i lambda_i
    // would weigh lambda_i by 1 / (rho_1 ... rho_{i-1}) at the fixed points.
    std::vector<Scalar> tau(L);
    for (size_t i = 0; i < L; ++i) tau[i] = (i == 0 ? Scalar(1) : tau[i - 1]) * rho[i];
    Code cur = hat[L - 1], prev = hat[L - 1];  // Gamma_L^k, Gamma_L^{k-1} (zero)

    auto objective = [&](const Code& gL) -> double {
      values(prop[L - 1]) = values(gL);
      for (size_t i = L - 1; i >= 1; --i) layers_[i]->synthesize(prop[i], prop[i - 1]);
      double f = 0;
      for (size_t i = 0; i < L; ++i) f += internal::weighted_l1_rows(values(prop[i]), lam[i]);
      layers_[0]->synthesize(prop[0], rsig);
      values(rsig) -= values(ys);
      return f + 0.5 * double(values(rsig).squaredNorm());
    };

    // Every signal (a column of a dense batch, an image of feature maps) is its own problem: its
    // own momentum, restart and stopping test; a converged signal is frozen while the others go
    // on (the passes treat signals independently, so its code is the one it would have alone).
    const internal::CodeLayout lay =
        internal::CodeLayout::of(values(cur), layers_[L - 1]->code_rows());
    const Index S = lay.signals, len = lay.runs * lay.run_len;
    auto block = [&](Code& c, Index s) {
      return Eigen::Map<Vector<Scalar>>(values(c).data() + s * lay.signal_stride, len);
    };
    Eigen::VectorXd t = Eigen::VectorXd::Ones(S);
    Eigen::Array<bool, Eigen::Dynamic, 1> active(S), restart_next(S);
    active.setConstant(true);
    restart_next.setConstant(false);
    PursuitStats<Scalar> st;
    st.signal_iterations.setZero(S);
    st.signal_converged.setZero(S);
    {
      internal::NoMallocScope guard;
      for (int k = 1; k <= p.max_iterations && active.any(); ++k) {
        // the point: Gamma_L^k (ISTA) or the momentum point (FISTA), per signal
        for (Index s = 0; s < S; ++s) {
          if (fista && !restart_next(s)) {
            const double t_next = 0.5 * (1 + std::sqrt(1 + 4 * t(s) * t(s)));
            const Scalar beta = Scalar((t(s) - 1) / t_next);
            block(hat[L - 1], s) = block(cur, s) + beta * (block(cur, s) - block(prev, s));
            t(s) = t_next;
          } else {
            block(hat[L - 1], s) = block(cur, s);
            t(s) = 1;
          }
        }
        // backward: hat_i = D_{i+1} hat_{i+1}
        for (size_t i = L - 1; i >= 1; --i) layers_[i]->synthesize(hat[i], hat[i - 1]);
        // forward: Gamma_i = S(hat_i - rho_i D_i^T (D_i hat_i - Gamma_{i-1})); for i >= 1,
        // D_i hat_i = hat_{i-1} exactly (backward pass), so only layer 0 needs a synthesis.
        layers_[0]->synthesize(hat[0], res0);
        values(res0) -= values(ys);
        layers_[0]->analyze(res0, grad[0]);
        internal::shrink_rows(values(fwd[0]), values(hat[0]) - rho[0] * values(grad[0]), lam[0],
                              tau[0], kind[0]);
        for (size_t i = 1; i < L; ++i) {
          values(hat[i - 1]) -= values(fwd[i - 1]);  // residual D_i hat_i - Gamma_{i-1}
          layers_[i]->analyze(hat[i - 1], grad[i]);
          internal::shrink_rows(values(fwd[i]), values(hat[i]) - rho[i] * values(grad[i]), lam[i],
                                tau[i], kind[i]);
        }
        // Gamma_L^{k+1} = fwd[L-1]; rotate prev <- cur <- new without copies
        std::swap(prev, cur);
        std::swap(cur, fwd[L - 1]);
        for (Index s = 0; s < S; ++s) {
          if (!active(s)) {
            block(cur, s) = block(prev, s);  // frozen
            continue;
          }
          const auto c = block(cur, s), q = block(prev, s), z = block(hat[L - 1], s);
          const double change = double((c - q).squaredNorm());
          const double residual = double((c - z).squaredNorm());
          const double norm = double(c.squaredNorm());
          restart_next(s) = fista && p.adaptive_restart && double((z - c).dot(c - q)) > 0;
          st.signal_iterations(s) = k;
          const double bound = double(p.tolerance) * std::max(1.0, std::sqrt(norm));
          if (std::sqrt(change) <= bound && std::sqrt(residual) <= bound) {
            st.signal_converged(s) = true;
            active(s) = false;
          }
        }
        if (p.callback && !p.callback(k, Scalar(objective(cur)))) break;
      }
    }
    st.summarize();
    st.objective = Scalar(objective(cur));
    std::vector<Result> out(L);
    for (size_t i = 0; i < L; ++i) {
      static_cast<PursuitStats<Scalar>&>(out[i]) = st;
      out[i].code = i + 1 == L ? std::move(cur) : std::move(prop[i]);
    }
    return out;
  }

  std::vector<std::shared_ptr<const Op>> layers_;
  std::vector<Vector<Scalar>> thr_;
  std::vector<Shrinkage> kind_;
};

}  // namespace mlcsc
