// mlcsc: parameters and results of dictionary learning (dense and convolutional). Params
// validate themselves (`check`) with messages that name the field.
#pragma once

#include <functional>
#include <vector>

#include "../conv/conv_dictionary.hpp"
#include "../core/errors.hpp"
#include "../core/feature_maps.hpp"
#include "../core/fwd.hpp"
#include "../dense/dictionary.hpp"

namespace mlcsc {

/// How `learn_dictionary` learns a dense dictionary.
enum class DictLearnMethod {
  /// Online / mini-batch learning (Mairal, Bach, Ponce, Sapiro, JMLR 2010): each mini-batch is
  /// coded by the exact Lasso, the statistics A = sum g g^T and B = sum y g^T are updated with a
  /// forgetting factor and every atom takes one block-coordinate step on the surrogate. The
  /// default; the only method with non-negative codes and atoms.
  Online,
  /// The method of optimal directions (Engan, Aase, Husoy, ICASSP 1999): OMP codes with at most
  /// `sparsity` atoms, then D = Y G^T (G G^T)^{-1} with unit-norm atoms (codes rescaled).
  MOD,
  /// K-SVD (Aharon, Elad, Bruckstein, IEEE TSP 2006): OMP codes with at most `sparsity` atoms,
  /// then each atom and its coefficients on the signals that use it by the best rank-one
  /// approximation of their residual.
  KSVD
};

/// \brief The settings of `learn_dictionary` (API.md section 11 plus mlcsc's extensions).
template <class Scalar>
struct DictLearnParams {
  Index num_atoms = 0;  ///< m >= 1
  /// The l1 weight of the coding step, 0.5||y - D g||^2 + lambda ||g||_1 (>= 0; Online only:
  /// MOD and K-SVD code with OMP and do not use it).
  Scalar lambda = Scalar(0.1);
  int epochs = 10;         ///< passes over the data (>= 1)
  Index batch_size = 256;  ///< signals per mini-batch of the online method (>= 1)
  unsigned seed = 0;       ///< the same seed gives the same dictionary (same data, machine)
  /// Called after every epoch with the epoch's objective; returning false stops.
  std::function<bool(int epoch, Scalar objective)> callback;

  // --- mlcsc extensions ---
  DictLearnMethod method = DictLearnMethod::Online;
  /// MOD and K-SVD: the number of nonzeros of each OMP code, in [1, min(n, m)].
  Index sparsity = 0;
  /// Online: codes g >= 0 (the non-negative Lasso) and atoms d >= 0.
  bool nonnegative = false;
  /// Online: rho >= 0, how fast the statistics forget the codes of earlier mini-batches: before
  /// the t-th is added they are scaled by beta_t^rho, beta_t scikit-learn's weights (Mairal et
  /// al. 2010, 3.4.2 and 3.4.4; see learn/online_dictionary.hpp). 1 is scikit-learn's
  /// MiniBatchDictionaryLearning; 8 gave the lowest held-out objective after one epoch over
  /// 100,000 image patches (of 1, 2, 4, 8: benchmarks/bench_learn); small data sets learned over
  /// many epochs want more (the planted-dictionary tests use 100).
  Scalar forgetting = Scalar(8);
  /// Online: visit the signals in a new seeded random order every epoch (else in their order).
  bool shuffle = true;
  /// The KKT tolerance of the exact Lasso codes (Method::CoordinateDescent's `tolerance`).
  Scalar coding_tolerance = Scalar(1e-6);
  /// Online: stop early when a mini-batch step moves the atoms by at most this much,
  /// ||D_t - D_{t-1}||_F / m (scikit-learn's `tol`); 0: never. Like scikit-learn's, neither rule
  /// looks at mini-batch t (from 1) of b signals while t <= min(100, B / b).
  Scalar tolerance = Scalar(0);
  /// Online: stop early when the exponentially weighted average of the per-signal mini-batch
  /// objective (weight b / (B + 1)) has not reached a new minimum for this many
  /// mini-batches in a row (scikit-learn's `max_no_improvement`); 0: never.
  int max_no_improvement = 0;
  /// Online: called after every mini-batch with the number of mini-batches so far and the
  /// mini-batch's Lasso objective (summed over its signals, with the atoms it was coded with);
  /// returning false stops (the epoch's objective is still computed).
  std::function<bool(Index step, Scalar batch_objective)> step_callback;
  /// The initial atoms, n x m (normalized to unit norm); empty: m distinct signals chosen with
  /// `seed` (signals of zero norm skipped; Gaussian atoms if there are not enough).
  Matrix<Scalar> initial_dictionary;

  /// Throws std::invalid_argument naming the offending field; `n` is the signal size.
  void check(Index n, const char* where) const {
    if (num_atoms < 1)
      internal::throw_invalid(where, ": 'num_atoms' must be >= 1, got ", num_atoms);
    internal::require_finite_scalar(lambda, where, "lambda");
    if (lambda < Scalar(0)) internal::throw_invalid(where, ": 'lambda' must be >= 0, got ", lambda);
    if (epochs < 1) internal::throw_invalid(where, ": 'epochs' must be >= 1, got ", epochs);
    if (batch_size < 1)
      internal::throw_invalid(where, ": 'batch_size' must be >= 1, got ", batch_size);
    if (!(forgetting >= Scalar(0)) || !std::isfinite(double(forgetting)))
      internal::throw_invalid(where, ": 'forgetting' must be finite and >= 0, got ", forgetting);
    if (!(coding_tolerance >= Scalar(0)) || !std::isfinite(double(coding_tolerance)))
      internal::throw_invalid(where, ": 'coding_tolerance' must be finite and >= 0, got ",
                              coding_tolerance);
    if (!(tolerance >= Scalar(0)) || !std::isfinite(double(tolerance)))
      internal::throw_invalid(where, ": 'tolerance' must be finite and >= 0, got ", tolerance);
    if (max_no_improvement < 0)
      internal::throw_invalid(where, ": 'max_no_improvement' must be >= 0, got ",
                              max_no_improvement);
    if (method != DictLearnMethod::Online) {
      const char* name = method == DictLearnMethod::MOD ? "MOD" : "K-SVD";
      if (sparsity < 1 || sparsity > std::min(n, num_atoms))
        internal::throw_invalid(where, ": 'sparsity' must be in [1, ", std::min(n, num_atoms),
                                "] (min of signal size ", n, " and num_atoms ", num_atoms, ") for ",
                                name, ", got ", sparsity);
      if (nonnegative)
        internal::throw_invalid(where, ": 'nonnegative' is supported by DictLearnMethod::Online",
                                ", not by ", name);
    }
    if (initial_dictionary.size() != 0) {
      if (initial_dictionary.rows() != n || initial_dictionary.cols() != num_atoms)
        internal::throw_invalid(
            where, ": 'initial_dictionary' must be ", internal::shape(n, num_atoms),
            " (signal size x num_atoms), got ",
            internal::shape(initial_dictionary.rows(), initial_dictionary.cols()));
      internal::require_finite(initial_dictionary, where, "initial_dictionary");
      for (Index j = 0; j < num_atoms; ++j)
        if (!(initial_dictionary.col(j).norm() > Scalar(0)))
          internal::throw_invalid(where, ": atom ", j, " of 'initial_dictionary' (",
                                  internal::shape(n, num_atoms), ") has zero norm");
    }
  }
};

/// What `learn_dictionary` returns.
template <class Scalar>
struct DictLearnResult {
  Dictionary<Scalar> dictionary;  ///< n x m, unit-norm atoms
  /// Per epoch, with that epoch's dictionary and codes, summed over the signals: Online, the
  /// Lasso objective 0.5||y - D g||^2 + lambda ||g||_1 with the exact Lasso codes; MOD and
  /// K-SVD, 0.5||y - D g||^2 with their OMP codes (at most `sparsity` nonzeros each).
  std::vector<Scalar> objective;
  Index replaced_atoms = 0;  ///< atoms no signal used, replaced by a badly represented signal
  /// Online: the mini-batches taken (scikit-learn's n_steps_); MOD and K-SVD: the epochs run.
  Index steps = 0;
  /// Online: stopped early by `tolerance` or `max_no_improvement` (the last objective is the
  /// final dictionary's, after a partial epoch).
  bool converged = false;
  /// Online: the statistics A (m x m) and B (n x m) at the end; with `dictionary` and `steps`
  /// they resume learning in an OnlineDictionaryLearner. Empty for MOD and K-SVD.
  Matrix<Scalar> A, B;
};

/// How `learn_conv_dictionary` learns a convolutional dictionary.
enum class ConvDictLearnMethod {
  /// Batch alternation over all images (SPORCO's ConvBPDNDictLearn): every iteration one
  /// continuing ADMM coding step and `filter_iterations` projected-gradient filter steps.
  Batch,
  /// Online learning by stochastic gradient (Liu, Garcia-Cardona, Wohlberg, Yin, SIAM J.
  /// Imaging Sci. 2018, Sec. 3; SPORCO's OnlineConvBPDNDictLearn): every iteration codes a
  /// random mini-batch of `batch_size` images from zero and takes one projected gradient step on
  /// the filters (`step_a`, `step_b`). Memory and time per iteration grow with the mini-batch,
  /// not with the training set.
  Online
};

/// \brief The settings of `learn_conv_dictionary` (API.md section 11 plus mlcsc's extensions).
template <class Scalar>
struct ConvDictLearnParams {
  Index num_filters = 0;    ///< K >= 1, at most the pixels of an image
  Index kernel_height = 0;  ///< kh in [1, H]
  Index kernel_width = 0;   ///< kw in [1, W]
  /// The l1 weight: 0.5 sum_n ||sum_k d_k * x_{n,k} - s_n||^2 + lambda sum ||x||_1 (>= 0).
  Scalar lambda = Scalar(0.1);
  int iterations = 100;  ///< outer iterations: a coding step and a filter step each (>= 1)
  unsigned seed = 0;     ///< the initial filters' seed (without `initial_filters`)
  /// Called after every iteration with its objective; returning false stops.
  std::function<bool(int iteration, Scalar objective)> callback;

  // --- mlcsc extensions ---
  ConvDictLearnMethod method = ConvDictLearnMethod::Batch;
  /// The coding step: Method::ADMM iterations per outer iteration, fewer if its relative
  /// residuals reach `coding_tolerance` (LassoParams::tolerance). Batch: continuing from the
  /// last code and ADMM's last dual variable and penalty (as SPORCO's ConvBPDNDictLearn).
  /// Online: each mini-batch from zero. 0 (the default) is the method's own: 1 (Batch), 50
  /// (Online, SPORCO's example).
  int coding_iterations = 0;
  Scalar coding_tolerance = Scalar(0);
  /// Online: images per iteration (in [1, N]), drawn without replacement within a pass over
  /// the images in a seeded random order.
  Index batch_size = 1;
  /// Online: the step size of iteration t (from 1), step_a / ((t + step_b) L_t), the decaying
  /// a / (t + b) of Liu et al. 2018 (Sec. 3) in units of 1 / L_t, L_t the mini-batch's
  /// Lipschitz bound (ConvFilterStep), so that one setting suits data of any scale (SPORCO's
  /// eta = a / (t + b) is absolute). The defaults take steps of about 1 / L_t for the first
  /// ~200 iterations, then decay as 1 / t: of the settings measured on the planted-filter test,
  /// the first to recover every filter to |<d, d_hat>| > 0.999 in 300 iterations.
  Scalar step_a = Scalar(200), step_b = Scalar(200);
  /// Projected-gradient (FISTA) iterations of the filter step per outer iteration. The defaults
  /// (1 and 10) reached SPORCO's objective on its cbpdndl_cns_gry problem soonest of the
  /// (coding, filter) pairs measured: (1, 1/3/5/10/15/20) and (2, 5), benchmarks/bench_learn.
  int filter_iterations = 10;
  /// Filters of zero mean on each channel (SPORCO's CCMOD `ZeroMean`).
  bool zero_mean = false;
  /// The initial filters, K x C x kh x kw (projected: zero mean if asked, unit norm); empty:
  /// Gaussian filters drawn with `seed`.
  FeatureMaps<Scalar> initial_filters;

  /// The coding iterations in effect (`coding_iterations`, or the method's own for 0).
  int coding_steps() const {
    return coding_iterations > 0 ? coding_iterations
                                 : (method == ConvDictLearnMethod::Online ? 50 : 1);
  }

  /// Throws std::invalid_argument naming the offending field, for N images of C x H x W.
  void check(Index N, Index C, Index H, Index W, const char* where) const {
    if (num_filters < 1 || num_filters > H * W)
      internal::throw_invalid(where, ": 'num_filters' must be in [1, ", H * W,
                              "] (the pixels of an image, ", internal::shape(C, H, W), "), got ",
                              num_filters);
    if (kernel_height < 1 || kernel_height > H || kernel_width < 1 || kernel_width > W)
      internal::throw_invalid(
          where, ": 'kernel_height' x 'kernel_width' must be within the image (",
          internal::shape(H, W), "), got ", internal::shape(kernel_height, kernel_width));
    if (zero_mean && kernel_height * kernel_width == 1)
      internal::throw_invalid(where, ": 'zero_mean' needs filters of more than 1 x 1 taps");
    internal::require_finite_scalar(lambda, where, "lambda");
    if (lambda < Scalar(0)) internal::throw_invalid(where, ": 'lambda' must be >= 0, got ", lambda);
    if (iterations < 1)
      internal::throw_invalid(where, ": 'iterations' must be >= 1, got ", iterations);
    if (coding_iterations < 0)
      internal::throw_invalid(where,
                              ": 'coding_iterations' must be >= 0 (0: the method's own), got ",
                              coding_iterations);
    if (!(coding_tolerance >= Scalar(0)) || !std::isfinite(double(coding_tolerance)))
      internal::throw_invalid(where, ": 'coding_tolerance' must be finite and >= 0, got ",
                              coding_tolerance);
    if (method == ConvDictLearnMethod::Online) {
      if (batch_size < 1 || batch_size > N)
        internal::throw_invalid(where, ": 'batch_size' must be in [1, ", N,
                                "] (the number of images), got ", batch_size);
      if (!(step_a > Scalar(0)) || !std::isfinite(double(step_a)))
        internal::throw_invalid(where, ": 'step_a' must be finite and > 0, got ", step_a);
      if (!(step_b >= Scalar(0)) || !std::isfinite(double(step_b)))
        internal::throw_invalid(where, ": 'step_b' must be finite and >= 0, got ", step_b);
    }
    if (filter_iterations < 1)
      internal::throw_invalid(where, ": 'filter_iterations' must be >= 1, got ", filter_iterations);
    if (initial_filters.size() != 0) {
      if (initial_filters.batch() != num_filters || initial_filters.channels() != C ||
          initial_filters.height() != kernel_height || initial_filters.width() != kernel_width)
        internal::throw_invalid(where, ": 'initial_filters' must be ", num_filters, " x ",
                                internal::shape(C, kernel_height, kernel_width), ", got ",
                                initial_filters.batch(), " x ",
                                internal::shape(initial_filters.channels(),
                                                initial_filters.height(), initial_filters.width()));
      internal::require_finite(initial_filters.data(), where, "initial_filters");
    }
  }
};

/// What `learn_conv_dictionary` returns.
template <class Scalar>
struct ConvDictLearnResult {
  ConvDictionary<Scalar> dictionary;  ///< K x C x kh x kw, Boundary::Circular, unit-norm filters
  /// Per iteration, the sum over images of 0.5||sum_k d_k * x_k - s||^2 + lambda ||x||_1:
  /// Batch, of all images with that iteration's filters and codes; Online, of that iteration's
  /// mini-batch with the filters it was coded with (a full evaluation per iteration would cost
  /// what online learning saves; `code` gives the full objective at the end).
  std::vector<Scalar> objective;
  /// The images' sparse codes, N x K x H x W: Batch, the last iteration's; Online, all images
  /// coded from zero with the returned filters (`coding_steps()` ADMM iterations).
  FeatureMaps<Scalar> code;
};

}  // namespace mlcsc
