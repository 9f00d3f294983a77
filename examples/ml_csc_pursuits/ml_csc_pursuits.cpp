// ml_csc_pursuits: the experiment of Papyan, Romano, Elad (JMLR 2017) in miniature. Signals from
// 2- and 3-layer convolutional ML-CSC models (sparse non-negative filters, see
// mlcsc/multilayer/synthetic.hpp) are corrupted by noise of patch norm ||E||^P_{2,inf} = eps, and
// three pursuits estimate every layer:
//   thresholding  the CNN forward pass  G_l = ReLU(D_l^T G_{l-1} - b_l)
//   layered Lasso non-negative Lasso on Y, then on each estimate (FISTA)
//   ML-FISTA      the multi-layer basis pursuit of Sulam et al. (2019), propagated codes
// Per noise level we report support recovery (Jaccard index |S ^ S'| / |S u S'|) and relative
// error ||G^_l - G_l|| / ||G_l|| of every layer, averaged over trials, for two amplitude ranges of
// the deepest code: |Gmin|/|Gmax| = 0.5 and 0.1. Parameters (b_l, lambda_l) are chosen by an
// oracle: a small grid, layer by layer, maximizing that layer's support recovery. Everything is
// seeded. Writes a table to stdout and <out>/ml_csc_pursuits.png.
//
// Usage: ml_csc_pursuits [--out DIR] [--trials N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <mlcsc/mlcsc.hpp>

#include "image_io.hpp"
#include "plot.hpp"

using S = float;
using Op = mlcsc::ConvDictionary<S>;
using Maps = mlcsc::FeatureMaps<S>;

namespace {

struct Score {
  double support = 0, error = 0;
};

Score score(const Maps& est, const Maps& truth) {
  const S tiny = S(1e-6) * std::max(S(1e-12), truth.data().cwiseAbs().maxCoeff());
  const auto a = (est.data().array().abs() > tiny), b = (truth.data().array().abs() > tiny);
  const double inter = double((a && b).count()), uni = double((a || b).count());
  Score s;
  s.support = uni > 0 ? inter / uni : 1.0;
  s.error = double((est.data() - truth.data()).norm() / std::max(S(1e-12), truth.data().norm()));
  return s;
}

// oracle layer-by-layer threshold for the forward pass
std::vector<Maps> best_thresholding(const std::vector<Op>& Ds, const Maps& y,
                                    const std::vector<Maps>& truth) {
  std::vector<Maps> out;
  Maps prev = y;
  for (size_t l = 0; l < Ds.size(); ++l) {
    const Maps z = Ds[l].analyze(prev);
    const S zmax = z.data().maxCoeff();
    Maps best;
    double best_s = -1;
    for (int k = 1; k <= 24; ++k) {
      const S b = zmax * S(k) / S(25);
      Maps g = z;
      g.data() = (g.data().array() - b).max(S(0));
      const double s = score(g, truth[l]).support;
      if (s > best_s) {
        best_s = s;
        best = g;
      }
    }
    out.push_back(best);
    prev = best;
  }
  return out;
}

mlcsc::LassoParams<S> lasso_params(S lambda) {
  mlcsc::LassoParams<S> p;
  p.lambda = lambda;
  p.nonnegative = true;
  p.max_iterations = 100;
  p.tolerance = S(1e-5);
  return p;
}

// oracle layer-by-layer lambda for the layered Lasso; returns the chosen lambdas too
std::vector<Maps> best_layered_lasso(const std::vector<Op>& Ds, const Maps& y,
                                     const std::vector<Maps>& truth, std::vector<S>& lambdas) {
  std::vector<Maps> out;
  lambdas.clear();
  Maps prev = y;
  for (size_t l = 0; l < Ds.size(); ++l) {
    const S zmax = Ds[l].analyze(prev).data().cwiseAbs().maxCoeff();
    Maps best;
    double best_s = -1;
    S best_l = 0;
    for (S f : {S(0.05), S(0.1), S(0.2), S(0.4)}) {
      const auto r = mlcsc::lasso(Ds[l], prev, lasso_params(f * zmax));
      const double s = score(r.code, truth[l]).support;
      if (s > best_s) {
        best_s = s;
        best = r.code;
        best_l = f * zmax;
      }
    }
    out.push_back(best);
    lambdas.push_back(best_l);
    prev = best;
  }
  return out;
}

std::vector<Maps> ml_fista(const mlcsc::MultiLayer<Op>& net, const Maps& y,
                           const std::vector<S>& lambdas, const std::vector<Maps>& truth) {
  // the layered Lasso's lambdas, scaled by a small oracle grid on the deepest support
  std::vector<Maps> best;
  double best_s = -1;
  for (S f : {S(0.05), S(0.15), S(0.5)}) {
    mlcsc::MLBPParams<S> p;
    for (S l : lambdas) p.layers.push_back(lasso_params(f * l));
    p.max_iterations = 100;
    p.tolerance = S(1e-5);
    auto r = net.ml_fista(y, p);
    const double s = score(r.back().code, truth.back()).support;
    if (s > best_s) {
      best_s = s;
      best.clear();
      for (auto& x : r) best.push_back(std::move(x.code));
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = ".";
  int trials = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--trials" && i + 1 < argc)
      trials = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--out DIR] [--trials N]\n", argv[0]);
      return 2;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<double> noise{0.0, 0.05, 0.1, 0.2, 0.4};
  const char* names[3] = {"thresholding", "layered Lasso", "ML-FISTA"};
  std::vector<examples::Panel> panels;
  const std::array<std::array<unsigned char, 3>, 3> colors{
      {{220, 40, 40}, {30, 110, 220}, {30, 160, 60}}};

  for (int depth : {2, 3}) {
    for (double ratio : {0.5, 0.1}) {
      mlcsc::synthetic::ConvSpec<S> spec;
      spec.height = spec.width = 28;
      spec.filters =
          depth == 2 ? std::vector<mlcsc::Index>{8, 12} : std::vector<mlcsc::Index>{8, 12, 16};
      spec.kernel =
          depth == 2 ? std::vector<mlcsc::Index>{5, 3} : std::vector<mlcsc::Index>{5, 3, 3};
      spec.atom_nnz =
          depth == 2 ? std::vector<mlcsc::Index>{4, 3} : std::vector<mlcsc::Index>{4, 3, 2};
      spec.stripe_sparsity = 2;
      spec.fill = 0.15;  // sparse deepest code: ~0.15 placement attempts per pixel
      spec.max_amplitude = S(2);
      spec.min_amplitude = S(2 * ratio);
      std::printf("\n== %d-layer conv model, filters", depth);
      for (auto k : spec.filters) std::printf(" %ld", long(k));
      std::printf(", |Gmin|/|Gmax| of Gamma_L = %.1f, %d trials ==\n", ratio, trials);
      std::printf("%-6s %-14s", "eps", "pursuit");
      for (int l = 1; l <= depth; ++l) std::printf("   supp%d  err%d ", l, l);
      std::printf("\n");
      // [method][noise] -> deepest-layer support and error
      std::vector<std::vector<double>> sup(3, std::vector<double>(noise.size())),
          err(3, std::vector<double>(noise.size()));
      for (size_t ni = 0; ni < noise.size(); ++ni) {
        std::vector<std::vector<Score>> acc(3, std::vector<Score>(size_t(depth)));
        for (int t = 0; t < trials; ++t) {
          spec.seed = unsigned(1000 * depth + 100 * t + 7);
          const auto s = mlcsc::synthetic::conv_sample(spec, S(noise[ni]));
          mlcsc::MultiLayer<Op> net;
          for (const auto& D : s.dictionaries) net.add_layer(D, S(0));
          std::vector<S> lambdas;
          const std::vector<std::vector<Maps>> est{
              best_thresholding(s.dictionaries, s.noisy, s.codes),
              best_layered_lasso(s.dictionaries, s.noisy, s.codes, lambdas),
              {}};
          const auto mf = ml_fista(net, s.noisy, lambdas, s.codes);
          for (int m = 0; m < 3; ++m)
            for (int l = 0; l < depth; ++l) {
              const Score sc =
                  score(m == 2 ? mf[size_t(l)] : est[size_t(m)][size_t(l)], s.codes[size_t(l)]);
              acc[size_t(m)][size_t(l)].support += sc.support / trials;
              acc[size_t(m)][size_t(l)].error += sc.error / trials;
            }
        }
        for (int m = 0; m < 3; ++m) {
          std::printf("%-6.2f %-14s", noise[ni], names[m]);
          for (int l = 0; l < depth; ++l)
            std::printf("   %5.3f %5.3f ", acc[size_t(m)][size_t(l)].support,
                        acc[size_t(m)][size_t(l)].error);
          std::printf("\n");
          sup[size_t(m)][ni] = acc[size_t(m)][size_t(depth - 1)].support;
          err[size_t(m)][ni] = acc[size_t(m)][size_t(depth - 1)].error;
        }
      }
      examples::Panel ps, pe;
      ps.ymin = 0;
      ps.ymax = 1;
      pe.ymin = 0;
      for (int m = 0; m < 3; ++m) {
        ps.series.push_back({noise, sup[size_t(m)], colors[size_t(m)], ratio < 0.3});
        pe.series.push_back({noise, err[size_t(m)], colors[size_t(m)], ratio < 0.3});
      }
      panels.push_back(ps);
      panels.push_back(pe);
    }
  }
  const std::string png = out + "/ml_csc_pursuits.png";
  const bool ok = examples::save_panels(png, panels, 4);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "\n%s %s: rows = 2-layer, 3-layer model; columns = (support, error) of the deepest layer "
      "for |Gmin|/|Gmax| = 0.5, then (support, error) for 0.1 (dashed); x = eps = ||E||^P_2,inf; "
      "red = thresholding, blue = layered Lasso, green = ML-FISTA. %.1f s\n",
      ok ? "wrote" : "could not write", png.c_str(), secs);
  return ok ? 0 : 1;
}
