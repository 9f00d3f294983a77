#!/usr/bin/python3
"""mlcsc's exact Lasso (Method::CoordinateDescent) against scikit-learn's sparse_encode(lasso_cd).

Same data for both: bench_dense --dump writes the 10,000 mean-removed 8x8 patches of
examples/data/camera.png (Y, 64 x 10000) and the 256-atom overcomplete DCT (D, 64 x 256).

    /usr/bin/python3 benchmarks/compare/sklearn_lasso.py --bench build/benchmarks/bench_dense
    /usr/bin/python3 benchmarks/compare/sklearn_lasso.py --bench ... --sweep   (see below)

Scaling: sparse_encode(algorithm='lasso_cd', alpha=a) fits Lasso(alpha=a / n_features) per signal,
whose objective (1/(2 n)) ||y - D g||^2 + (a/n) ||g||_1 is (1/n) [0.5 ||y - D g||^2 + a ||g||_1]
with n = n_features = 64: mlcsc's lambda equals sklearn's alpha. The script checks this
numerically on the sklearn solution (both objectives, and max |D^T r| against lambda).

Both run single-threaded (n_jobs=1, BLAS limited to one thread; the C++ side with one OpenMP
thread), alternating, best of --repeats each; the machine may be shared, so compare the ratio.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from this process's environment (they slow a
current numpy; see the machine notes) and the BLAS that numpy then uses is printed.

--sweep: the lambda sweep of bench_dense --sweep (lambda = f lambda_max, f in 0.05 .. 0.5, with
lambda_max = max_b ||D^T y_b||_inf, the smallest lambda at which every code is 0) on its two
dictionaries (a Gaussian one and one of patches of camera.png) coding 10,000 patches of
brick.png. Data from `bench_dense --sweep --dump DIR`; per repeat, scikit-learn runs every point,
then `bench_dense --sweep` (double and float, best of 3 each) runs them all; the table gives the
best times, the ratio sklearn / mlcsc, both objectives and the mean nonzeros per signal. Times
are wall times; CPU times (process_time, and the C++ thread's CPU clock) are printed too, since
on a shared machine they are less disturbed by other jobs.
"""
import os
import sys

# Re-exec once without the OpenBLAS overrides, before numpy is imported (this command only).
if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse
import subprocess
import tempfile
import time
import warnings

import numpy as np


def find_bench(root):
    for build in ("build-bench", "build"):
        path = os.path.join(root, build, "benchmarks", "bench_dense")
        if os.path.exists(path):
            return path
    return None


def run_bench(bench, args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([bench] + args, check=True, capture_output=True, text=True, env=env)
    values = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            values[parts[0]] = float(parts[1])
    return values


def sweep(args):
    from sklearn.decomposition import sparse_encode
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.bench, "--sweep", "--dump", tmp], check=True, capture_output=True)
        Y = np.load(os.path.join(tmp, "Y_sweep.npy"))
        dicts = {name: np.load(os.path.join(tmp, f"D_{name}.npy")) for name in ("gauss", "patch")}
        points = []
        with open(os.path.join(tmp, "sweep.txt")) as f:
            for line in f:
                name, frac, lam = line.split()
                points.append((name, frac, float(lam)))
    B = Y.shape[1]
    sk = {}  # (name, frac) -> dict(time, cpu, objective, nnz, warnings)
    mc = {}  # (precision, name, frac) -> dict(time, cpu, objective, nnz, kkt)
    for rep in range(args.repeats):
        for name, frac, lam in points:
            D = dicts[name]
            with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                t0, c0 = time.perf_counter(), time.process_time()
                C = sparse_encode(Y.T, D.T, algorithm="lasso_cd", alpha=lam, n_jobs=1)
                t, c = time.perf_counter() - t0, time.process_time() - c0
            G = C.T
            F = 0.5 * np.sum((Y - D @ G) ** 2) + lam * np.sum(np.abs(G))
            n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
            old = sk.get((name, frac))
            sk[(name, frac)] = dict(time=min(t, old["time"]) if old else t,
                                    cpu=min(c, old["cpu"]) if old else c, objective=F,
                                    nnz=np.count_nonzero(G) / B, warnings=n_warn)
            print(f"  sklearn {name} {frac}: {t:.3f} s", file=sys.stderr, flush=True)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        out = subprocess.run([args.bench, "--sweep", "--repeats", "3"], check=True,
                             capture_output=True, text=True, env=env).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 11 or parts[0] != "sweep":
                continue
            _, prec, name, frac, lam, t, cpu, F, nnz, kkt, conv = parts[:11]
            key = (prec, name, frac)
            old = mc.get(key)
            mc[key] = dict(time=min(float(t), old["time"]) if old else float(t),
                           cpu=min(float(cpu), old["cpu"]) if old else float(cpu),
                           objective=float(F), nnz=float(nnz), kkt=float(kkt),
                           converged=conv == "1")

    print(f"sweep: {B} mean-removed 8x8 patches of brick.png, 256 atoms, lambda = f lambda_max "
          f"(= sklearn alpha), one thread each, best of {args.repeats} (mlcsc: of 3 x "
          f"{args.repeats})")
    for prec in ("double", "float"):
        print()
        print(f"mlcsc in {prec}; sklearn in float64")
        print(f"{'dict':5s} {'f':>4s} {'lambda':>9s} {'sklearn s':>9s} {'mlcsc ms':>9s} "
              f"{'ratio':>6s} {'cpu ratio':>9s} {'F sklearn':>17s} {'F mlcsc':>17s} "
              f"{'(F_mc-F_sk)/F_sk':>16s} {'nnz sk':>7s} {'nnz mc':>7s} {'KKT/lam':>8s}")
        for name, frac, lam in points:
            s_, m_ = sk[(name, frac)], mc[(prec, name, frac)]
            rel = (m_["objective"] - s_["objective"]) / s_["objective"]
            ok = "" if m_["objective"] <= s_["objective"] * (1 + 1e-6) else "  OBJECTIVE ABOVE"
            print(f"{name:5s} {frac:>4s} {lam:9.5f} {s_['time']:9.3f} {m_['time'] * 1e3:9.1f} "
                  f"{s_['time'] / m_['time']:6.1f} {s_['cpu'] / m_['cpu']:9.1f} "
                  f"{s_['objective']:17.10e} {m_['objective']:17.10e} {rel:16.3e} "
                  f"{s_['nnz']:7.3f} {m_['nnz']:7.3f} {m_['kkt']:8.1e}{ok}")
        worst = min(sk[(n_, f_)]["time"] / mc[(prec, n_, f_)]["time"] for n_, f_, _ in points)
        print(f"smallest ratio ({prec}): {worst:.1f}x")


def print_blas():
    """The BLAS numpy and scikit-learn run on. scikit-learn's coordinate descent spends its inner
    loop in BLAS dot / axpy calls, so it runs 2-3x faster on OpenBLAS (pip's numpy, or Debian's
    libopenblas0) than on Debian's reference BLAS (libblas3, what python3-numpy pulls in alone,
    and which threadpoolctl does not list): say which one the ratios are against."""
    from threadpoolctl import threadpool_info
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        print("BLAS: the reference BLAS (netlib; threadpoolctl finds none): scikit-learn runs "
              "2-3x slower than on OpenBLAS (apt-get install libopenblas0 to compare with that)")
        return
    print("BLAS: " + ", ".join(f"{i['internal_api']} {i.get('architecture') or ''} "
                              f"({i['num_threads']} threads, limited to 1 while timed)"
                              for i in blas))


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=find_bench(root), help="path of the bench_dense binary")
    ap.add_argument("--lambda", dest="lam", type=float, default=0.04,
                    help="lambda (= sklearn alpha); 0.04 gives ~12.6 nonzeros per patch")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many runs each")
    ap.add_argument("--sweep", action="store_true",
                    help="the lambda sweep on two dictionaries (see the module docstring)")
    args = ap.parse_args()
    if not args.bench or not os.path.exists(args.bench):
        sys.exit("bench_dense not found: build it (cmake --build <dir> --target bench_dense) "
                 "and pass --bench PATH")
    if args.sweep:
        print_blas()
        sweep(args)
        return

    from sklearn import __version__ as skl_version
    from sklearn.decomposition import sparse_encode
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso
    from threadpoolctl import threadpool_limits

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.bench, "--dump", tmp, "--lambda", repr(args.lam)], check=True,
                       capture_output=True)
        Y = np.load(os.path.join(tmp, "Y.npy"))  # 64 x 10000, one patch a column
        D = np.load(os.path.join(tmp, "D.npy"))  # 64 x 256, one atom a column
    lam = args.lam
    n, B = Y.shape
    m = D.shape[1]

    def objective(G):  # G: m x B
        return 0.5 * np.sum((Y - D @ G) ** 2) + lam * np.sum(np.abs(G))

    print(f"data: {B} patches of {n}, {m} atoms, lambda = alpha = {lam}; sklearn {skl_version}, "
          f"numpy {np.__version__}")
    print_blas()

    sk_times, mc_times, mc = [], [], None
    n_warn = 0
    for rep in range(args.repeats):
        with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t0 = time.perf_counter()
            C = sparse_encode(Y.T, D.T, algorithm="lasso_cd", alpha=lam, n_jobs=1)
            sk_times.append(time.perf_counter() - t0)
        n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        G_sk = C.T
        F_sk = objective(G_sk)
        mc = run_bench(args.bench, ["--compare", repr(F_sk), "--lambda", repr(lam),
                                    "--repeats", "3"])
        mc_times.append(mc["cd_time_1t"])

    # The alpha scaling, numerically: sklearn's own Lasso objective on signal 0 equals ours / n.
    b = int(np.argmax(np.abs(Y).sum(axis=0)))
    g = G_sk[:, b]
    ours = 0.5 * np.sum((Y[:, b] - D @ g) ** 2) + lam * np.sum(np.abs(g))
    theirs = (1.0 / (2 * n)) * np.sum((Y[:, b] - D @ g) ** 2) + (lam / n) * np.sum(np.abs(g))
    lasso = Lasso(alpha=lam / n, fit_intercept=False, max_iter=100000, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lasso.fit(D, Y[:, b])
    gl = lasso.coef_
    kkt = np.max(np.abs(D.T @ (Y[:, b] - D @ gl))) / lam

    F_mc = mc["cd_objective"]
    t_sk, t_mc = min(sk_times), min(mc_times)
    print()
    print(f"alpha scaling check (signal {b}): sklearn objective x n = {theirs * n:.12g}, "
          f"0.5||y-Dg||^2 + lambda||g||_1 = {ours:.12g}; a tightly solved Lasso(alpha=lambda/n) "
          f"has max|D^T r| / lambda = {kkt:.6f} (1 means the same lambda)")
    print()
    print(f"{'':34s} {'time [s]':>10s} {'objective':>22s} {'nnz/patch':>10s}")
    print(f"{'sklearn sparse_encode lasso_cd':34s} {t_sk:10.3f} {F_sk:22.12e} "
          f"{np.count_nonzero(G_sk) / B:10.3f}   ({n_warn} ConvergenceWarnings)")
    print(f"{'mlcsc CoordinateDescent, 1 thread':34s} {t_mc:10.3f} {F_mc:22.12e} "
          f"{mc['cd_nnz']:10.3f}   (max KKT violation {mc['cd_kkt']:.1e} lambda)")
    print(f"{'mlcsc CoordinateDescent, 2 threads':34s} {mc['cd_time_2t']:10.3f}")
    print()
    rel = (F_mc - F_sk) / F_sk
    print(f"speedup (1 thread, best of {args.repeats} each, alternated): {t_sk / t_mc:.1f}x")
    print(f"relative objective difference (mlcsc - sklearn) / sklearn: {rel:.3e}  "
          f"-> mlcsc <= sklearn x (1 + 1e-6): {'yes' if F_mc <= F_sk * (1 + 1e-6) else 'NO'}")
    print(f"FISTA iterations to reach sklearn's objective x (1 + 1e-6): mlcsc's default "
          f"{int(mc['fista_default_iterations'])}, textbook {int(mc['fista_textbook_iterations'])}"
          f", with adaptive restart {int(mc['fista_restart_iterations'])}")
    print(f"all runs [s]: sklearn {', '.join(f'{t:.3f}' for t in sk_times)}; "
          f"mlcsc {', '.join(f'{t:.3f}' for t in mc_times)}")


if __name__ == "__main__":
    main()
