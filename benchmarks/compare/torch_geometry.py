#!/usr/bin/python3
"""PyTorch's CPU convolutions on the shapes of bench_geometry, float32, one thread (best of 20).

  64 -> 128 filters 3x3 stride 2 over 128x128, padding 1 (mlcsc: Boundary::Zero, stride 2)
  the ML-ISTA paper's MNIST layers on 64 images of 28x28, no padding (Boundary::Valid):
  1 -> 32 6x6 stride 2, 32 -> 64 6x6 stride 2, 64 -> 512 4x4

conv2d is mlcsc's analyze, conv_transpose2d (output_padding giving the input's size) its
synthesize. GFLOP/s counts 2 N K C kh kw Ho Wo, as bench_geometry does.
Usage: /usr/bin/python3 benchmarks/compare/torch_geometry.py
"""
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch not available (apt-get install python3-torch)")
    raise SystemExit(0)

torch.set_num_threads(1)
torch.manual_seed(1)


def best(f, repeats=20):
    f()
    b = 1e30
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t)
    return b


# name, N, K, C, k, stride, H, padding
shapes = [
    ("64->128 3x3 s2 128^2 (pad 1)", 1, 128, 64, 3, 2, 128, 1),
    ("MNIST conv1 1->32 6x6 s2 N=64", 64, 32, 1, 6, 2, 28, 0),
    ("MNIST conv2 32->64 6x6 s2 N=64", 64, 64, 32, 6, 2, 12, 0),
    ("MNIST conv3 64->512 4x4 N=64", 64, 512, 64, 4, 1, 4, 0),
]
print("PyTorch %s, 1 thread: conv2d / conv_transpose2d" % torch.__version__)
print("%-34s %10s %8s %12s %8s" % ("shape", "conv2d", "GFLOP/s", "conv_transp.", "GFLOP/s"))
for name, N, K, C, k, s, H, p in shapes:
    x = torch.randn(N, C, H, H)
    w = torch.randn(K, C, k, k)
    y = F.conv2d(x, w, stride=s, padding=p)
    op = (H + 2 * p - k) % s
    ta = best(lambda: F.conv2d(x, w, stride=s, padding=p))
    tt = best(lambda: F.conv_transpose2d(y, w, stride=s, padding=p, output_padding=op))
    flops = 2.0 * N * K * C * k * k * y.shape[2] * y.shape[3]
    print("%-34s %7.3f ms %8.1f %9.3f ms %8.1f" % (name, 1e3 * ta, flops / ta * 1e-9, 1e3 * tt,
                                                   flops / tt * 1e-9))
