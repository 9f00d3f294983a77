"""mlcsc.dask: sparse_encode and conv_lasso over the chunks of a dask.array on a
distributed.LocalCluster of 2 worker processes equal the in-process results."""

import numpy as np
import pytest

import mlcsc

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import mlcsc.dask as mdask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_sparse_encode_on_a_local_cluster(client):
    rng = np.random.default_rng(20)
    D = rng.standard_normal((37, 15))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((1003, 15)).astype(np.float32)
    Xd = da.from_array(X, chunks=(250, 7))  # uneven row chunks, a split feature axis
    for kw in (dict(alpha=0.3), dict(algorithm="omp", n_nonzero_coefs=3),
               dict(algorithm="threshold", alpha=0.2, positive=True)):
        lazy = mdask.sparse_encode(Xd, D, **kw)
        assert lazy.shape == (1003, 37) and lazy.dtype == np.float32
        assert lazy.chunks[0] == (250, 250, 250, 250, 3)
        # equal up to rounding: a chunk's products D^T X are blocked differently by the GEMM
        # than the whole batch's (float32: a few ulps of the codes, which are ~1)
        np.testing.assert_allclose(client.compute(lazy).result(),
                                   mlcsc.sparse_encode(X, D, **kw), rtol=0, atol=1e-5)


def test_conv_lasso_on_a_local_cluster(client):
    rng = np.random.default_rng(21)
    W = rng.standard_normal((4, 2, 3, 3))
    images = rng.standard_normal((7, 2, 10, 12))
    lazy = mdask.conv_lasso(da.from_array(images, chunks=(3, 1, 10, 12)), W, 0.2, method="admm")
    code, _ = mlcsc.lasso(mlcsc.ConvDictionary(W), images, 0.2, method="admm")
    np.testing.assert_array_equal(client.compute(lazy).result(), code)


def test_dask_bad_input():
    with pytest.raises(TypeError, match="dask.array"):
        mdask.sparse_encode(np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="'dictionary' must have 4 columns"):
        mdask.sparse_encode(da.zeros((3, 4)), np.ones((2, 5)))
