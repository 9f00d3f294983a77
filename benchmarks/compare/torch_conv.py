#!/usr/bin/python3
"""PyTorch's CPU convolutions on the shapes of bench_conv_kernels, float32, one thread.

  (a) 1 channel 256x256, 64 filters 7x7
  (b) 64 channels 64x64 -> 128 filters 3x3
  (c) 1-D: 1 channel of length 65,536, 32 filters of 64

conv2d(x, D, padding=k//2) is mlcsc's ConvDictionary::analyze with Boundary::Zero (for the even
1-D filter, padding='same', which pads 31 left and 32 right, mlcsc's anchor), and
conv_transpose2d(g, D, padding=k//2) its synthesize (for the even 1-D filter torch cannot pad
asymmetrically; padding 31 computes one extra output column, 1/65536 of the work).

oneDNN's speed depends on where its tensors were allocated, so every repeat allocates fresh
inputs and the best repeat is reported. Two clocks: wall time, and this thread's CPU time (the
clock bench_conv_kernels uses for one thread, immune to preemption on a shared machine); with one
torch thread the work runs on the calling thread.
Usage: /usr/bin/python3 benchmarks/compare/torch_conv.py [repeats]
"""
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch not available (apt-get install python3-torch)")
    raise SystemExit(0)

torch.set_num_threads(1)
torch.manual_seed(1)
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 30

# name, K, C, kh, kw, H, W
shapes = [
    ("(a) 1ch 256x256, 64 filt 7x7", 64, 1, 7, 7, 256, 256),
    ("(b) 64ch 64x64 -> 128 filt 3x3", 128, 64, 3, 3, 64, 64),
    ("(c) 1-D 1ch 65536, 32 filt 64", 32, 1, 1, 64, 1, 65536),
]


def best_of(make_input, op):
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        x = make_input()  # a fresh allocation every repeat
        t0, c0 = time.perf_counter(), time.thread_time()
        op(x)
        c1, t1 = time.thread_time(), time.perf_counter()
        best_wall = min(best_wall, t1 - t0)
        best_cpu = min(best_cpu, c1 - c0)
    return best_wall, best_cpu


print("torch %s, %d thread, float32, best of %d fresh allocations" %
      (torch.__version__, torch.get_num_threads(), repeats))
print("%-34s %-18s %10s %10s %12s %12s" % ("shape", "op", "wall ms", "cpu ms", "GFLOP/s wall",
                                           "GFLOP/s cpu"))
with torch.no_grad():
    for name, K, C, kh, kw, H, W in shapes:
        D = torch.randn(K, C, kh, kw)
        D = D / D.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        flops = 2.0 * K * C * kh * kw * H * W
        pad = (kh // 2, kw // 2)
        if kw % 2 == 0 or kh % 2 == 0:
            fwd = lambda x: F.conv2d(x, D, padding="same")
            pad = ((kh - 1) // 2, (kw - 1) // 2)
        else:
            fwd = lambda x: F.conv2d(x, D, padding=pad)
        adj = lambda g: F.conv_transpose2d(g, D, padding=pad)
        for opname, make, op in (
            ("conv2d", lambda: torch.randn(1, C, H, W), fwd),
            ("conv_transpose2d", lambda: torch.randn(1, K, H, W), adj),
        ):
            op(make())  # warm-up
            wall, cpu = best_of(make, op)
            print("%-34s %-18s %10.3f %10.3f %12.1f %12.1f" %
                  (name, opname, 1e3 * wall, 1e3 * cpu, flops / wall * 1e-9, flops / cpu * 1e-9))
