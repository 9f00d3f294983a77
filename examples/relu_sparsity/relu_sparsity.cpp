// relu_sparsity: the observation (docs/theory.md) that ReLU activations are sparse. A 3-layer
// convolutional model (layer 1: 16 normalized Gabor-like 7x7 filters, 8 orientations x 2 phases;
// layers 2 and 3: random normalized 3x3 filters over all channels, 32 and 64 of them) runs its
// forward pass, Gamma_l = ReLU(D_l^T Gamma_{l-1} - b_l) = layered thresholding with NonnegSoft, on
// the bundled photograph (mean removed). For bias 0 and for b_l = 0.5 RMS(D_l^T Gamma_{l-1}), it
// prints every layer's fraction of zeros and its stripe sparsity ||Gamma_l||_{0,inf} (Papyan,
// Romano, Elad, JMLR 2017), next to the stripe size (2k-1)^2 K. Writes the first maps of each layer
// as PNG. With --dump DIR it also writes the input, every layer's filters, bias and output of the
// b = 0.5 RMS network as .npy, for examples/relu_sparsity/compare_torch.py, which runs the same
// network in PyTorch (conv2d with weights D_l, bias -b_l, padding k//2, then ReLU) and compares.
//
// Usage: relu_sparsity [--image PATH] [--out DIR] [--dump DIR]
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <mlcsc/mlcsc.hpp>

#include "image_io.hpp"

using S = float;
using Op = mlcsc::ConvDictionary<S>;
using Maps = mlcsc::FeatureMaps<S>;
using mlcsc::Index;

namespace {

Op gabor_layer(Index k) {
  Op D(16, 1, k, k, mlcsc::Boundary::Zero);
  const double c = (k - 1) / 2.0, sigma = k / 4.0, freq = 2.0 / k;
  for (Index f = 0; f < 16; ++f) {
    const double th = M_PI * double(f % 8) / 8.0, phase = f < 8 ? 0.0 : M_PI / 2;
    for (Index u = 0; u < k; ++u)
      for (Index v = 0; v < k; ++v) {
        const double x = v - c, y = u - c, xr = x * std::cos(th) + y * std::sin(th);
        D.filter(f, 0)(u, v) = S(std::exp(-(x * x + y * y) / (2 * sigma * sigma)) *
                                 std::cos(2 * M_PI * freq * xr + phase));
      }
    D.filter(f, 0).array() -= D.filter(f, 0).mean();  // zero mean: no response to flat regions
  }
  D.normalize();
  return D;
}

Op random_layer(Index K, Index C, std::mt19937& g) {
  Op D(K, C, 3, 3, mlcsc::Boundary::Zero);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (Index k = 0; k < K; ++k)
    for (Index c = 0; c < C; ++c)
      for (Index u = 0; u < 3; ++u)
        for (Index v = 0; v < 3; ++v) D.filter(k, c)(u, v) = S(nd(g));
  D.normalize();
  return D;
}

}  // namespace

int main(int argc, char** argv) {
  std::string image = std::string(MLCSC_EXAMPLE_DATA_DIR) + "/camera.png", out = ".", dump;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--image" && i + 1 < argc)
      image = argv[++i];
    else if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--dump" && i + 1 < argc)
      dump = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--image PATH] [--out DIR] [--dump DIR]\n", argv[0]);
      return 2;
    }
  }
  const examples::Image img = examples::load_gray(image);
  Maps x(1, img.rows(), img.cols());
  x.channel(0) = (img.array() - img.mean()).cast<S>().matrix();
  std::mt19937 g(7);
  const std::vector<Op> Ds{gabor_layer(7), random_layer(32, 16, g), random_layer(64, 32, g)};

  // thresholds from the pre-activations of the b = 0.5 RMS network, layer by layer
  std::vector<S> rms_b;
  {
    Maps prev = x;
    for (const auto& D : Ds) {
      Maps z = D.analyze(prev);
      const S b = S(0.5) * std::sqrt(z.data().squaredNorm() / S(z.size()));
      rms_b.push_back(b);
      z.data() = (z.data().array() - b).max(S(0));
      prev = z;
    }
  }
  std::printf(
      "forward pass on %s (%ld x %ld), 3 layers: 16 Gabor 7x7, 32 random 3x3, 64 random 3x3\n",
      image.c_str(), long(img.rows()), long(img.cols()));
  std::printf("%-22s %5s %9s %12s %14s %12s\n", "bias", "layer", "channels", "zeros (%)",
              "||G||_{0,inf}", "stripe size");
  for (int variant = 0; variant < 2; ++variant) {
    mlcsc::MultiLayer<Op> net;
    for (size_t l = 0; l < Ds.size(); ++l) net.add_layer(Ds[l], variant == 0 ? S(0) : rms_b[l]);
    const auto G = net.layered_thresholding(x);
    for (size_t l = 0; l < G.size(); ++l) {
      const auto& D = Ds[l];
      const double zeros =
          100.0 * double((G[l].data().array() == S(0)).count()) / double(G[l].size());
      const Index k =
          mlcsc::stripe_sparsity(G[l], D.kernel_height(), D.kernel_width(), D.boundary());
      const Index stripe =
          (2 * D.kernel_height() - 1) * (2 * D.kernel_width() - 1) * D.num_filters();
      std::printf("%-22s %5zu %9ld %12.1f %14ld %12ld\n",
                  variant == 0 ? "b = 0 (plain ReLU)" : "b = 0.5 RMS(pre-act.)", l + 1,
                  long(D.num_filters()), zeros, long(k), long(stripe));
      if (variant == 1 && !dump.empty()) {  // for compare_torch.py
        const std::string p = dump + "/layer" + std::to_string(l + 1);
        mlcsc::io::save_npy(p + "_filters.npy", D.filters());  // K x (C kh kw)
        mlcsc::io::save_npy(p + "_bias.npy", mlcsc::Vector<S>::Constant(1, -rms_b[l]));
        mlcsc::io::save_npy(p + "_out.npy", G[l].data());  // K x (H W)
        if (l == 0) mlcsc::io::save_npy(dump + "/input.npy", x.channel(0));
      }
      if (variant == 1) {
        const Index show = std::min<Index>(4, G[l].channels());
        examples::Image tile(G[l].height(), G[l].width() * show);
        for (Index c = 0; c < show; ++c)
          tile.block(0, c * G[l].width(), G[l].height(), G[l].width()) =
              G[l].channel(c).template cast<double>();
        const std::string path = out + "/relu_layer" + std::to_string(l + 1) + ".png";
        examples::save_gray_autoscale(path, tile);
        std::printf("%-22s       wrote %s (first %ld maps)\n", "", path.c_str(), long(show));
      }
    }
  }
  return 0;
}
