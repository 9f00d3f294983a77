#!/usr/bin/python3
"""mlcsc.sparse_encode (the Python module) against scikit-learn's sparse_encode, lasso_cd.

10,000 mean-removed 8x8 patches of scikit-learn's china.jpg (grey, [0, 1]) coded over the
256-atom overcomplete DCT at alpha = 0.04, single thread (n_jobs=1, BLAS and OpenMP limited to
one thread), best of --repeats each, alternating. Also times the compiled solver alone
(_mlcsc.encode_lasso on the already converted arrays), so that the Python layer's overhead
(argument checks, the finiteness test, the dispatch) is measured on its own.

    cmake --workflow --preset python
    /usr/bin/python3 benchmarks/compare/python_sparse_encode.py [--module-dir build-python/python]
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # they slow numpy here (machine notes)
    os.environ.pop(var, None)

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

# scikit-learn's Lasso warns for every signal whose duality gap is above its tolerance after
# max_iter: its objective is reported in the table instead
warnings.filterwarnings("ignore", message="Objective did not converge")


def overcomplete_dct():
    """256 atoms of 8x8: outer products of 16 1-D cosines (non-constant ones zero-mean), unit."""
    k = np.arange(16)
    d1 = np.cos(np.pi * np.outer(np.arange(8), k) / 16)
    d1[:, 1:] -= d1[:, 1:].mean(axis=0)
    d1 /= np.linalg.norm(d1, axis=0)
    return np.einsum("uk,vl->kluv", d1, d1).reshape(256, 64)


def patches(n, seed=0):
    from sklearn.datasets import load_sample_image
    from sklearn.feature_extraction.image import extract_patches_2d

    img = load_sample_image("china.jpg").mean(axis=2) / 255.0
    P = extract_patches_2d(img, (8, 8), max_patches=n, random_state=seed).reshape(n, 64)
    return P - P.mean(axis=1, keepdims=True)


def best(f, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--module-dir", default=os.path.join(root, "build-python", "python"),
                    help="the folder holding the built package mlcsc")
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--alpha", type=float, default=0.04)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, args.module_dir)
    import mlcsc
    from mlcsc import _mlcsc
    from sklearn import __version__ as sk_version
    from sklearn.decomposition import sparse_encode as sk_encode

    X, D = patches(args.samples), overcomplete_dct()
    a = args.alpha

    def objective(code):
        return 0.5 * ((X - code @ D) ** 2).sum() + a * np.abs(code).sum()

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    print(f"{args.samples} patches 8x8, 256 atoms (overcomplete DCT), alpha {a}, one thread; "
          f"{cpu}; scikit-learn {sk_version}, numpy {np.__version__}; mlcsc's module built "
          f"with its CMake flags (-O3 -march=native)")
    rows = []
    for dtype in (np.float64, np.float32):
        Xd, Dd = X.astype(dtype), D.astype(dtype)
        t_sk, c_sk = best(lambda: sk_encode(Xd, Dd, algorithm="lasso_cd", alpha=a, n_jobs=1),
                          args.repeats)
        t_py, c_py = best(lambda: mlcsc.sparse_encode(Xd, Dd, algorithm="lasso_cd", alpha=a),
                          args.repeats)
        t_cc, _ = best(lambda: _mlcsc.encode_lasso(Xd, Dd, a, False, 1000, 1e-6, "cd", None, 1),
                       args.repeats)
        rows.append((np.dtype(dtype).name, t_sk, t_py, t_cc, objective(c_sk), objective(c_py)))
    print(f"{'dtype':8} {'sklearn [s]':>12} {'mlcsc [s]':>10} {'C++ alone':>10} {'ratio':>7} "
          f"{'overhead':>9} {'sklearn obj.':>14} {'mlcsc obj.':>14} {'rel. diff':>10}")
    for name, t_sk, t_py, t_cc, o_sk, o_py in rows:
        print(f"{name:8} {t_sk:12.3f} {t_py:10.4f} {t_cc:10.4f} {t_sk / t_py:6.1f}x "
              f"{100 * (t_py - t_cc) / t_cc:8.1f}% {o_sk:14.6f} {o_py:14.6f} "
              f"{(o_py - o_sk) / o_sk:10.2e}")


if __name__ == "__main__":
    main()
