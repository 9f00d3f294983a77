// mlcsc: ISTA and FISTA for the Lasso, written once over the operator concept.
//
//   ISTA  (Daubechies, Defrise, De Mol 2004):
//         G_k = S_{lambda/L}(G_{k-1} - (1/L) D^T(D G_{k-1} - y))
//   FISTA (Beck & Teboulle, SIAM J. Imaging Sci. 2009):
//         G_k = S_{lambda/L}(Z_k - (1/L) D^T(D Z_k - y)),  t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2,
//         Z_{k+1} = G_k + ((t_k - 1) / t_{k+1}) (G_k - G_{k-1}),
//   optionally (LassoParams::adaptive_restart) with the gradient restart of O'Donoghue & Candes
//   (2015): t <- 1, Z <- G whenever <Z_k - G_k, G_k - G_{k-1}> > 0.
// L = ||D||_2^2. Every signal of a batch (a column of a dense code, an image of feature maps) is
// its own problem: its own t, restart, stopping test and iteration count; a signal that has
// converged is frozen while the others go on, so its code is the one it would have alone.
// Shrinkage, momentum, the stopping test and the restart test are fused into one pass over the
// codes; the only other work per iteration is one synthesis and one analysis (or, for a dense
// dictionary with m < 2n, one product with the Gram matrix D^T D).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <type_traits>

#include "../core/operator.hpp"
#include "../core/shrinkage.hpp"
#include "../dense/dictionary.hpp"
#include "../internal/gemm.hpp"
#include "../internal/no_malloc.hpp"
#include "../internal/parallel.hpp"
#include "fused_update.hpp"
#include "params.hpp"

namespace mlcsc {
namespace internal {

/// t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2.
inline double fista_next_t(double t) {
  return 0.5 * (1 + std::sqrt(1 + 4 * t * t));
}

/// How a code's values split into signals: a dense code (m x B, column-major) is B signals of
/// one run of m values with one threshold per value (per atom); feature maps ((N K) x P,
/// row-major) are N signals of K runs (planes) of P values with one threshold per run.
struct CodeLayout {
  Index signals = 0, runs = 0, run_len = 0, run_stride = 0, signal_stride = 0;
  bool per_value = false;

  template <class V>
  static CodeLayout of(const V& v, Index code_rows) {
    CodeLayout l;
    if constexpr (V::IsRowMajor) {
      l.runs = code_rows;
      l.signals = v.rows() / code_rows;
      l.run_len = v.cols();
      l.run_stride = v.outerStride();
      l.signal_stride = code_rows * v.outerStride();
    } else {
      l.runs = 1;
      l.signals = v.cols();
      l.run_len = v.rows();
      l.run_stride = 0;
      l.signal_stride = v.outerStride();
      l.per_value = true;
    }
    return l;
  }
};

/// The full shape of a signal or code: {rows, cols, -1, -1} for an Eigen matrix, {N, C, H, W} for
/// feature maps (owned or views).
template <class X>
std::array<Index, 4> shape_dims(const X& x) {
  if constexpr (std::is_base_of_v<Eigen::EigenBase<X>, X>)
    return {x.rows(), x.cols(), -1, -1};
  else
    return {x.batch(), x.channels(), x.height(), x.width()};
}

/// The ISTA / FISTA engine behind LassoSolver: holds every buffer a solve needs (the extrapolated
/// point, the gradient, the residual, the per-signal state), sized on the first solve for a shape
/// and reused after, so repeated solves allocate nothing.
template <class Op>
class ProximalGradient {
 public:
  using Scalar = typename Op::Scalar;
  using Code = typename Op::Code;
  using Signal = typename Op::Signal;

  explicit ProximalGradient(const Op& D) : D_(D) {}

  /// Runs ISTA or FISTA on y (validated by the caller) from the code in G (zero or a warm start),
  /// leaving the solution in G and the statistics in `st`.
  template <class SignalView, class CodeView>
  void run(const SignalView& y, CodeView G, const LassoParams<Scalar>& p,
           PursuitStats<Scalar>& st) {
    const Scalar L = D_.lipschitz_for(y);
    if (!(L > Scalar(0)) || !std::isfinite(double(L)))
      throw_invalid("lasso: the dictionary's Lipschitz constant ||D||_2^2 is ", L,
                    "; every atom is zero or the dictionary is not finite");
    const Scalar step = Scalar(1) / L;
    prepare(y, G, p, step);
    const bool fista = p.method == Method::FISTA;
    const bool restart = fista && p.adaptive_restart;
    const CodeLayout lay = CodeLayout::of(values(G), D_.code_rows());
    const Index S = lay.signals;
    const Shrinkage kind = p.nonnegative ? Shrinkage::NonnegSoft : Shrinkage::Soft;
    st.signal_iterations.setZero(S);  // allocates only when the batch size changes
    st.signal_converged.setZero(S);
    NoMallocScope guard;
    if (fista) values(Z_) = values(G);
    t_.setOnes();
    active_.setOnes();
    for (int k = 1; k <= p.max_iterations && active_.any(); ++k) {
      if (fista)
        gradient(y, Z_, Gr_);
      else
        gradient(y, G, Gr_);
      Scalar* const zp = fista ? values(Z_).data() : values(G).data();
      Scalar* const gp = values(G).data();
      const Scalar* const rp = values(Gr_).data();
      auto signal_step = [&](Index s) {
        StepStats acc;
        const double t_next = fista ? fista_next_t(t_(s)) : 1.0;
        const Scalar beta = fista ? Scalar((t_(s) - 1) / t_next) : Scalar(0);
        for (Index r = 0; r < lay.runs; ++r) {
          const Index off = s * lay.signal_stride + r * lay.run_stride;
          const Index zoff = fista ? s * zlay_.signal_stride + r * zlay_.run_stride : off;
          const Index roff = s * grlay_.signal_stride + r * grlay_.run_stride;
          fused_update(zp + zoff, gp + off, rp + roff, lay.run_len,
                       lay.per_value ? Scalar(0) : thr_(r), lay.per_value ? thr_.data() : nullptr,
                       step, beta, kind, acc);
        }
        if (fista) {
          if (restart && acc.restart > 0) {
            for (Index r = 0; r < lay.runs; ++r)
              std::copy_n(gp + s * lay.signal_stride + r * lay.run_stride, lay.run_len,
                          zp + s * zlay_.signal_stride + r * zlay_.run_stride);
            t_(s) = 1;
          } else {
            t_(s) = t_next;
          }
        }
        stats_[s] = acc;
      };
      // Threads for large codes only; on one thread no parallel region is entered at all (its
      // cost, about a microsecond, was as large as a small problem's iteration).
      const int threads = values(G).size() >= 65536 ? max_threads() : 1;
      parallel_for(S, threads, [&](Index s) {
        if (active_(s)) signal_step(s);
      });
      // The stopping rule per signal: ||G_k - G_{k-1}|| <= tol max(1, ||G_k||) and the same bound
      // on the proximal-gradient residual ||G_k - Z_k|| (= (1/L) x the gradient mapping at Z_k,
      // zero only at a minimizer). For ISTA (Z_k = G_{k-1}) the two are the same; for FISTA the
      // second keeps the rule from firing where the momentum turns.
      for (Index s = 0; s < S; ++s) {
        if (!active_(s)) continue;
        st.signal_iterations(s) = k;
        const double bound = double(p.tolerance) * std::max(1.0, std::sqrt(stats_[s].norm));
        if (std::sqrt(stats_[s].change) <= bound && std::sqrt(stats_[s].residual) <= bound) {
          st.signal_converged(s) = true;
          active_(s) = false;
        }
      }
      if (p.callback && !p.callback(k, Scalar(objective(y, G)))) break;
    }
    st.summarize();
    st.objective = Scalar(objective(y, G));
  }

  /// 0.5||y - D G||^2 + sum_r lambda_r ||G_r||_1 over the batch (one synthesis, into the residual
  /// buffer).
  template <class SignalView, class CodeView>
  double objective(const SignalView& y, const CodeView& G) {
    D_.synthesize(G, R_);
    values(R_) -= values(y);
    double l1 = 0;
    const CodeLayout lay = CodeLayout::of(values(G), D_.code_rows());
    const auto& v = values(G);
    for (Index s = 0; s < lay.signals; ++s)
      for (Index r = 0; r < lay.runs; ++r) {
        const Scalar* g = v.data() + s * lay.signal_stride + r * lay.run_stride;
        const Eigen::Map<const Vector<Scalar>> run(g, lay.run_len);
        l1 += lay.per_value ? double(run.cwiseAbs().dot(lambdas_))
                            : double(lambdas_(r)) * double(run.cwiseAbs().sum());
      }
    return 0.5 * double(values(R_).squaredNorm()) + l1;
  }

 private:
  // Sizes the buffers for this shape (allocating only when it changed) and the thresholds.
  template <class SignalView, class CodeView>
  void prepare(const SignalView& y, const CodeView& G, const LassoParams<Scalar>& p, Scalar step) {
    auto resize_like = [](auto& buf, const auto& like, auto make) {
      if (shape_dims(buf) != shape_dims(like)) buf = make();
    };
    resize_like(R_, y, [&] { return Signal(y); });
    resize_like(Z_, G, [&] { return D_.code_like(y); });
    resize_like(Gr_, G, [&] { return D_.code_like(y); });
    zlay_ = CodeLayout::of(values(Z_), D_.code_rows());
    grlay_ = CodeLayout::of(values(Gr_), D_.code_rows());
    const Index S = zlay_.signals;
    if (t_.size() != S) {
      t_.resize(S);
      active_.resize(S);
      stats_.resize(std::size_t(S));
    }
    p.lambda_vector_into(D_.code_rows(), lambdas_);
    thr_.resize(lambdas_.size());
    thr_ = lambdas_ * step;
    if constexpr (is_dense_dictionary<Op>::value) {
      use_gram_ = 2 * D_.signal_size() > D_.num_atoms();
      if (use_gram_) {
        std::shared_ptr<const Matrix<Scalar>> g = D_.shared_gram();
        if (g != gram_) gram_ = std::move(g);
        if (dty_.rows() != D_.num_atoms() || dty_.cols() != y.cols())
          dty_.resize(D_.num_atoms(), y.cols());
        D_.analyze(y, dty_);
      }
    }
  }

  // Gr = D^T (D Z - y), or (D^T D) Z - D^T y with both factors cached.
  template <class SignalView, class CodeView>
  void gradient(const SignalView& y, const CodeView& Z, Code& Gr) {
    if constexpr (is_dense_dictionary<Op>::value) {
      if (use_gram_) {
        gemm<Scalar>(*gram_, false, Z, Gr);
        Gr -= dty_;
        return;
      }
    }
    D_.synthesize(Z, R_);
    values(R_) -= values(y);
    D_.analyze(R_, Gr);
  }

  const Op& D_;
  Signal R_;
  Code Z_, Gr_;
  CodeLayout zlay_, grlay_;
  Eigen::VectorXd t_;
  Eigen::Array<bool, Eigen::Dynamic, 1> active_;
  std::vector<StepStats> stats_;
  Vector<Scalar> lambdas_, thr_;
  bool use_gram_ = false;
  std::shared_ptr<const Matrix<Scalar>> gram_;
  Matrix<Scalar> dty_;
};

}  // namespace internal
}  // namespace mlcsc
