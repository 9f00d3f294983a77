// mlcsc: ISTA and FISTA for the Lasso, written once over the operator concept.
//
//   ISTA  (Daubechies, Defrise, De Mol 2004):  G_k = S_{lambda/L}(G_{k-1} - (1/L) D^T(D G_{k-1} -
//   y)) FISTA (Beck & Teboulle, SIAM J. Imaging Sci. 2009):
//         G_k = S_{lambda/L}(Z_k - (1/L) D^T(D Z_k - y)),  t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2,
//         Z_{k+1} = G_k + ((t_k - 1) / t_{k+1}) (G_k - G_{k-1}),
//   optionally (LassoParams::adaptive_restart) with the gradient restart of O'Donoghue & Candes
//   (2015): t <- 1, Z <- G whenever <Z_k - G_k, G_k - G_{k-1}> > 0, decided per signal for a
//   dense batch (each column is its own problem, with its own t) and per solve for feature maps.
// L = ||D||_2^2. Shrinkage, momentum, the stopping test and the restart test are fused into one
// pass over the codes; the only other work per iteration is one synthesis and one analysis (or,
// for a dense dictionary with m < 2n, one product with the Gram matrix D^T D).
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>

#include "../core/operator.hpp"
#include "../core/shrinkage.hpp"
#include "../dense/dictionary.hpp"
#include "../internal/no_malloc.hpp"
#include "fused_update.hpp"
#include "params.hpp"

namespace mlcsc {
namespace internal {

/// FISTA's momentum state. Column-major codes (a dense batch: one signal per column) carry one
/// t per signal, so each signal restarts on its own; row-major codes (feature maps: one signal)
/// carry a single t.
struct Momentum {
  bool fista = false;
  bool restart = false;
  Eigen::VectorXd t;  // t_k per momentum group (all 1 at the start)
};

/// t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2 and the extrapolation weight (t_k - 1) / t_{k+1}.
inline double fista_next_t(double t) {
  return 0.5 * (1 + std::sqrt(1 + 4 * t * t));
}

/// The fused proximal-gradient pass over whole codes (values matrices of either storage order):
/// G' = S_thr(Z - step Gr), then Z = G' + beta (G' - G) with FISTA's beta, or Z = G' where the
/// gradient restart test <Z - G', G' - G> > 0 fires (O'Donoghue & Candes 2015), per momentum
/// group; t advances accordingly. thr holds one threshold per row (atom or channel).
template <class M, class Scalar>
StepStats fused_step(M& Z, M& G, const M& Gr, const Vector<Scalar>& thr, Scalar step,
                     Shrinkage kind, Momentum& mom) {
  double change = 0, norm = 0, restart = 0, residual = 0;
  const Index outer = M::IsRowMajor ? G.rows() : G.cols();
  const Index inner = M::IsRowMajor ? G.cols() : G.rows();
  const bool per_column = !M::IsRowMajor && mom.fista;
  // one group (row-major codes or ISTA): beta from the single t
  const double t0 = mom.fista ? mom.t(0) : 1.0;
  const double t0_next = mom.fista ? fista_next_t(t0) : 1.0;
  const Scalar beta0 = Scalar((t0 - 1) / t0_next);
  Scalar* const zp = Z.data();
  Scalar* const gp = G.data();
  const Scalar* const rp = Gr.data();
  const Index zs = Z.outerStride(), gs = G.outerStride(), rs = Gr.outerStride();
#pragma omp parallel for reduction(+ : change, norm, restart, residual) schedule(static) if (G.size() >= 65536)
  for (Index o = 0; o < outer; ++o) {
    StepStats s;
    double t_next = 1;
    Scalar beta = beta0;
    if (per_column) {
      t_next = fista_next_t(mom.t(o));
      beta = Scalar((mom.t(o) - 1) / t_next);
    }
    // a row of feature maps (one threshold) or a column of a dense code (one per atom)
    fused_update(zp + o * zs, gp + o * gs, rp + o * rs, inner, M::IsRowMajor ? thr(o) : Scalar(0),
                 M::IsRowMajor ? nullptr : thr.data(), step, beta, kind, s);
    if (per_column) {
      if (mom.restart && s.restart > 0) {
        if constexpr (!M::IsRowMajor) Z.col(o) = G.col(o);
        mom.t(o) = 1;
      } else {
        mom.t(o) = t_next;
      }
    }
    change += s.change;
    norm += s.norm;
    restart += s.restart;
    residual += s.residual;
  }
  if (mom.fista && !per_column) {
    if (mom.restart && restart > 0) {
      Z = G;
      mom.t(0) = 1;
    } else {
      mom.t(0) = t0_next;
    }
  }
  return StepStats{change, norm, restart, residual};
}

/// The weighted l1 norm sum_r lambda_r ||row r||_1 of a values matrix.
template <class M, class Scalar>
double weighted_l1(const M& G, const Vector<Scalar>& lambdas) {
  return double((G.array().abs().colwise() * lambdas.array()).sum());
}

/// Gradient of 0.5||y - D Z||^2: Gr = D^T (D Z - y). Uses R as the signal-sized buffer.
/// For a dense dictionary with m < 2n, Gr = (D^T D) Z - D^T y with both factors cached.
template <class Op, class SignalView>
class LassoGradient {
 public:
  using Scalar = typename Op::Scalar;
  using Code = typename Op::Code;
  using Signal = typename Op::Signal;

  LassoGradient(const Op& D, const SignalView& y, const Code& shape)
      : D_(D), y_(y), R_(D.signal_like(shape)) {
    if constexpr (is_dense_dictionary<Op>::value) {
      if (2 * D.signal_size() > D.num_atoms()) {
        gram_ = D.gram();
        dty_ = D.analyze(y);
      }
    }
  }

  void operator()(const Code& Z, Code& Gr) {
    if constexpr (is_dense_dictionary<Op>::value) {
      if (gram_.size() != 0) {
        internal::gemm<Scalar>(gram_, false, Z, Gr);
        Gr -= dty_;
        return;
      }
    }
    D_.synthesize(Z, R_);
    values(R_) -= values(y_);
    D_.analyze(R_, Gr);
  }

  /// 0.5||y - D G||^2 + sum_r lambda_r ||G_r||_1 (one synthesis, into the residual buffer).
  double objective(const Code& G, const Vector<Scalar>& lambdas) {
    D_.synthesize(G, R_);
    values(R_) -= values(y_);
    return 0.5 * double(values(R_).squaredNorm()) + weighted_l1(values(G), lambdas);
  }

 private:
  const Op& D_;
  const SignalView& y_;
  Signal R_;
  Matrix<Scalar> gram_, dty_;
};

/// ISTA / FISTA from `init` (or zero). y has been validated by the caller.
template <class Op, class SignalView>
PursuitResult<typename Op::Code, typename Op::Scalar> proximal_gradient(
    const Op& D, const SignalView& y, const LassoParams<typename Op::Scalar>& p,
    const typename Op::Code* init) {
  using Scalar = typename Op::Scalar;
  using Code = typename Op::Code;
  const Scalar L = D.lipschitz_for(y);
  if (!(L > Scalar(0)) || !std::isfinite(double(L)))
    throw_invalid("lasso: the dictionary's Lipschitz constant ||D||_2^2 is ", L,
                  "; every atom is zero or the dictionary is not finite");
  const Scalar step = Scalar(1) / L;
  const Vector<Scalar> lambdas = p.lambda_vector(D.code_rows());
  const Vector<Scalar> thr = lambdas * step;
  const Shrinkage kind = p.nonnegative ? Shrinkage::NonnegSoft : Shrinkage::Soft;
  const bool fista = p.method == Method::FISTA;

  PursuitResult<Code, Scalar> res;
  res.code = init ? *init : D.code_like(y);
  Code& G = res.code;
  std::optional<Code> Zbuf;
  if (fista) Zbuf.emplace(G);
  Code& Z = fista ? *Zbuf : G;
  Code Gr = D.code_like(y);
  LassoGradient<Op, SignalView> grad(D, y, G);

  Momentum mom;
  mom.fista = fista;
  mom.restart = fista && p.adaptive_restart;
  {
    using Values = std::decay_t<decltype(values(G))>;
    const Index groups = (fista && !Values::IsRowMajor) ? values(G).cols() : 1;
    mom.t = Eigen::VectorXd::Ones(groups);
  }
  bool stop = false;
  {
    NoMallocScope guard;
    for (int k = 1; k <= p.max_iterations && !stop; ++k) {
      grad(Z, Gr);
      const StepStats s = fused_step(values(Z), values(G), values(Gr), thr, step, kind, mom);
      res.iterations = k;
      // The contract's rule on the step, ||G_k - G_{k-1}|| <= tol max(1, ||G_k||), and the same
      // bound on the proximal-gradient residual ||G_k - Z_k|| (= (1/L) x the gradient mapping at
      // Z_k, zero only at a minimizer). For ISTA (Z_k = G_{k-1}) the two are the same; for FISTA
      // the second keeps the rule from firing where the momentum turns (a small step at a point
      // that is still far from the optimum).
      const double bound = double(p.tolerance) * std::max(1.0, std::sqrt(s.norm));
      res.converged = std::sqrt(s.change) <= bound && std::sqrt(s.residual) <= bound;
      if (p.callback && !p.callback(k, Scalar(grad.objective(G, lambdas)))) stop = true;
      if (res.converged) stop = true;
    }
    res.objective = Scalar(grad.objective(G, lambdas));
  }
  return res;
}

}  // namespace internal
}  // namespace mlcsc
