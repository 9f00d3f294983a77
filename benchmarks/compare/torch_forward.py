#!/usr/bin/python3
"""The forward pass of bench_multilayer in PyTorch: conv2d + bias + ReLU, three times
(1 -> 64 -> 128 -> 128 channels, 3x3, padding 1, 64 x 64 input, float32), CPU, one thread.
Best and median of fresh calls (every call allocates its outputs), after a warm-up."""
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch not available (apt-get install python3-torch)")
    raise SystemExit(0)

torch.set_num_threads(1)
torch.manual_seed(1)
ws = [torch.randn(64, 1, 3, 3), torch.randn(128, 64, 3, 3), torch.randn(128, 128, 3, 3)]
ws = [w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1) for w in ws]
bs = [torch.full((w.shape[0],), -0.05) for w in ws]
x = torch.randn(1, 1, 64, 64)


def forward(x):
    for w, b in zip(ws, bs):
        x = F.relu(F.conv2d(x, w, b, padding=1))
    return x


with torch.no_grad():
    for _ in range(3):
        forward(x)
    times = []
    for _ in range(30):
        t = time.perf_counter()
        forward(x)
        times.append(time.perf_counter() - t)
times.sort()
flops = 2.0 * 64 * 64 * 9 * (64 * 1 + 128 * 64 + 128 * 128)
print("torch %s, 1 thread: conv2d+bias+relu x3 (1->64->128->128, 3x3, 64x64, float32)" % torch.__version__)
print("  best %.3f ms  median %.3f ms  (%.1f GFLOP/s)" % (1e3 * times[0], 1e3 * times[len(times) // 2],
                                                         flops / times[0] * 1e-9))
