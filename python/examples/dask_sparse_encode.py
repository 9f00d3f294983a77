#!/usr/bin/python3
"""Codes 1,000,000 8x8 image patches with mlcsc on a Dask cluster, and compares the throughput of
2 worker processes with 1.

The patches are cut inside the workers (each chunk from its own seeded random positions in
scikit-learn's two sample photographs, mean removed), so the client never holds them; the
256-atom overcomplete DCT is broadcast once as one key of the graph; each chunk is coded by the
exact Lasso (mlcsc.dask.sparse_encode, lasso_cd, alpha 0.04, float32) and reduced to its number of
nonzeros, so that only counts travel back.

    cmake --workflow --preset python
    PYTHONPATH=build-python/python /usr/bin/python3 python/examples/dask_sparse_encode.py \\
        [--patches 1000000] [--chunk 50000] [--scheduler tcp://host:8786]

Without --scheduler it starts a distributed.LocalCluster of 1, then 2 worker processes (one
thread each) on this machine; with it, the same code runs on that cluster (docs/python.md).
"""
import argparse
import functools
import time

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import mlcsc.dask


def overcomplete_dct():
    k = np.arange(16)
    d1 = np.cos(np.pi * np.outer(np.arange(8), k) / 16)
    d1[:, 1:] -= d1[:, 1:].mean(axis=0)
    d1 /= np.linalg.norm(d1, axis=0)
    return np.einsum("uk,vl->kluv", d1, d1).reshape(256, 64).astype(np.float32)


@functools.lru_cache(maxsize=1)
def sample_images():
    """scikit-learn's two sample photographs, grey in [0, 1]: read once per worker process."""
    from sklearn.datasets import load_sample_images

    return [im.mean(axis=2).astype(np.float32) / 255 for im in load_sample_images().images]


def cut_patches(block, block_info=None):
    """The chunk's patches: its own seed, random positions in the two sample images."""
    from sklearn.feature_extraction.image import extract_patches_2d

    start = block_info[0]["array-location"][0][0]
    n = block.shape[0]
    images = sample_images()
    half = n // 2
    out = np.concatenate([
        extract_patches_2d(images[0], (8, 8), max_patches=half, random_state=start),
        extract_patches_2d(images[1], (8, 8), max_patches=n - half, random_state=start + 1),
    ]).reshape(n, 64)
    return out - out.mean(axis=1, keepdims=True)


def run(client, n, chunk, alpha):
    X = da.zeros((n, 64), chunks=(chunk, 64), dtype=np.float32).map_blocks(cut_patches,
                                                                             dtype=np.float32)
    code = mlcsc.dask.sparse_encode(X, overcomplete_dct(), algorithm="lasso_cd", alpha=alpha)
    nonzeros = (code != 0).sum()
    t = time.perf_counter()
    total = client.compute(nonzeros).result()
    return time.perf_counter() - t, int(total)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patches", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--alpha", type=float, default=0.04)
    ap.add_argument("--scheduler", help="the address of a running Dask scheduler")
    args = ap.parse_args()
    if args.scheduler:
        with Client(args.scheduler) as client:
            secs, nnz = run(client, args.patches, args.chunk, args.alpha)
            print(f"{args.patches} patches in {secs:.1f} s on {len(client.nthreads())} workers: "
                  f"{args.patches / secs:,.0f} patches/s, {nnz / args.patches:.2f} nonzeros each")
        return
    results = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            run(client, args.chunk, args.chunk, args.alpha)  # warm the workers (imports)
            secs, nnz = run(client, args.patches, args.chunk, args.alpha)
            results[workers] = secs
            print(f"{workers} worker process(es): {args.patches} patches in {secs:.1f} s, "
                  f"{args.patches / secs:,.0f} patches/s, {nnz / args.patches:.2f} nonzeros each")
    print(f"2 workers / 1 worker throughput: {results[1] / results[2]:.2f}x")


if __name__ == "__main__":
    main()
