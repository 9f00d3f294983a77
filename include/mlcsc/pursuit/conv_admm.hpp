// mlcsc: the convolutional Lasso by ADMM in the frequency domain (Method::ADMM).
//
// Wohlberg, "Efficient algorithms for convolutional sparse representations", IEEE TIP 2016
// (SPORCO's ConvBPDN): for  min 0.5||sum_k d_k * x_k - s||^2 + sum_k lambda_k ||x_k||_1
// split x = y and iterate, with the scaled dual u, the penalty rho and the relaxation alpha,
//   x-step  (D^T D + rho I) x = D^T s + rho (y - u)          solved per frequency (below)
//   relax   x_r = alpha x + (1 - alpha) y
//   y-step  y = S_{lambda / rho}(x_r + u)                     (max(., 0) when non-negative)
//   u-step  u = u + x_r - y.
// In frequency the x-step is one C x K system per frequency w, A = [F_{k,c}(w)]
// (fft/filter_spectra.hpp), b = DFT(y - u):
//   (A^H A + rho I) x = A^H s + rho b   <=>   x = b + A^H (rho I + A A^H)^{-1} (s - A b),
// for one channel the Sherman-Morrison form x = b + conj(F) (s - F^T b) / (rho + ||F||^2),
// for C > 1 a C x C Cholesky factor per frequency, made again only when rho changes.
// The stopping rule and the residual balancing of rho are SPORCO's (pursuit/params.hpp,
// AdmmParams); the code returned is the exactly sparse y, and the objective is evaluated on it.
// Every image of a batch is its own problem (its own rho, iterations and stopping test); the
// images advance in lockstep and a converged one is frozen. The work per iteration: K forward
// and K inverse FFTs of an H x W plane per image, the per-frequency solve (its two sums over the
// K filters with Eigen's complex packets, the sums of up to 4 channels in registers) and one
// fused pass over the code; nothing is allocated in the loop.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <memory>
#include <type_traits>
#include <vector>

#include "../core/boundary.hpp"
#include "../core/errors.hpp"
#include "../core/fwd.hpp"
#include "../core/operator.hpp"
#include "../fft/filter_spectra.hpp"
#include "../fft/real_fft2.hpp"
#include "../internal/no_malloc.hpp"
#include "../internal/parallel.hpp"
#include "fused_update.hpp"
#include "params.hpp"

namespace mlcsc::internal {

/// Throws std::invalid_argument unless D (a ConvDictionary) can be solved by Method::ADMM:
/// Boundary::Circular and stride 1.
template <class Op>
void check_admm_dictionary(const Op& D, const char* where) {
  const auto s = D.shape();
  if (s.h.boundary != Boundary::Circular || s.w.boundary != Boundary::Circular)
    throw_invalid(where, ": Method::ADMM needs a ConvDictionary with Boundary::Circular (the ",
                  "frequency domain diagonalizes circular convolutions only), got ",
                  to_string(s.h.boundary == Boundary::Circular ? s.w.boundary : s.h.boundary),
                  "; use ISTA or FISTA");
  if (s.h.stride != 1 || s.w.stride != 1)
    throw_invalid(where, ": Method::ADMM needs stride 1, got stride ",
                  shape(s.h.stride, s.w.stride), "; use ISTA or FISTA");
}

template <class Op>
class ConvAdmm {
 public:
  using Scalar = typename Op::Scalar;
  using Complex = std::complex<Scalar>;

  explicit ConvAdmm(const Op& D) : D_(D) {}

  /// Runs ADMM on y (validated by the caller) from the code in G (zero, or a warm start for
  /// y with u = 0), leaving the sparse y in G and the statistics in `st`. With `keep_dual` (the
  /// convolutional dictionary learner's alternation, as SPORCO's ConvBPDNDictLearn), a run on a
  /// signal of the last run's shape continues from that run's scaled dual u, penalties and
  /// their adaptation (the code in G, and the dictionary, may have changed since).
  template <class SignalView, class CodeView>
  void run(const SignalView& y, CodeView G, const LassoParams<Scalar>& p, PursuitStats<Scalar>& st,
           bool keep_dual = false) {
    const Index U_size = U_.size();
    prepare(y, p);
    keep_dual = keep_dual && U_.size() == U_size;
    const Index N = N_, K = K_, P = P_;
    auto Yv = values(G);  // (N K) x P, row-major: the sparse y lives in the caller's code
    Scalar* const Yp = Yv.data();
    st.signal_iterations.setZero(N);
    st.signal_converged.setZero(N);
    // The signal's spectra, u = 0, and the first x-step's right-hand side b = y.
    // (Every plane that is transformed sits at the same alignment, so that a backend with
    // alignment-dependent code paths rounds every image alike: the signal through an aligned copy.)
    parallel_for(N * C_, threads_, [&](Index i) {
      const int t = thread_id();
      Scalar* copy = plane_.data() + Index(t) * Ps_;
      std::copy_n(values(y).data() + i * P, P, copy);
      fft_[std::size_t(t)].forward(copy, S_.data() + i * Fs_, 1);
    });
    if (!keep_dual) {
      U_.setZero();
      done_ = 0;
    }
    for (Index i = 0; i < N * K; ++i) {  // X_ = y - u, the first x-step's right-hand side
      Scalar* X = X_.data() + i * Ps_;
      const Scalar* U = U_.data() + i * Ps_;
      for (Index j = 0; j < P; ++j) X[j] = Yp[i * P + j] - U[j];
    }
    for (Index n = 0; n < N; ++n) {
      if (!keep_dual) {
        rho_[std::size_t(n)] = rho0_;
        balance_[std::size_t(n)] = {0, p.admm.auto_rho_period, p.admm.auto_rho_period};
      }
      factor_rho_[std::size_t(n)] = Scalar(-1);
      active_[std::size_t(n)] = n;
    }
    Index nact = N;
    NoMallocScope guard;
    for (int k = 1; k <= p.max_iterations && nact > 0; ++k) {
      // X <- DFT(y - u), then the x-step in place, then back: X_ holds H W x.
      parallel_for(nact * K, threads_, [&](Index i) {
        const Index n = active_[std::size_t(i / K)], plane = n * K + i % K;
        fft_[std::size_t(thread_id())].forward(X_.data() + plane * Ps_, Xh_.data() + plane * Fs_,
                                               1);
      });
      if (C_ > 1) parallel_for(nact, threads_, [&](Index i) { refactor(active_[std::size_t(i)]); });
      const Index blocks = spectra_->blocks();
      parallel_for(nact * blocks, threads_,
                   [&](Index i) { x_step(active_[std::size_t(i / blocks)], i % blocks); });
      parallel_for(nact * K, threads_, [&](Index i) {
        const Index n = active_[std::size_t(i / K)], plane = n * K + i % K;
        fft_[std::size_t(thread_id())].inverse(Xh_.data() + plane * Fs_, X_.data() + plane * Ps_,
                                               1);
      });
      // relax, y-step, u-step and the next right-hand side, fused; the residuals' sums per plane
      parallel_for(nact * K, threads_, [&](Index i) {
        const Index n = active_[std::size_t(i / K)], kk = i % K, plane = n * K + kk;
        fused_pass(plane, thr_(kk) / rho_[std::size_t(n)], Yp + plane * P);
      });
      // per image: the stopping test, then residual balancing of rho
      Index kept = 0;
      for (Index i = 0; i < nact; ++i) {
        const Index n = active_[std::size_t(i)];
        double sum[5] = {0, 0, 0, 0,
                         0};  // ||x - y||^2, ||y - y_prev||^2, ||x||^2, ||y||^2, ||u||^2
        for (Index kk = 0; kk < K; ++kk)
          for (int j = 0; j < 5; ++j) sum[j] += sums_((n * K + kk) * 5 + j);
        const double rho = double(rho_[std::size_t(n)]);
        const double rn = std::max(std::sqrt(sum[2]), std::sqrt(sum[3]));
        const double sn = rho * std::sqrt(sum[4]);
        const double r = std::sqrt(sum[0]) / (rn > 0 ? rn : 1.0);
        const double s = rho * std::sqrt(sum[1]) / (sn > 0 ? sn : 1.0);
        st.signal_iterations(n) = k;
        if (r <= double(p.tolerance) && s <= double(p.tolerance)) {
          st.signal_converged(n) = true;
          continue;
        }
        active_[std::size_t(kept++)] = n;
        Balance& b = balance_[std::size_t(n)];
        const int kt = done_ + k;  // iterations since the dual started
        if (p.admm.auto_rho && kt >= 2 && kt >= b.next) {
          const double ratio = r > s * xi_ ? r / (s * xi_) : s * xi_ / r;
          const double mult = s == 0 || r == 0 ? tau_ : std::min(std::sqrt(ratio), double(tau_));
          int direction = 0;
          if (r > xi_ * mu_ * s)
            direction = 1;
          else if (s > (mu_ / xi_) * r)
            direction = -1;
          if (direction != 0) {
            rescale(n, direction > 0 ? mult : 1 / mult);
            if (direction == -b.direction) b.period *= 2;  // an oscillation: adapt less often
            b.direction = direction;
          }
          b.next = kt + b.period;
        }
      }
      nact = kept;
      if (p.callback && !p.callback(k, Scalar(objective(y, G)))) break;
    }
    done_ += st.signal_iterations.size() ? st.signal_iterations.maxCoeff() : 0;
    st.summarize();
    st.objective = Scalar(objective(y, G));
  }

 private:
  // frequencies per x-step block: the spectra's (fft/filter_spectra.hpp), which stay in L2
  static constexpr Index kChunk = FilterSpectra<Scalar>::kBlock;

  // Sizes every buffer for y's shape (allocating only when it changed), the per-thread FFTs and
  // the filter spectra (again only when the size or the filters changed), and the settings.
  template <class SignalView>
  void prepare(const SignalView& y, const LassoParams<Scalar>& p) {
    const auto s = D_.shape();
    const Index H = y.height(), W = y.width();
    N_ = y.batch();
    K_ = s.K;
    C_ = s.C;
    P_ = H * W;
    threads_ = max_threads();
    if (fft_.size() < std::size_t(threads_) || fft_[0].height() != H || fft_[0].width() != W) {
      fft_.clear();
      for (int t = 0; t < threads_; ++t) fft_.emplace_back(H, W);
    }
    F_ = fft_[0].spectrum_size();
    Ps_ = (P_ + 15) / 16 * 16;  // plane strides of whole 64-byte lines
    Fs_ = (F_ + 7) / 8 * 8;
    auto sp = D_.spectra(H, W);  // the dictionary's cache, followed when the filters change
    if (sp != spectra_) {
      spectra_ = std::move(sp);
      make_gram();
    }
    auto size = [](auto& a, Index n) {
      if (a.size() != n) a.resize(n);
    };
    if (R_.batch() != N_ || R_.channels() != C_ || R_.height() != H || R_.width() != W)
      R_ = typename Op::Signal(N_, C_, H, W);
    size(S_, N_ * C_ * Fs_);
    size(Xh_, N_ * K_ * Fs_);
    size(X_, N_ * K_ * Ps_);
    size(U_, N_ * K_ * Ps_);
    size(plane_, Index(threads_) * Ps_);
    size(sums_, N_ * K_ * 5);
    if (C_ > 1) size(factor_, N_ * (C_ * (C_ + 1) / 2) * F_);
    size(scratch_, Index(threads_) * 2 * C_ * kChunk);
    rho_.resize(std::size_t(N_));
    factor_rho_.resize(std::size_t(N_));
    active_.resize(std::size_t(N_));
    balance_.resize(std::size_t(N_));
    p.lambda_vector_into(K_, thr_);
    const double lambda = thr_.size() ? double(thr_.mean()) : 0.0;
    rho0_ = p.admm.rho > Scalar(0) ? p.admm.rho : Scalar(50 * lambda + 1);
    xi_ = p.admm.residual_target > Scalar(0)
              ? double(p.admm.residual_target)
              : (lambda > 0 ? 1 + std::pow(18.3, std::log10(lambda) + 1) : 1.0);
    mu_ = double(p.admm.residual_ratio);
    tau_ = double(p.admm.max_rho_scaling);
    alpha_ = p.admm.relaxation;
    nonneg_ = p.nonnegative;
  }

  // A A^H per frequency: sum_k |F_k|^2 for one channel; for C > 1 its lower triangle, entry
  // t = i (i + 1) / 2 + j as plane t over the frequencies.
  void make_gram() {
    const Index K = K_, C = C_, F = F_;
    const FilterSpectra<Scalar>& sp = *spectra_;
    gram_.setZero(C * (C + 1) / 2 * F);
    for (Index b = 0; b < sp.blocks(); ++b) {
      const Index f0 = b * kChunk, m = sp.block_size(b);
      for (Index k = 0; k < K; ++k)
        for (Index c = 0, t = 0; c < C; ++c)
          for (Index e = 0; e <= c; ++e, ++t)
            gram_.segment(t * F + f0, m) += sp.segment(b, k, c) * sp.segment(b, k, e).conjugate();
    }
  }

  // C > 1: the Cholesky factor L of rho I + A A^H at every frequency, for image n's current rho,
  // as planes over the frequencies (entry t = i (i + 1) / 2 + j of the lower triangle: plane t;
  // the diagonal holds 1 / L_ii), computed over blocks of frequencies with Eigen's packets.
  void refactor(Index n) {
    const Scalar rho = rho_[std::size_t(n)];
    if (factor_rho_[std::size_t(n)] == rho) return;
    factor_rho_[std::size_t(n)] = rho;
    using Seg = Eigen::Map<Eigen::Array<Complex, Eigen::Dynamic, 1>>;
    const Index C = C_, T = C * (C + 1) / 2;
    Complex* L = factor_.data() + n * T * F_;
    Complex* sum = scratch_.data() + Index(thread_id()) * 2 * C * kChunk;
    auto plane = [&](Complex* base, Index t, Index f0, Index m) {
      return Seg(base + t * F_ + f0, m);
    };
    for (Index f0 = 0; f0 < F_; f0 += kChunk) {
      const Index m = std::min(kChunk, F_ - f0);
      Seg acc(sum, m);
      for (Index i = 0; i < C; ++i)
        for (Index j = 0; j <= i; ++j) {
          const Index tij = i * (i + 1) / 2 + j;
          acc = plane(gram_.data(), tij, f0, m);
          if (i == j) acc += Complex(rho);
          for (Index q = 0; q < j; ++q)
            acc -= plane(L, i * (i + 1) / 2 + q, f0, m) *
                   plane(L, j * (j + 1) / 2 + q, f0, m).conjugate();
          if (i == j)
            plane(L, tij, f0, m) =
                acc.real().max(Scalar(0)).sqrt().inverse().template cast<Complex>();
          else
            plane(L, tij, f0, m) = acc * plane(L, j * (j + 1) / 2 + j, f0, m);
        }
    }
  }

  // The x-step for the spectra's block `block` (frequencies [f0, f0 + kChunk)) of image n, in
  // place over Xh_ (b -> x / (H W)).
  void x_step(Index n, Index block) {
    using Arr = Eigen::Array<Complex, Eigen::Dynamic, 1>;
    using Seg = Eigen::Map<Arr>;
    using CSeg = Eigen::Map<const Arr>;
    const Index f0 = block * kChunk, m = spectra_->block_size(block), C = C_;
    Complex* scratch = scratch_.data() + Index(thread_id()) * 2 * C * kChunk;
    const Scalar inv = Scalar(1) / Scalar(P_);
    const Complex* F = spectra_->block(block);    // F_{k,c} at F + (k C + c) kChunk
    Complex* X = Xh_.data() + n * K_ * Fs_ + f0;  // b_k, then x_k, at X + k Fs_
    // r_c = s_c - sum_k F_{k,c} b_k, channels in groups of up to 4 held in registers
    for (Index c0 = 0; c0 < C; c0 += 4)
      with_group(C - c0, [&](auto cb) {
        residual<decltype(cb)::value>(F + c0 * kChunk, X, S_.data() + (n * C + c0) * Fs_ + f0,
                                      scratch + c0 * m, m);
      });
    // z = (rho I + A A^H)^{-1} r, scaled by 1 / (H W)
    const Scalar rho = rho_[std::size_t(n)];
    if (C == 1) {
      Seg z(scratch, m);
      const auto g = gram_.segment(f0, m).real();
      z = z * (inv / (rho + g)).template cast<Complex>();
    } else {
      // L w = r, then L^H z = w, over the block's frequencies at once (the diagonal holds 1 / L_ii)
      const Index T = C * (C + 1) / 2;
      Complex* L = factor_.data() + n * T * F_;
      auto lp = [&](Index i, Index j) { return CSeg(L + (i * (i + 1) / 2 + j) * F_ + f0, m); };
      auto v = [&](Index i) { return Seg(scratch + i * m, m); };
      for (Index i = 0; i < C; ++i) {
        for (Index j = 0; j < i; ++j) v(i) -= lp(i, j) * v(j);
        v(i) *= lp(i, i);
      }
      for (Index i = C - 1; i >= 0; --i) {
        for (Index j = i + 1; j < C; ++j) v(i) -= lp(j, i).conjugate() * v(j);
        v(i) *= lp(i, i);
      }
      for (Index i = 0; i < C; ++i) v(i) *= inv;
    }
    // x_k = b_k / (H W) + sum_c conj(F_{k,c}) z_c: the first group scales b, the others add
    for (Index c0 = 0; c0 < C; c0 += 4)
      with_group(C - c0, [&](auto cb) {
        correct<decltype(cb)::value>(F + c0 * kChunk, scratch + c0 * m, X, m, c0 == 0 ? inv : 1);
      });
  }

  // Calls f(std::integral_constant<int, g>) for g = min(left, 4): the size of a channel group.
  template <class Fn>
  static void with_group(Index left, Fn&& f) {
    if (left >= 4)
      f(std::integral_constant<int, 4>());
    else if (left == 3)
      f(std::integral_constant<int, 3>());
    else if (left == 2)
      f(std::integral_constant<int, 2>());
    else
      f(std::integral_constant<int, 1>());
  }

  // The x-step's two sums over the K filters, with Eigen's complex packets: J packets of
  // frequencies x CB channels of sums stay in registers for the whole sum over k, so each F_{k,c}
  // and each b_k (x_k) is loaded once per packet (an expression per (k, c) would load and store
  // its accumulator every time: the x-step was a quarter of an iteration with 3 channels).
  using CPacket = typename Eigen::internal::packet_traits<Complex>::type;
  static constexpr Index kLanes = Eigen::internal::unpacket_traits<CPacket>::size;
  // 4 packets per step on every target: with 16 registers (AVX2) and 3 channels the 12
  // accumulators and 4 b_k leave the products a register or two short, and still the x-step took
  // 40% less time than with 2 packets per step (double, 64 filters x 3 channels, -march=x86-64-v3:
  // twice the memory-level parallelism over the spectra; 1 channel: 45% less)
  static constexpr int kJ = 4;

  // r_c = s_c - sum_k F_{k,c} b_k for the group's CB channels (F at F + (k C + c) kChunk, b_k at
  // X + k Fs_, s_c at S + c Fs_, r_c at R + c m).
  template <int CB>
  void residual(const Complex* F, const Complex* X, const Complex* S, Complex* R, Index m) const {
    using namespace Eigen::internal;
    const Index C = C_, K = K_, step = kJ * kLanes;
    Index j = 0;
    for (; j + step <= m; j += step) {
      CPacket acc[CB][kJ];
      for (int c = 0; c < CB; ++c)
        for (int q = 0; q < kJ; ++q) acc[c][q] = ploadu<CPacket>(S + c * Fs_ + j + q * kLanes);
      for (Index k = 0; k < K; ++k) {
        CPacket b[kJ];
        for (int q = 0; q < kJ; ++q) b[q] = ploadu<CPacket>(X + k * Fs_ + j + q * kLanes);
        for (int c = 0; c < CB; ++c) {
          const Complex* f = F + (k * C + c) * kChunk + j;
          for (int q = 0; q < kJ; ++q)
            acc[c][q] = psub(acc[c][q], pmul(ploadu<CPacket>(f + q * kLanes), b[q]));
        }
      }
      for (int c = 0; c < CB; ++c)
        for (int q = 0; q < kJ; ++q) pstoreu(R + c * m + j + q * kLanes, acc[c][q]);
    }
    for (; j < m; ++j)  // the block's last frequencies, one at a time
      for (int c = 0; c < CB; ++c) {
        Complex acc = S[c * Fs_ + j];
        for (Index k = 0; k < K; ++k) acc -= F[(k * C + c) * kChunk + j] * X[k * Fs_ + j];
        R[c * m + j] = acc;
      }
  }

  // x_k = scale x_k + sum_c conj(F_{k,c}) z_c for the group's CB channels (z_c at Z + c m).
  template <int CB>
  void correct(const Complex* F, const Complex* Z, Complex* X, Index m, Scalar scale) const {
    using namespace Eigen::internal;
    const Index C = C_, K = K_, step = kJ * kLanes;
    const CPacket s = pset1<CPacket>(Complex(scale, 0));
    Index j = 0;
    for (; j + step <= m; j += step) {
      CPacket z[CB][kJ];
      for (int c = 0; c < CB; ++c)
        for (int q = 0; q < kJ; ++q) z[c][q] = ploadu<CPacket>(Z + c * m + j + q * kLanes);
      for (Index k = 0; k < K; ++k) {
        Complex* x = X + k * Fs_ + j;
        CPacket acc[kJ];
        for (int q = 0; q < kJ; ++q) {
          acc[q] = ploadu<CPacket>(x + q * kLanes);
          if (scale != Scalar(1)) acc[q] = pmul(acc[q], s);
        }
        for (int c = 0; c < CB; ++c) {
          const Complex* f = F + (k * C + c) * kChunk + j;
          for (int q = 0; q < kJ; ++q)
            acc[q] = padd(acc[q], pmul(pconj(ploadu<CPacket>(f + q * kLanes)), z[c][q]));
        }
        for (int q = 0; q < kJ; ++q) pstoreu(x + q * kLanes, acc[q]);
      }
    }
    for (; j < m; ++j)
      for (Index k = 0; k < K; ++k) {
        Complex acc = X[k * Fs_ + j] * scale;
        for (int c = 0; c < CB; ++c) acc += std::conj(F[(k * C + c) * kChunk + j]) * Z[c * m + j];
        X[k * Fs_ + j] = acc;
      }
  }

  // One plane: x (in X_), y (the code) and u -> relaxed x, new y and u, and X_ = y - u, the next
  // right-hand side (pursuit/fused_update.hpp); the residuals' sums of the plane into sums_.
  void fused_pass(Index plane, Scalar thr, Scalar* Y) {
    AdmmStepStats st;
    admm_update(X_.data() + plane * Ps_, Y, U_.data() + plane * Ps_, P_, alpha_, thr,
                nonneg_ ? Shrinkage::NonnegSoft : Shrinkage::Soft, st);
    double* s = sums_.data() + plane * 5;
    s[0] = st.primal, s[1] = st.change, s[2] = st.x_norm, s[3] = st.y_norm, s[4] = st.u_norm;
  }

  // rho_n <- factor rho_n; the scaled dual u = (1 / rho) (dual) with it, and X_ = y - u again.
  void rescale(Index n, double factor) {
    rho_[std::size_t(n)] = Scalar(double(rho_[std::size_t(n)]) * factor);
    const Scalar f = Scalar(1 / factor);
    for (Index plane = n * K_; plane < (n + 1) * K_; ++plane) {
      Scalar* U = U_.data() + plane * Ps_;
      Scalar* X = X_.data() + plane * Ps_;
      for (Index i = 0; i < P_; ++i) {
        const Scalar y = X[i] + U[i];  // X_ holds y - u
        U[i] *= f;
        X[i] = y - U[i];
      }
    }
  }

  // 0.5 ||D y - s||^2 + sum_k lambda_k ||y_k||_1 over the batch, by the dictionary's own
  // synthesis (whichever kernel it chooses: the direct kernels, or the FFT to rounding).
  template <class SignalView, class CodeView>
  double objective(const SignalView& y, const CodeView& G) {
    D_.synthesize(G, R_);
    values(R_) -= values(y);
    double l1 = 0;
    const auto& g = values(G);
    for (Index n = 0; n < N_; ++n)
      for (Index k = 0; k < K_; ++k)
        l1 += double(thr_(k)) * double(g.row(n * K_ + k).cwiseAbs().sum());
    return 0.5 * values(R_).template cast<double>().squaredNorm() + l1;
  }

  const Op& D_;
  std::vector<RealFFT2<Scalar>> fft_;
  std::shared_ptr<const FilterSpectra<Scalar>> spectra_;
  Eigen::Array<Complex, Eigen::Dynamic, 1> gram_;
  Index N_ = 0, K_ = 0, C_ = 0, P_ = 0, F_ = 0;
  Index Ps_ = 0, Fs_ = 0;  // the plane strides of X_, U_ (reals) and S_, Xh_ (spectra)
  int threads_ = 1;
  int done_ = 0;  // iterations run since the scaled dual started at 0 (keep_dual continues it)
  Eigen::Array<Complex, Eigen::Dynamic, 1> S_, Xh_, factor_, scratch_;
  Vector<Scalar> X_, U_, plane_;
  Eigen::ArrayXd sums_;
  typename Op::Signal R_;
  Vector<Scalar> thr_;  // the per-filter lambda
  std::vector<Scalar> rho_, factor_rho_;
  std::vector<Index> active_;
  // Residual balancing per image: the last direction rho moved (+1 up, -1 down), the period
  // and the next iteration that may adapt.
  struct Balance {
    int direction = 0, period = 1, next = 1;
  };
  std::vector<Balance> balance_;
  Scalar rho0_ = 1, alpha_ = Scalar(1.8);
  double xi_ = 1, mu_ = 1.2, tau_ = 1000;
  bool nonneg_ = false;
};

}  // namespace mlcsc::internal
