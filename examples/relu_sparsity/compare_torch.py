#!/usr/bin/python3
"""The CNN forward pass is layered thresholding: mlcsc's MultiLayer::layered_thresholding with
NonnegSoft shrinkage and Zero boundary against PyTorch's conv2d(x, D_l, bias=-b_l, padding=k//2)
followed by ReLU, on the 3-layer network of relu_sparsity (16 Gabor 7x7, 32 and 64 random 3x3
filters) and the bundled photograph.

    /usr/bin/python3 examples/relu_sparsity/compare_torch.py [--bin build/examples/relu_sparsity]

relu_sparsity --dump DIR writes the input, every layer's filters (K x C*kh*kw), bias (-b_l) and
output (K x H*W) as .npy; this script rebuilds the network in PyTorch from the same filters and
biases, runs it in float32 and float64, and prints the largest difference per layer relative to
the layer's largest activation. float32 agrees to rounding (the two sum in different orders).
Needs Debian's python3-numpy and python3-torch; without torch it says so and exits 0.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch not available (apt-get install python3-torch): nothing to compare")
    raise SystemExit(0)


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(root, "build", "examples", "relu_sparsity"),
                    help="path of the relu_sparsity binary")
    args = ap.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: build it (cmake --build build --target relu_sparsity)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.bin, "--out", tmp, "--dump", tmp], check=True, capture_output=True)
        x = np.load(os.path.join(tmp, "input.npy"))
        layers = []
        for l in range(1, 4):
            p = os.path.join(tmp, f"layer{l}")
            layers.append((np.load(p + "_filters.npy"), np.load(p + "_bias.npy").reshape(-1),
                           np.load(p + "_out.npy")))
    H, W = x.shape
    print(f"torch {torch.__version__}: conv2d(x, D_l, bias=-b_l, padding=k//2) + ReLU, 3 layers, "
          f"on a {H} x {W} photograph, against mlcsc's layered_thresholding (NonnegSoft, Zero)")
    def forward(dtype):  # the activations of every layer, as numpy float64
        z = torch.from_numpy(x.astype(np.float64)).to(dtype).view(1, 1, H, W)
        acts, C = [], 1
        for filt, bias, _ in layers:
            K = filt.shape[0]
            k = int(round((filt.shape[1] // C) ** 0.5))
            w = torch.from_numpy(filt.astype(np.float64)).to(dtype).view(K, C, k, k)
            b = torch.full((K,), float(bias[0]), dtype=dtype)
            with torch.no_grad():
                z = F.relu(F.conv2d(z, w, b, padding=k // 2))
            acts.append((K, C, k, z[0].numpy().astype(np.float64)))
            C = K
        return acts

    single, double = forward(torch.float32), forward(torch.float64)
    print(f"{'layer':>5} {'filters':>16} {'max |act|':>10} {'float32 diff':>13} "
          f"{'float64 diff':>13} {'same zeros':>11}")
    worst = 0.0
    for l, (_, _, out) in enumerate(layers):
        K, C, k, t32 = single[l]
        t64 = double[l][3]
        ours = out.reshape(K, H, W).astype(np.float64)
        scale = max(1e-30, np.abs(ours).max())
        d32 = np.abs(ours - t32).max() / scale
        d64 = np.abs(ours - t64).max() / scale
        same = np.mean((ours == 0) == (t32 == 0))
        worst = max(worst, d32)
        print(f"{l + 1:>5} {f'{K} x {C} x {k}x{k}':>16} {scale:>10.4g} {d32:>13.2e} {d64:>13.2e} "
              f"{100 * same:>10.3f}%")
    print("diff: the largest |mlcsc - torch| of a layer over its largest activation. float32: "
          "rounding only (the two sum in different orders); float64 runs PyTorch in double on "
          "mlcsc's float32 filters and input, so it measures mlcsc's float32 rounding.")
    print("same zeros: the share of activations zero in both or nonzero in both (they can differ "
          "only where a pre-activation is within rounding of the bias).")
    status = "agree" if worst < 1e-4 else "DIFFER"
    print(f"mlcsc and PyTorch {status} (largest float32 difference {worst:.1e} of the activations)")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
