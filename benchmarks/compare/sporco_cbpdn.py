#!/usr/bin/python3
"""SPORCO's convolutional BPDN (admm.cbpdn.ConvBPDN), one thread, on the problems of its examples.

SPORCO (https://github.com/bwohlberg/sporco, tested with v0.2.1) is an optional extra: give its
source tree with --sporco DIR (default $SPORCO_DIR, else /work/sporco); without one the script
prints "SPORCO not found, skipped" and exits 0. Nothing of SPORCO is copied here.

    /usr/bin/python3 benchmarks/compare/sporco_cbpdn.py [--sporco DIR] [--out DIR]

Problems, as examples/scripts/csc/ builds them (kodim23.png crop [160:416, 60:316] scaled to
[0, 1], Tikhonov high-pass with npd=16, fltlmbd=10, the example's dictionary and lambda):

  grey      cbpdn_gry.py     grey image,   D = G:12x12x36,   lambda 0.05
  clr_gd    cbpdn_clr_gd.py  colour image, D = G:8x8x64,     lambda 0.1  (each channel its own maps)
  clr_cd    cbpdn_clr_cd.py  colour image, D = RGB:8x8x3x64, lambda 0.1  (maps shared by channels)

The example's options with MaxMainIter=200, RelStopTol=0 (all 200 iterations run), AuxVarObj=True
(ObjFun evaluated on the sparse variable Y), Verbose off; the rest are ConvBPDN's defaults. The
image SPORCO loads is float32, so its examples run in float32; each problem runs with
DataType float64 and float32 on the same data. Every timed run follows a 3-iteration warm-up of
the same shapes (pyfftw plans with FFTW_MEASURE on the first call of each shape).

Written to --out (default /tmp/sporco_problems), per problem:
  <name>_signal.npy  the high-pass signal, N x C x H x W float64 (N = 1)
  <name>_dict.npy    the filters, K x C x kh x kw float64 (SPORCO's kh x kw [x C] x K transposed;
                     SPORCO anchors each filter at the origin, which only shifts the code)
  <name>_target.txt lambda, then per data type the final objective (numpy, on Y) and SPORCO's
                     time without statistics: what benchmarks/bench_admm.cpp reads
  <name>_sporco.json lambda, rho, the options, per-iteration ObjFun, DFid, RegL1, PrimalRsdl,
                     DualRsdl, Rho and two cumulative clocks, per data type: 'time' is SPORCO's
                     IterationStats Time (timer 'solve', read before the iteration's statistics
                     but including those of the earlier ones), and 'time_wo_objfun' its timer
                     'solve_wo_func' read by a per-iteration callback (no statistics at all);
                     also the final objective recomputed in numpy on Y (circular FFT
                     convolution), the whole solve's wall and process CPU time.
"""
import os

import sporco_env  # noqa: E402 (benchmarks/compare/, beside this script)

sporco_env.one_thread()

import argparse
import json
import time

import numpy as np

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--sporco", default=os.environ.get("SPORCO_DIR", "/work/sporco"),
                    help="SPORCO source tree (holding sporco/__init__.py)")
parser.add_argument("--out", default="/tmp/sporco_problems", help="output directory")
parser.add_argument("--iters", type=int, default=200, help="ADMM iterations")
parser.add_argument("--problems", default="grey,clr_gd,clr_cd", help="comma-separated subset")
args = parser.parse_args()

sporco, signal, util, cbpdn, fftlib = sporco_env.import_sporco(args.sporco, "sporco.admm.cbpdn")

# name: (example script, grey image?, dictionary, lambda, dimK of the example's ConvBPDN call)
problems = {
    "grey": ("cbpdn_gry.py", True, "G:12x12x36", 5e-2, 0),
    "clr_gd": ("cbpdn_clr_gd.py", False, "G:8x8x64", 1e-1, 0),
    "clr_cd": ("cbpdn_clr_cd.py", False, "RGB:8x8x3x64", 1e-1, None),
}


def options(dtype, iters, callback=None):
    return cbpdn.ConvBPDN.Options({"Verbose": False, "MaxMainIter": iters, "RelStopTol": 0.0,
                                   "AuxVarObj": True, "DataType": dtype, "Callback": callback})


def objective(D, Y, s, lmbda):
    """0.5 ||sum_m d_m (*) y_m - s||^2 + lambda ||y||_1 in float64, circular convolution.
    D: M x Cd x kh x kw, Y: Cy x M x H x W (Cy = C for a grey dictionary, else 1), s: C x H x W."""
    H, W = s.shape[-2:]
    Df = np.fft.rfft2(D.transpose(1, 0, 2, 3), s=(H, W))  # Cd x M, filter at the origin
    r = np.fft.irfft2((Df * np.fft.rfft2(Y)).sum(axis=1), s=(H, W)) - s
    return 0.5 * np.sum(r ** 2) + lmbda * np.abs(Y).sum()


os.makedirs(args.out, exist_ok=True)
for name in args.problems.split(","):
    script, gray, dname, lmbda, dimK = problems[name]
    img = util.ExampleImages().image("kodim23.png", scaled=True, gray=gray,
                                     idxexp=np.s_[160:416, 60:316])
    sl, sh = signal.tikhonov_filter(img, 10, 16)  # fltlmbd = 10, npd = 16
    D = util.convdicts()[dname]
    # N x C x H x W and K x C x kh x kw, float64
    s64 = (sh[None, None] if sh.ndim == 2 else sh.transpose(2, 0, 1)[None]).astype(np.float64)
    d64 = (D.transpose(2, 0, 1)[:, None] if D.ndim == 3 else D.transpose(3, 2, 0, 1))
    d64 = np.ascontiguousarray(d64, dtype=np.float64)
    np.save(os.path.join(args.out, name + "_signal.npy"), np.ascontiguousarray(s64))
    np.save(os.path.join(args.out, name + "_dict.npy"), d64)
    print("%s (%s): image %s %s, D %s %s, lambda %g" %
          (name, script, sh.shape, sh.dtype, D.shape, D.dtype, lmbda))
    record = {"example": "examples/scripts/csc/" + script, "lambda": lmbda,
              "signal_shape": list(s64.shape), "dict_shape": list(d64.shape),
              "sporco_version": sporco.__version__, "fft": fftlib, "fft_threads": 1,
              "iterations": args.iters, "runs": {}}
    for dtype in (np.float64, np.float32):
        cbpdn.ConvBPDN(D, sh, lmbda, options(dtype, 3), dimK=dimK).solve()  # warm-up
        clock = []  # timer 'solve_wo_func' after each iteration (excludes the statistics)

        def callback(solver):
            clock.append(solver.timer.elapsed("solve_wo_func"))
            return False  # do not stop

        opt = options(dtype, args.iters, callback)
        b = cbpdn.ConvBPDN(D, sh, lmbda, opt, dimK=dimK)
        rho0 = float(b.rho)
        t0, c0 = time.perf_counter(), time.process_time()
        b.solve()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        its = b.getitstat()
        assert len(its.ObjFun) == args.iters
        # getcoef() returns Y since ReturnX is False: H x W x Cy x 1 x M -> Cy x M x H x W
        Y = b.getcoef()
        assert Y is b.Y
        Y = Y[:, :, :, 0, :].transpose(2, 3, 0, 1).astype(np.float64)
        F = objective(d64, Y, s64[0], lmbda)
        key = np.dtype(dtype).name
        record["runs"][key] = {
            "rho_initial": rho0, "rsdl_target": float(b.rho_xi),
            "options": {k: (v if k != "DataType" else key) for k, v in b.opt.items()
                        if k != "Callback"},
            "wall_seconds": wall, "cpu_seconds": cpu,
            "solve_timer": b.timer.elapsed("solve"),
            "solve_wo_objfun_timer": b.timer.elapsed("solve_wo_func"),
            "time": [float(t) for t in its.Time], "time_wo_objfun": clock,
            **{f: [float(v) for v in getattr(its, f)]
               for f in ("ObjFun", "DFid", "RegL1", "PrimalRsdl", "DualRsdl", "Rho")},
            "objective_numpy": F, "nonzeros": int(np.count_nonzero(Y)), "coef_size": Y.size}
        print("  %-7s %3d it: %7.2f s wall (%6.2f s cpu, %6.2f s w/o ObjFun), rho %.3g -> %.3g, "
              "ObjFun %.8g, numpy %.8g (rel diff %.1e), nnz %.2f%%" %
              (key, args.iters, wall, cpu, clock[-1], rho0, its.Rho[-1], its.ObjFun[-1], F,
               abs(F - its.ObjFun[-1]) / F, 100.0 * np.count_nonzero(Y) / Y.size))
    with open(os.path.join(args.out, name + "_sporco.json"), "w") as f:
        json.dump(record, f, indent=1, default=str)
    # what benchmarks/bench_admm.cpp reads: lambda, and per data type the objective of the 200
    # iterations (on Y, in float64) and SPORCO's time for them without its statistics
    with open(os.path.join(args.out, name + "_target.txt"), "w") as f:
        f.write("lambda %.17g\n" % lmbda)
        for key, r in record["runs"].items():
            f.write("%s %.17g %.6g\n" % (key, r["objective_numpy"], r["solve_wo_objfun_timer"]))
print("written to", args.out)
