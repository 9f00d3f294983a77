"""mlcsc.sparse_encode against scikit-learn's sparse_encode: the Lasso objective (no higher than
scikit-learn's, and its optimality conditions), OMP and thresholding equal, on random data of
odd sizes and on real image patches; zero-copy in and out; bad input."""

import numpy as np
import pytest

import mlcsc
from mlcsc import _mlcsc

sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
sk_encode = sklearn_decomposition.sparse_encode

DTYPES = [np.float64, np.float32]


def lasso_objective(X, D, code, alpha):
    """0.5 ||X - code D||^2 + alpha ||code||_1 in float64 (scikit-learn's problem, rescaled)."""
    X, D, code = (np.asarray(a, dtype=np.float64) for a in (X, D, code))
    return 0.5 * ((X - code @ D) ** 2).sum() + alpha * np.abs(code).sum()


def random_problem(rng, n_samples=57, n_features=23, n_components=41, dtype=np.float64):
    D = rng.standard_normal((n_components, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((n_samples, n_features))
    return X.astype(dtype), D.astype(dtype)


def patches(n=600, seed=0):
    """Real 8x8 patches (scikit-learn's china.jpg, grey, mean removed) and a dictionary of 100
    other patches, unit rows."""
    from sklearn.datasets import load_sample_image
    from sklearn.feature_extraction.image import extract_patches_2d

    img = load_sample_image("china.jpg").mean(axis=2) / 255.0
    P = extract_patches_2d(img, (8, 8), max_patches=n + 100, random_state=seed).reshape(-1, 64)
    P -= P.mean(axis=1, keepdims=True)
    D = P[n:]
    D = D / np.maximum(np.linalg.norm(D, axis=1, keepdims=True), 1e-12)
    return P[:n], D


# The tolerances: scikit-learn's Lasso stops at a duality gap of 1e-4 (relative), mlcsc's
# coordinate descent at a code change of 1e-6, so mlcsc's objective is no higher up to rounding:
# 1e-6 relative (the bound), 1e-5 in float32 (sums of ~1e4 float32 products).
def rel_tol(dtype):
    return 1e-6 if dtype == np.float64 else 1e-5


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm", ["lasso_cd", "lasso_lars", "fista"])
@pytest.mark.parametrize("positive", [False, True])
def test_lasso_objective_and_optimality(dtype, algorithm, positive):
    rng = np.random.default_rng(1)
    X, D = random_problem(rng, dtype=dtype)
    alpha = 0.3
    code = mlcsc.sparse_encode(X, D, algorithm=algorithm, alpha=alpha, positive=positive,
                               max_iter=5000)
    assert code.dtype == dtype and code.shape == (57, 41)
    ref = sk_encode(X.astype(np.float64), D.astype(np.float64), algorithm="lasso_cd",
                    alpha=alpha, positive=positive)
    ours, theirs = lasso_objective(X, D, code, alpha), lasso_objective(X, D, ref, alpha)
    tol = rel_tol(dtype) if algorithm != "fista" else 1e-4  # FISTA: to its stopping rule
    assert ours <= theirs * (1 + tol)
    # KKT: g = D (x - D^T c); |g_j| <= alpha, and g_j = alpha sign(c_j) where c_j != 0
    c = code.astype(np.float64)
    g = (X.astype(np.float64) - c @ D.astype(np.float64)) @ D.astype(np.float64).T
    slack = 1e-3 if dtype == np.float32 or algorithm == "fista" else 1e-5
    if positive:
        assert (c >= 0).all()
        assert (g <= alpha + slack).all()
        assert np.abs(g[c > 0] - alpha).max(initial=0) <= slack
    else:
        assert np.abs(g).max() <= alpha + slack
        nz = c != 0
        assert np.abs(g[nz] - alpha * np.sign(c[nz])).max(initial=0) <= slack


@pytest.mark.parametrize("dtype", DTYPES)
def test_lasso_on_real_patches(dtype):
    X, D = patches()
    X, D = X.astype(dtype), D.astype(dtype)
    alpha = 0.05
    code = mlcsc.sparse_encode(X, D, algorithm="lasso_cd", alpha=alpha)
    ref = sk_encode(X, D, algorithm="lasso_cd", alpha=alpha)
    assert lasso_objective(X, D, code, alpha) <= lasso_objective(X, D, ref, alpha) * (
        1 + rel_tol(dtype))
    assert (code != 0).sum(axis=1).mean() < 64  # sparse


@pytest.mark.parametrize("dtype", DTYPES)
def test_omp_and_threshold_equal_scikit_learn(dtype):
    rng = np.random.default_rng(2)
    X, D = random_problem(rng, n_samples=31, n_features=19, n_components=27, dtype=dtype)
    eps = 1e-10 if dtype == np.float64 else 1e-4
    for k in (None, 1, 5):  # None: scikit-learn's default, n_features / 10
        ours = mlcsc.sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=k)
        theirs = sk_encode(X, D, algorithm="omp", n_nonzero_coefs=k)
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, theirs, atol=eps, rtol=0)
    for positive in (False, True):
        ours = mlcsc.sparse_encode(X, D, algorithm="threshold", alpha=0.4, positive=positive)
        theirs = sk_encode(X, D, algorithm="threshold", alpha=0.4, positive=positive)
        np.testing.assert_allclose(ours, theirs, atol=eps, rtol=0)


def test_warm_start_threads_and_defaults():
    rng = np.random.default_rng(3)
    X, D = random_problem(rng)
    a = mlcsc.sparse_encode(X, D)  # lasso_cd, alpha = 1
    b = mlcsc.sparse_encode(X, D, n_jobs=2)
    np.testing.assert_allclose(a, b, atol=1e-9)
    c = mlcsc.sparse_encode(X, D, init=a)  # from the solution: stays there
    np.testing.assert_allclose(a, c, atol=1e-9)
    assert lasso_objective(X, D, a, 1.0) <= lasso_objective(
        X, D, sk_encode(X, D, algorithm="lasso_cd"), 1.0) * (1 + 1e-6)


def test_zero_copy():
    rng = np.random.default_rng(4)
    X, D = random_problem(rng)
    # a C-contiguous float array is read where it is
    assert _mlcsc.buffer_address(X) == X.ctypes.data
    code = mlcsc.sparse_encode(X, D)
    # the result is the array the module allocated and the solver wrote: not a view, not a copy
    assert code.flags["C_CONTIGUOUS"] and code.flags["OWNDATA"] and code.base is None
    # a hidden conversion in the binding is an error, not a silent copy
    with pytest.raises(TypeError):
        _mlcsc.encode_threshold(np.asfortranarray(X), D, 0.1, False, 1)
    # a non-contiguous input is copied once by the Python side, with the same result
    F = np.asfortranarray(X)
    np.testing.assert_allclose(mlcsc.sparse_encode(F, D), code, atol=1e-12)


def test_dtypes():
    rng = np.random.default_rng(5)
    X, D = random_problem(rng)
    Xi = np.round(X * 10).astype(np.int32)
    code = mlcsc.sparse_encode(Xi, D, algorithm="threshold", alpha=0.1)
    assert code.dtype == np.float64  # integers are converted to float64
    np.testing.assert_allclose(
        code, sk_encode(Xi.astype(np.float64), D, algorithm="threshold", alpha=0.1), atol=1e-12)
    # mixed: the dictionary follows X's dtype
    assert mlcsc.sparse_encode(X.astype(np.float32), D, algorithm="omp").dtype == np.float32
    with pytest.raises(TypeError, match="Complex data not supported"):
        mlcsc.sparse_encode(X.astype(np.complex128), D)
    # numbers stored as objects are converted; anything else stored as objects is refused
    np.testing.assert_allclose(mlcsc.sparse_encode(X.astype(object), D), mlcsc.sparse_encode(X, D))
    words = X.astype(object)
    words[0, 0] = "a"
    with pytest.raises(TypeError, match="object array must hold numbers"):
        mlcsc.sparse_encode(words, D)
    with pytest.raises(TypeError, match="float32 or float64"):
        mlcsc.sparse_encode(X.astype("U3"), D)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse matrix"):
        mlcsc.sparse_encode(scipy_sparse.csr_matrix(X), D)


def test_bad_input_names_the_argument():
    rng = np.random.default_rng(6)
    X, D = random_problem(rng)
    with pytest.raises(ValueError,
                       match=r"'dictionary' must have 23 columns .* 57 x 23\), got 41 x 22"):
        mlcsc.sparse_encode(X, D[:, :22])
    with pytest.raises(ValueError, match=r"X: expected a 2-D array \(n_samples, n_features\), "
                                         r"got shape \(23,\)"):
        mlcsc.sparse_encode(X[0], D)
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 23\)\)"):
        mlcsc.sparse_encode(X[:0], D)
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"X: contains NaN or Inf \(shape \(57, 23\)\)"):
        mlcsc.sparse_encode(bad, D)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        mlcsc.sparse_encode(X, D, algorithm="lars")
    with pytest.raises(ValueError, match="n_nonzero_coefs must be in"):
        mlcsc.sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=42)
    with pytest.raises(ValueError, match="alpha"):
        mlcsc.sparse_encode(X, D, alpha=-1)
    with pytest.raises(ValueError, match="'init' must be 57 x 41"):
        mlcsc.sparse_encode(X, D, init=np.zeros((57, 40)))
    with pytest.raises(ValueError, match="positive"):
        mlcsc.sparse_encode(X, D, algorithm="omp", positive=True)
    # the C++ library's own std::invalid_argument arrives as ValueError, its message intact
    with pytest.raises(ValueError, match="learn_dictionary: 'batch_size'"):
        mlcsc.learn_dictionary(X, 5, batch_size=0)
