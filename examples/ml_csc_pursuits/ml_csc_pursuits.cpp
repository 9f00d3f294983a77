// ml_csc_pursuits: the synthetic experiment of Papyan, Romano, Elad (JMLR 2017) in miniature:
// how well the forward pass (layered thresholding), the layered Lasso and ML-FISTA (Sulam,
// Aberdam, Beck, Elad, TPAMI 2019) recover the codes of an ML-CSC signal, over a sweep of noise.
//
// Models (mlcsc/synthetic/ml_csc.hpp): 2- and 3-layer circular convolutional models on 64 x 64
// images, non-negative filters and codes. D_1: 2 filters 11 x 11 with 9 equal taps, spread so that
// two atoms share at most one tap (mu_1 = 1/9); D_2, D_3: 8 filters 3 x 3 with 3 taps (mu = 1/3).
// The deepest code has one nonzero per stripe and is placed so that the propagated codes stay
// sparse per stripe too (2 layers: at most 3 nonzeros per stripe of D_1; 3 layers: 9 of D_1 and 3
// of D_2); its amplitudes are uniform in [r, 1] for r = |Gmin| / |Gmax| in {1, 0.5, 0.2}. Noise:
// Gaussian, scaled to a patch norm ||E||^P_{2,inf} = eps (patches of D_1's size).
// The 2-layer model at r = 1 meets the forward-pass and layered-Lasso conditions at every layer
// (eps = 0); at small r the forward-pass condition fails and the Lasso's does not. The 3-layer
// model is denser than any condition allows at its first two layers. The table prints, for the
// first test signal, what theory/multilayer_bounds.hpp says of its true codes.
//
// Pursuits:
//   thresholding   G_l = H_{b_l}(D_l^T G_{l-1}), hard thresholding (the theorem's pursuit; --relu
//                  uses the CNN's ReLU(D_l^T G_{l-1} - b_l) instead)                 (JMLR Sec. 5)
//   layered Lasso  G_l = argmin 0.5||G_{l-1} - D_l G||^2 + lambda_l ||G||_1, G >= 0, by FISTA
//   ML-FISTA       the multi-layer basis pursuit over Gamma_L, codes propagated (TPAMI 2019)
// Parameters: every pursuit gets its best parameters, chosen by an oracle on two calibration
// signals (other draws of the same model and noise level): layer by layer, the b_l (or lambda_l)
// of a grid that recovers that layer's support best (then, among equally good ones, with the least
// error) given the layers before; ML-FISTA gets one scale of the layered Lasso's lambdas. The
// theory's own parameters (the forward-pass threshold interval, lambda = 4 eps) are valid only
// where its conditions hold; the oracle shows each pursuit at its best everywhere.
// Scores per noise level, averaged over --trials test signals: support recovery, the Jaccard
// index |S ^ S'| / |S u S'| of the nonzeros, and the relative error ||G^_l - G_l|| / ||G_l||.
// What it shows: the forward pass fails where |Gmin|/|Gmax| is small (already without noise)
// while the layered Lasso recovers the supports, and the Lasso holds longer as the noise grows.
// Writes <out>/ml_csc_pursuits.png (support and error panels).
//
// Usage: ml_csc_pursuits [--out DIR] [--trials N] [--relu] [--size N]
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <mlcsc/mlcsc.hpp>

#include "image_io.hpp"
#include "plot.hpp"

using S = float;
using Op = mlcsc::ConvDictionary<S>;
using Maps = mlcsc::FeatureMaps<S>;
using Sample = mlcsc::synthetic::Sample<Op>;
using mlcsc::Index;

namespace {

Index g_size = 64;
mlcsc::Shrinkage g_forward = mlcsc::Shrinkage::Hard;

constexpr int kMethods = 3;
const char* const kNames[kMethods] = {"thresholding", "layered Lasso", "ML-FISTA"};

struct Score {
  double support = 0, error = 0;
};

Score score(const Maps& est, const Maps& truth) {
  const auto a = (est.data().array() != S(0)), b = (truth.data().array() != S(0));
  const double inter = double((a && b).count()), uni = double((a || b).count());
  Score s;
  s.support = uni > 0 ? inter / uni : 1.0;
  s.error = double((est.data() - truth.data()).norm() / std::max(S(1e-12), truth.data().norm()));
  return s;
}

double max_abs(const Maps& g) {
  return double(g.data().cwiseAbs().maxCoeff());
}

mlcsc::synthetic::ConvSpec<S> model_spec(int depth, double ratio) {
  mlcsc::synthetic::ConvSpec<S> spec;
  spec.height = spec.width = g_size;
  spec.filters = depth == 2 ? std::vector<Index>{2, 8} : std::vector<Index>{2, 8, 8};
  spec.kernel = depth == 2 ? std::vector<Index>{11, 3} : std::vector<Index>{11, 3, 3};
  spec.atom_nnz = depth == 2 ? std::vector<Index>{9, 3} : std::vector<Index>{9, 3, 3};
  spec.spread = true;
  spec.max_overlap = 1;
  spec.nonnegative = true;
  spec.boundary = mlcsc::Boundary::Circular;
  spec.stripe_sparsity = 1;
  spec.layer_stripe_sparsity = depth == 2 ? std::vector<Index>{3, 1} : std::vector<Index>{9, 3, 1};
  spec.fill = 1.0;
  spec.max_amplitude = S(1);
  spec.min_amplitude = S(ratio);
  return spec;
}

mlcsc::LassoParams<S> lasso_params(S lambda) {
  mlcsc::LassoParams<S> p;
  p.lambda = lambda;
  p.nonnegative = true;
  p.max_iterations = 200;
  p.tolerance = S(1e-5);
  return p;
}

// Relative grid of thresholds / lambdas: |G_l^max| times these.
const std::vector<double> kGrid{0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15,
                                0.2,  0.3,  0.4,   0.5,  0.6,   0.7, 0.85};

struct Tuned {
  std::vector<S> beta, lambda;
  S ml_scale = S(1);
};

std::vector<Maps> run_thresholding(const Sample& s, const std::vector<S>& beta) {
  return mlcsc::synthetic::make_model(s, beta, g_forward).layered_thresholding(s.noisy);
}

std::vector<Maps> run_layered_lasso(const Sample& s, const std::vector<S>& lambda) {
  std::vector<Maps> out;
  for (size_t l = 0; l < lambda.size(); ++l) {
    const Maps& in = l == 0 ? s.noisy : out[l - 1];
    out.push_back(mlcsc::lasso(s.dictionaries[l], in, lasso_params(lambda[l])).code);
  }
  return out;
}

std::vector<Maps> run_ml_fista(const Sample& s, const std::vector<S>& lambda) {
  const auto net = mlcsc::synthetic::make_model(s, std::vector<S>(lambda.size(), S(0)));
  mlcsc::MLBPParams<S> p;
  for (S l : lambda) p.layers.push_back(lasso_params(l));
  p.max_iterations = 300;
  p.tolerance = S(1e-5);
  std::vector<Maps> out;
  for (auto& r : net.ml_fista(s.noisy, p)) out.push_back(std::move(r.code));
  return out;
}

// The grid index with the best support recovery; among those within 0.01 of it, the one with
// the smallest error (the most accurate of the equally good).
size_t best_index(const std::vector<Score>& sc) {
  double top = 0;
  for (const Score& s : sc) top = std::max(top, s.support);
  size_t best = 0;
  double err = 1e300;
  for (size_t i = 0; i < sc.size(); ++i)
    if (sc[i].support >= top - 0.01 && sc[i].error < err) best = i, err = sc[i].error;
  return best;
}

// The oracle on calibration signals: layer by layer for the layered pursuits (layer l's b_l or
// lambda_l gives the best mean support recovery, then the least error, given the estimates of
// the layers before, which are kept), then one scale of the layered lambdas for ML-FISTA (the
// same criterion on the mean over the layers).
Tuned tune(const std::vector<Sample>& cal) {
  const size_t L = cal[0].codes.size(), n = cal.size(), G = kGrid.size();
  Tuned t;
  std::vector<Maps> in_thr, in_las;  // the estimates of the layer before, per signal
  for (const Sample& c : cal) in_thr.push_back(c.noisy), in_las.push_back(c.noisy);
  for (size_t l = 0; l < L; ++l) {
    double ref = 0;
    for (const Sample& c : cal) ref = std::max(ref, max_abs(c.codes[l]));
    std::vector<Score> sb(G), sl(G);
    std::vector<std::vector<Maps>> out_thr(G), out_las(G);
    for (size_t i = 0; i < n; ++i) {
      const Op& D = cal[i].dictionaries[l];
      const Maps corr = D.analyze(in_thr[i]);
      for (size_t gi = 0; gi < G; ++gi) {
        const S v = S(kGrid[gi] * ref);
        Maps g = corr;
        g.data() = mlcsc::shrink(g.data(), v, g_forward);
        const Score a = score(g, cal[i].codes[l]);
        sb[gi].support += a.support / double(n);
        sb[gi].error += a.error / double(n);
        out_thr[gi].push_back(std::move(g));
        Maps r = mlcsc::lasso(D, in_las[i], lasso_params(v)).code;
        const Score b = score(r, cal[i].codes[l]);
        sl[gi].support += b.support / double(n);
        sl[gi].error += b.error / double(n);
        out_las[gi].push_back(std::move(r));
      }
    }
    const size_t bt = best_index(sb), bl = best_index(sl);
    t.beta.push_back(S(kGrid[bt] * ref));
    t.lambda.push_back(S(kGrid[bl] * ref));
    in_thr = std::move(out_thr[bt]);
    in_las = std::move(out_las[bl]);
  }
  const std::vector<double> scales{0.5, 1.0, 2.0};
  std::vector<Score> sm(scales.size());
  for (size_t ci = 0; ci < scales.size(); ++ci) {
    std::vector<S> lam = t.lambda;
    for (S& v : lam) v *= S(scales[ci]);
    for (const Sample& c : cal) {
      const auto est = run_ml_fista(c, lam);
      for (size_t l = 0; l < L; ++l) {
        const Score a = score(est[l], c.codes[l]);
        sm[ci].support += a.support / double(L * n);
        sm[ci].error += a.error / double(L * n);
      }
    }
  }
  t.ml_scale = S(scales[best_index(sm)]);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = ".";
  int trials = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--size" && i + 1 < argc)
      g_size = std::atoi(argv[++i]);
    else if (a == "--relu")
      g_forward = mlcsc::Shrinkage::NonnegSoft;
    else if (a == "--trials" && i + 1 < argc)
      trials = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--out DIR] [--trials N] [--relu] [--size N]\n", argv[0]);
      return 2;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<double> noise{0.0, 0.1, 0.2, 0.4, 0.6, 0.8};
  const std::vector<double> ratios{1.0, 0.5, 0.2};
  const std::array<std::array<unsigned char, 3>, kMethods> colors{
      {{220, 40, 40}, {30, 110, 220}, {30, 160, 60}}};
  std::vector<examples::Panel> panels;

  for (int depth : {2, 3}) {
    for (double ratio : ratios) {
      auto spec = model_spec(depth, ratio);
      // [method][layer][noise]
      std::vector<std::vector<std::vector<Score>>> acc(
          kMethods,
          std::vector<std::vector<Score>>(size_t(depth), std::vector<Score>(noise.size())));
      std::vector<std::vector<Tuned>> tuned(noise.size());
      std::vector<mlcsc::LayerGuarantee> theory;
      for (size_t ni = 0; ni < noise.size(); ++ni) {
        std::vector<Sample> cal;
        for (unsigned c = 0; c < 2; ++c) {
          spec.seed = unsigned(1000 * depth + 97 + c);
          cal.push_back(mlcsc::synthetic::conv_sample(spec, S(noise[ni])));
        }
        const Tuned t = tune(cal);
        tuned[ni].push_back(t);
        for (int trial = 0; trial < trials; ++trial) {
          spec.seed = unsigned(1000 * depth + 100 * trial + 7);
          const Sample s = mlcsc::synthetic::conv_sample(spec, S(noise[ni]));
          if (ni == 0 && trial == 0)
            theory = mlcsc::multilayer_guarantees(
                mlcsc::synthetic::make_model(s, t.beta, g_forward), s.codes, 0.0);
          std::vector<S> ml = t.lambda;
          for (S& v : ml) v *= t.ml_scale;
          const std::vector<std::vector<Maps>> est{
              run_thresholding(s, t.beta), run_layered_lasso(s, t.lambda), run_ml_fista(s, ml)};
          for (int m = 0; m < kMethods; ++m)
            for (int l = 0; l < depth; ++l) {
              const Score sc = score(est[size_t(m)][size_t(l)], s.codes[size_t(l)]);
              acc[size_t(m)][size_t(l)][ni].support += sc.support / trials;
              acc[size_t(m)][size_t(l)][ni].error += sc.error / trials;
            }
        }
      }
      std::printf("\n== %d-layer model, |Gmin|/|Gmax| of Gamma_L = %.1f, %d test signals ==\n",
                  depth, ratio, trials);
      std::printf("   layer:                       ");
      for (int l = 1; l <= depth; ++l) std::printf("   %-10d", l);
      std::printf("\n   mu(D_l):                     ");
      for (int l = 0; l < depth; ++l) std::printf("   %-10.3f", theory[size_t(l)].mu);
      std::printf("\n   ||G_l||^S_0,inf:             ");
      for (int l = 0; l < depth; ++l)
        std::printf("   %-10ld", long(theory[size_t(l)].stripe_sparsity));
      std::printf("\n   |Gmin|/|Gmax| of G_l:        ");
      for (int l = 0; l < depth; ++l)
        std::printf("   %-10.2f", theory[size_t(l)].gamma_min / theory[size_t(l)].gamma_max);
      std::printf("\n   forward-pass bound (eps=0):  ");
      for (int l = 0; l < depth; ++l)
        std::printf("   %-4.2f %-5s", theory[size_t(l)].forward_bound,
                    theory[size_t(l)].forward_pass ? "holds" : "fails");
      std::printf("\n   layered-Lasso bound:         ");
      for (int l = 0; l < depth; ++l)
        std::printf("   %-4.2f %-5s", theory[size_t(l)].lasso_bound,
                    theory[size_t(l)].layered_lasso ? "holds" : "fails");
      std::printf("\n%-6s %-15s", "eps", "pursuit");
      for (int l = 1; l <= depth; ++l) std::printf("  supp%d  err%d ", l, l);
      std::printf("   oracle parameters (b_l | lambda_l | ML-FISTA scale)\n");
      for (size_t ni = 0; ni < noise.size(); ++ni)
        for (int m = 0; m < kMethods; ++m) {
          std::printf("%-6.2f %-15s", noise[ni], kNames[m]);
          for (int l = 0; l < depth; ++l)
            std::printf("  %5.3f %5.3f", acc[size_t(m)][size_t(l)][ni].support,
                        acc[size_t(m)][size_t(l)][ni].error);
          const Tuned& t = tuned[ni][0];
          std::printf("   ");
          if (m == 0)
            for (S b : t.beta) std::printf(" %.3f", double(b));
          if (m == 1)
            for (S v : t.lambda) std::printf(" %.3f", double(v));
          if (m == 2) std::printf(" x%.2f", double(t.ml_scale));
          std::printf("\n");
        }
      std::fflush(stdout);
      // one plot row: support of layers 1..3, then error of layers 1..3
      for (int metric = 0; metric < 2; ++metric)
        for (int l = 0; l < 3; ++l) {
          examples::Panel p;
          p.ymin = 0;
          p.ymax = metric == 0 ? 1.0 : 1.2;
          if (l < depth)
            for (int m = 0; m < kMethods; ++m) {
              std::vector<double> y;
              for (size_t ni = 0; ni < noise.size(); ++ni) {
                const Score& sc = acc[size_t(m)][size_t(l)][ni];
                y.push_back(metric == 0 ? sc.support : std::min(1.2, sc.error));
              }
              p.series.push_back({noise, y, colors[size_t(m)], false});
            }
          panels.push_back(p);
        }
    }
  }
  std::printf(
      "\nsupport = Jaccard index of the nonzeros; err = ||G^_l - G_l|| / ||G_l||; eps = "
      "||E||^P_2,inf. Plot: x = eps; rows = 2-layer (ratio 1, 0.5, 0.2), then 3-layer; columns = "
      "support of layers 1..3, then error of layers 1..3 (clipped at 1.2); red = thresholding, "
      "blue = layered Lasso, green = ML-FISTA.\n");
  const std::string png = out + "/ml_csc_pursuits.png";
  const bool ok = examples::save_panels(png, panels, 6, 240, 180);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\n%s %s (%.1f s)\n", ok ? "wrote" : "could not write", png.c_str(), secs);
  return ok ? 0 : 1;
}
