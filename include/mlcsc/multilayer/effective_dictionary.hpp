// mlcsc: the effective dictionary of a multi-layer model, D^(l) = D_1 D_2 ... D_l, as an operator.
//
// In the ML-CSC model X = D_1 Gamma_1, Gamma_1 = D_2 Gamma_2, ..., so X = D^(l) Gamma_l with
// D^(l) = D_1 ... D_l (Papyan, Romano, Elad, JMLR 2017, Sec. 4; Sulam, Papyan, Romano, Elad,
// IEEE TSP 2018, the "effective dictionary" of the projection pursuit). The product is never
// formed: synthesize applies D_l, ..., D_1 in turn and analyze applies D_1^T, ..., D_l^T.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"
#include "../core/operator.hpp"
#include "../pursuit/proximal_gradient.hpp"
#include "detail.hpp"

namespace mlcsc {

/// \brief The composition \f$ D^{(l)} = D_1 D_2 \cdots D_l \f$ of layers, modelling the operator
/// concept (API.md section 2), so every single-layer pursuit (`lasso`, `thresholding`, ...) runs
/// on it unchanged:
/// \f$ \mathrm{synthesize}(\Gamma) = D_1(D_2(\cdots D_l\Gamma)) \f$,
/// \f$ \mathrm{analyze}(x) = D_l^T(\cdots D_2^T(D_1^T x)) \f$.
///
/// `lipschitz_for(y)` = \f$ \|D^{(l)}\|_2^2 \f$ for signals shaped like y, by a seeded power
/// iteration on \f$ D^{(l)T} D^{(l)} \f$ (Rayleigh quotient, relative change below 1e-7), times a
/// safety factor 1.01, capped by the always-valid bound \f$ \prod_i \|D_i\|_2^2 \f$; cached per
/// signal shape (dense: independent of the batch size).
///
/// The layers are shared (not copied) with the MultiLayer that made it. Intermediate buffers are
/// kept inside (sized before a pursuit's loop, by `lipschitz_for`, `code_like` or `signal_like`),
/// so one instance must not be used from several threads at once; copies are independent.
/// \code
///   mlcsc::ComposedOperator<mlcsc::Dictionary<double>> Deff({D1, D2});   // D1 * D2
///   auto r = mlcsc::lasso(Deff, Y, p);                                   // Lasso on Gamma_2
/// \endcode
template <class Op>
class ComposedOperator {
 public:
  using Scalar = typename Op::Scalar;
  using Signal = typename Op::Signal;
  using Code = typename Op::Code;
  using LayerPtr = std::shared_ptr<const Op>;

  /// Composes shared layers (first = D_1). Throws if empty or if consecutive layers do not chain.
  explicit ComposedOperator(std::vector<LayerPtr> layers) : layers_(std::move(layers)) {
    validate();
  }
  /// Composes copies of `layers` (first = D_1).
  explicit ComposedOperator(const std::vector<Op>& layers) {
    for (const Op& D : layers) layers_.push_back(std::make_shared<const Op>(D));
    validate();
  }

  Index depth() const { return Index(layers_.size()); }
  const Op& layer(Index i) const {
    if (i < 0 || i >= depth())
      internal::throw_invalid("ComposedOperator::layer: 'l' must be in [0, ", depth(), "), got ",
                              i);
    return *layers_[size_t(i)];
  }
  /// Rows of values(code): the deepest layer's atoms (filters).
  Index code_rows() const { return layers_.back()->code_rows(); }

  template <class SignalLike>
  decltype(auto) signal_view(const SignalLike& y) const {
    return layers_.front()->signal_view(y);
  }
  template <class SignalLike>
  void check_signal(const SignalLike& y, const char* where, const char* name) const {
    layers_.front()->check_signal(y, where, name);
  }

  /// A zero code of the deepest layer for a signal shaped like y (sizes the buffers).
  template <class SignalLike>
  Code code_like(const SignalLike& y) const {
    prepare_from_signal(y);
    return layers_.size() == 1 ? layers_[0]->code_like(y) : layers_.back()->code_like(bufs_.back());
  }
  /// A zero signal for a code shaped like g (sizes the buffers).
  template <class CodeLike>
  Signal signal_like(const CodeLike& g) const {
    prepare_from_code(g);
    return layers_.size() == 1 ? layers_[0]->signal_like(g) : layers_[0]->signal_like(bufs_[0]);
  }

  /// gamma = D_l^T ... D_1^T x (gamma sized by the caller, like code_like(x)).
  template <class SignalLike>
  void analyze(const SignalLike& x, Code& gamma) const {
    const size_t L = layers_.size();
    if (L == 1) {
      layers_[0]->analyze(x, gamma);
      return;
    }
    prepare_from_signal(x);
    layers_[0]->analyze(x, bufs_[0]);
    for (size_t i = 1; i + 1 < L; ++i) layers_[i]->analyze(bufs_[i - 1], bufs_[i]);
    layers_[L - 1]->analyze(bufs_[L - 2], gamma);
  }
  /// x = D_1 ... D_l gamma (x sized by the caller, like signal_like(gamma)).
  template <class CodeLike>
  void synthesize(const CodeLike& gamma, Signal& x) const {
    const size_t L = layers_.size();
    if (L == 1) {
      layers_[0]->synthesize(gamma, x);
      return;
    }
    prepare_from_code(gamma);
    layers_[L - 1]->synthesize(gamma, bufs_[L - 2]);
    for (size_t i = L - 2; i >= 1; --i) layers_[i]->synthesize(bufs_[i], bufs_[i - 1]);
    layers_[0]->synthesize(bufs_[0], x);
  }
  template <class SignalLike>
  Code analyze(const SignalLike& x) const {
    decltype(auto) xs = signal_view(x);
    check_signal(xs, "ComposedOperator::analyze", "x");
    Code gamma = code_like(xs);
    analyze(xs, gamma);
    return gamma;
  }
  Signal synthesize(const Code& gamma) const {
    if (values(gamma).rows() != code_rows())
      internal::throw_invalid("ComposedOperator::synthesize: 'gamma' must have ", code_rows(),
                              " rows (atoms or filters of the deepest layer), got ",
                              internal::to_string(internal::shape_key(gamma)));
    Signal x = signal_like(gamma);
    synthesize(gamma, x);
    return x;
  }

  /// \f$ \|D_1 \cdots D_l\|_2^2 \f$ for signals shaped like y: power iteration (see the class).
  template <class SignalLike>
  Scalar lipschitz_for(const SignalLike& y) const {
    const internal::ShapeKey key = lipschitz_key(y);
    auto it = lipschitz_cache_.find(key);
    Scalar L;
    if (it != lipschitz_cache_.end()) {
      L = it->second;
    } else {
      L = compute_lipschitz(y);
      lipschitz_cache_.emplace(key, L);
    }
    prepare_from_signal(y);  // leave the buffers sized for y (the pursuit's loop follows)
    return L;
  }

 private:
  void validate() const {
    if (layers_.empty())
      internal::throw_invalid("ComposedOperator: 'layers' must hold at least one layer, got 0");
    for (size_t i = 0; i < layers_.size(); ++i)
      if (!layers_[i]) internal::throw_invalid("ComposedOperator: layer ", i, " is null");
    for (size_t i = 1; i < layers_.size(); ++i)
      internal::check_chain(*layers_[i - 1], *layers_[i], Index(i), "ComposedOperator", "layers");
  }

  template <class SignalLike>
  static internal::ShapeKey lipschitz_key(const SignalLike& y) {
    if constexpr (internal::is_dense_dictionary<Op>::value) {
      return {values(y).rows(), 1, -1};
    } else {
      return internal::shape_key(y);
    }
  }

  // Buffers bufs_[i] hold the code of layer i (0-based), i = 0 .. L-2.
  template <class SignalLike>
  void prepare_from_signal(const SignalLike& y) const {
    const internal::ShapeKey k = internal::shape_key(y);
    if (have_ && k == signal_key_) return;
    const size_t L = layers_.size();
    bufs_.clear();
    if (L > 1) {
      bufs_.push_back(layers_[0]->code_like(y));
      for (size_t i = 1; i + 1 < L; ++i) bufs_.push_back(layers_[i]->code_like(bufs_[i - 1]));
      code_key_ = internal::shape_key(layers_[L - 1]->code_like(bufs_.back()));
    } else {
      code_key_ = internal::shape_key(layers_[0]->code_like(y));
    }
    signal_key_ = k;
    have_ = true;
  }
  template <class CodeLike>
  void prepare_from_code(const CodeLike& g) const {
    const internal::ShapeKey k = internal::shape_key(g);
    if (have_ && k == code_key_) return;
    const size_t L = layers_.size();
    bufs_.assign(L > 1 ? L - 1 : 0, Code());
    if (L > 1) {
      bufs_[L - 2] = layers_[L - 1]->signal_like(g);
      for (size_t i = L - 2; i >= 1; --i) bufs_[i - 1] = layers_[i]->signal_like(bufs_[i]);
      signal_key_ = internal::shape_key(layers_[0]->signal_like(bufs_[0]));
    } else {
      signal_key_ = internal::shape_key(layers_[0]->signal_like(g));
    }
    code_key_ = k;
    have_ = true;
  }

  template <class SignalLike>
  Scalar compute_lipschitz(const SignalLike& y) const {
    // the probe signal: one column for dense layers (||D||_2 does not depend on the batch)
    Signal probe = [&] {
      if constexpr (internal::is_dense_dictionary<Op>::value) {
        return Signal(Signal::Zero(values(y).rows(), 1));
      } else {
        return internal::zeros_like(y);
      }
    }();
    // the always-valid upper bound prod_i ||D_i||^2
    double bound = double(layers_[0]->lipschitz_for(probe));
    {
      Code c = layers_[0]->code_like(probe);
      for (size_t i = 1; i < layers_.size(); ++i) {
        bound *= double(layers_[i]->lipschitz_for(c));
        c = layers_[i]->code_like(c);
      }
    }
    Code v = code_like(probe), w = code_like(probe);
    Signal s = signal_like(v);
    std::mt19937 gen(20170707u);  // fixed seed: reproducible constants
    std::normal_distribution<double> nd(0.0, 1.0);
    auto& vv = values(v);
    for (Index j = 0; j < vv.cols(); ++j)
      for (Index i = 0; i < vv.rows(); ++i) vv(i, j) = Scalar(nd(gen));
    double nrm = double(vv.norm());
    if (!(nrm > 0)) return Scalar(bound);
    vv /= Scalar(nrm);
    double lam = 0;
    for (int it = 0; it < 1000; ++it) {
      synthesize(v, s);
      analyze(s, w);
      const double lam_new = double(values(v).cwiseProduct(values(w)).sum());  // Rayleigh quotient
      nrm = double(values(w).norm());
      if (!(nrm > 0)) return Scalar(bound);
      values(v) = values(w) / Scalar(nrm);
      const bool done = it > 2 && std::abs(lam_new - lam) <= 1e-7 * lam_new;
      lam = lam_new;
      if (done) break;
    }
    return Scalar(std::min(bound, 1.01 * lam));
  }

  std::vector<LayerPtr> layers_;
  mutable std::vector<Code> bufs_;
  mutable internal::ShapeKey signal_key_{}, code_key_{};
  mutable bool have_ = false;
  mutable std::map<internal::ShapeKey, Scalar> lipschitz_cache_;
};

}  // namespace mlcsc
