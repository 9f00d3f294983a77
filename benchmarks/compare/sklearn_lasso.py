#!/usr/bin/python3
"""mlcsc's exact Lasso (Method::CoordinateDescent) against scikit-learn's sparse_encode(lasso_cd).

Same data for both: bench_dense --dump writes the 10,000 mean-removed 8x8 patches of
examples/data/camera.png (Y, 64 x 10000) and the 256-atom overcomplete DCT (D, 64 x 256).

    /usr/bin/python3 benchmarks/compare/sklearn_lasso.py --bench build/benchmarks/bench_dense

Scaling: sparse_encode(algorithm='lasso_cd', alpha=a) fits Lasso(alpha=a / n_features) per signal,
whose objective (1/(2 n)) ||y - D g||^2 + (a/n) ||g||_1 is (1/n) [0.5 ||y - D g||^2 + a ||g||_1]
with n = n_features = 64: mlcsc's lambda equals sklearn's alpha. The script checks this
numerically on the sklearn solution (both objectives, and max |D^T r| against lambda).

Both run single-threaded (n_jobs=1, BLAS limited to one thread; the C++ side with one OpenMP
thread), alternating, best of --repeats each; the machine may be shared, so compare the ratio.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from this process's environment (they slow a
current numpy; see the machine notes) and the BLAS that numpy then uses is printed.
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


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=find_bench(root), help="path of the bench_dense binary")
    ap.add_argument("--lambda", dest="lam", type=float, default=0.04,
                    help="lambda (= sklearn alpha); 0.04 gives ~12.6 nonzeros per patch")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many runs each")
    args = ap.parse_args()
    if not args.bench or not os.path.exists(args.bench):
        sys.exit("bench_dense not found: build it (cmake --build <dir> --target bench_dense) "
                 "and pass --bench PATH")

    from sklearn import __version__ as skl_version
    from sklearn.decomposition import sparse_encode
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso
    from threadpoolctl import threadpool_info, threadpool_limits

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
    print("BLAS: " + ", ".join(f"{i['internal_api']} {i.get('architecture') or ''} "
                              f"({i['num_threads']} threads)" for i in threadpool_info()))

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
