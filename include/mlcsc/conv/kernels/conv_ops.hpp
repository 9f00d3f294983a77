// mlcsc: the two operations of a convolutional dictionary on top of the correlation kernel.
//
// Filters are stored K x C x kh x kw with anchor (a, b) = ((kh-1)/2, (kw-1)/2).
//  * analyze  gamma_k[i,j] = sum_c sum_{u,v} d_{k,c}[u,v] x_c[i+u-a, j+v-b]: a correlation with
//    cin = C, cout = K, w[c,u,v,k] = d_{k,c}[u,v], anchor (a, b).
//  * synthesize x_c[p,q] = sum_k sum_{u,v} d_{k,c}[u,v] gamma_k[p-u+a, q-v+b]: substituting
//    u' = kh-1-u, v' = kw-1-v it is a correlation with cin = K, cout = C,
//    w[k,u',v',c] = d_{k,c}[kh-1-u', kw-1-v'] and anchor (kh-1-a, kw-1-b); its boundary is the
//    same (Zero: gamma is 0 outside; Circular: gamma wraps), so it is the exact adjoint.
// The packed filters go to a per-thread buffer (K C kh kw values, repacked on every call: that is
// negligible next to the K C kh kw H W multiply-adds and keeps the dictionary free of derived
// state that writes through filter() could leave stale).
//
// Kernel choice (ConvKernel::Automatic), measured in bench_conv_kernels (AMD Zen 4, AVX-512):
//  * 3 x 3 filters between many maps (use_winograd in winograd.hpp: cin, cout >= 16 and images
//    whose tile rows are not mostly padding): Winograd's F(2x2, 3x3), 2.25x fewer multiply-adds
//    than the direct kernel; 1.7-1.8x faster on shape (b), 64 -> 128 maps 3 x 3 at 64 x 64
//    (use_winograd in winograd.hpp has the measurements behind the rule).
//  * every other shape: the direct register-blocked kernel of correlate.hpp, measured against the
//    product forms:
//  * analyze blocks over 6 output maps, so every loaded input packet feeds 6 multiply-adds; with
//    many channels (shape (b), 64 -> 128, 3 x 3) it runs at 123% of Eigen's GEMM rate, with no
//    im2col buffer of C kh kw x H W values and no allocation.
//  * synthesize into few channels (shape (a), 64 filters 7 x 7 into 1 channel) cannot block over
//    output maps and blocks over output rows instead. Its product form, a GEMM over the K filters
//    (P^T = Gamma^T D, H W x kh kw) followed by kh kw shifted sums, was measured at 62 GFLOP/s
//    (float) against the direct kernel's 68-73 (the GEMM streams all K code planes with a stride
//    of H W and runs at 68 GFLOP/s itself), so it is not used.
#pragma once

#include <Eigen/Core>

#include "../../core/errors.hpp"
#include "../../core/feature_maps.hpp"
#include "../../core/boundary.hpp"
#include "blocking.hpp"
#include "correlate.hpp"
#include "winograd.hpp"
#include "workspace.hpp"

namespace mlcsc::internal {

/// Which kernel runs a correlation: the choice rule above, or one forced (tests, benchmarks;
/// Winograd needs 3 x 3 filters).
enum class ConvKernel { Automatic, Direct, Winograd };

template <class Scalar>
bool winograd_chosen(ConvKernel kernel, Index cin, Index cout, Index kh, Index kw, Index H,
                     Index W) {
  if (kernel == ConvKernel::Winograd) {
    if (kh != 3 || kw != 3)
      throw_invalid("ConvKernel::Winograd: needs 3 x 3 filters, got ", shape(kh, kw));
    return true;
  }
  return kernel == ConvKernel::Automatic && use_winograd<Scalar>(cin, cout, kh, kw, H, W);
}

/// gamma = D^T x with the register blocking B (blocking.hpp). Shapes are checked by the caller
/// (ConvDictionary).
template <class Scalar, class B = DefaultConvBlocking>
void conv_analyze(const Scalar* filters, Index K, Index C, Index kh, Index kw, Boundary bd,
                  const FeatureMaps<Scalar>& x, FeatureMaps<Scalar>& gamma,
                  ConvKernel kernel = ConvKernel::Automatic) {
  if (winograd_chosen<Scalar>(kernel, C, K, kh, kw, x.height(), x.width())) {
    winograd_correlate<B>(
        x.data().data(), C, K, x.height(), x.width(), bd,
        [&](Index k, Index c, int u, int v) { return filters[(k * C + c) * 9 + u * 3 + v]; },
        gamma.data().data());
    return;
  }
  const Index taps = kh * kw;
  Scalar* w = conv_scratch<Scalar>(ConvBuffer::PackedFilters, K * C * taps);
  for (Index k = 0; k < K; ++k)
    for (Index c = 0; c < C; ++c)
      for (Index t = 0; t < taps; ++t)
        w[filter_index<B>(C, K, taps, c, t, k)] = filters[(k * C + c) * taps + t];
  CorrelateArgs<Scalar> A;
  A.src = x.data().data();
  A.cin = C;
  A.cout = K;
  A.H = x.height();
  A.W = x.width();
  A.kh = kh;
  A.kw = kw;
  A.top = (kh - 1) / 2;
  A.left = (kw - 1) / 2;
  A.boundary = bd;
  A.w = w;
  A.dst = gamma.data().data();
  correlate<B>(A);
}

/// x = D gamma (the adjoint of conv_analyze) with the register blocking B. Shapes are checked by
/// the caller.
template <class Scalar, class B = DefaultConvBlocking>
void conv_synthesize(const Scalar* filters, Index K, Index C, Index kh, Index kw, Boundary bd,
                     const FeatureMaps<Scalar>& gamma, FeatureMaps<Scalar>& x,
                     ConvKernel kernel = ConvKernel::Automatic) {
  if (winograd_chosen<Scalar>(kernel, K, C, kh, kw, gamma.height(), gamma.width())) {
    // the correlation with cin = K, cout = C and the filters flipped (see the top of this file)
    winograd_correlate<B>(
        gamma.data().data(), K, C, gamma.height(), gamma.width(), bd,
        [&](Index c, Index k, int u, int v) {
          return filters[(k * C + c) * 9 + (2 - u) * 3 + (2 - v)];
        },
        x.data().data());
    return;
  }
  const Index taps = kh * kw;
  Scalar* w = conv_scratch<Scalar>(ConvBuffer::PackedFilters, K * C * taps);
  for (Index k = 0; k < K; ++k)
    for (Index c = 0; c < C; ++c)
      for (Index t = 0; t < taps; ++t)
        w[filter_index<B>(K, C, taps, k, taps - 1 - t, c)] = filters[(k * C + c) * taps + t];
  CorrelateArgs<Scalar> A;
  A.src = gamma.data().data();
  A.cin = K;
  A.cout = C;
  A.H = gamma.height();
  A.W = gamma.width();
  A.kh = kh;
  A.kw = kw;
  A.top = kh - 1 - (kh - 1) / 2;
  A.left = kw - 1 - (kw - 1) / 2;
  A.boundary = bd;
  A.w = w;
  A.dst = x.data().data();
  correlate<B>(A);
}

}  // namespace mlcsc::internal
