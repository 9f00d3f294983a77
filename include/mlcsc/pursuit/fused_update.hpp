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

}  // namespace mlcsc::internal
