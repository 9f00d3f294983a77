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
#include "../theory/stripe.hpp"
#include "multi_layer.hpp"

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
  double fill = 1.0;          ///< placement attempts per pixel of Gamma_L (density knob)
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

/// A deepest code with ||Gamma_L||_{0,inf} <= spec.stripe_sparsity for stripes of `D_L`
/// ((2k-1) x (2k-1) windows over all channels): random positions are accepted while no window
/// containing them is full.
template <class Scalar>
FeatureMaps<Scalar> conv_deepest_code(const ConvDictionary<Scalar>& DL,
                                      const ConvSpec<Scalar>& spec, std::mt19937& g) {
  const Index K = DL.num_filters(), H = spec.height, W = spec.width;
  const Index wh = 2 * DL.kernel_height() - 1, ww = 2 * DL.kernel_width() - 1;
  const bool circ = spec.boundary == Boundary::Circular;
  FeatureMaps<Scalar> G(K, H, W);
  std::vector<Index> count(size_t(H * W), 0);    // nonzeros per position, over channels
  auto window_count = [&](Index i0, Index j0) {  // window with top-left (i0, j0)
    Index s = 0;
    for (Index u = 0; u < wh; ++u)
      for (Index v = 0; v < ww; ++v) {
        Index i = i0 + u, j = j0 + v;
        if (circ) {
          i = ((i % H) + H) % H;
          j = ((j % W) + W) % W;
        } else if (i < 0 || i >= H || j < 0 || j >= W) {
          continue;
        }
        s += count[size_t(i * W + j)];
      }
    return s;
  };
  std::uniform_int_distribution<Index> pos(0, H * W - 1), ch(0, K - 1);
  const Index attempts = std::max<Index>(1, Index(spec.fill * double(H * W)));
  for (Index a = 0; a < attempts; ++a) {
    const Index p = pos(g), c = ch(g), i = p / W, j = p % W;
    if (G.channel(c)(i, j) != Scalar(0)) continue;
    bool ok = true;
    for (Index u = 0; u < wh && ok; ++u)
      for (Index v = 0; v < ww && ok; ++v)
        if (window_count(i - u, j - v) >= spec.stripe_sparsity) ok = false;
    if (!ok) continue;
    G.channel(c)(i, j) =
        detail::amplitude(g, spec.min_amplitude, spec.max_amplitude, spec.nonnegative);
    ++count[size_t(p)];
  }
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
  s.codes[L - 1] = conv_deepest_code(s.dictionaries[L - 1], spec, g);
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
