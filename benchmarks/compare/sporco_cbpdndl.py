#!/usr/bin/python3
"""SPORCO's convolutional dictionary learning (dictlrn.cbpdndl.ConvBPDNDictLearn), one thread.

SPORCO (https://github.com/bwohlberg/sporco, tested with v0.2.1) is an optional extra: give its
source tree with --sporco DIR (default $SPORCO_DIR, else /work/sporco); without one the script
prints "SPORCO not found, skipped" and exits 0. Nothing of SPORCO is copied here.

    /usr/bin/python3 benchmarks/compare/sporco_cbpdndl.py [--sporco DIR] [--out DIR]

The problem, as examples/scripts/cdl/cbpdndl_cns_gry.py builds it:
  - 5 training images, ExampleImages(scaled=True, zoom=0.25, gray=True): barbara [10:522,
    100:612], kodim23 [:, 60:572], monarch [:, 160:672], sail [:, 210:722], tulips [:, 30:542]
    (crops taken before the zoom), i.e. 5 grey 128 x 128 images in [0, 1], float32;
  - high-pass: Tikhonov filter with fltlmbd=5, npd=16 (the high-pass part sh);
  - initial dictionary np.random.seed(12345); D0 = np.random.randn(8, 8, 64), NOT normalised:
    ConvBPDNDictLearn's constructor projects it first (the CCMOD projection below), so the
    dictionary of the first sparse coding is D0 with each filter's mean subtracted, then
    divided by its norm;
  - lambda 0.2, dmethod 'cns' (admm.ccmod.ConvCnstrMOD_Consensus), xmethod default 'admm'
    (admm.cbpdn.ConvBPDN), the example's options: MaxMainIter 200, CBPDN rho 50 lambda + 0.5
    = 10.5, CCMOD rho 10 and ZeroMean True; the rest are ConvBPDNDictLearn's defaults (both
    steps: one ADMM iteration per outer iteration, relaxation 1.8, AutoRho Period 10,
    RsdlRatio 10, Scaling 2, no AutoScaling, RsdlTarget 1; AccurateDFid False). AutoRho is
    enabled for ConvBPDN only (the consensus CCMOD's option merge leaves 'Enabled' False); on
    this problem ConvBPDN's rho never changes either (the residual ratio stays within 10), so
    both penalties are constant: 10.5 and 10. Only Verbose is turned off: DictLearn.solve has
    no stopping test (only a Callback returning True stops it), so all MaxMainIter iterations
    always run.

One outer iteration: one ADMM iteration of ConvBPDN (X update by Sherman-Morrison per
frequency, Y = soft threshold, U) on the current dictionary; its Y (sparse) goes to the
dictionary step; one ADMM iteration of the consensus CCMOD (one block per image, each solved
per frequency, then Y = projection of the mean of the relaxed X + U, U per block); the
dictionary step's Y cropped to 8 x 8 goes back to ConvBPDN. The projection (cnvrep.Pcn,
ZeroMean) keeps the 8 x 8 support (zero elsewhere), subtracts each filter's mean over it, and
divides by the l2 norm: every nonzero filter lands ON the unit sphere (not in the ball).

DataType: ConvBPDNDictLearn's own options reject it; it is honoured per step, as
{'CBPDN': {'DataType': t}, 'CCMOD': {'DataType': t}}, which sets every working array of both
steps (run with float64 and float32 on the same data; the example itself, with no DataType,
runs in float32 since its images are float32). Every timed run follows a 3-iteration warm-up
of the same shapes (pyfftw plans with FFTW_MEASURE on the first call of each shape).

SPORCO's ObjFun (AccurateDFid False) is the sparse coding step's own statistic: ConvBPDN with
AuxVarObj False evaluates 0.5 ||sum_m d_m * x_m - s||^2 + lambda ||x||_1 on its X, the
unconstrained ADMM variable (not sparse), and on the dictionary it coded with, i.e. the one
from the PREVIOUS outer iteration's dictionary update. The final results are getdict(): the
CCMOD's Y (the projected variable) cropped to 8 x 8, and getcoef(): ConvBPDN's Y (ReturnX is
False), the sparse soft-thresholded variable. The objective written to cdl_target.txt is
recomputed in numpy, float64, on those (circular convolution by FFT, the 8 x 8 filters
zero-padded to 128 x 128 and anchored at the origin as SPORCO does); the JSON also holds the
numpy value of SPORCO's own definition (previous dictionary, X) to show it reproduces ObjFun.

Timings (cumulative, per iteration): 'time' is IterationStats Time (timer 'solve', read after
the iteration, so it includes the two steps' own statistics); 'time_wo_eval' is
ConvBPDNDictLearn's timer 'solve_wo_eval', read by a per-iteration callback: it only leaves
out DictLearn.evaluate(), which does nothing with AccurateDFid False, so it is 'time' again;
'time_wo_stats' is 'time_wo_eval' minus the time both steps spent in their statistics (their
timers 'solve' minus 'solve_wo_func'). Unless --no-fastsolve, a third run sets FastSolve in
both steps (no statistics computed at all; the iterates are checked to be bitwise those of
the run with statistics) and its timer 'solve' is the time written to cdl_target.txt (else
the last 'time_wo_stats'). The machine may be shared: times are noisy, CPU times are recorded.
float64 runs about 4x slower than float32, much of it in the kernel: SPORCO's largest
temporaries (complex128 coefficient spectra, 128 x 65 x 5 x 64, 43 MB) exceed glibc's largest
dynamic mmap threshold (32 MB), so each one is mmapped and page-faulted afresh. With
MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ set to 4294967296 in the environment, 20
float64 iterations took 9.4 s instead of 21.2 s (float32: 5.9 s vs 5.7 s); this script
leaves the allocator as it is.

Written to --out (default /tmp/sporco_cdl):
  cdl_images.npy        the high-pass images, N x 1 x H x W float64 (N = 5)
  cdl_D0.npy            the initial filters as the example draws them (not normalised),
                        K x 1 x kh x kw float64 (SPORCO's kh x kw x K transposed)
  cdl_sporco_D_<t>.npy  SPORCO's final filters (getdict()), K x 1 x kh x kw float64
  cdl_target.txt        'lambda 0.2', then per data type: <dtype> <final objective recomputed>
                        <SPORCO seconds for the iterations without statistics>
  cdl_sporco.json       lambda, the options, per data type: per-iteration ObjFun, DFid, RegL1,
                        Cnstr, the residuals and penalties of both steps, the three clocks, the
                        final objective recomputed (and SPORCO's definition recomputed), the
                        final dictionary's properties (means, norms, support), the coefficients'
                        sparsity, whether ObjFun decreases monotonically.
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
parser.add_argument("--out", default="/tmp/sporco_cdl", help="output directory")
parser.add_argument("--iters", type=int, default=200, help="outer (dictionary learning) iterations")
parser.add_argument("--dtypes", default="float64,float32", help="comma-separated subset")
parser.add_argument("--no-fastsolve", action="store_true",
                    help="skip the FastSolve run (time without statistics derived from timers)")
args = parser.parse_args()

sporco, signal, util, cbpdndl, fftlib = sporco_env.import_sporco(args.sporco, "sporco.dictlrn.cbpdndl")

EXAMPLE = "examples/scripts/cdl/cbpdndl_cns_gry.py"
LMBDA = 0.2
# (file, crop before the zoom)
IMAGES = (("barbara.png", np.s_[10:522, 100:612]), ("kodim23.png", np.s_[:, 60:572]),
          ("monarch.png", np.s_[:, 160:672]), ("sail.png", np.s_[:, 210:722]),
          ("tulips.png", np.s_[:, 30:542]))


def options(dtype, iters, callback=None, fast=False):
    """The example's options, Verbose off; DataType and FastSolve set in both steps."""
    return cbpdndl.ConvBPDNDictLearn.Options(
        {"Verbose": False, "MaxMainIter": iters, "Callback": callback,
         "CBPDN": {"rho": 50.0 * LMBDA + 0.5, "DataType": dtype, "FastSolve": fast},
         "CCMOD": {"rho": 10.0, "ZeroMean": True, "DataType": dtype, "FastSolve": fast}},
        dmethod="cns")


def plain(o):
    """Options as JSON: nested dicts, types by name, no callback nor initial arrays."""
    if isinstance(o, dict):
        return {k: plain(v) for k, v in o.items() if k not in ("Callback", "Y0", "X0")}
    if isinstance(o, type) or isinstance(o, np.dtype):
        return np.dtype(o).name
    if isinstance(o, np.generic):
        return o.item()
    return o


def filters(D):
    """SPORCO's kh x kw [x 1 x 1] x K -> K x 1 x kh x kw float64."""
    D = D.reshape(D.shape[0], D.shape[1], D.shape[-1])
    return np.ascontiguousarray(D.transpose(2, 0, 1)[:, None], dtype=np.float64)


def maps(X):
    """SPORCO's coefficient maps H x W x 1 x N x K -> N x K x H x W float64."""
    return np.ascontiguousarray(X[:, :, 0].transpose(2, 3, 0, 1), dtype=np.float64)


def objective(D, X, s, lmbda):
    """sum over the images of 0.5 ||sum_k d_k (*) x_k - s||^2 + lambda ||x||_1, in float64,
    circular convolution. D: K x 1 x kh x kw, X: N x K x H x W, s: N x 1 x H x W."""
    H, W = s.shape[-2:]
    Df = np.fft.rfft2(D[:, 0], s=(H, W))  # K x H x W/2+1, filter zero-padded, at the origin
    r = np.fft.irfft2((Df * np.fft.rfft2(X)).sum(axis=1), s=(H, W)) - s[:, 0]
    dfid = 0.5 * np.sum(r ** 2)
    l1 = np.abs(X).sum()
    return dfid + lmbda * l1, dfid, l1


os.makedirs(args.out, exist_ok=True)
exim = util.ExampleImages(scaled=True, zoom=0.25, gray=True)
S = np.dstack([exim.image(name, idxexp=crop) for name, crop in IMAGES])
sl, sh = signal.tikhonov_filter(S, 5, 16)  # fltlmbd = 5, npd = 16
np.random.seed(12345)
D0 = np.random.randn(8, 8, 64)
s64 = np.ascontiguousarray(sh.transpose(2, 0, 1)[:, None], dtype=np.float64)  # N x 1 x H x W
d0 = filters(D0)
np.save(os.path.join(args.out, "cdl_images.npy"), s64)
np.save(os.path.join(args.out, "cdl_D0.npy"), d0)
print("%s: %d images %s %s (high-pass %s %s), D0 %s %s, lambda %g" %
      (EXAMPLE, S.shape[2], S.shape[:2], S.dtype, sh.shape, sh.dtype, D0.shape, D0.dtype, LMBDA))

record = {"example": EXAMPLE, "lambda": LMBDA, "images": [n for n, _ in IMAGES],
          "images_shape": list(s64.shape), "D0_shape": list(d0.shape),
          "D0_note": "np.random.seed(12345); randn(8, 8, 64), not normalised; SPORCO's "
                     "constructor subtracts each filter's mean and divides by its norm",
          "sporco_version": sporco.__version__, "fft": fftlib, "fft_threads": 1,
          "iterations": args.iters,
          "objfun_definition": "ConvBPDN statistic (AccurateDFid False, AuxVarObj False): "
                               "DFid and RegL1 on ConvBPDN's X (unconstrained, not sparse) and "
                               "the dictionary it coded with, from the previous iteration",
          "coef": "getcoef() = ConvBPDN's Y (ReturnX False): sparse, soft-thresholded",
          "dict": "getdict() = ConvCnstrMOD_Consensus's Y (projected) cropped to 8 x 8",
          "runs": {}}
for key in args.dtypes.split(","):
    dtype = np.dtype(key).type
    cbpdndl.ConvBPDNDictLearn(D0, sh, LMBDA, options(dtype, 3), dmethod="cns").solve()  # warm-up
    clock_eval, clock_stats, dicts = [], [], []

    def callback(dl):
        # after each outer iteration (D update done); the steps' timers are stopped here
        t = dl.timer.elapsed("solve_wo_eval")
        clock_eval.append(t)
        clock_stats.append(t - sum(s.timer.elapsed("solve") - s.timer.elapsed("solve_wo_func")
                                   for s in (dl.xstep, dl.dstep)))
        dicts[:] = dicts[-1:] + [dl.getdict().copy()]  # the last two dictionaries
        return False  # do not stop

    opt = options(dtype, args.iters, callback)
    d = cbpdndl.ConvBPDNDictLearn(D0, sh, LMBDA, opt, dmethod="cns")
    dicts.append(d.xstep.D.copy())  # as getdict() returns it: 8 x 8 x 1 x 1 x K
    # the dictionary of the first sparse coding: D0 projected by the constructor
    dinit = filters(d.xstep.D)
    dproj = d0 - d0.mean(axis=(2, 3), keepdims=True)
    dproj /= np.sqrt((dproj ** 2).sum(axis=(2, 3), keepdims=True))
    t0, c0 = time.perf_counter(), time.process_time()
    d.solve()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    its = d.getitstat()
    assert len(its.ObjFun) == args.iters and len(clock_eval) == args.iters
    assert d.getcoef() is d.xstep.Y and d.xstep.getcoef() is d.xstep.Y
    Dfin, Y, X = filters(d.getdict()), maps(d.getcoef()), maps(d.xstep.X)
    Dprev = filters(dicts[0])  # the dictionary the last sparse coding used
    F, dfid, l1 = objective(Dfin, Y, s64, LMBDA)
    Fs, dfids, l1s = objective(Dprev, X, s64, LMBDA)  # SPORCO's ObjFun definition
    Fdy = objective(Dprev, Y, s64, LMBDA)[0]
    Fxd = objective(Dfin, X, s64, LMBDA)[0]
    np.save(os.path.join(args.out, "cdl_sporco_D_%s.npy" % key), Dfin)

    # the final dictionary
    means = Dfin.mean(axis=(1, 2, 3))
    norms = np.sqrt((Dfin ** 2).sum(axis=(1, 2, 3)))
    Yd = np.asarray(d.dstep.Y)  # CCMOD's Y, H x W x 1 x 1 x K, zero outside 8 x 8?
    outside = max(np.abs(Yd[8:]).max(), np.abs(Yd[:, 8:]).max())
    obj = np.asarray(its.ObjFun, dtype=np.float64)
    inc = np.diff(obj)
    run = {
        "options": plain(d.opt), "dtype_of_steps": [str(d.xstep.dtype), str(d.dstep.dtype)],
        "wall_seconds": wall, "cpu_seconds": cpu,
        "solve_timer": d.timer.elapsed("solve"),
        "solve_wo_eval_timer": d.timer.elapsed("solve_wo_eval"),
        "steps_solve_timers": {n: {"solve": s.timer.elapsed("solve"),
                                   "solve_wo_func": s.timer.elapsed("solve_wo_func")}
                               for n, s in (("cbpdn", d.xstep), ("ccmod", d.dstep))},
        "time": [float(t) for t in its.Time], "time_wo_eval": clock_eval,
        "time_wo_stats": clock_stats,
        **{f: [float(v) for v in getattr(its, f)]
           for f in ("ObjFun", "DFid", "RegL1", "Cnstr", "XPrRsdl", "XDlRsdl", "XRho",
                     "DPrRsdl", "DDlRsdl", "DRho")},
        "objective_numpy": F, "dfid_numpy": dfid, "regl1_numpy": l1,
        "objective_numpy_sporco_definition": Fs, "dfid_numpy_sporco_definition": dfids,
        "regl1_numpy_sporco_definition": l1s,
        "objective_numpy_Dprev_Y": Fdy, "objective_numpy_Dfinal_X": Fxd,
        "objfun_increases": int((inc > 0).sum()),
        "objfun_largest_increase": float(inc.max()),
        "objfun_increase_iterations": [int(i + 1) for i in np.nonzero(inc > 0)[0]],
        "initial_dict_is_projected_D0": float(np.abs(dinit - dproj).max()),
        "final_dict": {"zero_mean_option": True,
                       "max_abs_mean": float(np.abs(means).max()),
                       "max_abs_norm_minus_1": float(np.abs(norms - 1).max()),
                       "min_norm": float(norms.min()), "max_norm": float(norms.max()),
                       "ccmod_Y_outside_8x8_max_abs": float(outside)},
        "coef_nonzeros": int(np.count_nonzero(Y)), "coef_size": Y.size,
        "X_nonzeros": int(np.count_nonzero(X))}
    print("  %-7s %3d it: %7.2f s wall (%6.2f s cpu), Time %.2f s, w/o eval %.2f s, "
          "w/o stats %.2f s" % (key, args.iters, wall, cpu, its.Time[-1], clock_eval[-1],
                                clock_stats[-1]))
    print("          ObjFun %.10g, numpy on (D prev, X) %.10g (rel diff %.1e); "
          "numpy on (getdict, getcoef = Y) %.10g [D prev, Y: %.10g; D final, X: %.10g]" %
          (obj[-1], Fs, abs(Fs - obj[-1]) / Fs, F, Fdy, Fxd))
    print("          ObjFun increases at %d iterations (largest %.3g); final filters: "
          "max |mean| %.1e, norms in [%.8f, %.8f]; Y nonzeros %.2f%%" %
          (run["objfun_increases"], inc.max(), np.abs(means).max(), norms.min(), norms.max(),
           100.0 * np.count_nonzero(Y) / Y.size))
    if not args.no_fastsolve:
        cbpdndl.ConvBPDNDictLearn(D0, sh, LMBDA, options(dtype, 3, fast=True),
                                  dmethod="cns").solve()  # warm-up
        f = cbpdndl.ConvBPDNDictLearn(D0, sh, LMBDA, options(dtype, args.iters, fast=True),
                                      dmethod="cns")
        t0, c0 = time.perf_counter(), time.process_time()
        f.solve()
        fwall, fcpu = time.perf_counter() - t0, time.process_time() - c0
        same = bool(np.array_equal(f.getdict(), d.getdict()) and
                    np.array_equal(f.getcoef(), d.getcoef()))
        run["fastsolve"] = {"solve_timer": f.timer.elapsed("solve"), "wall_seconds": fwall,
                            "cpu_seconds": fcpu, "same_iterates": same,
                            "max_abs_diff_D": float(np.abs(filters(f.getdict()) - Dfin).max()),
                            "objective_numpy": objective(filters(f.getdict()),
                                                         maps(f.getcoef()), s64, LMBDA)[0]}
        print("          FastSolve: %.2f s (%.2f s cpu), same D and Y: %s" %
              (f.timer.elapsed("solve"), fcpu, same))
    run["target_seconds"] = run["fastsolve"]["solve_timer"] if "fastsolve" in run \
        and run["fastsolve"]["same_iterates"] else clock_stats[-1]
    record["runs"][key] = run

with open(os.path.join(args.out, "cdl_sporco.json"), "w") as f:
    json.dump(record, f, indent=1, default=str)
# lambda, and per data type the objective of the final dictionary and coefficients (on Y, in
# float64) and SPORCO's time for the iterations without statistics
with open(os.path.join(args.out, "cdl_target.txt"), "w") as f:
    f.write("lambda %.17g\n" % LMBDA)
    for key, r in record["runs"].items():
        f.write("%s %.17g %.6g\n" % (key, r["objective_numpy"], r["target_seconds"]))
print("written to", args.out)
