"""mlcsc on Dask: the C++ solvers mapped over the chunks of a dask.array, on whatever Dask runs
on (threads, a distributed.LocalCluster, a cluster of many machines; docs/python.md).

The dictionary becomes one key of the task graph (a single-chunk dask array), so a distributed
scheduler sends it to each worker once, not with every chunk; each chunk is coded in its worker
by the same code as mlcsc.sparse_encode (the GIL released, `n_jobs` OpenMP threads per task).
"""

import dask.array as da
import numpy as np

from . import ConvDictionary, _float_array, lasso
from . import sparse_encode as _sparse_encode


def _encode_block(X, dictionary, kwargs):
    return _sparse_encode(X, dictionary, **kwargs)


def sparse_encode(X, dictionary, **kwargs):
    """mlcsc.sparse_encode over a dask.array X (n_samples, n_features), chunked along the samples
    (a chunked feature axis is rechunked into one): returns a lazy dask.array (n_samples,
    n_components) of X's dtype, chunked as X's rows. `kwargs` are sparse_encode's (algorithm,
    alpha, n_nonzero_coefs, positive, max_iter, n_jobs). The dictionary is a NumPy array
    (n_components, n_features)."""
    if not isinstance(X, da.Array):
        raise TypeError(
            f"mlcsc.dask.sparse_encode: 'X' must be a dask.array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(
            f"mlcsc.dask.sparse_encode: 'X' must be 2-D (n_samples, n_features), got shape "
            f"{X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    dictionary = _float_array(dictionary, "dictionary", X.dtype)
    if dictionary.shape[1] != X.shape[1]:
        raise ValueError(
            f"mlcsc.dask.sparse_encode: 'dictionary' must have {X.shape[1]} columns (the "
            f"features of X, which is {X.shape[0]} x {X.shape[1]}), got "
            f"{dictionary.shape[0]} x {dictionary.shape[1]}"
        )
    if "init" in kwargs:
        raise ValueError("mlcsc.dask.sparse_encode: 'init' is not supported")
    X = X.rechunk({1: -1})
    D = da.from_array(dictionary, chunks=-1)
    return da.blockwise(
        _encode_block, "ij", X, "ik", D, "jk", kwargs, None,
        concatenate=True, dtype=X.dtype, meta=np.empty((0, 0), dtype=X.dtype),
    )


def _lasso_block(x, weights, options, kwargs):
    code, _ = lasso(ConvDictionary(weights, **options), x, **kwargs)
    return code


def conv_lasso(images, weights, lmbda, *, boundary="circular", stride=1, dilation=1, **kwargs):
    """mlcsc.lasso over a dask.array of images (N, C, H, W) chunked along N (the other axes are
    rechunked into one): returns the lazy codes (N, K, Hc, Wc). `weights` (K, C, kh, kw) as
    ConvDictionary's; `kwargs` are lasso's (method, max_iter, tol, positive, n_jobs)."""
    if not isinstance(images, da.Array):
        raise TypeError(
            f"mlcsc.dask.conv_lasso: 'images' must be a dask.array, got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(
            f"mlcsc.dask.conv_lasso: 'images' must be 4-D (N, C, H, W), got shape {images.shape}")
    if images.dtype not in (np.float32, np.float64):
        images = images.astype(np.float64)
    D = ConvDictionary(weights, boundary=boundary, stride=stride, dilation=dilation)
    if D.dtype != images.dtype:
        D = ConvDictionary(D.weights.astype(images.dtype), boundary=boundary, stride=stride,
                           dilation=dilation)
    K, Hc, Wc = D.code_shape(images.shape[2], images.shape[3])
    images = images.rechunk({1: -1, 2: -1, 3: -1})
    w = da.from_array(D.weights, chunks=-1)
    options = dict(boundary=boundary, stride=stride, dilation=dilation)
    kwargs = dict(kwargs, lmbda=float(lmbda))
    # n: images, c: channels (contracted with the weights'), h, w: the code's extent
    return da.blockwise(
        _lasso_block, "nkhw", images, "nchw", w, "kcuv", options, None, kwargs, None,
        concatenate=True, dtype=images.dtype, adjust_chunks={"h": Hc, "w": Wc},
        meta=np.empty((0, 0, 0, 0), dtype=images.dtype),
    )
