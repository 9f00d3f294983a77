#!/usr/bin/python3
"""The ML-ISTA paper's MNIST network in PyTorch, against mlcsc's layered thresholding.

The network of Sulam, Aberdam, Beck, Elad (TPAMI 2019, arXiv 1806.00701), MNIST model:
conv 1->32 6x6 stride 2, conv 32->64 6x6 stride 2, conv 64->512 4x4 stride 1, each with a bias
and a ReLU, no padding: 28x28 -> 12x12 -> 4x4 -> 1x1. Weights and biases are torch's default
init (kaiming-uniform, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both) after torch.manual_seed(0).

    /usr/bin/python3 examples/pytorch_network/compare_torch.py --export DIR
        writes DIR/conv{1,2,3}_weight.npy (float32, (K, C, kh, kw)) and DIR/conv{1,2,3}_bias.npy
        (float32, (K,)) for `pytorch_network --weights DIR`.
    /usr/bin/python3 examples/pytorch_network/compare_torch.py --check DIR [--time]
        loads DIR/images.npy (64, 1, 28, 28) and DIR/layer{1,2,3}.npy, written by
        `pytorch_network --out DIR`, runs the torch forward pass on the same images with the
        weights in DIR (the exported ones, or those pytorch_network drew itself when it ran
        without --weights) and compares layer by layer. Exits 1 if a layer differs by more than
        the tolerance below.
    /usr/bin/python3 examples/pytorch_network/compare_torch.py --time [--check DIR]
        torch's forward time for the 64-image batch, best of 20 runs with 1 and with 2 threads
        (in 4 rounds alternating the two, like pytorch_network's timing; on
        DIR/images.npy with --check, else on uniform random images: the time does not depend
        on the values).

Tolerance: a layer passes when max |mlcsc - torch| <= 1e-4 max |torch activation| of that layer.
Both run in float32 and sum the same products in different orders, so each pre-activation differs
by rounding: for a dot product of n = C kh kw terms (36, 1152, 1024 here) the error is of the
order of sqrt(n) eps sum_i |w_i x_i| (eps = 6e-8; at most n eps sum_i |w_i x_i| in the worst
case), which with these weights is 1e-7 to 1e-5 of the largest activation, plus the earlier
layers' rounding passed on (measured: below 1e-6 on every layer). The float64 columns run torch in
double on the same float32 weights and images, exact to about 1e-15, so they show how far each
float32 implementation is from the exact answer: the two are equally close. 1e-4 leaves a factor
of 10 or more over rounding and is far below what a real error gives (a misplaced tap, a wrong
stride or padding, a flipped filter or a bias of the wrong sign change activations by O(1)).
Needs Debian's python3-numpy and python3-torch (1.13); downloads nothing.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = 1e-4  # relative to each layer's largest activation; see the docstring


class MLISTANet(nn.Module):
    """The forward pass of the ML-ISTA paper's MNIST model (its ML-ISTA unrolling not included)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 6, stride=2)
        self.conv2 = nn.Conv2d(32, 64, 6, stride=2)
        self.conv3 = nn.Conv2d(64, 512, 4, stride=1)

    def forward(self, x):
        g1 = F.relu(self.conv1(x))
        g2 = F.relu(self.conv2(g1))
        g3 = F.relu(self.conv3(g2))
        return g1, g2, g3


def convs(net):
    return [net.conv1, net.conv2, net.conv3]


def seeded_net():
    torch.manual_seed(0)
    return MLISTANet().eval()


def export(d):
    os.makedirs(d, exist_ok=True)
    net = seeded_net()
    for l, conv in enumerate(convs(net), 1):
        w = conv.weight.detach().numpy().astype(np.float32)
        b = conv.bias.detach().numpy().astype(np.float32)
        np.save(os.path.join(d, f"conv{l}_weight.npy"), w)
        np.save(os.path.join(d, f"conv{l}_bias.npy"), b)
        print(f"conv{l}: weight {tuple(w.shape)}, bias {tuple(b.shape)}, "
              f"|w| <= {np.abs(w).max():.4f}, |b| <= {np.abs(b).max():.4f}")
    print(f"wrote {d}/conv{{1,2,3}}_weight.npy and conv{{1,2,3}}_bias.npy (torch.manual_seed(0), "
          "default init)")


def load_net(d):
    """The network with the weights in d (as written by --export or by pytorch_network)."""
    net = seeded_net()
    seeded = [(c.weight.detach().clone(), c.bias.detach().clone()) for c in convs(net)]
    same = True
    with torch.no_grad():
        for l, conv in enumerate(convs(net), 1):
            wp, bp = os.path.join(d, f"conv{l}_weight.npy"), os.path.join(d, f"conv{l}_bias.npy")
            if not (os.path.exists(wp) and os.path.exists(bp)):
                sys.exit(f"{wp} or {bp} missing: run --export {d} (and pytorch_network --weights "
                         f"{d} --out {d}) or pytorch_network --out {d} first")
            w = np.load(wp).astype(np.float32)
            b = np.load(bp).astype(np.float32).reshape(-1)
            if w.shape != tuple(conv.weight.shape) or b.shape != tuple(conv.bias.shape):
                sys.exit(f"conv{l}: expected weight {tuple(conv.weight.shape)} and bias "
                         f"{tuple(conv.bias.shape)}, got {w.shape} and {b.shape}")
            conv.weight.copy_(torch.from_numpy(w))
            conv.bias.copy_(torch.from_numpy(b))
            same = same and torch.equal(conv.weight, seeded[l - 1][0]) and \
                torch.equal(conv.bias, seeded[l - 1][1])
    return net, same


def check(d):
    x = np.load(os.path.join(d, "images.npy"))
    if x.shape != (64, 1, 28, 28):
        sys.exit(f"{d}/images.npy: expected (64, 1, 28, 28), got {x.shape}")
    net, same = load_net(d)
    torch.set_num_threads(1)
    with torch.no_grad():
        t32 = [g.numpy().astype(np.float64) for g in net(torch.from_numpy(x.astype(np.float32)))]
        t64 = [g.numpy() for g in net.double()(torch.from_numpy(x.astype(np.float64)))]
        net.float()
    ours = []
    for l in range(1, 4):
        p = os.path.join(d, f"layer{l}.npy")
        a = np.load(p)
        if a.shape != t32[l - 1].shape:
            sys.exit(f"{p}: expected {t32[l - 1].shape}, got {a.shape}")
        ours.append(a.astype(np.float64))
    print(f"torch {torch.__version__} (1 thread) vs mlcsc layered_thresholding (NonnegSoft, Valid), "
          f"{x.shape[0]} images {x.shape[2]}x{x.shape[3]} from {d}/images.npy; weights from {d} "
          f"({'= torch.manual_seed(0) init' if same else 'not the torch.manual_seed(0) init'})")
    print(f"{'layer':>5} {'shape (N,K,H,W)':>18} {'max |act|':>10} {'max abs diff':>13} "
          f"{'max rel diff':>13} {'torch f32 vs f64':>17} {'mlcsc vs f64':>13} {'same zeros':>11}")
    worst = 0.0
    for l in range(3):
        scale = max(1e-30, np.abs(t32[l]).max())
        dabs = np.abs(ours[l] - t32[l]).max()
        rel = dabs / scale
        torch_err = np.abs(t32[l] - t64[l]).max() / scale
        ours_err = np.abs(ours[l] - t64[l]).max() / scale
        same_zeros = np.mean((ours[l] == 0) == (t32[l] == 0))
        worst = max(worst, rel)
        print(f"{l + 1:>5} {str(t32[l].shape):>18} {scale:>10.4g} {dabs:>13.3e} {rel:>13.3e} "
              f"{torch_err:>17.3e} {ours_err:>13.3e} {100 * same_zeros:>10.3f}%")
    print("max rel diff = max |mlcsc - torch| / max |torch activation| of the layer (float32 both); "
          "the f64 columns: each float32 result against torch in float64 on the same inputs, the "
          "same normalization.")
    ok = worst <= TOLERANCE
    print(f"{'PASS' if ok else 'FAIL'}: largest relative difference {worst:.2e} "
          f"{'<=' if ok else '>'} tolerance {TOLERANCE:.0e}")
    return ok, x


def time_forward(x, runs=20, rounds=4):
    """Best of `runs` per thread count, taken in `rounds` rounds that alternate 1 and 2 threads
    (as pytorch_network does), so that a burst of load from other processes does not fall on one
    count only; each round starts with a warm-up run."""
    net = seeded_net()
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    best = {1: float("inf"), 2: float("inf")}
    with torch.inference_mode():
        for r in range(rounds):
            for threads in best:
                torch.set_num_threads(threads)
                net(xt)
                for _ in range(runs // rounds + (1 if r < runs % rounds else 0)):
                    t0 = time.perf_counter()
                    net(xt)
                    best[threads] = min(best[threads], time.perf_counter() - t0)
    print(f"torch {torch.__version__} forward pass (3 x conv2d + bias + ReLU), batch "
          f"{tuple(xt.shape)}, best of {runs} runs in {rounds} alternating rounds:")
    for threads, t in best.items():
        print(f"  {threads} thread{'s' if threads > 1 else ' '}: {1e3 * t:8.3f} ms  "
              f"({1e6 * t / xt.shape[0]:.1f} us per image)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", metavar="DIR", help="write the seed-0 weights and biases as .npy")
    ap.add_argument("--check", metavar="DIR",
                    help="compare with pytorch_network's images.npy and layer{1,2,3}.npy in DIR")
    ap.add_argument("--time", action="store_true", help="time torch's forward pass, 1 and 2 threads")
    args = ap.parse_args()
    if not (args.export or args.check or args.time):
        ap.error("give --export DIR, --check DIR and/or --time")
    ok, x = True, None
    if args.export:
        export(args.export)
    if args.check:
        ok, x = check(args.check)
    if args.time:
        if x is None:
            x = np.random.default_rng(0).random((64, 1, 28, 28), dtype=np.float32)
        time_forward(x)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
