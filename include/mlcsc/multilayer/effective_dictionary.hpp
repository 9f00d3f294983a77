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
#include <mutex>
#include <random>
#include <vector>

#include "../core/errors.hpp"
#include "../core/fwd.hpp"
#include "../core/operator.hpp"
#include "../internal/lanczos.hpp"
#include "../pursuit/proximal_gradient.hpp"
#include "detail.hpp"

namespace mlcsc {

/// \brief The composition \f$ D^{(l)} = D_1 D_2 \cdots D_l \f$ of layers, modelling the operator
/// concept (docs/operator-concept.md), so every single-layer pursuit (`lasso`, `thresholding`, ...)
/// runs on it unchanged: \f$ \mathrm{synthesize}(\Gamma) = D_1(D_2(\cdots D_l\Gamma)) \f$, \f$
/// \mathrm{analyze}(x) = D_l^T(\cdots D_2^T(D_1^T x)) \f$.
///
/// `lipschitz_for(y)` = \f$ \|D^{(l)}\|_2^2 \f$ for signals shaped like y: dense layers, the
/// exact norm of the product formed in double; convolutional ones, Lanczos on
/// \f$ D^{(l)T} D^{(l)} \f$ from a seeded start with a 0.2% margin (internal/lanczos.hpp); both
/// capped by the always-valid bound \f$ \prod_i \|D_i\|_2^2 \f$ and cached per signal shape
/// (dense: independent of the batch size).
///
/// Thread safety: const member functions are thread-safe, like every operator of the library. The
/// intermediate codes D_{i+1} ... D_l Gamma live in a small pool of workspace sets guarded by a
/// mutex: a call takes a free set (preferably one already sized for its shape) or creates one,
/// and gives it back when done, so n threads calling at once use n sets. `lipschitz_for`,
/// `code_like` and `signal_like` (called by the pursuits before their loop) leave a set sized for
/// the shape, so a single-threaded loop never allocates; with several threads, each set is sized
/// once, on its first use. The Lipschitz cache is guarded too. The layers are shared (not copied)
/// with the MultiLayer that made it; a copy shares the layers and the Lipschitz cache's values and
/// starts with an empty pool.
/// \code
///   mlcsc::ComposedOperator<mlcsc::Dictionary<double>> Deff({D1, D2});   // D1 * D2
///   auto r = mlcsc::lasso(Deff, Y, p);                                   // Lasso on Gamma_2
/// \endcode
template <class Op>
class ComposedOperator {
  static_assert(is_operator_v<Op>,
                "mlcsc::ComposedOperator<Op>: Op does not model the operator concept "
                "(docs/operator-concept.md; internal::require_operator<Op> names what is missing)");

 public:
  using Scalar = typename Op::Scalar;
  using Signal = typename Op::Signal;
  using Code = typename Op::Code;
  using CodeView = typename Op::CodeView;
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
  /// Copies share the layers and the cached Lipschitz values; the workspace pool is fresh.
  ComposedOperator(const ComposedOperator& o)
      : layers_(o.layers_), lipschitz_cache_(o.cache_copy()) {}
  ComposedOperator(ComposedOperator&& o)
      : ComposedOperator(static_cast<const ComposedOperator&>(o)) {}
  ComposedOperator& operator=(const ComposedOperator& o) {
    if (this == &o) return *this;
    auto cache = o.cache_copy();
    layers_ = o.layers_;
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      lipschitz_cache_ = std::move(cache);
    }
    std::lock_guard<std::mutex> lock(pool_mutex_);
    free_.clear();
    pool_size_ = 0;
    return *this;
  }
  ComposedOperator& operator=(ComposedOperator&& o) {
    return *this = static_cast<const ComposedOperator&>(o);
  }
  ~ComposedOperator() = default;

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

  /// A zero code of the deepest layer for a signal shaped like y (sizes a workspace set).
  template <class SignalLike>
  Code code_like(const SignalLike& y) const {
    if (layers_.size() == 1) return layers_[0]->code_like(y);
    Lease ws = acquire(internal::shape_key(y), true);
    prepare_from_signal(*ws, y);
    return layers_.back()->code_like(ws->bufs.back());
  }
  /// A zero signal for a code shaped like g (sizes a workspace set).
  template <class CodeLike>
  Signal signal_like(const CodeLike& g) const {
    if (layers_.size() == 1) return layers_[0]->signal_like(g);
    Lease ws = acquire(internal::shape_key(g), false);
    prepare_from_code(*ws, g);
    return layers_[0]->signal_like(ws->bufs[0]);
  }

  /// gamma = D_l^T ... D_1^T x (gamma sized by the caller, like code_like(x)).
  template <class SignalLike>
  void analyze(const SignalLike& x, CodeView gamma) const {
    const size_t L = layers_.size();
    if (L == 1) {
      layers_[0]->analyze(x, gamma);
      return;
    }
    Lease ws = acquire(internal::shape_key(x), true);
    prepare_from_signal(*ws, x);
    std::vector<Code>& bufs = ws->bufs;
    layers_[0]->analyze(x, bufs[0]);
    for (size_t i = 1; i + 1 < L; ++i) layers_[i]->analyze(bufs[i - 1], bufs[i]);
    layers_[L - 1]->analyze(bufs[L - 2], gamma);
  }
  /// x = D_1 ... D_l gamma (x sized by the caller, like signal_like(gamma)).
  template <class CodeLike>
  void synthesize(const CodeLike& gamma, CodeView x) const {
    const size_t L = layers_.size();
    if (L == 1) {
      layers_[0]->synthesize(gamma, x);
      return;
    }
    Lease ws = acquire(internal::shape_key(gamma), false);
    prepare_from_code(*ws, gamma);
    std::vector<Code>& bufs = ws->bufs;
    layers_[L - 1]->synthesize(gamma, bufs[L - 2]);
    for (size_t i = L - 2; i >= 1; --i) layers_[i]->synthesize(bufs[i], bufs[i - 1]);
    layers_[0]->synthesize(bufs[0], x);
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

  /// \f$ \|D_1 \cdots D_l\|_2^2 \f$ for signals shaped like y: exact for dense layers, Lanczos for
  /// convolutional ones (see the class). Leaves a workspace set sized for y (the pursuit's loop
  /// follows).
  template <class SignalLike>
  Scalar lipschitz_for(const SignalLike& y) const {
    const internal::ShapeKey key = lipschitz_key(y);
    Scalar L{};
    bool have = false;
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = lipschitz_cache_.find(key);
      if (it != lipschitz_cache_.end()) {
        L = it->second;
        have = true;
      }
    }
    if (!have) {
      // computed outside the lock (it calls analyze/synthesize); the computation is
      // deterministic, so two threads racing on a new shape store the same value
      L = compute_lipschitz(y);
      std::lock_guard<std::mutex> lock(cache_mutex_);
      L = lipschitz_cache_.emplace(key, L).first->second;
    }
    if (layers_.size() > 1) {
      Lease ws = acquire(internal::shape_key(y), true);
      prepare_from_signal(*ws, y);
    }
    return L;
  }

 private:
  // One set of intermediate codes: bufs[i] holds the code of layer i (0-based), i = 0 .. L-2,
  // for signals of shape signal_key (codes of the deepest layer: code_key).
  struct Workspace {
    std::vector<Code> bufs;
    internal::ShapeKey signal_key{}, code_key{};
    bool sized = false;
  };
  // A workspace set taken from the pool, given back on destruction.
  class Lease {
   public:
    Lease(const ComposedOperator* owner, std::unique_ptr<Workspace> ws)
        : owner_(owner), ws_(std::move(ws)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { owner_->release(std::move(ws_)); }
    Workspace* operator->() const { return ws_.get(); }
    Workspace& operator*() const { return *ws_; }

   private:
    const ComposedOperator* owner_;
    std::unique_ptr<Workspace> ws_;
  };

  // Takes a free set: one sized for `key` (a signal key if by_signal, else a code key) if any,
  // else an unsized one, else any (it is resized), else a new one.
  Lease acquire(const internal::ShapeKey& key, bool by_signal) const {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    size_t pick = free_.size();
    for (size_t i = 0; i < free_.size(); ++i) {
      const Workspace& w = *free_[i];
      if (w.sized && (by_signal ? w.signal_key : w.code_key) == key) {
        pick = i;
        break;
      }
      if (pick == free_.size() && !w.sized) pick = i;
    }
    if (pick == free_.size() && !free_.empty()) pick = free_.size() - 1;
    if (pick < free_.size()) {
      std::swap(free_[pick], free_.back());
      std::unique_ptr<Workspace> ws = std::move(free_.back());
      free_.pop_back();
      return Lease(this, std::move(ws));
    }
    // a new set: reserve room for it in the free list now, so that release never allocates
    ++pool_size_;
    free_.reserve(pool_size_);
    lock.unlock();
    return Lease(this, std::make_unique<Workspace>());
  }
  void release(std::unique_ptr<Workspace> ws) const {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    free_.push_back(std::move(ws));  // capacity reserved by acquire
  }

  std::map<internal::ShapeKey, Scalar> cache_copy() const {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    return lipschitz_cache_;
  }

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
      return {values(y).rows(), 1, -1, -1};
    } else {
      internal::ShapeKey k = internal::shape_key(y);
      k[0] = 1;  // one constant for every batch size
      return k;
    }
  }

  // Sizes ws for signals shaped like y (no-op when it already is). Only for depth >= 2.
  template <class SignalLike>
  void prepare_from_signal(Workspace& ws, const SignalLike& y) const {
    const internal::ShapeKey k = internal::shape_key(y);
    if (ws.sized && k == ws.signal_key) return;
    const size_t L = layers_.size();
    ws.bufs.clear();
    ws.bufs.push_back(layers_[0]->code_like(y));
    for (size_t i = 1; i + 1 < L; ++i) ws.bufs.push_back(layers_[i]->code_like(ws.bufs[i - 1]));
    ws.code_key = internal::shape_key(layers_[L - 1]->code_like(ws.bufs.back()));
    ws.signal_key = k;
    ws.sized = true;
  }
  // Sizes ws for codes shaped like g (no-op when it already is). Only for depth >= 2.
  template <class CodeLike>
  void prepare_from_code(Workspace& ws, const CodeLike& g) const {
    const internal::ShapeKey k = internal::shape_key(g);
    if (ws.sized && k == ws.code_key) return;
    const size_t L = layers_.size();
    ws.bufs.assign(L - 1, Code());
    ws.bufs[L - 2] = layers_[L - 1]->signal_like(g);
    for (size_t i = L - 2; i >= 1; --i) ws.bufs[i - 1] = layers_[i]->signal_like(ws.bufs[i]);
    ws.signal_key = internal::shape_key(layers_[0]->signal_like(ws.bufs[0]));
    ws.code_key = k;
    ws.sized = true;
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
    if constexpr (internal::is_dense_dictionary<Op>::value) {
      // dense layers: the product D_1 ... D_l itself, in double, and its exact norm
      Matrix<double> P = layers_[0]->matrix().template cast<double>();
      for (size_t i = 1; i < layers_.size(); ++i)
        P = P * layers_[i]->matrix().template cast<double>();
      return Scalar(std::min(bound, internal::gram_lambda_max(P)));
    } else {
      Code v = code_like(probe);
      Signal s = signal_like(v);
      const Index n = values(v).size();
      internal::LanczosParams p;
      p.upper = bound;
      p.seed = 20170707u;  // fixed: reproducible constants
      return Scalar(internal::lanczos_lambda_max(
          n,
          [&](const Vector<double>& x, Vector<double>& w) {
            Eigen::Map<Vector<Scalar>>(values(v).data(), n) = x.template cast<Scalar>();
            synthesize(v, s);
            analyze(s, v);
            w = Eigen::Map<const Vector<Scalar>>(values(v).data(), n).template cast<double>();
          },
          p));
    }
  }

  std::vector<LayerPtr> layers_;
  mutable std::mutex cache_mutex_;  // guards lipschitz_cache_
  mutable std::map<internal::ShapeKey, Scalar> lipschitz_cache_;
  mutable std::mutex pool_mutex_;                         // guards free_ and pool_size_
  mutable std::vector<std::unique_ptr<Workspace>> free_;  // idle workspace sets
  mutable size_t pool_size_ = 0;                          // sets created (idle or in use)
};

}  // namespace mlcsc
