// mlcsc: the elementwise part of one ISTA / FISTA iteration, in a single pass over the codes.
//
// For every coefficient, with z the point the gradient gr was taken at and g the previous iterate:
//   t = S_b(z - step gr)                     (the proximal-gradient step; S = Soft, Hard,
//   NonnegSoft) sums  <z - t, t - g>, ||z - t||^2, ||t - g||^2, ||t||^2   (restart test, residual,
//   change, norm) z <- t + beta (t - g),  g <- t           (FISTA's extrapolation; beta = 0 is
//   ISTA)
// Each value is loaded once and each output stored once, with Eigen's packet primitives (the
// stated vector width, whatever the compiler's auto-vectorizer does), so for large codes the pass
// runs at memory speed. The sums are accumulated in packets of Scalar over blocks of kBlock values,
// then in double.
#pragma once

#include <algorithm>

#include <Eigen/Core>

#include "../core/shrinkage.hpp"

namespace mlcsc::internal {

/// Sums gathered by the fused pass.
struct StepStats {
  double change = 0;    // ||G_k - G_{k-1}||^2
  double norm = 0;      // ||G_k||^2
  double restart = 0;   // <Z_k - G_k, G_k - G_{k-1}>
  double residual = 0;  // ||Z_k - G_k||^2: (step x the gradient mapping at Z_k)^2
};

/// Sums gathered by ADMM's pass (admm_update).
struct AdmmStepStats {
  double primal = 0;  // ||x - y_k||^2
  double change = 0;  // ||y_k - y_{k-1}||^2
  double x_norm = 0;  // ||x||^2
  double y_norm = 0;  // ||y_k||^2
  double u_norm = 0;  // ||u_k||^2
};

namespace fused_detail {

template <Shrinkage K, class P>
EIGEN_ALWAYS_INLINE P shrink_packet(const P& x, const P& b) {
  using namespace Eigen::internal;
  if constexpr (K == Shrinkage::Soft) {
    return psub(x, pmax(pmin(x, b), pnegate(b)));  // x - clamp(x, -b, b)
  } else if constexpr (K == Shrinkage::NonnegSoft) {
    return pmax(psub(x, b), pzero(x));
  } else {
    return pand(x, pcmp_lt(b, pabs(x)));  // x where |x| > b
  }
}

template <Shrinkage K, class S>
EIGEN_ALWAYS_INLINE S shrink_scalar(S x, S b) {
  if constexpr (K == Shrinkage::Soft) {
    return x - std::max(std::min(x, b), -b);
  } else if constexpr (K == Shrinkage::NonnegSoft) {
    return std::max(x - b, S(0));
  } else {
    return std::abs(x) > b ? x : S(0);
  }
}

// n values; b is one threshold (PerValue = false) or one per value (bvec).
template <Shrinkage K, bool PerValue, class Scalar>
void run(Scalar* z, Scalar* g, const Scalar* gr, Eigen::Index n, Scalar b, const Scalar* bvec,
         Scalar step, Scalar beta, StepStats& st) {
  using namespace Eigen::internal;
  using Packet = typename packet_traits<Scalar>::type;
  constexpr Eigen::Index L = Eigen::Index(sizeof(Packet) / sizeof(Scalar));
  constexpr Eigen::Index kBlock = 1024;
  const Packet pstep = pset1<Packet>(step), pbeta = pset1<Packet>(beta), pb = pset1<Packet>(b);
  for (Eigen::Index i0 = 0; i0 < n; i0 += kBlock) {
    const Eigen::Index i1 = std::min(n, i0 + kBlock);
    Packet sr = pzero(pstep), se = sr, sd = sr, st2 = sr;
    Eigen::Index i = i0;
    for (; i + L <= i1; i += L) {
      const Packet zz = ploadu<Packet>(z + i), gg = ploadu<Packet>(g + i);
      const Packet x = psub(zz, pmul(pstep, ploadu<Packet>(gr + i)));
      const Packet t = shrink_packet<K>(x, PerValue ? ploadu<Packet>(bvec + i) : pb);
      const Packet d = psub(t, gg), e = psub(zz, t);
      sr = pmadd(e, d, sr);
      se = pmadd(e, e, se);
      sd = pmadd(d, d, sd);
      st2 = pmadd(t, t, st2);
      pstoreu(z + i, pmadd(pbeta, d, t));
      pstoreu(g + i, t);
    }
    double r = double(predux(sr)), e2 = double(predux(se)), d2 = double(predux(sd)),
           t2 = double(predux(st2));
    for (; i < i1; ++i) {
      const Scalar zz = z[i], gg = g[i];
      const Scalar t = shrink_scalar<K>(zz - step * gr[i], PerValue ? bvec[i] : b);
      const Scalar d = t - gg, e = zz - t;
      r += double(e) * double(d);
      e2 += double(e) * double(e);
      d2 += double(d) * double(d);
      t2 += double(t) * double(t);
      z[i] = t + beta * d;
      g[i] = t;
    }
    st.restart += r;
    st.residual += e2;
    st.change += d2;
    st.norm += t2;
  }
}

// ADMM's pass (see admm_update), n values.
template <Shrinkage K, class Scalar>
void admm_run(Scalar* x, Scalar* y, Scalar* u, Eigen::Index n, Scalar alpha, Scalar b,
              AdmmStepStats& st) {
  using namespace Eigen::internal;
  using Packet = typename packet_traits<Scalar>::type;
  constexpr Eigen::Index L = Eigen::Index(sizeof(Packet) / sizeof(Scalar));
  constexpr Eigen::Index kBlock = 1024;
  const Packet pa = pset1<Packet>(alpha), pa1 = pset1<Packet>(Scalar(1) - alpha),
               pb = pset1<Packet>(b);
  for (Eigen::Index i0 = 0; i0 < n; i0 += kBlock) {
    const Eigen::Index i1 = std::min(n, i0 + kBlock);
    Packet s0 = pzero(pa), s1 = s0, s2 = s0, s3 = s0, s4 = s0;
    Eigen::Index i = i0;
    for (; i + L <= i1; i += L) {
      const Packet xx = ploadu<Packet>(x + i), y0 = ploadu<Packet>(y + i);
      const Packet v = padd(pmadd(pa, xx, pmul(pa1, y0)), ploadu<Packet>(u + i));
      const Packet yy = shrink_packet<K>(v, pb);
      const Packet uu = psub(v, yy), r = psub(xx, yy), d = psub(yy, y0);
      s0 = pmadd(r, r, s0);
      s1 = pmadd(d, d, s1);
      s2 = pmadd(xx, xx, s2);
      s3 = pmadd(yy, yy, s3);
      s4 = pmadd(uu, uu, s4);
      pstoreu(y + i, yy);
      pstoreu(u + i, uu);
      pstoreu(x + i, psub(yy, uu));
    }
    double a0 = double(predux(s0)), a1 = double(predux(s1)), a2 = double(predux(s2)),
           a3 = double(predux(s3)), a4 = double(predux(s4));
    for (; i < i1; ++i) {
      const Scalar xx = x[i], y0 = y[i];
      const Scalar v = alpha * xx + (Scalar(1) - alpha) * y0 + u[i];
      const Scalar yy = shrink_scalar<K>(v, b), uu = v - yy;
      a0 += double(xx - yy) * double(xx - yy);
      a1 += double(yy - y0) * double(yy - y0);
      a2 += double(xx) * double(xx);
      a3 += double(yy) * double(yy);
      a4 += double(uu) * double(uu);
      y[i] = yy;
      u[i] = uu;
      x[i] = yy - uu;
    }
    st.primal += a0;
    st.change += a1;
    st.x_norm += a2;
    st.y_norm += a3;
    st.u_norm += a4;
  }
}

}  // namespace fused_detail

/// The fused pass over n contiguous values (see the top of the file). z and g may be the same
/// memory (ISTA: the point is the iterate; then beta must be 0). `bvec` (n thresholds) replaces
/// the scalar b when given.
template <class Scalar>
void fused_update(Scalar* z, Scalar* g, const Scalar* gr, Eigen::Index n, Scalar b,
                  const Scalar* bvec, Scalar step, Scalar beta, Shrinkage kind, StepStats& st) {
  using fused_detail::run;
  switch (kind) {
    case Shrinkage::Soft:
      bvec ? run<Shrinkage::Soft, true>(z, g, gr, n, b, bvec, step, beta, st)
           : run<Shrinkage::Soft, false>(z, g, gr, n, b, bvec, step, beta, st);
      break;
    case Shrinkage::NonnegSoft:
      bvec ? run<Shrinkage::NonnegSoft, true>(z, g, gr, n, b, bvec, step, beta, st)
           : run<Shrinkage::NonnegSoft, false>(z, g, gr, n, b, bvec, step, beta, st);
      break;
    case Shrinkage::Hard:
      bvec ? run<Shrinkage::Hard, true>(z, g, gr, n, b, bvec, step, beta, st)
           : run<Shrinkage::Hard, false>(z, g, gr, n, b, bvec, step, beta, st);
      break;
  }
}

/// ADMM's elementwise step (pursuit/conv_admm.hpp) over n values, in one pass: with x the
/// x-step's result, y the previous sparse iterate and u the scaled dual,
///   v = alpha x + (1 - alpha) y + u,   y <- S_b(v),   u <- v - y,   x <- y - u
/// (relaxation, y-step, u-step and the next x-step's right-hand side), summing into `st`
/// ||x - y||^2, ||y - y_prev||^2, ||x||^2, ||y||^2 and ||u||^2. `kind` is Soft or NonnegSoft.
template <class Scalar>
void admm_update(Scalar* x, Scalar* y, Scalar* u, Eigen::Index n, Scalar alpha, Scalar b,
                 Shrinkage kind, AdmmStepStats& st) {
  if (kind == Shrinkage::NonnegSoft)
    fused_detail::admm_run<Shrinkage::NonnegSoft>(x, y, u, n, alpha, b, st);
  else
    fused_detail::admm_run<Shrinkage::Soft>(x, y, u, n, alpha, b, st);
}

}  // namespace mlcsc::internal
