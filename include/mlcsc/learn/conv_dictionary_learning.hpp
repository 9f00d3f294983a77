// mlcsc: learn_conv_dictionary, a circular convolutional dictionary learned from a batch of
// images (API.md section 11), by alternating, as SPORCO's ConvBPDNDictLearn does (Wohlberg,
// "Efficient algorithms for convolutional sparse representations", IEEE TIP 2016; Garcia-Cardona
// and Wohlberg, "Convolutional dictionary learning: a comparative review and new algorithms",
// IEEE TCI 2018), over
//   min_{d, x} 0.5 sum_n ||sum_k d_k * x_{n,k} - s_n||^2 + lambda sum_{n,k} ||x_{n,k}||_1,
//   d_k supported on kh x kw, ||d_k|| = 1 (and zero mean per channel with `zero_mean`):
//   coding: `coding_iterations` of Method::ADMM (pursuit/conv_admm.hpp) from the last code and
//     the last scaled dual variable and penalty (restarting ADMM's dual at 0 every time, the
//     step raises the objective about as often as it lowers it), or fewer if its relative
//     residuals reach `coding_tolerance`;
//   filters: `filter_iterations` FISTA iterations of projected gradient on the data term with the
//   code fixed,
//     in the frequency domain. With R_{n,c} = DFT(r_{n,c}) the residual of image n on channel c
//     and X_{n,k} = DFT(x_{n,k}), the gradient with respect to the tap (u, v) of d_{k,c} is
//       g_{k,c}[u, v] = q_{k,c}[(u - P_h) mod H, (v - P_w) mod W],
//       q_{k,c} = IDFT(sum_n R_{n,c} conj(X_{n,k}))             (the correlation of r with x)
//     (P the anchor of fft/filter_spectra.hpp); the step is 1 / L with
//       L = max_w sum_{n,k} |X_{n,k}(w)|^2 >= max_w lambda_max(sum_n X_n(w) X_n(w)^H),
//     the largest eigenvalue of the data term's Hessian on the circle (per frequency a K x K
//     sum of N rank-one matrices, bounded by its trace), which bounds it on the support. The
//     projection is onto the convex set {support, zero mean if asked, ||d_k|| <= 1}; after the
//     step each filter is scaled to unit norm and its codes by the inverse, which keeps the fit
//     and does not raise the l1 term (||d_k|| <= 1). A filter that became zero (unused) is drawn
//     again at random.
// The objective of each iteration is evaluated on the sparse code and the unit-norm filters.
// ConvDictLearnMethod::Online (Liu, Garcia-Cardona, Wohlberg, Yin, "First- and second-order
// methods for online convolutional dictionary learning", SIAM J. Imaging Sci. 11(2), 2018,
// Sec. 3; SPORCO's OnlineConvBPDNDictLearn) codes a random mini-batch from zero every iteration
// and takes one projected stochastic-gradient step of size step_a / ((t + step_b) L_t), the
// same gradient on the mini-batch alone, L_t its Lipschitz bound.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "../conv/conv_dictionary.hpp"
#include "../core/errors.hpp"
#include "../core/feature_maps.hpp"
#include "../fft/filter_spectra.hpp"
#include "../fft/frequency_conv.hpp"
#include "../internal/aligned_vector.hpp"
#include "../internal/parallel.hpp"
#include "../pursuit/conv_admm.hpp"
#include "params.hpp"
#include "sampling.hpp"

namespace mlcsc {

namespace internal {

/// The filter step: projected FISTA on 0.5 sum_n ||sum_k d_k * x_{n,k} - s_n||^2 over the
/// filters, the images' spectra computed once.
template <class Scalar>
class ConvFilterStep {
 public:
  using Complex = std::complex<Scalar>;
  using CArray = Eigen::Array<Complex, Eigen::Dynamic, 1>;

  ConvFilterStep(const ConstFeatureMapsView<Scalar>& s, Index K, Index kh, Index kw, bool zero_mean)
      : N_(s.batch()),
        C_(s.channels()),
        H_(s.height()),
        W_(s.width()),
        K_(K),
        kh_(kh),
        kw_(kw),
        zero_mean_(zero_mean),
        threads_(max_threads()) {
    F_ = H_ * (W_ / 2 + 1);
    S_.resize(N_ * C_ * F_);
    R_.resize(N_ * C_ * F_);
    X_.resize(N_ * K_ * F_);
    Q_.resize(K_ * C_ * F_);
    plane_.resize(std::size_t(threads_) * std::size_t(H_ * W_));
    const Index taps = C_ * kh_ * kw_;
    d_.resize(K_, taps);
    z_.resize(K_, taps);
    grad_.resize(K_, taps);
    set_images(s);
  }

  /// Takes new images of the constructor's shape (the online learner's next mini-batch): their
  /// spectra, into the buffers sized at construction.
  void set_images(const ConstFeatureMapsView<Scalar>& s) {
    eigen_assert(s.batch() == N_ && s.channels() == C_ && s.height() == H_ && s.width() == W_);
    parallel_for(N_ * C_, threads_, [&](Index i) {
      thread_fft<Scalar>(H_, W_).forward(s.data().data() + i * H_ * W_, S_.data() + i * F_, 1);
    });
  }

  /// Takes the code x (N x K x H x W) the next steps are for: its spectra and the step 1 / L.
  void set_code(const FeatureMaps<Scalar>& x) {
    const Index P = H_ * W_;
    parallel_for(N_ * K_, threads_, [&](Index i) {
      thread_fft<Scalar>(H_, W_).forward(x.data().data() + i * P, X_.data() + i * F_, 1);
    });
    // L = max over frequencies of sum_{n,k} |X_{n,k}|^2
    power_.setZero(F_);
    for (Index i = 0; i < N_ * K_; ++i) power_ += plane(X_, i).abs2();
    L_ = power_.maxCoeff();
  }

  /// The step's Lipschitz bound L for the code of `set_code` (0 for a zero code).
  Scalar lipschitz() const { return L_; }

  /// `iterations` FISTA steps from the filters in `filters` (K x C kh kw, taps anchored at
  /// pad_h, pad_w) for the code of `set_code`; the result, projected, in `filters`.
  void run(RowMatrix<Scalar>& filters, Index pad_h, Index pad_w, int iterations) {
    if (!(L_ > Scalar(0))) return;  // no code: the data term does not depend on the filters
    d_ = filters;
    z_ = d_;
    Scalar t = 1;
    for (int it = 0; it < iterations; ++it) {
      gradient(z_, pad_h, pad_w);
      // d+ = P(z - grad / L); z = d+ + ((t - 1) / t+) (d+ - d)
      grad_ = z_ - grad_ / L_;
      project(grad_);
      const Scalar tn = (Scalar(1) + std::sqrt(Scalar(1) + Scalar(4) * t * t)) / Scalar(2);
      z_ = grad_ + ((t - Scalar(1)) / tn) * (grad_ - d_);
      d_ = grad_;
      t = tn;
    }
    filters = d_;
  }

  /// The gradient of the data term over the taps at the filters f, for the code of `set_code`
  /// (valid until the next call).
  const RowMatrix<Scalar>& gradient(const RowMatrix<Scalar>& f, Index pad_h, Index pad_w) {
    ConvShape<Scalar> shape{f.data(), K_, C_, Axis{kh_, 1, 1, Boundary::Circular},
                            Axis{kw_, 1, 1, Boundary::Circular}};
    spectra_.compute(shape, thread_fft<Scalar>(H_, W_));
    // R_{n,c} = sum_k F_{k,c} X_{n,k} - S_{n,c}
    parallel_for(N_ * C_, threads_, [&](Index i) {
      const Index n = i / C_, c = i % C_;
      auto r = plane(R_, i);
      r = -plane(S_, i);
      for (Index b = 0; b < spectra_.blocks(); ++b) {
        const Index f0 = b * spectra_.kBlock, m = spectra_.block_size(b);
        for (Index k = 0; k < K_; ++k)
          r.segment(f0, m) += spectra_.segment(b, k, c) * plane(X_, n * K_ + k).segment(f0, m);
      }
    });
    // Q_{k,c} = sum_n R_{n,c} conj(X_{n,k}), back to the plane, the taps read at their anchor
    const Scalar scale = Scalar(1) / Scalar(H_ * W_);
    parallel_for(K_ * C_, threads_, [&](Index i) {
      const Index k = i / C_, c = i % C_;
      auto q = plane(Q_, i);
      q = plane(R_, c) * plane(X_, k).conjugate();
      for (Index n = 1; n < N_; ++n) q += plane(R_, n * C_ + c) * plane(X_, n * K_ + k).conjugate();
      Scalar* out = plane_.data() + std::size_t(thread_id()) * std::size_t(H_ * W_);
      thread_fft<Scalar>(H_, W_).inverse(q.data(), out, 1);  // overwrites q
      Scalar* g = grad_.data() + k * C_ * kh_ * kw_ + c * kh_ * kw_;
      for (Index u = 0; u < kh_; ++u) {
        const Index h = mod(u - pad_h, H_);
        for (Index v = 0; v < kw_; ++v) g[u * kw_ + v] = scale * out[h * W_ + mod(v - pad_w, W_)];
      }
    });
    return grad_;
  }

 private:
  Eigen::Map<CArray> plane(AlignedVector<Complex>& v, Index i) {
    return Eigen::Map<CArray>(v.data() + i * F_, F_);
  }

  // Onto {zero mean per channel (if asked), ||d_k|| <= 1}, filter by filter.
  void project(RowMatrix<Scalar>& f) const {
    const Index tap = kh_ * kw_;
    for (Index k = 0; k < K_; ++k) {
      if (zero_mean_)
        for (Index c = 0; c < C_; ++c) {
          auto ch = f.row(k).segment(c * tap, tap);
          ch.array() -= ch.mean();
        }
      const Scalar nrm = f.row(k).norm();
      if (nrm > Scalar(1)) f.row(k) /= nrm;
    }
  }

  static Index mod(Index a, Index n) {
    const Index r = a % n;
    return r < 0 ? r + n : r;
  }

  Index N_, C_, H_, W_, K_, kh_, kw_, F_ = 0;
  bool zero_mean_;
  int threads_;
  AlignedVector<Complex> S_, R_, X_, Q_;
  std::vector<Scalar> plane_;
  FilterSpectra<Scalar> spectra_;
  RowMatrix<Scalar> d_, z_, grad_;
  Eigen::Array<Scalar, Eigen::Dynamic, 1> power_;
  Scalar L_ = 0;
};

/// Zero mean per channel (if asked), then unit norm; a zero filter is drawn again (Gaussian;
/// ConvDictLearnParams::check rules out 1 x 1 filters of zero mean, which are always zero).
template <class Scalar>
void project_unit_filter(Eigen::Ref<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>> f, Index C,
                         bool zero_mean, LearnRng& rng) {
  const Index tap = f.size() / C;
  while (true) {
    if (zero_mean)
      for (Index c = 0; c < C; ++c)
        f.segment(c * tap, tap).array() -= f.segment(c * tap, tap).mean();
    const Scalar nrm = f.norm();
    if (nrm > Scalar(0) && std::isfinite(double(nrm))) {
      f /= nrm;
      return;
    }
    for (Index i = 0; i < f.size(); ++i) f(i) = Scalar(rng.normal());
  }
}

/// The initial filters: `initial_filters`, or Gaussian; zero mean if asked, unit norm.
template <class Scalar>
ConvDictionary<Scalar> initial_conv_dictionary(Index C, const ConvDictLearnParams<Scalar>& p,
                                               LearnRng& rng) {
  const Index K = p.num_filters, kh = p.kernel_height, kw = p.kernel_width;
  ConvDictionary<Scalar> D(K, C, kh, kw, Boundary::Circular);
  RowMatrix<Scalar>& f = D.filters();
  if (p.initial_filters.size() != 0)
    f = Eigen::Map<const RowMatrix<Scalar>>(p.initial_filters.data().data(), K, C * kh * kw);
  else
    for (Index i = 0; i < f.size(); ++i) f.data()[i] = Scalar(rng.normal());
  for (Index k = 0; k < K; ++k) project_unit_filter<Scalar>(f.row(k), C, p.zero_mean, rng);
  return D;
}

/// The ADMM settings of the coding step.
template <class Scalar>
LassoParams<Scalar> conv_coding_params(const ConvDictLearnParams<Scalar>& p) {
  LassoParams<Scalar> lp;
  lp.lambda = p.lambda;
  lp.method = Method::ADMM;
  lp.max_iterations = p.coding_steps();
  lp.tolerance = p.coding_tolerance;
  return lp;
}

/// 0.5 ||D x - s||^2 + lambda ||x||_1, summed in double; `model` is scratch of the images' shape.
template <class Scalar>
Scalar conv_lasso_objective(const ConvDictionary<Scalar>& D, const FeatureMaps<Scalar>& x,
                            const ConstFeatureMapsView<no_deduce_t<Scalar>>& s, Scalar lambda,
                            FeatureMaps<Scalar>& model) {
  D.synthesize(x, model);
  const double fit = 0.5 * (model.data() - s.data()).template cast<double>().squaredNorm();
  const double l1 = x.data().template cast<double>().cwiseAbs().sum();
  return Scalar(fit + double(lambda) * l1);
}

/// The batch method (ConvDictLearnMethod::Batch), from the filters in D.
template <class Scalar>
ConvDictLearnResult<Scalar> learn_conv_batch(const ConstFeatureMapsView<Scalar>& images,
                                             const ConvDictLearnParams<Scalar>& p,
                                             ConvDictionary<Scalar> D, LearnRng& rng) {
  const Index N = images.batch(), C = images.channels(), H = images.height(), W = images.width();
  const Index K = p.num_filters;
  RowMatrix<Scalar>& f = D.filters();
  const LassoParams<Scalar> lp = conv_coding_params(p);
  ConvAdmm<ConvDictionary<Scalar>> coder(D);
  PursuitStats<Scalar> coding;
  ConvFilterStep<Scalar> step(images, K, p.kernel_height, p.kernel_width, p.zero_mean);
  const Index pad_h = D.shape().h.pad(), pad_w = D.shape().w.pad();

  FeatureMaps<Scalar> code(N, K, H, W), model(N, C, H, W);
  std::vector<Scalar> objective;
  for (int it = 1; it <= p.iterations; ++it) {
    coder.run(images, FeatureMapsView<Scalar>(code), lp, coding, it > 1);
    step.set_code(code);
    step.run(f, pad_h, pad_w, p.filter_iterations);
    // unit-norm filters, their codes scaled inversely (the fit is unchanged, the l1 term no larger)
    for (Index k = 0; k < K; ++k) {
      const Scalar nrm = f.row(k).norm();
      if (nrm > Scalar(0)) {
        f.row(k) /= nrm;
        for (Index n = 0; n < N; ++n) code.data().row(n * K + k) *= nrm;
      } else {
        project_unit_filter<Scalar>(f.row(k), C, p.zero_mean, rng);
        for (Index n = 0; n < N; ++n) code.data().row(n * K + k).setZero();
      }
    }
    const Scalar obj = conv_lasso_objective(D, code, images, p.lambda, model);
    objective.push_back(obj);
    if (p.callback && !p.callback(it, obj)) break;
  }
  return ConvDictLearnResult<Scalar>{std::move(D), std::move(objective), std::move(code)};
}

/// The online method (ConvDictLearnMethod::Online; Liu, Garcia-Cardona, Wohlberg, Yin 2018,
/// Sec. 3): iteration t codes a mini-batch of images from zero, then
///   d <- P(d - eta_t grad_d 0.5 sum_{n in batch} ||sum_k d_k * x_{n,k} - s_n||^2),
///   eta_t = step_a / ((t + step_b) L_t), L_t the mini-batch's Lipschitz bound,
/// P onto {support, zero mean if asked, unit norm} (SPORCO's OnlineConvBPDNDictLearn).
template <class Scalar>
ConvDictLearnResult<Scalar> learn_conv_online(const ConstFeatureMapsView<Scalar>& images,
                                              const ConvDictLearnParams<Scalar>& p,
                                              ConvDictionary<Scalar> D, LearnRng& rng) {
  const Index N = images.batch(), C = images.channels(), H = images.height(), W = images.width();
  const Index K = p.num_filters, b = p.batch_size;
  RowMatrix<Scalar>& f = D.filters();
  const LassoParams<Scalar> lp = conv_coding_params(p);
  ConvAdmm<ConvDictionary<Scalar>> coder(D);
  PursuitStats<Scalar> coding;
  FeatureMaps<Scalar> batch(b, C, H, W), code(b, K, H, W), model(b, C, H, W);
  // rows of FeatureMaps::data() are the (image, channel) planes
  batch.data() = images.data().topRows(b * C);  // the shape ConvFilterStep is sized for
  ConvFilterStep<Scalar> step(batch, K, p.kernel_height, p.kernel_width, p.zero_mean);
  const Index pad_h = D.shape().h.pad(), pad_w = D.shape().w.pad();
  std::vector<Index> order(static_cast<std::size_t>(N));
  for (Index n = 0; n < N; ++n) order[std::size_t(n)] = n;
  Index next = N;  // position in `order`; N: shuffle for a new pass

  std::vector<Scalar> objective;
  for (int it = 1; it <= p.iterations; ++it) {
    for (Index i = 0; i < b; ++i) {
      if (next == N) {
        rng.shuffle(order);
        next = 0;
      }
      batch.data().middleRows(i * C, C) =
          images.data().middleRows(order[std::size_t(next++)] * C, C);
    }
    code.data().setZero();
    coder.run(ConstFeatureMapsView<Scalar>(batch), FeatureMapsView<Scalar>(code), lp, coding);
    const Scalar obj = conv_lasso_objective(D, code, batch, p.lambda, model);
    step.set_images(batch);
    step.set_code(code);
    if (step.lipschitz() > Scalar(0)) {  // a zero code: the data term does not depend on d
      const Scalar eta = p.step_a / ((Scalar(it) + p.step_b) * step.lipschitz());
      f -= eta * step.gradient(f, pad_h, pad_w);
    }
    for (Index k = 0; k < K; ++k) project_unit_filter<Scalar>(f.row(k), C, p.zero_mean, rng);
    objective.push_back(obj);
    if (p.callback && !p.callback(it, obj)) break;
  }
  FeatureMaps<Scalar> all(N, K, H, W);
  ConvAdmm<ConvDictionary<Scalar>>(D).run(images, FeatureMapsView<Scalar>(all), lp, coding);
  return ConvDictLearnResult<Scalar>{std::move(D), std::move(objective), std::move(all)};
}

/// The training images of a learner: a nonempty batch of finite values, else
/// std::invalid_argument naming 'images' and the shape.
template <class Scalar>
void require_training_images(ConstFeatureMapsView<Scalar> images, const char* where) {
  if (images.size() == 0)
    throw_invalid(where, ": 'images' must be a nonempty batch, got ", images.batch(), " x ",
                  shape(images.channels(), images.height(), images.width()));
  require_finite(images.data(), where, "images");
}

}  // namespace internal

/// \brief Learns a circular convolutional dictionary of `p.num_filters` unit-norm filters of
/// `p.kernel_height` x `p.kernel_width` over the images' C channels from a batch of images
/// (N x C x H x W), for \f$ \min \tfrac12\sum_n\|\sum_k d_k * x_{n,k} - s_n\|_2^2 +
/// \lambda\sum\|x\|_1 \f$: by default (ConvDictLearnMethod::Batch) alternating ADMM coding and
/// a projected-gradient filter step in the frequency domain over all images; Online, by
/// stochastic projected gradient on random mini-batches (learn/conv_dictionary_learning.hpp).
/// \code
///   mlcsc::ConvDictLearnParams<float> p;
///   p.num_filters = 64;  p.kernel_height = p.kernel_width = 8;  p.lambda = 0.2f;
///   auto r = mlcsc::learn_conv_dictionary(images, p);  // r.dictionary, r.objective, r.code
/// \endcode
/// `images` are FeatureMaps or a view of your own buffer (FeatureMapsView / ConstFeatureMapsView,
/// read in place). Throws std::invalid_argument for empty or non-finite images and invalid
/// parameters (naming the field). Seeded: the same images, parameters and seed give the same
/// dictionary.
template <class Scalar>
ConvDictLearnResult<Scalar> learn_conv_dictionary(
    ConstFeatureMapsView<internal::no_deduce_t<Scalar>> images,
    const ConvDictLearnParams<Scalar>& p) {
  const char* where = "learn_conv_dictionary";
  internal::require_training_images(images, where);
  p.check(images.batch(), images.channels(), images.height(), images.width(), where);
  internal::LearnRng rng(p.seed);
  auto D = internal::initial_conv_dictionary(images.channels(), p, rng);
  if (p.method == ConvDictLearnMethod::Online)
    return internal::learn_conv_online(images, p, std::move(D), rng);
  return internal::learn_conv_batch(images, p, std::move(D), rng);
}

}  // namespace mlcsc
