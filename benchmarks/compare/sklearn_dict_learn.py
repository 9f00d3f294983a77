#!/usr/bin/python3
"""One epoch of online dictionary learning (Mairal et al. 2010): mlcsc against scikit-learn's
MiniBatchDictionaryLearning, compared on time and on the held-out Lasso objective.

    /usr/bin/python3 benchmarks/compare/sklearn_dict_learn.py [--dump DIR] [--bench PATH]
        [--dump-only] [--repeats N] [--algorithms lars,cd] [--csv FILE]

Data (written to --dump DIR, default /tmp/dict_learn, then compared unless --dump-only):
  8x8 patches of examples/data/camera.png and brick.png (8-bit grey, read with PIL, divided by
  255: values in [0, 1], float64). 110,000 distinct positions are drawn without replacement
  (numpy default_rng(0)) from the union of all patch positions of both images (so each image
  gives about half); the first 100,000 in draw order are the training set, the last 10,000 the
  held-out set (disjoint positions; overlapping windows can share pixels). Each patch is
  flattened row-major (index u*8 + v) and its mean removed; no other scaling or whitening.
  The training order is the random draw order, so unshuffled mini-batches mix both images.
  D0: 256 distinct training patches picked with the same rng (those of zero norm skipped),
  each scaled to unit l2 norm.
    train.npy    64 x 100000  float64, Fortran order: one patch a column (a column-major
    heldout.npy  64 x 10000   Eigen matrix reads it as is); D0.npy 64 x 256 (atoms as columns);
    lambda.txt   the l1 weight lambda.
  lambda = 0.05 (pixel units) is fixed: the exact Lasso codes of the held-out patches on D0 then
  have ~7.7 nonzeros per patch on average (printed; many patches are from the flat sky of
  camera.png and get few or none). The median patch norm is ~0.157.

scikit-learn (one epoch each for fit_algorithm 'lars', its default, and 'cd'):
  MiniBatchDictionaryLearning(n_components=256, alpha=lambda, batch_size=256, max_iter=1,
  dict_init=D0.T, shuffle=False, tol=0, max_no_improvement=None, random_state=0, n_jobs=1).
  In 1.2.1, max_iter counts passes over the data: fit runs max_iter * ceil(N / batch_size)
  mini-batches from gen_batches, i.e. 391 here (390 of 256 and a last one of 160), which is
  exactly one epoch; tol=0 and max_no_improvement=None disable both early stops, shuffle=False
  keeps the patch order above. (n_iter, deprecated, would count mini-batches.) The codes of a
  mini-batch use transform_max_iter (default 1000) as their iteration cap, lasso_cd its default
  tol 1e-4. Atoms are projected onto ||d|| <= 1, not normalized.
  Scaling: sparse_encode(alpha=a) fits LassoLars / Lasso(alpha=a / n_features), whose objective
  is (1/n) [0.5 ||y - D g||^2 + a ||g||_1]: alpha = lambda. The script checks this numerically on
  the first mini-batch with D0 (max |D^T r| / lambda should be 1 for every nonzero code, and the
  objective equal to a tightly solved Lasso's).

Evaluation, identical for every dictionary (heldout_objective): the held-out patches are coded
with the exact Lasso (sklearn's public Lasso with alpha = lambda / 64 and the Gram matrix, as
sparse_encode(lasso_cd) does, but with tol=1e-10 since sparse_encode has no tol argument), and
the mean over patches of 0.5 ||y - D g||^2 + lambda ||g||_1 is reported, with the mean number of
nonzeros and the largest KKT violation / lambda (~0 means converged).

mlcsc (--bench PATH, default build*/benchmarks/bench_learn): `PATH --dir DIR` with
OMP_NUM_THREADS=1 prints `key value` lines; every `NAME_seconds` is the epoch wall time of
NAME (`NAME_cpu_seconds`, if printed, its CPU time) and DIR/NAME.npy (64 x 256) its dictionary,
e.g. mlcsc_double_seconds and mlcsc_double.npy. Only .npy files written by this run are read.

Everything runs on one thread (n_jobs=1, BLAS limited to one thread, OMP_NUM_THREADS=1 for the
C++ side). Times are the best of --repeats (default 1: an sklearn epoch takes minutes); wall and
process CPU times are both given since the machine may be shared. OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE are removed from this process's environment (they slow a current numpy; see
the machine notes) and the BLAS library loaded is printed (on this machine Debian's reference
libblas.so.3, single-threaded, which threadpoolctl does not list).
"""
import os
import sys

# Re-exec once without the OpenBLAS overrides, before numpy is imported (this command only).
if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse
import collections
import csv
import glob
import resource
import subprocess
import time
import warnings

import numpy as np

PATCH, N_TRAIN, N_HELDOUT, N_ATOMS = 8, 100_000, 10_000, 256
LAMBDA = 0.05  # pixel units (values in [0, 1], patch mean removed); ~7.7 nonzeros/patch on D0


def extract_patches(images, positions):
    """Mean-removed patches (64 x len(positions), Fortran order) at flat positions that index
    the windows of images[0], then those of images[1], each window row-major."""
    from numpy.lib.stride_tricks import sliding_window_view
    out = np.empty((len(positions), PATCH * PATCH))
    start = 0
    for im in images:
        win = sliding_window_view(im, (PATCH, PATCH))  # (H-7) x (W-7) x 8 x 8, a view
        count = win.shape[0] * win.shape[1]
        mine = (positions >= start) & (positions < start + count)
        r, c = np.divmod(positions[mine] - start, win.shape[1])
        out[mine] = win[r, c].reshape(-1, PATCH * PATCH)
        start += count
    out -= out.mean(axis=1, keepdims=True)
    return np.asfortranarray(out.T)


def build_data(root, out_dir):
    from PIL import Image
    images = [np.asarray(Image.open(os.path.join(root, "examples", "data", name)),
                         dtype=np.float64) / 255.0 for name in ("camera.png", "brick.png")]
    total = sum((h - PATCH + 1) * (w - PATCH + 1) for h, w in (im.shape for im in images))
    rng = np.random.default_rng(0)
    positions = rng.choice(total, N_TRAIN + N_HELDOUT, replace=False)
    Y = extract_patches(images, positions[:N_TRAIN])
    H = extract_patches(images, positions[N_TRAIN:])
    atoms, seen = [], set()
    for i in rng.permutation(N_TRAIN):  # distinct, nonzero training patches, unit norm
        norm = np.linalg.norm(Y[:, i])
        if norm > 0 and Y[:, i].tobytes() not in seen:
            seen.add(Y[:, i].tobytes())
            atoms.append(Y[:, i] / norm)
            if len(atoms) == N_ATOMS:
                break
    D0 = np.asfortranarray(np.stack(atoms, axis=1))
    os.makedirs(out_dir, exist_ok=True)
    for name, a in (("train", Y), ("heldout", H), ("D0", D0)):
        np.save(os.path.join(out_dir, name + ".npy"), a)
    with open(os.path.join(out_dir, "lambda.txt"), "w") as f:
        f.write(f"{LAMBDA!r}\n")
    return Y, H, D0


def objective(D, Y, G, lam):  # per-patch 0.5 ||y - D g||^2 + lambda ||g||_1
    return 0.5 * np.sum((Y - D @ G) ** 2, axis=0) + lam * np.sum(np.abs(G), axis=0)


def kkt_violation(D, Y, G, lam):
    """Largest violation of the Lasso optimality conditions, over lambda: d_j^T r = lambda
    sign(g_j) where g_j != 0, |d_j^T r| <= lambda where g_j = 0."""
    C = D.T @ (Y - D @ G)
    v = np.where(G != 0, np.abs(C - lam * np.sign(G)), np.maximum(np.abs(C) - lam, 0))
    return v.max() / lam


def exact_codes(D, Y, lam):
    """Tightly solved Lasso codes (atoms x patches) of the columns of Y on D."""
    from sklearn.linear_model import Lasso
    n = D.shape[0]
    lasso = Lasso(alpha=lam / n, fit_intercept=False, precompute=D.T @ D, tol=1e-10,
                  max_iter=1_000_000)
    return np.atleast_2d(lasso.fit(D, Y).coef_).T


def heldout_objective(D, Y, lam):
    """Mean held-out objective, mean nonzeros per patch and KKT violation / lambda."""
    D = np.asarray(D, dtype=np.float64)
    G = exact_codes(D, Y, lam)
    return objective(D, Y, G, lam).mean(), np.count_nonzero(G) / Y.shape[1], \
        kkt_violation(D, Y, G, lam)


def check_alpha_scaling(Y, D0, lam):
    """sparse_encode at alpha = lambda, as MiniBatchDictionaryLearning calls it, on the first
    mini-batch with D0: it must minimize 0.5 ||y - D g||^2 + lambda ||g||_1."""
    from sklearn.decomposition import sparse_encode
    X = Y[:, :256]
    F_exact = objective(D0, X, exact_codes(D0, X, lam), lam).mean()
    for algo in ("lasso_lars", "lasso_cd"):
        G = sparse_encode(X.T, D0.T, algorithm=algo, alpha=lam, n_jobs=1).T
        used = np.any(G != 0, axis=0)
        corr = np.max(np.abs(D0.T @ (X - D0 @ G)), axis=0)[used] / lam
        F = objective(D0, X, G, lam).mean()
        print(f"  sparse_encode {algo:10s} alpha=lambda: max|D^T r|/lambda over the {used.sum()}"
              f" nonzero codes in [{corr.min():.6f}, {corr.max():.6f}] (1 = same lambda); mean "
              f"objective {F:.10f} vs tight Lasso {F_exact:.10f} (rel. {F / F_exact - 1:.1e})")


def sklearn_epoch(Y, D0, lam, algo, repeats):
    """Best wall / CPU time of one epoch of MiniBatchDictionaryLearning, its dictionary (64 x
    256), mini-batches run and the warnings raised (category: count)."""
    from sklearn.decomposition import MiniBatchDictionaryLearning
    from threadpoolctl import threadpool_limits
    best_wall = best_cpu = np.inf
    for rep in range(repeats):
        model = MiniBatchDictionaryLearning(
            n_components=N_ATOMS, alpha=lam, batch_size=256, max_iter=1, fit_algorithm=algo,
            dict_init=D0.T.copy(), shuffle=False, tol=0.0, max_no_improvement=None,
            random_state=0, n_jobs=1)
        with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(Y.T)  # n_samples x 64, C order: a view of the Fortran 64 x N array
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"  sklearn {algo} epoch {rep + 1}/{repeats}: {wall:.1f} s wall, {cpu:.1f} s CPU, "
              f"{model.n_steps_} mini-batches, n_iter_ = {model.n_iter_:g}", flush=True)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    counts = collections.Counter(f"{w.category.__name__}: {str(w.message)[:80]}" for w in caught)
    return model.components_.T.copy(), best_wall, best_cpu, model.n_steps_, counts


def find_bench(root):
    found = sorted(glob.glob(os.path.join(root, "build*", "benchmarks", "bench_learn")))
    return found[0] if found else None


def run_mlcsc(bench, out_dir, repeats):
    """Runs the bench `repeats` times; {name: [wall, cpu or nan, dictionary or None]}."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    results = {}
    for rep in range(repeats):
        start, t0 = time.time(), time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([bench, "--dir", out_dir], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            sys.exit(f"{bench} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        out = proc.stdout
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"  mlcsc run {rep + 1}/{repeats}: process {time.perf_counter() - t0:.1f} s wall, "
              f"{c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime:.1f} s CPU", flush=True)
        values = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].endswith("_seconds"):
                values[parts[0][:-len("_seconds")]] = float(parts[1])
        for name, t in values.items():
            if name.endswith("_cpu"):
                continue
            cpu = values.get(name + "_cpu", np.nan)
            path = os.path.join(out_dir, name + ".npy")
            D = np.load(path) if os.path.exists(path) and os.path.getmtime(path) >= start - 1 \
                else None
            old = results.get(name)
            results[name] = [min(t, old[0]) if old else t, np.fmin(cpu, old[1]) if old else cpu,
                             D if D is not None else (old[2] if old else None)]
    return results


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dump", default="/tmp/dict_learn", help="directory for the data files")
    ap.add_argument("--dump-only", action="store_true", help="write the data and stop")
    ap.add_argument("--bench", default=find_bench(root), help="path of the bench_learn binary")
    ap.add_argument("--repeats", type=int, default=1, help="best of this many epochs each")
    ap.add_argument("--algorithms", default="lars,cd", help="sklearn fit_algorithm values to run")
    ap.add_argument("--csv", help="also write the table rows to this CSV file")
    args = ap.parse_args()

    from sklearn import __version__ as skl_version
    from threadpoolctl import threadpool_info, threadpool_limits

    Y, H, D0 = build_data(root, args.dump)
    lam = LAMBDA
    print(f"data: {Y.shape[1]} training and {H.shape[1]} held-out patches of {Y.shape[0]}, "
          f"{D0.shape[1]} atoms, lambda = alpha = {lam}; written to {args.dump}")
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        d0_eval = heldout_objective(D0, H, lam)
    print(f"held-out with D0: mean objective {d0_eval[0]:.8f}, {d0_eval[1]:.3f} nonzeros per "
          f"patch, KKT {d0_eval[2]:.1e} ({time.perf_counter() - t0:.1f} s)")
    if args.dump_only:
        return
    # threadpoolctl misses Debian's reference BLAS (libblas.so.3), so list the loaded libraries.
    with open("/proc/self/maps") as f:
        libs = sorted({p for p in (line.split()[-1] for line in f)
                       if os.path.basename(p).startswith("lib") and "blas" in p})
    print(f"sklearn {skl_version}, numpy {np.__version__}; BLAS: {', '.join(libs)}; "
          "threadpoolctl: " + ", ".join(f"{i['internal_api']} ({i['num_threads']} threads)"
                                        for i in threadpool_info()) + " (limited to 1)")

    print("alpha scaling check:")
    with threadpool_limits(limits=1):
        check_alpha_scaling(Y, D0, lam)

    rows = [dict(method="D0", dtype="-", wall=np.nan, cpu=np.nan, D=D0)]
    for algo in [a for a in args.algorithms.split(",") if a]:
        D, wall, cpu, steps, counts = sklearn_epoch(Y, D0, lam, algo, args.repeats)
        for msg, k in counts.items():
            print(f"    {k} x {msg}")
        if not counts:
            print("    no warnings")
        rows.append(dict(method=f"sklearn-{algo}", dtype="float64", wall=wall, cpu=cpu, D=D))

    if args.bench and os.path.exists(args.bench):
        print(f"mlcsc: {args.bench} --dir {args.dump}")
        for name, (wall, cpu, D) in run_mlcsc(args.bench, args.dump, args.repeats).items():
            method, _, dtype = name.rpartition("_")
            rows.append(dict(method=method or name, dtype=dtype if method else "-", wall=wall,
                             cpu=cpu, D=D))
    else:
        print(f"mlcsc skipped: no bench_learn binary ({args.bench or 'none under build*/'}; "
              "build it, or pass --bench PATH)")

    with threadpool_limits(limits=1):
        for row in rows:
            if row["method"] == "D0":
                row["F"], row["nnz"], row["kkt"] = d0_eval
            elif row["D"] is not None:
                row["F"], row["nnz"], row["kkt"] = heldout_objective(row["D"], H, lam)
            else:
                row["F"] = row["nnz"] = row["kkt"] = np.nan
    ref = {r["dtype"]: r["wall"] for r in rows if r["method"] == "mlcsc"}
    best = np.nanmin([r["F"] for r in rows])
    for r in rows:
        r["x_float"] = r["wall"] / ref.get("float", np.nan)
        r["x_double"] = r["wall"] / ref.get("double", np.nan)
        r["F_ratio"] = r["F"] / best

    print()
    print(f"one epoch, {Y.shape[1]} patches, batch 256, 1 thread, best of {args.repeats}; "
          f"held-out: mean of 0.5||y-Dg||^2 + {lam} ||g||_1 over {H.shape[1]} exact Lasso codes")
    print(f"{'method':14s} {'dtype':7s} {'wall s':>8s} {'CPU s':>8s} {'/mc float':>9s} "
          f"{'/mc double':>10s} {'held-out F':>12s} {'F/best':>9s} {'nnz':>6s} {'KKT':>8s}")
    def cell(x, spec):  # a number, or "-" right-aligned in the same width
        width = int(spec.split(".")[0])
        return f"{x:{spec}}" if np.isfinite(x) else f"{'-':>{width}s}"

    for r in rows:
        print(f"{r['method']:14s} {r['dtype']:7s} {cell(r['wall'], '8.2f')} "
              f"{cell(r['cpu'], '8.2f')} {cell(r['x_float'], '9.2f')} "
              f"{cell(r['x_double'], '10.2f')} {cell(r['F'], '12.8f')} "
              f"{cell(r['F_ratio'], '9.6f')} {cell(r['nnz'], '6.3f')} {cell(r['kkt'], '8.1e')}")
    if args.csv:
        keys = ["method", "dtype", "wall", "cpu", "x_float", "x_double", "F", "F_ratio", "nnz",
                "kkt"]
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["method", "dtype", "wall_s", "cpu_s", "ratio_vs_mlcsc_float",
                        "ratio_vs_mlcsc_double", "heldout_objective", "ratio_to_best",
                        "mean_nnz", "kkt_over_lambda"])
            for r in rows:
                w.writerow([r[k] if isinstance(r[k], str) else f"{r[k]:.10g}" for k in keys])
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
