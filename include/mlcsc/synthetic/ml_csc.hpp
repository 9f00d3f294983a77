// mlcsc: a seeded, reproducible generator of ML-CSC signals (dense and convolutional).
//
// The construction follows the papers' synthetic experiments in spirit (Papyan, Romano, Elad,
// JMLR 2017; Sulam et al. 2018): sparse, non-negative, unit-norm dictionaries, so that a deepest
// code Gamma_L with few nonzeros per stripe propagates to codes Gamma_l = D_{l+1} Gamma_{l+1}
// that are sparse too (each nonzero spreads to at most `atom_nnz` coefficients), and non-negative
// codes, consistent with ReLU / NonnegSoft pursuits. The exact parameters of the papers'
// experiments are not known to us; these are ours.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "../conv/conv_dictionary.hpp"
#include "../core/errors.hpp"
#include "../core/feature_maps.hpp"
#include "../dense/dictionary.hpp"
#include "../multilayer/multi_layer.hpp"
#include "../theory/stripe.hpp"

namespace mlcsc::synthetic {

/// A generated model: the dictionaries (first = D_1), the true codes (element l = Gamma_{l+1}),
/// the clean signal X = D_1 Gamma_1, the noise E and the noisy signal Y = X + E.
template <class Op>
struct Sample {
  std::vector<Op> dictionaries;
  std::vector<typename Op::Code> codes;
  typename Op::Signal clean, noise, noisy;
};

/// Specification of a convolutional ML-CSC model on H x W signals with `channels` channels.
template <class Scalar>
struct ConvSpec {
  Index channels = 1, height = 48, width = 48;
  std::vector<Index> filters{8, 12};  ///< K_l, one entry per layer (the depth)
  std::vector<Index> kernel{5, 3};    ///< odd square kernel size of each layer
  std::vector<Index> atom_nnz{3, 2};  ///< nonzeros per filter (over channels and taps); 0: dense
  bool nonnegative = true;            ///< non-negative filters and codes (so ReLU-consistent)
  Boundary boundary = Boundary::Zero;
  Index stripe_sparsity = 2;  ///< ||Gamma_L||_{0,inf} is at most this (and typically equal)
  /// Optional limits on the propagated codes: element l bounds the stripe sparsity of
  /// Gamma_{l+1} under D_{l+1} (0: no limit); empty: only Gamma_L is bounded. This is how a model
  /// is made to meet a guarantee at every layer (theory/multilayer_bounds.hpp).
  std::vector<Index> layer_stripe_sparsity;
  double fill = 1.0;  ///< placement attempts per pixel of Gamma_L (density knob)
  Scalar min_amplitude = Scalar(1), max_amplitude = Scalar(2);  ///< |Gamma_L| in [min, max]
  unsigned seed = 1;
  /// Spread-out sparse filters (used when atom_nnz[l] > 0): the taps of every filter are placed
  /// greedily, at random, so that two atoms (any two filters at any shift, or one filter at a
  /// nonzero shift) share at most `max_overlap` taps, and all taps of a filter are equal (sign
  /// random unless nonnegative). Then mu(D_l) <= max_overlap / atom_nnz[l], the low coherence the
  /// theorems need. When no such filter is found (too many filters for the kernel), the overlap
  /// allowed for that filter grows by one: check mutual_coherence.
  bool spread = false;
  Index max_overlap = 1;
};

/// Specification of a dense ML model: sizes n = sizes[0], m_l = sizes[l].
template <class Scalar>
struct DenseSpec {
  std::vector<Index> sizes{64, 128, 96};  ///< n, m_1, ..., m_L
  std::vector<Index> atom_nnz{0, 2};      ///< nonzeros per atom (0: dense Gaussian atoms)
  bool nonnegative = false;               ///< non-negative sparse atoms and codes
  Index nonzeros = 2;                     ///< ||Gamma_L||_0 of every signal
  Index batch = 1;                        ///< number of signals (columns)
  Scalar min_amplitude = Scalar(1), max_amplitude = Scalar(2);
  unsigned seed = 1;
};

namespace detail {
template <class Scalar>
Scalar amplitude(std::mt19937& g, Scalar lo, Scalar hi, bool nonneg) {
  const Scalar a = Scalar(std::uniform_real_distribution<double>(double(lo), double(hi))(g));
  return nonneg || std::bernoulli_distribution(0.5)(g) ? a : -a;
}
}  // namespace detail

namespace detail {
// Taps (c, u, v) of spread-out filters: filter f's tap set shares at most `max_overlap` taps with
// any shift of any earlier set or of itself (nonzero shift). Randomized greedy, seeded by g.
inline std::vector<std::vector<Index>> spread_taps(Index K, Index C, Index k, Index nnz,
                                                   Index max_overlap, std::mt19937& g) {
  const Index taps = C * k * k, span = 2 * k - 1;
  std::vector<std::vector<Index>> sets;
  std::vector<Index> order(static_cast<size_t>(taps)), count(static_cast<size_t>(span * span));
  // max over shifts of the number of tap pairs (a in A, b in B, same channel) with b - a = shift
  auto overlap = [&](const std::vector<Index>& A, const std::vector<Index>& B, bool self) {
    std::fill(count.begin(), count.end(), 0);
    Index best = 0;
    for (Index a : A)
      for (Index b : B) {
        if (a / (k * k) != b / (k * k) || (self && a == b)) continue;
        const Index du = (b % (k * k)) / k - (a % (k * k)) / k + k - 1,
                    dv = (b % k) - (a % k) + k - 1;
        best = std::max(best, ++count[size_t(du * span + dv)]);
      }
    return best;
  };
  for (Index f = 0; f < K; ++f) {
    std::vector<Index> T;
    for (Index allowed = max_overlap; T.size() < size_t(nnz); ++allowed) {
      for (int attempt = 0; attempt < 200 && T.size() < size_t(nnz); ++attempt) {
        T.clear();
        for (Index t = 0; t < taps; ++t) order[size_t(t)] = t;
        std::shuffle(order.begin(), order.end(), g);
        for (Index t : order) {
          if (T.size() == size_t(nnz)) break;
          T.push_back(t);
          bool ok = overlap(T, T, true) <= allowed;
          for (size_t j = 0; ok && j < sets.size(); ++j) ok = overlap(T, sets[j], false) <= allowed;
          if (!ok) T.pop_back();
        }
      }
    }
    sets.push_back(T);
  }
  return sets;
}
}  // namespace detail

/// Random unit-norm convolutional dictionaries of `spec` (each filter: `atom_nnz` random taps,
/// uniform in [0.5, 1] (signed at random unless nonnegative); or Gaussian when atom_nnz is 0).
template <class Scalar>
std::vector<ConvDictionary<Scalar>> conv_dictionaries(const ConvSpec<Scalar>& spec) {
  const size_t L = spec.filters.size();
  if (L == 0 || spec.kernel.size() != L || spec.atom_nnz.size() != L)
    internal::throw_invalid(
        "synthetic::conv_dictionaries: 'filters', 'kernel' and 'atom_nnz' must "
        "have the same non-zero length, got ",
        spec.filters.size(), ", ", spec.kernel.size(), ", ", spec.atom_nnz.size());
  std::mt19937 g(spec.seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<ConvDictionary<Scalar>> out;
  Index C = spec.channels;
  for (size_t l = 0; l < L; ++l) {
    const Index K = spec.filters[l], k = spec.kernel[l];
    if (K < 1 || k < 1 || k % 2 == 0 || C < 1)
      internal::throw_invalid("synthetic::conv_dictionaries: layer ", l,
                              " needs >= 1 filters and an odd kernel, got ", K, " and ", k);
    ConvDictionary<Scalar> D(K, C, k, k, spec.boundary);
    const Index taps = C * k * k;
    const Index nnz = spec.atom_nnz[l] == 0 ? taps : std::min(spec.atom_nnz[l], taps);
    std::vector<Index> idx(static_cast<size_t>(taps));
    if (spec.spread && spec.atom_nnz[l] > 0) {
      const auto sets = detail::spread_taps(K, C, k, nnz, std::max<Index>(1, spec.max_overlap), g);
      for (Index f = 0; f < K; ++f)
        for (Index t : sets[size_t(f)]) {
          const Index c = t / (k * k), r = t % (k * k);
          D.filter(f, c)(r / k, r % k) =
              spec.nonnegative || std::bernoulli_distribution(0.5)(g) ? Scalar(1) : Scalar(-1);
        }
      D.normalize();
      out.push_back(std::move(D));
      C = K;
      continue;
    }
    for (Index f = 0; f < K; ++f) {
      for (Index t = 0; t < taps; ++t) idx[size_t(t)] = t;
      std::shuffle(idx.begin(), idx.end(), g);
      for (Index t = 0; t < nnz; ++t) {
        const Index c = idx[size_t(t)] / (k * k), r = idx[size_t(t)] % (k * k);
        Scalar v = spec.atom_nnz[l] == 0
                       ? Scalar(nd(g))
                       : detail::amplitude(g, Scalar(0.5), Scalar(1), spec.nonnegative);
        if (spec.atom_nnz[l] == 0 && spec.nonnegative) v = Scalar(std::abs(double(v)));
        D.filter(f, c)(r / k, r % k) = v;
      }
    }
    D.normalize();
    out.push_back(std::move(D));
    C = K;
  }
  return out;
}

namespace detail {
// Where a spike of Gamma_L in channel c lands in Gamma_l (l = L-1 .. 0 of `dicts`): synthesize
// puts d_{k,c'}[u,v] gamma_k[i,j] at x_{c'}[i + u - a, j + v - b]. One list of (di, dj, channel)
// per layer, without repeats (nonzeros; for signed filters a sum may cancel, so this is an upper
// bound of the nonzeros it makes).
struct Tap {
  Index di, dj, c;
  bool operator<(const Tap& o) const {
    return di != o.di ? di < o.di : (dj != o.dj ? dj < o.dj : c < o.c);
  }
  bool operator==(const Tap& o) const { return di == o.di && dj == o.dj && c == o.c; }
};

template <class Scalar>
std::vector<std::vector<Tap>> spike_footprints(const std::vector<ConvDictionary<Scalar>>& dicts,
                                               Index c) {
  const size_t L = dicts.size();
  std::vector<std::vector<Tap>> fp(L);
  fp[L - 1] = {Tap{0, 0, c}};
  for (size_t l = L - 1; l >= 1; --l) {
    const auto& D = dicts[l];
    const Index a = (D.kernel_height() - 1) / 2, b = (D.kernel_width() - 1) / 2;
    std::vector<Tap>& out = fp[l - 1];
    for (const Tap& t : fp[l])
      for (Index cc = 0; cc < D.channels(); ++cc)
        for (Index u = 0; u < D.kernel_height(); ++u)
          for (Index v = 0; v < D.kernel_width(); ++v)
            if (D.filter(t.c, cc)(u, v) != Scalar(0))
              out.push_back(Tap{t.di + u - a, t.dj + v - b, cc});
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return fp;
}

// Stripe counts of one layer's code, kept for every stripe window: window (i0, j0) holds the
// nonzeros of rows i0 .. i0+wh-1, columns j0 .. j0+ww-1 (wrapped, or clipped to the map).
class StripeCounter {
 public:
  StripeCounter(Index H, Index W, Index wh, Index ww, bool circular, Index limit)
      : H_(H), W_(W), circ_(circular), limit_(limit) {
    wh_ = circular ? std::min(wh, H) : wh;  // a wrapped window longer than the map is the map
    ww_ = circular ? std::min(ww, W) : ww;
    rows_ = circular ? H : H + wh_ - 1;  // zero boundary: top-left rows -(wh-1) .. H-1
    cols_ = circular ? W : W + ww_ - 1;
    count_.assign(size_t(rows_ * cols_), 0);
    delta_.assign(count_.size(), 0);
  }
  Index limit() const { return limit_; }
  /// Would adding nonzeros at `pos` (row-major pixel indices, repeated for several channels)
  /// keep every window at or below the limit?
  bool fits(const std::vector<Index>& pos) {
    touched_.clear();
    for (Index p : pos)
      visit(p, [&](size_t w) {
        if (delta_[w]++ == 0) touched_.push_back(w);
      });
    bool ok = true;
    for (size_t w : touched_) {
      ok = ok && count_[w] + delta_[w] <= limit_;
      delta_[w] = 0;
    }
    return ok;
  }
  void add(const std::vector<Index>& pos) {
    for (Index p : pos) visit(p, [&](size_t w) { ++count_[w]; });
  }

 private:
  template <class F>
  void visit(Index p, F&& f) const {
    const Index i = p / W_, j = p % W_;
    for (Index u = 0; u < wh_; ++u)
      for (Index v = 0; v < ww_; ++v) {
        Index i0 = i - u, j0 = j - v;
        if (circ_) {
          i0 = (i0 + H_) % H_;
          j0 = (j0 + W_) % W_;
        } else {
          i0 += wh_ - 1;
          j0 += ww_ - 1;
        }
        f(size_t(i0 * cols_ + j0));
      }
  }
  Index H_, W_, wh_ = 0, ww_ = 0, rows_ = 0, cols_ = 0;
  bool circ_;
  Index limit_;
  std::vector<int> count_, delta_;
  std::vector<size_t> touched_;
};
}  // namespace detail

/// A deepest code Gamma_L whose stripe sparsity is at most spec.stripe_sparsity under D_L and,
/// for every layer l with spec.layer_stripe_sparsity[l] > 0, whose propagated code Gamma_{l+1}
/// has stripe sparsity at most that under D_{l+1}: random positions (spec.fill * H * W attempts)
/// are accepted while no stripe window of any bounded layer would exceed its limit.
template <class Scalar>
FeatureMaps<Scalar> conv_deepest_code(const std::vector<ConvDictionary<Scalar>>& dicts,
                                      const ConvSpec<Scalar>& spec, std::mt19937& g) {
  const size_t L = dicts.size();
  const ConvDictionary<Scalar>& DL = dicts[L - 1];
  const Index K = DL.num_filters(), H = spec.height, W = spec.width;
  const bool circ = spec.boundary == Boundary::Circular;
  if (spec.stripe_sparsity < 1 || !(spec.fill > 0))
    internal::throw_invalid(
        "synthetic::conv_sample: 'stripe_sparsity' must be >= 1 and 'fill' > 0, "
        "got ",
        spec.stripe_sparsity, " and ", spec.fill);
  if (!spec.layer_stripe_sparsity.empty() && spec.layer_stripe_sparsity.size() != L)
    internal::throw_invalid(
        "synthetic::conv_sample: 'layer_stripe_sparsity' must be empty or hold "
        "one limit per layer (",
        L, "), got ", spec.layer_stripe_sparsity.size());
  std::vector<size_t> bounded;  // layers with a limit, each with its counter
  std::vector<detail::StripeCounter> counters;
  for (size_t l = 0; l < L; ++l) {
    Index limit = l + 1 == L ? spec.stripe_sparsity : 0;
    if (!spec.layer_stripe_sparsity.empty() && spec.layer_stripe_sparsity[l] > 0)
      limit = l + 1 == L ? std::min(limit, spec.layer_stripe_sparsity[l])
                         : spec.layer_stripe_sparsity[l];
    if (limit <= 0) continue;
    bounded.push_back(l);
    counters.emplace_back(H, W, 2 * dicts[l].kernel_height() - 1, 2 * dicts[l].kernel_width() - 1,
                          circ, limit);
  }
  std::vector<std::vector<std::vector<detail::Tap>>> footprint(static_cast<size_t>(K));
  for (Index c = 0; c < K; ++c) footprint[size_t(c)] = detail::spike_footprints(dicts, c);

  FeatureMaps<Scalar> G(K, H, W);
  std::vector<std::vector<Index>> pos(bounded.size());
  std::uniform_int_distribution<Index> pixel(0, H * W - 1), ch(0, K - 1);
  const Index attempts = std::max<Index>(1, Index(spec.fill * double(H * W)));
  for (Index a = 0; a < attempts; ++a) {
    const Index p = pixel(g), c = ch(g), i = p / W, j = p % W;
    if (G.channel(c)(i, j) != Scalar(0)) continue;
    bool ok = true;
    for (size_t b = 0; b < bounded.size(); ++b) {
      pos[b].clear();
      for (const detail::Tap& t : footprint[size_t(c)][bounded[b]]) {
        Index r = i + t.di, q = j + t.dj;
        if (circ) {
          r = ((r % H) + H) % H;
          q = ((q % W) + W) % W;
        } else if (r < 0 || r >= H || q < 0 || q >= W) {
          continue;  // outside the map: the zero boundary drops it
        }
        pos[b].push_back(r * W + q);
      }
    }
    for (size_t b = 0; b < bounded.size() && ok; ++b) ok = counters[b].fits(pos[b]);
    if (!ok) continue;
    for (size_t b = 0; b < bounded.size(); ++b) counters[b].add(pos[b]);
    G.channel(c)(i, j) =
        detail::amplitude(g, spec.min_amplitude, spec.max_amplitude, spec.nonnegative);
  }
  if ((G.data().array() != Scalar(0)).count() == 0)
    internal::throw_invalid(
        "synthetic::conv_sample: no nonzero of Gamma_L fits the stripe "
        "limits (stripe_sparsity ",
        spec.stripe_sparsity, ", layer_stripe_sparsity and the filters' footprints) on ",
        internal::shape(H, W), "; raise a limit or the size");
  return G;
}

/// \brief A convolutional ML-CSC sample: dictionaries, Gamma_L of prescribed stripe sparsity,
/// the propagated Gamma_l = D_{l+1} Gamma_{l+1}, X = D_1 Gamma_1, and Gaussian noise E scaled to
/// the patch norm \f$ \|E\|^P_{2,\infty} = \f$ `noise_patch_norm` (patches of D_1's size; 0: no
/// noise). Reproducible: everything is drawn from spec.seed.
template <class Scalar>
Sample<ConvDictionary<Scalar>> conv_sample(const ConvSpec<Scalar>& spec, Scalar noise_patch_norm) {
  Sample<ConvDictionary<Scalar>> s;
  s.dictionaries = conv_dictionaries(spec);
  std::mt19937 g(spec.seed * 7919u + 17u);
  const size_t L = s.dictionaries.size();
  s.codes.resize(L);
  s.codes[L - 1] = conv_deepest_code(s.dictionaries, spec, g);
  for (size_t l = L - 1; l >= 1; --l) s.codes[l - 1] = s.dictionaries[l].synthesize(s.codes[l]);
  s.clean = s.dictionaries[0].synthesize(s.codes[0]);
  s.noise = FeatureMaps<Scalar>(s.clean.channels(), s.clean.height(), s.clean.width());
  if (noise_patch_norm > Scalar(0)) {
    std::normal_distribution<double> nd(0.0, 1.0);
    for (Index i = 0; i < s.noise.data().size(); ++i) s.noise.data()(i) = Scalar(nd(g));
    const auto& D1 = s.dictionaries[0];
    const Scalar pn = patch_norm(s.noise, D1.kernel_height(), D1.kernel_width(), spec.boundary);
    s.noise.data() *= noise_patch_norm / pn;
  }
  s.noisy = s.clean;
  s.noisy.data() += s.noise.data();
  return s;
}

/// \brief A dense ML sample: dictionaries D_l (sizes[l-1] x sizes[l], unit-norm atoms with
/// `atom_nnz` nonzeros, or Gaussian), Gamma_L with exactly `nonzeros` nonzeros per column,
/// propagated codes, X = D_1 Gamma_1, and Gaussian noise with \f$ \|E\|_2 = \f$ `noise_l2` per
/// column.
template <class Scalar>
Sample<Dictionary<Scalar>> dense_sample(const DenseSpec<Scalar>& spec, Scalar noise_l2) {
  const size_t L = spec.sizes.size() < 2 ? 0 : spec.sizes.size() - 1;
  if (L == 0 || spec.atom_nnz.size() != L)
    internal::throw_invalid(
        "synthetic::dense_sample: 'sizes' must hold n and at least one m_l, "
        "and 'atom_nnz' one entry per layer; got ",
        spec.sizes.size(), " and ", spec.atom_nnz.size());
  std::mt19937 g(spec.seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  Sample<Dictionary<Scalar>> s;
  for (size_t l = 0; l < L; ++l) {
    const Index n = spec.sizes[l], m = spec.sizes[l + 1];
    Matrix<Scalar> A = Matrix<Scalar>::Zero(n, m);
    std::vector<Index> idx(static_cast<size_t>(n));
    for (Index j = 0; j < m; ++j) {
      if (spec.atom_nnz[l] == 0) {
        for (Index i = 0; i < n; ++i)
          A(i, j) = spec.nonnegative ? Scalar(std::abs(nd(g))) : Scalar(nd(g));
      } else {
        for (Index i = 0; i < n; ++i) idx[size_t(i)] = i;
        std::shuffle(idx.begin(), idx.end(), g);
        for (Index t = 0; t < std::min(spec.atom_nnz[l], n); ++t)
          A(idx[size_t(t)], j) = detail::amplitude(g, Scalar(0.5), Scalar(1), spec.nonnegative);
      }
    }
    Dictionary<Scalar> D(A);
    D.normalize();
    s.dictionaries.push_back(std::move(D));
  }
  const Index mL = spec.sizes.back(), B = spec.batch;
  Matrix<Scalar> G = Matrix<Scalar>::Zero(mL, B);
  std::vector<Index> idx(static_cast<size_t>(mL));
  for (Index b = 0; b < B; ++b) {
    for (Index i = 0; i < mL; ++i) idx[size_t(i)] = i;
    std::shuffle(idx.begin(), idx.end(), g);
    for (Index t = 0; t < std::min(spec.nonzeros, mL); ++t)
      G(idx[size_t(t)], b) =
          detail::amplitude(g, spec.min_amplitude, spec.max_amplitude, spec.nonnegative);
  }
  s.codes.resize(L);
  s.codes[L - 1] = G;
  for (size_t l = L - 1; l >= 1; --l) s.codes[l - 1] = s.dictionaries[l].matrix() * s.codes[l];
  s.clean = s.dictionaries[0].matrix() * s.codes[0];
  s.noise = Matrix<Scalar>::Zero(s.clean.rows(), B);
  if (noise_l2 > Scalar(0)) {
    for (Index i = 0; i < s.noise.size(); ++i) s.noise(i) = Scalar(nd(g));
    s.noise = s.noise.array().rowwise() * (noise_l2 / s.noise.colwise().norm().array());
  }
  s.noisy = s.clean + s.noise;
  return s;
}

/// A MultiLayer over the sample's dictionaries, every layer with threshold `threshold[l]`.
template <class Op>
MultiLayer<Op> make_model(const Sample<Op>& s, const std::vector<typename Op::Scalar>& threshold,
                          Shrinkage kind = Shrinkage::NonnegSoft) {
  if (threshold.size() != s.dictionaries.size())
    internal::throw_invalid("synthetic::make_model: 'threshold' must hold one value per layer (",
                            s.dictionaries.size(), "), got ", threshold.size());
  MultiLayer<Op> net;
  for (size_t l = 0; l < s.dictionaries.size(); ++l)
    net.add_layer(s.dictionaries[l], threshold[l], kind);
  return net;
}

}  // namespace mlcsc::synthetic
