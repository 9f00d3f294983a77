// mlcsc: the exact dense Lasso by Gram-based, active-set coordinate descent.
//
// For each signal y (a column of Y), with G = D^T D, c = D^T y and r = c - G g (the negative
// gradient of 0.5||y - D g||^2), starting from g = 0 (or the warm start):
//   screening (the active-set strategy of glmnet, Friedman, Hastie, Tibshirani 2010): one
//     vectorized pass over all atoms computes r and the violations |r_j| - lambda_j (chunks of r
//     held in registers over the columns of S), and the (at most 8) worst KKT violators
//     |r_j| > lambda_j + tol outside the working set S are selected: running maxima per SIMD
//     lane give a first cut (or show at once that there is no violator), then only the lanes of
//     a packet above the cut (a compare mask) are considered;
//   coordinate updates (Friedman, Hastie, Hoefling, Tibshirani 2007, "covariance updates"): each
//     violator enters S by g_j <- S_{lambda_j}(r_j) / G_jj, r_j seeing the updates before it;
//   exact solves on S: with s = sign(g_S), x = G_SS^{-1}(c_S - lambda_S s_S) = W^T W (c_S -
//     lambda_S s_S), where W = L^{-1} is the inverse of the Cholesky factor of G_SS (read from G
//     in place): two matrix-vector products over the triangle in SIMD packets (rows of W are
//     zero-padded to whole packets), no substitution chains. W gains one row per entering atom
//     (the inverse Cholesky update of Batch-OMP, Rubinstein et al. 2008) and is downdated by
//     Givens rotations when an atom leaves (never refactored). If sign(x) = s, g_S = x solves the
//     problem restricted to S exactly. Otherwise the feature-sign step (Lee, Battle, Raina, Ng,
//     NIPS 2006) moves g towards x up to the first sign change, which lowers the objective, and
//     that atom leaves S. An atom that depends linearly on S (G_SS
//     singular, as happens on overcomplete DCTs) takes a null-space step instead: along v with D v
//     = 0 the fit is unchanged and the l1 term does not increase, up to the first coefficient
//     reaching zero, which leaves S;
//   then r = c - G_:S g_S is recomputed over all atoms and screened again.
// A signal has converged when a screening after an exact solve finds no violator by more than
// max(tolerance * max(1, ||c||_inf), 20 eps ||c||_inf); |r_j| = lambda_j on S holds to rounding.
// One iteration is one screening pass (with its coordinate updates) or one exact solve. The
// k x k algebra runs in double for either Scalar.
// The batch driver takes the atoms and G = D^T D (LassoSolver: the dictionary's cache,
// Dictionary::shared_gram; the dictionary learners: their own) and codes blocks of kBlock
// signals in parallel with OpenMP: per block one small GEMM C = D^T Y_blk into a buffer of the
// thread (no m x B temporary), and per signal the objective from its support,
// 0.5||y - D_S g_S||^2 + sum lambda_j |g_j| (no dense synthesis). Every buffer is sized before
// the loop (no allocation inside it).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>
#include <vector>

#include "../dense/dictionary.hpp"
#include "../internal/no_malloc.hpp"
#include "../internal/parallel.hpp"
#include "params.hpp"

namespace mlcsc::internal {

// Small dense kernels on double data in Eigen's packets (the target's SIMD width), for the k x k
// algebra of the solver.
namespace cd_kernels {
using Packet = typename Eigen::internal::packet_traits<double>::type;
constexpr Index kP = Eigen::internal::packet_traits<double>::size;

// out[j] = sum_{i < k} W(i, j) v[i] for j < k (W^T v), W lower triangular with row stride ld,
// its rows zero right of the diagonal up to ld. Column chunks of NP packets stay in registers.
template <int NP>
inline void lower_t_chunk(const double* W, Index ld, Index k, Index q0, const double* v,
                          double* out) {
  Packet acc[NP];
  for (int t = 0; t < NP; ++t) acc[t] = Eigen::internal::pset1<Packet>(0.0);
  for (Index i = q0; i < k; ++i) {
    const Packet vi = Eigen::internal::pset1<Packet>(v[i]);
    const double* row = W + i * ld + q0;
    for (int t = 0; t < NP; ++t)
      acc[t] = Eigen::internal::pmadd(Eigen::internal::ploadu<Packet>(row + t * kP), vi, acc[t]);
  }
  for (int t = 0; t < NP; ++t) Eigen::internal::pstoreu(out + q0 + t * kP, acc[t]);
}
inline void lower_transpose_times(const double* W, Index ld, Index k, const double* v,
                                  double* out) {
  Index q0 = 0;
  for (; q0 + 4 * kP <= k; q0 += 4 * kP) lower_t_chunk<4>(W, ld, k, q0, v, out);
  switch ((k - q0 + kP - 1) / kP) {
    case 1:
      lower_t_chunk<1>(W, ld, k, q0, v, out);
      break;
    case 2:
      lower_t_chunk<2>(W, ld, k, q0, v, out);
      break;
    case 3:
      lower_t_chunk<3>(W, ld, k, q0, v, out);
      break;
    case 4:
      lower_t_chunk<4>(W, ld, k, q0, v, out);
      break;
    default:
      break;
  }
}

// out[i] = sum_{j <= i} W(i, j) v[j] for i0 <= i < i1 (rows of W v), four rows at a time; v is
// read up to the packet holding the diagonal (finite there; W is zero beyond it).
inline void lower_times(const double* W, Index ld, Index i0, Index i1, const double* v,
                        double* out) {
  using namespace Eigen::internal;
  Index i = i0;
  for (; i + 4 <= i1; i += 4) {
    const double* r0 = W + i * ld;
    Packet a0 = pset1<Packet>(0.0), a1 = a0, a2 = a0, a3 = a0;
    const Index end = i + 4;  // packets covering columns 0..i+3
    for (Index j = 0; j < end; j += kP) {
      const Packet vj = ploadu<Packet>(v + j);
      a0 = pmadd(ploadu<Packet>(r0 + j), vj, a0);
      a1 = pmadd(ploadu<Packet>(r0 + ld + j), vj, a1);
      a2 = pmadd(ploadu<Packet>(r0 + 2 * ld + j), vj, a2);
      a3 = pmadd(ploadu<Packet>(r0 + 3 * ld + j), vj, a3);
    }
    out[i] = predux(a0);
    out[i + 1] = predux(a1);
    out[i + 2] = predux(a2);
    out[i + 3] = predux(a3);
  }
  for (; i < i1; ++i) {
    const double* r0 = W + i * ld;
    Packet a0 = pset1<Packet>(0.0);
    for (Index j = 0; j <= i; j += kP)
      a0 = pmadd(ploadu<Packet>(r0 + j), ploadu<Packet>(v + j), a0);
    out[i] = predux(a0);
  }
}

// Bit t set iff x[t] > cut, over one packet of Scalar (a compare and a mask move where the target
// has them).
template <class Scalar>
inline std::uint32_t greater_mask(const Scalar* x, Scalar cut) {
  constexpr int P = Eigen::internal::packet_traits<Scalar>::size;
  constexpr bool kDouble = std::is_same_v<Scalar, double>;
#if defined(EIGEN_VECTORIZE_AVX512)
  if constexpr (kDouble && P == 8)
    return _mm512_cmp_pd_mask(_mm512_loadu_pd(x), _mm512_set1_pd(cut), _CMP_GT_OQ);
  if constexpr (!kDouble && P == 16)
    return _mm512_cmp_ps_mask(_mm512_loadu_ps(x), _mm512_set1_ps(cut), _CMP_GT_OQ);
#endif
#if defined(EIGEN_VECTORIZE_AVX)
  if constexpr (kDouble && P == 4)
    return std::uint32_t(
        _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(x), _mm256_set1_pd(cut), _CMP_GT_OQ)));
  if constexpr (!kDouble && P == 8)
    return std::uint32_t(
        _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x), _mm256_set1_ps(cut), _CMP_GT_OQ)));
#endif
#if defined(EIGEN_VECTORIZE_SSE2)
  if constexpr (kDouble && P == 2)
    return std::uint32_t(_mm_movemask_pd(_mm_cmpgt_pd(_mm_loadu_pd(x), _mm_set1_pd(cut))));
  if constexpr (!kDouble && P == 4)
    return std::uint32_t(_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(x), _mm_set1_ps(cut))));
#endif
  std::uint32_t mask = 0;
  for (int t = 0; t < P; ++t) mask |= std::uint32_t(x[t] > cut) << t;
  return mask;
}
}  // namespace cd_kernels

template <class Scalar>
struct CdWorkspace {
  Vector<Scalar> r;                              // m: c - G g, valid at each screening
  Eigen::Array<Scalar, Eigen::Dynamic, 1> viol;  // m: screening scratch
  Eigen::VectorXi active;                        // kmax: the working set S, first `size` entries
  // kmax x ld, row-major (ld = padded(kmax)): W, lower
  // triangular with W^T W = G_SS^{-1} (W = L^{-1} for the Cholesky factor L L^T = G_SS, up to
  // the signs of its rows), in the order of `active`; first `chol_rows` rows valid. Every row is
  // zero right of its diagonal, so the leading blocks of W multiply as plain matrices and the
  // kernels read whole packets.
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> winv;
  Vector<double> gs, cs, lam, x, y;  // ld (first kmax used), per member of S
  Vector<double> u;                  // ld: u = W (c_S - lambda_S s_S), first `u_rows` entries valid
  Eigen::Array<signed char, Eigen::Dynamic, 1> sign;  // kmax: sign pattern of gs
  Vector<Scalar> coef;                                // kmax: g_S in Scalar, for the residual
  Matrix<Scalar> cblock;                              // m x kBlock: D^T Y of the current block
  Vector<Scalar> resid;                               // n: y - D g, for the objective
  Index size = 0, chol_rows = 0, u_rows = 0, kmax = 0, ld = 0;

  // Row length of W and of the k-vectors: whole packets past the 3 columns the four-row kernel
  // reads beyond a row's diagonal.
  static Index padded(Index k) {
    constexpr Index q = cd_kernels::kP;
    return (k + 3 + q - 1) / q * q;
  }
  CdWorkspace(Index n, Index m, Index kmax_, Index block)
      : r(m),
        viol(m),
        active(kmax_),
        winv(Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>::Zero(
            kmax_, padded(kmax_))),
        gs(Vector<double>::Zero(padded(kmax_))),
        cs(Vector<double>::Zero(padded(kmax_))),
        lam(Vector<double>::Zero(padded(kmax_))),
        x(Vector<double>::Zero(padded(kmax_))),
        y(Vector<double>::Zero(padded(kmax_))),
        u(Vector<double>::Zero(padded(kmax_))),
        sign(kmax_),
        coef(kmax_),
        cblock(m, block),
        resid(n),
        kmax(kmax_),
        ld(padded(kmax_)) {}
};

template <class Scalar>
class CoordinateDescent {
 public:
  static constexpr int kAddPerScreen = 8;

  /// `screen` is the caller's buffer for the screening thresholds (resized only when its size
  /// differs, so a solver object reuses it).
  CoordinateDescent(const Matrix<Scalar>& gram, const Vector<Scalar>& lambdas, bool nonnegative,
                    Scalar tolerance, int max_sweeps, Vector<Scalar>& screen)
      : G_(gram),
        lam_(lambdas),
        screen_lam_(screen),
        nonneg_(nonnegative),
        tol_(tolerance),
        max_sweeps_(max_sweeps) {
    screen_lam_.resize(lam_.size());
    // An atom of zero norm can never enter: its screening threshold is +infinity.
    for (Index j = 0; j < lam_.size(); ++j)
      screen_lam_(j) = G_(j, j) > Scalar(0) ? lam_(j) : std::numeric_limits<Scalar>::infinity();
  }

  /// Solves one signal in place: g holds the warm start on entry (`warm`; else g = 0) and the
  /// solution on exit. Returns the iterations: screening passes plus exact solves.
  template <class CV, class GV>
  int solve(const CV& c, GV g, CdWorkspace<Scalar>& w, bool& converged, bool warm = true) const {
    const Index m = G_.rows();
    // The KKT tolerance: the contract's tolerance, absolute below ||c||_inf = 1 (so it scales
    // with the data as the caller scales it), never below the rounding of r.
    const double cmax = double(c.cwiseAbs().maxCoeff());
    const double kkt = std::max(double(tol_) * std::max(1.0, cmax),
                                20.0 * std::numeric_limits<Scalar>::epsilon() * cmax);
    w.size = 0;
    w.chol_rows = 0;
    w.u_rows = 0;
    for (Index j = 0; warm && j < m; ++j)
      if (g(j) != Scalar(0)) {
        if (!(G_(j, j) > Scalar(0)) || w.size == w.kmax) {
          g(j) = Scalar(0);  // a zero atom keeps a zero coefficient; capacity: see the driver
          continue;
        }
        add(w, c, j, double(g(j)));
      }
    converged = false;
    int iterations = 0;
    bool exact = w.size == 0 || polish_all(w, g, iterations);
    // Anti-cycling. In exact arithmetic every screening and solve lowers the objective, so S
    // never repeats; in float, an atom within ~1e-3 rad of span(S) is judged dependent by the
    // float Gram, its null step is not quite one (D v != 0), and the solves can return to the same
    // S and signs, hence to the same solution and violators, for ever (seen: the two worst
    // violators entering together, the second "dependent", both stepped out again). After a
    // round that returns to its S, only the worst violator enters; if that returns too, stop.
    int limit = kAddPerScreen;
    while (exact && iterations < max_sweeps_) {
      ++iterations;
      full_residual(c, w);
      const std::uint64_t before = signature(w);
      const Index added = screen(c, w, kkt, limit);
      if (added == 0) {
        converged = true;
        break;
      }
      if (added < 0) break;  // violators remain but the working set is full: not converged
      exact = polish_all(w, g, iterations);
      if (exact && signature(w) == before) {
        if (limit == 1) break;  // stuck at the rounding level: not converged
        limit = 1;
      } else {
        limit = kAddPerScreen;
      }
    }
    for (Index a = 0; a < w.size; ++a) g(w.active(a)) = Scalar(w.gs(a));
    return iterations;
  }

 private:
  // Soft thresholding S_lam(z), branch-free.
  static double shrink1(double z, double lam, bool nonneg) {
    const double up = std::max(z - lam, 0.0);
    return nonneg ? up : up + std::min(z + lam, 0.0);
  }
  static int lowest_bit(std::uint32_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(x);
#else
    int b = 0;
    while (!(x & 1u)) x >>= 1, ++b;
    return b;
#endif
  }
  // S with its signs, as an order-independent hash (splitmix64 of each atom and sign, summed).
  static std::uint64_t signature(const CdWorkspace<Scalar>& w) {
    std::uint64_t h = 0;
    for (Index a = 0; a < w.size; ++a) {
      std::uint64_t z = std::uint64_t(w.active(a)) * 2 + (w.gs(a) > 0) + 0x9e3779b97f4a7c15ull;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      h += z ^ (z >> 31);
    }
    return h;
  }
  // Branch-free: the signs of fresh solutions are unpredictable.
  static signed char sgn(double v) {
    return static_cast<signed char>(int(v > 0) - int(v < 0));
  }

  // Appends atom j to S with coefficient gj (its row of the factor is computed by `factor`).
  template <class CV>
  void add(CdWorkspace<Scalar>& w, const CV& c, Index j, double gj) const {
    const Index k = w.size;
    w.active(k) = int(j);
    w.lam(k) = double(lam_(j));
    w.cs(k) = double(c(j));
    w.gs(k) = gj;
    w.sign(k) = sgn(gj);
    w.size = k + 1;
  }

  // Removes position p from S (its coefficient becomes 0) and downdates W in O(k^2), never
  // refactoring: with H = W without its column w_p, G'^{-1} = H^T (I - w_p w_p^T / |w_p|^2) H.
  // Givens rotations of rows (i, i+1), i = p.., move w_p into the last row, which is dropped;
  // the rows left are lower triangular again (row i now reaches column i).
  template <class GV>
  static void remove_at(CdWorkspace<Scalar>& w, GV& g, Index p) {
    const Index k = w.size;
    g(w.active(p)) = Scalar(0);
    const double bp = w.cs(p) - w.lam(p) * double(w.sign(p));  // b_p, in the signs of u
    for (Index a = p; a + 1 < k; ++a) {
      w.active(a) = w.active(a + 1);
      w.gs(a) = w.gs(a + 1);
      w.cs(a) = w.cs(a + 1);
      w.lam(a) = w.lam(a + 1);
      w.sign(a) = w.sign(a + 1);
    }
    w.size = k - 1;
    const Index n = w.chol_rows;
    if (p >= n) return;
    auto& W = w.winv;
    double* t = w.x.data();  // w_p, rows p..n-1
    // u = W b follows W: H b' = W b - w_p b_p, then the same rotations; rows valid as far as
    // the rows they mix were.
    const bool move_u = w.u_rows > p;
    for (Index i = p; i < n; ++i) {
      double* row = W.row(i).data();
      t[i] = row[p];
      std::copy(row + p + 1, row + i + 1, row + p);  // drop column p
      row[i] = 0;
      if (move_u && i < w.u_rows) w.u(i) -= t[i] * bp;
    }
    for (Index i = p; i + 1 < n; ++i) {
      const double a = t[i], b = t[i + 1];
      const double rr = std::sqrt(a * a + b * b);
      t[i + 1] = rr;
      if (rr == 0) continue;
      const double c = b / rr, s = a / rr;
      if (move_u && i + 1 < w.u_rows) {
        const double ui = w.u(i), vi = w.u(i + 1);
        w.u(i) = c * ui - s * vi;
        w.u(i + 1) = s * ui + c * vi;
      }
      // Whole packets: both rows are zero right of column i + 1 (up to ld).
      using cd_kernels::Packet;
      using namespace Eigen::internal;
      double* u = W.row(i).data();
      double* v = W.row(i + 1).data();
      const Packet cp = pset1<Packet>(c), sp = pset1<Packet>(s);
      for (Index col = 0; col <= i; col += cd_kernels::kP) {
        const Packet ui = ploadu<Packet>(u + col), vi = ploadu<Packet>(v + col);
        pstoreu(u + col, psub(pmul(cp, ui), pmul(sp, vi)));
        pstoreu(v + col, pmadd(sp, ui, pmul(cp, vi)));
      }
    }
    W.row(n - 1).head(n).setZero();
    w.chol_rows = n - 1;
    if (move_u) w.u_rows = std::min(w.u_rows, n) - 1;
  }

  // r = c - G_:S g_S over all atoms, and the violations |r_j| - lambda_j (r_j - lambda_j if
  // nonnegative): chunks of eight packets of r stay in registers over the columns of S (eight
  // independent FMA chains hide the FMA's latency; chunks of four measured 2-5% slower overall
  // at 5-25 atoms, AVX2 and AVX-512).
  template <class CV>
  void full_residual(const CV& c, CdWorkspace<Scalar>& w) const {
    using namespace Eigen::internal;
    using SPacket = typename packet_traits<Scalar>::type;
    constexpr Index P = packet_traits<Scalar>::size;
    const Index m = G_.rows(), k = w.size;
    for (Index a = 0; a < k; ++a) w.coef(a) = Scalar(-w.gs(a));
    const Scalar* G = G_.data();
    const Scalar* cc = c.data();
    const Scalar* coef = w.coef.data();
    const Scalar* sl = screen_lam_.data();
    const int* act = w.active.data();
    Scalar* r = w.r.data();
    Scalar* v = w.viol.data();
    auto finish = [&](Index i, SPacket ri) {
      pstoreu(r + i, ri);
      pstoreu(v + i, psub(nonneg_ ? ri : pabs(ri), ploadu<SPacket>(sl + i)));
    };
    Index i = 0;
    constexpr int NP = 8;
    for (; i + NP * P <= m; i += NP * P) {
      SPacket acc[NP];
      for (int t = 0; t < NP; ++t) acc[t] = ploadu<SPacket>(cc + i + t * P);
      for (Index a = 0; a < k; ++a) {
        const Scalar* col = G + Index(act[a]) * m + i;
        const SPacket ga = pset1<SPacket>(coef[a]);
        for (int t = 0; t < NP; ++t) acc[t] = pmadd(ploadu<SPacket>(col + t * P), ga, acc[t]);
      }
      for (int t = 0; t < NP; ++t) finish(i + t * P, acc[t]);
    }
    for (; i + P <= m; i += P) {
      SPacket r0 = ploadu<SPacket>(cc + i);
      for (Index a = 0; a < k; ++a)
        r0 = pmadd(ploadu<SPacket>(G + Index(act[a]) * m + i), pset1<SPacket>(coef[a]), r0);
      finish(i, r0);
    }
    for (; i < m; ++i) {
      Scalar ri = cc[i];
      for (Index a = 0; a < k; ++a) ri += G[Index(act[a]) * m + i] * coef[a];
      r[i] = ri;
      v[i] = (nonneg_ ? ri : std::abs(ri)) - sl[i];
    }
  }

  // Finds the (at most kAddPerScreen) atoms outside S violating the KKT conditions most and
  // lets the first `limit` of them enter by one coordinate update (in order of violation, each
  // seeing the updates before it); an atom whose update is zero stays out. Returns the number of
  // violators found (0: the KKT conditions hold), or -1 when there are violators but S is full.
  template <class CV>
  Index screen(const CV& c, CdWorkspace<Scalar>& w, double kkt, int limit) const {
    const Index m = G_.rows();
    for (Index a = 0; a < w.size; ++a)
      w.viol(w.active(a)) = -std::numeric_limits<Scalar>::infinity();
    // Top-kAddPerScreen selection; whole packets at or below the cut are skipped.
    using Packet = typename Eigen::internal::packet_traits<Scalar>::type;
    constexpr Index P = Eigen::internal::packet_traits<Scalar>::size;
    constexpr int K = kAddPerScreen;
    Scalar best[K];
    Index idx[K];
    int nb = 0;
    Scalar cut = Scalar(kkt);
    const Scalar* v = w.viol.data();
    const Index np = m / P;
    // A first cut: the lanes of A packets of running maxima (A P >= K) hold A P distinct
    // elements, so the K-th largest lane maximum is at most the K-th largest violation; the
    // selection below then inserts only elements at or above it. All lanes (and the tail) at or
    // below the tolerance: no violator.
    constexpr int A = (K + int(P) - 1) / int(P);
    if (m >= A * P) {
      Packet acc[A];
      for (int t = 0; t < A; ++t) acc[t] = Eigen::internal::ploadu<Packet>(v + t * P);
      Index q = A * P;
      for (; q + A * P <= m; q += A * P)
        for (int t = 0; t < A; ++t)
          acc[t] = Eigen::internal::pmax(acc[t], Eigen::internal::ploadu<Packet>(v + q + t * P));
      Scalar lanes[A * P];
      Scalar top = -std::numeric_limits<Scalar>::infinity();
      for (int t = 0; t < A; ++t) {
        Eigen::internal::pstoreu(lanes + t * P, acc[t]);
        top = std::max(top, Eigen::internal::predux_max(acc[t]));
      }
      for (; q < m; ++q) top = std::max(top, v[q]);
      if (!(top > cut)) return 0;
      Scalar kth;
      if constexpr (A * P == K) {  // K lanes: the K-th largest is the smallest
        kth = lanes[0];
        for (int t = 1; t < K; ++t) kth = std::min(kth, lanes[t]);
      } else {
        std::nth_element(lanes, lanes + (K - 1), lanes + A * P, std::greater<Scalar>());
        kth = lanes[K - 1];
      }
      if (kth > cut) cut = std::nextafter(kth, -std::numeric_limits<Scalar>::infinity());
    }
    auto consider = [&](Index j) {
      const Scalar vj = v[j];
      if (!(vj > cut)) return;
      int pos = nb < K ? nb++ : K - 1;
      while (pos > 0 && best[pos - 1] < vj) {
        best[pos] = best[pos - 1];
        idx[pos] = idx[pos - 1];
        --pos;
      }
      best[pos] = vj;
      idx[pos] = j;
      if (nb == K) cut = best[K - 1];
    };
    // Per packet: a bit mask of the lanes above the cut (no branch per element), then only those.
    for (Index q = 0; q < np; ++q) {
      std::uint32_t mask = cd_kernels::greater_mask(v + q * P, cut);
      for (; mask != 0; mask &= mask - 1) consider(q * P + lowest_bit(mask));
    }
    for (Index j = np * P; j < m; ++j) consider(j);
    if (nb == 0) return 0;
    if (w.size == w.kmax) return -1;
    const int take = int(std::min<Index>(std::min(nb, limit), w.kmax - w.size));
    // Coordinate updates of the entering atoms: g_j = S_lambda(r_j) / G_jj, where r_j already
    // includes the updates of the atoms that entered before it in this pass.
    const Index k0 = w.size;
    for (int i = 0; i < take; ++i) {
      const Index j = idx[i];
      double rj = double(w.r(j));
      for (Index a = k0; a < w.size; ++a) rj -= double(G_(w.active(a), j)) * w.gs(a);
      const double gj = shrink1(rj, double(lam_(j)), nonneg_) / double(G_(j, j));
      if (gj != 0) add(w, c, j, gj);
    }
    return std::max<Index>(take, 1);
  }

  // Extends W = L^{-1} (L L^T = G_SS) to all of S, one row per atom (the inverse Cholesky
  // update of Batch-OMP, Rubinstein, Zibulevsky, Elad 2008): with g = G_{<a,a},
  //   l = W_{<a} g,  L_aa = sqrt(G_aa - ||l||^2),  W_{a,<a} = -(W_{<a}^T l)^T / L_aa,
  //   W_aa = 1 / L_aa;
  // two matrix-vector products each (vectorized, no substitution chains). Returns -1 on
  // success, else the position a of the first atom that depends (numerically) linearly on the
  // atoms before it; then x holds l.
  Index factor(CdWorkspace<Scalar>& w) const {
    for (Index a = w.chol_rows; a < w.size; ++a) {
      const Scalar* gcol = G_.col(w.active(a)).data();
      for (Index b = 0; b < a; ++b) w.y(b) = double(gcol[w.active(b)]);
      lower_times(w, a, w.y.data(), w.x.data());  // l = W_{<a} g
      const double gaa = double(gcol[w.active(a)]);
      const double d = gaa - w.x.head(a).squaredNorm();
      if (!(d > pivot_tol_ * gaa)) return a;
      const double inv = 1.0 / std::sqrt(d);
      lower_transpose_times(w, a, w.x.data(), w.y.data());  // W_{<a}^T l
      w.winv.row(a).head(a) = -inv * w.y.head(a).transpose();
      w.winv(a, a) = inv;
      w.chol_rows = a + 1;
    }
    return -1;
  }

  // Products with the leading k x k block of W (lower triangular, row-major), in packets.
  // out = W_k v (row dots).
  static void lower_times(const CdWorkspace<Scalar>& w, Index k, const double* v, double* out) {
    cd_kernels::lower_times(w.winv.data(), w.ld, 0, k, v, out);
  }
  // out = W_k^T v (row axpys).
  static void lower_transpose_times(const CdWorkspace<Scalar>& w, Index k, const double* v,
                                    double* out) {
    cd_kernels::lower_transpose_times(w.winv.data(), w.ld, k, v, out);
  }

  // Atom a of S lies in the span of atoms 0..a-1: D v = 0 for v = (z, -1), G_{<a,<a} z = G_{<a,a}.
  // Moving g along +-v leaves D g unchanged and changes the l1 term linearly; go the way it does
  // not increase, to the first coefficient that reaches zero. Returns that position.
  Index null_step(CdWorkspace<Scalar>& w, Index a) const {
    // z = G_{<a,<a}^{-1} G_{<a,a} = W_{<a}^T l (`factor` left l = W_{<a} G_{<a,a} in x).
    lower_transpose_times(w, a, w.x.data(), w.y.data());
    w.x.head(a) = w.y.head(a);
    w.x(a) = -1;
    double phi = 0;
    for (Index b = 0; b <= a; ++b) phi += w.lam(b) * double(w.sign(b)) * w.x(b);
    const double dir = phi > 0 ? -1.0 : 1.0;
    double t = std::numeric_limits<double>::infinity();
    Index hit = a;
    for (Index b = 0; b <= a; ++b) {
      const double vb = dir * w.x(b);
      if (double(w.sign(b)) * vb < 0) {
        const double tb = -w.gs(b) / vb;
        if (tb < t) {
          t = tb;
          hit = b;
        }
      }
    }
    if (std::isfinite(t))
      for (Index b = 0; b <= a; ++b) w.gs(b) += t * dir * w.x(b);
    return hit;
  }

  // Exact solves on S until the signs agree (see the header comment); each failed solve zeroes
  // and removes one atom. Counts one iteration per solve; false if max_iterations ran out.
  template <class GV>
  bool polish_all(CdWorkspace<Scalar>& w, GV& g, int& iterations) const {
    while (w.size > 0) {
      if (iterations >= max_sweeps_) return false;
      ++iterations;
      for (Index a = 0; a < w.size; ++a) {
        const signed char s = sgn(w.gs(a));
        if (s != w.sign(a) && a < w.u_rows) w.u_rows = a;  // u was made with the old sign
        w.sign(a) = s;
      }
      const Index dependent = factor(w);
      Index drop;
      if (dependent >= 0) {
        drop = null_step(w, dependent);
      } else {
        drop = solve_signs(w);
        if (drop < 0) return true;
      }
      remove_at(w, g, drop);
      for (Index a = w.size - 1; a >= 0; --a)  // coefficients rounded to zero leave too
        if (w.gs(a) == 0) remove_at(w, g, a);
    }
    return true;
  }

  // x = G_SS^{-1}(c_S - lambda_S s_S). If sign(x) = s, g_S <- x and returns -1; else takes the
  // feature-sign step from g to the first sign change and returns the atom that reached zero.
  Index solve_signs(CdWorkspace<Scalar>& w) const {
    const Index k = w.size;
    for (Index a = 0; a < k; ++a) w.y(a) = w.cs(a) - w.lam(a) * double(w.sign(a));
    // u = L^{-1} (c_S - lambda_S s_S): the rows not kept.
    cd_kernels::lower_times(w.winv.data(), w.ld, w.u_rows, k, w.y.data(), w.u.data());
    w.u_rows = k;
    lower_transpose_times(w, k, w.u.data(), w.y.data());  // x = L^{-T} u
    double* x = w.y.data();
    // Largest step theta in (0, 1] from g towards x that keeps every sign.
    double theta = 1;
    Index blocker = -1;
    for (Index a = 0; a < k; ++a) {
      if (sgn(x[a]) != w.sign(a)) {
        const double ga = w.gs(a);
        const double th = ga / (ga - x[a]);
        if (th < theta) {
          theta = th;
          blocker = a;
        }
      }
    }
    if (blocker < 0) {
      w.gs.head(k) = w.y.head(k);
      for (Index a = 0; a < k; ++a)
        if (sgn(w.gs(a)) != w.sign(a)) return a;  // rounded to zero
      return -1;
    }
    w.gs.head(k) += theta * (w.y.head(k) - w.gs.head(k));
    return blocker;
  }

  const Matrix<Scalar>& G_;
  const Vector<Scalar>& lam_;
  Vector<Scalar>& screen_lam_;
  // Relative pivot below which an atom counts as linearly dependent on the ones before it.
  double pivot_tol_ = std::max(1e-10, 100.0 * double(std::numeric_limits<Scalar>::epsilon()));
  bool nonneg_;
  Scalar tol_;
  int max_sweeps_;
};

/// The batch driver: blocks of signals in parallel, each with its C = D^T Y_blk by one small
/// GEMM into the thread's buffer. Holds the per-thread workspaces and per-signal state across
/// solves (LassoSolver), reallocating only when the shape grows.
template <class Scalar>
class CoordinateDescentBatch {
 public:
  static constexpr Index kBlock = 64;  // signals per block: C_blk is m x 64 (128 KiB for m = 256)

  /// Solves every column of Y into the same column of `code` (its warm start when `warm`) with
  /// the atoms A (n x m) and their Gram matrix G = A^T A (the dictionary's cache, or a learner's
  /// own while its atoms change).
  void run(const Matrix<Scalar>& A, const Matrix<Scalar>& G,
           const Eigen::Ref<const Matrix<Scalar>>& Y, const LassoParams<Scalar>& p, bool warm,
           Eigen::Ref<Matrix<Scalar>> code, PursuitStats<Scalar>& st) {
    const Index m = A.cols(), n = A.rows(), B = Y.cols();
    p.lambda_vector_into(m, lam_);
    // A Lasso solution has at most n nonzeros (generically); the working set may briefly hold
    // more.
    Index kmax = std::max<Index>(2 * n, 64) + CoordinateDescent<Scalar>::kAddPerScreen;
    if (warm)
      kmax = std::max<Index>(kmax, (code.array() != Scalar(0)).colwise().count().maxCoeff());
    kmax = std::min(m, kmax);
    const Index blocks = (B + kBlock - 1) / kBlock;
    const int threads = std::max(1, int(std::min<Index>(max_threads(), blocks)));
    const Index block = std::min(kBlock, B);
    if (Index(work_.size()) < threads || n != n_ || m != m_ || kmax > kmax_ || block > block_) {
      work_.clear();
      work_.reserve(std::size_t(threads));
      for (int t = 0; t < threads; ++t) work_.emplace_back(n, m, kmax, block);
      n_ = n;
      m_ = m;
      kmax_ = kmax;
      block_ = block;
    }
    if (objs_.size() != B) objs_.resize(B);
    st.signal_iterations.resize(B);
    st.signal_converged.resize(B);
    Eigen::VectorXi& sweeps = st.signal_iterations;
    Eigen::Array<bool, Eigen::Dynamic, 1>& conv = st.signal_converged;
    auto solve_blocks = [&](int cap) {
      const CoordinateDescent<Scalar> cd(G, lam_, p.nonnegative, p.tolerance, cap, screen_);
      NoMallocScope guard;
      parallel_for(
          blocks, threads,
          [&](Index blk) {
            const Index b0 = blk * kBlock, nb = std::min(kBlock, B - b0);
            CdWorkspace<Scalar>& w = work_[thread_id()];
            bool any = false;
            for (Index b = b0; b < b0 + nb; ++b) any = any || !conv(b);
            if (!any) return;  // final already (with a callback: converged in an earlier round)
            gemm<Scalar>(A.data(), A.rows(), true, Y.data() + b0 * Y.outerStride(), Y.outerStride(),
                         w.cblock.data(), w.cblock.rows(), m, nb, n, false);
            for (Index b = b0; b < b0 + nb; ++b) {
              if (conv(b)) continue;
              auto g = code.col(b);
              if (!warm) g.setZero();
              bool ok = false;
              sweeps(b) = cd.solve(w.cblock.col(b - b0), g, w, ok, warm);
              conv(b) = ok;
              // The objective from the support S (solve leaves it in w.active): r = y - D_S g_S.
              w.resid = Y.col(b);
              double l1 = 0;
              for (Index a = 0; a < w.size; ++a) {
                const Index j = w.active(a);
                w.resid.noalias() -= A.col(j) * g(j);
                l1 += double(lam_(j)) * std::abs(double(g(j)));
              }
              objs_(b) = 0.5 * double(w.resid.squaredNorm()) + l1;
            }
          },
          Schedule::Dynamic);
    };
    conv.setZero();
    if (!p.callback) {
      solve_blocks(p.max_iterations);
    } else {
      // Coordinate descent solves each signal on its own, so the batch has no common iterate:
      // with a callback, round k re-solves the signals not yet converged from their start with a
      // cap of k iterations, and the callback sees that iterate's objective (cost ~ k^2 / 2
      // iterations). The start of a warm solve is kept aside for the re-solves.
      if (warm) start_ = code;
      for (int k = 1; k <= p.max_iterations; ++k) {
        if (warm && k > 1)
          for (Index b = 0; b < B; ++b)
            if (!conv(b)) code.col(b) = start_.col(b);
        solve_blocks(k);
        if (!p.callback(k, Scalar(objs_.sum())) || conv.all()) break;
      }
    }
    st.summarize();
    st.objective = Scalar(objs_.sum());
  }

 private:
  Vector<Scalar> lam_, screen_;
  std::vector<CdWorkspace<Scalar>> work_;
  Index n_ = -1, m_ = -1, kmax_ = -1, block_ = -1;
  Vector<double> objs_;  // per signal: 0.5||y - D g||^2 + sum lambda_j |g_j|
  Matrix<Scalar> start_;
};

}  // namespace mlcsc::internal
