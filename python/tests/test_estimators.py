"""mlcsc.SparseCoder and mlcsc.MiniBatchDictionaryLearning as scikit-learn estimators: the same
codes as scikit-learn's SparseCoder, scikit-learn's estimator checks, a dictionary learned on
real patches that codes held-out patches at least as well as scikit-learn's."""

import warnings

import numpy as np
import pytest

import mlcsc

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import MiniBatchDictionaryLearning as SkMBDL  # noqa: E402
from sklearn.decomposition import SparseCoder as SkSparseCoder  # noqa: E402
from sklearn.decomposition import sparse_encode as sk_encode  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from test_sparse_encode import lasso_objective, patches  # noqa: E402


@pytest.mark.parametrize("algorithm", ["omp", "threshold", "lasso_cd"])
@pytest.mark.parametrize("split_sign", [False, True])
def test_sparse_coder_matches_scikit_learn(algorithm, split_sign):
    rng = np.random.default_rng(7)
    D = rng.standard_normal((15, 9))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((21, 9))
    kw = dict(transform_algorithm=algorithm, transform_alpha=0.2, transform_n_nonzero_coefs=3,
              split_sign=split_sign)
    ours = mlcsc.SparseCoder(D, **kw)
    theirs = SkSparseCoder(D, **kw)
    assert ours.fit(X) is ours
    a, b = ours.transform(X), theirs.transform(X)
    assert a.shape == b.shape == (21, 30 if split_sign else 15)
    if algorithm == "lasso_cd":  # the same problem: mlcsc's objective no higher
        ca, cb = (c[:, :15] - c[:, 15:] if split_sign else c for c in (a, b))
        assert lasso_objective(X, D, ca, 0.2) <= lasso_objective(X, D, cb, 0.2) * (1 + 1e-6)
    else:
        np.testing.assert_allclose(a, b, atol=1e-10)
    assert ours.n_components_ == 15 and ours.n_features_in_ == 9
    assert clone(ours).get_params()["transform_algorithm"] == algorithm


def test_mini_batch_dictionary_learning_passes_scikit_learn_checks():
    # Every check of scikit-learn 1.2's check_estimator. (SparseCoder is not put through them,
    # as scikit-learn's own SparseCoder is not: it has no default dictionary, and a fixed one
    # cannot fit the checks' data of other widths.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(mlcsc.MiniBatchDictionaryLearning(n_components=5, max_iter=2,
                                                          random_state=0))


def test_mini_batch_dictionary_learning_on_real_patches():
    # 2,000 training and 500 held-out 8x8 patches, 64 atoms, alpha 0.1, batches of 256, 2
    # epochs, for both; both dictionaries code the held-out patches by the exact Lasso: mlcsc's
    # learned dictionary has an objective at most 1% above scikit-learn's (measured: below).
    X, _ = patches(n=2500, seed=1)
    train, test = X[:2000], X[2000:]
    ours = mlcsc.MiniBatchDictionaryLearning(n_components=64, alpha=0.1, batch_size=256,
                                             max_iter=2, random_state=0,
                                             transform_algorithm="lasso_cd",
                                             transform_alpha=0.1).fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMBDL(n_components=64, alpha=0.1, batch_size=256, max_iter=2, random_state=0,
                        fit_algorithm="cd").fit(train)
    assert ours.components_.shape == (64, 64) and ours.n_iter_ == 2
    np.testing.assert_allclose(np.linalg.norm(ours.components_, axis=1), 1, atol=1e-10)

    def held_out(D):
        return lasso_objective(test, D, sk_encode(test, D, algorithm="lasso_cd", alpha=0.1), 0.1)

    assert held_out(ours.components_) <= 1.01 * held_out(theirs.components_)
    code = ours.transform(test)
    assert code.shape == (500, 64)
    np.testing.assert_allclose(
        code, mlcsc.sparse_encode(test, ours.components_, algorithm="lasso_cd", alpha=0.1))
    # the same seed, the same dictionary; float32 learns in float32
    again = clone(ours).fit(train)
    np.testing.assert_array_equal(again.components_, ours.components_)
    assert clone(ours).fit(train.astype(np.float32)).components_.dtype == np.float32


def test_mini_batch_dictionary_learning_bad_parameters():
    X = np.random.default_rng(8).standard_normal((30, 6))
    with pytest.raises(ValueError, match="positive_code and positive_dict"):
        mlcsc.MiniBatchDictionaryLearning(4, positive_code=True).fit(X)
    with pytest.raises(ValueError, match="fit_algorithm"):
        mlcsc.MiniBatchDictionaryLearning(4, fit_algorithm="omp").fit(X)
    # the C++ library's check, through the binding
    with pytest.raises(ValueError, match="'num_atoms'"):
        mlcsc.MiniBatchDictionaryLearning(0).fit(X)
    nonneg = mlcsc.MiniBatchDictionaryLearning(4, positive_code=True, positive_dict=True,
                                               max_iter=2, random_state=1).fit(np.abs(X))
    assert (nonneg.components_ >= 0).all()


def test_partial_fit_streams_what_fit_learns():
    # fit over 6 mini-batches in order (one epoch, no shuffling: fewer steps than scikit-learn's
    # warm-up, so no early stop) = fit on the first 4 then partial_fit on the last 2 = partial_fit
    # on all 6, from the same dict_init.
    X, D0 = patches(n=300, seed=3)
    D0 = D0[:40]
    kw = dict(n_components=40, alpha=0.1, batch_size=50, shuffle=False, dict_init=D0,
              max_iter=1, random_state=0)
    whole = mlcsc.MiniBatchDictionaryLearning(**kw).fit(X)
    assert whole.n_steps_ == 6 and whole.n_iter_ == 1
    part = mlcsc.MiniBatchDictionaryLearning(**kw).fit(X[:200])
    for s in (200, 250):
        assert part.partial_fit(X[s:s + 50]) is part
    streamed = mlcsc.MiniBatchDictionaryLearning(**kw)
    for s in range(0, 300, 50):
        streamed.partial_fit(X[s:s + 50])
    for est in (part, streamed):
        assert est.n_steps_ == 6
        np.testing.assert_allclose(est.components_, whole.components_, atol=1e-10)
    # the statistics carried between calls matter: without them the result differs
    fresh = mlcsc.MiniBatchDictionaryLearning(**dict(kw, dict_init=part.components_))
    fresh.partial_fit(X[250:])
    assert np.abs(fresh.components_ - whole.components_).max() > 1e-6
    # partial_fit on data of another width: scikit-learn's message
    with pytest.raises(ValueError, match="X has 5 features"):
        streamed.partial_fit(X[:10, :5])
    # the first call without dict_init draws its atoms from X: unit rows, seeded
    a = mlcsc.MiniBatchDictionaryLearning(n_components=30, alpha=0.1, random_state=4)
    b = clone(a)
    a.partial_fit(X[:100])
    b.partial_fit(X[:100])
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_allclose(np.linalg.norm(a.components_, axis=1), 1, atol=1e-10)


def test_early_stopping_and_callback_as_scikit_learn():
    # A tol no step can fail to meet stops both at the first step after scikit-learn's warm-up:
    # mini-batch t of b rows is skipped while t <= min(100, n_samples / b), so 1..15 (1,000 / 64
    # = 15.6) and 16, the epoch's short last one (40 rows: 1,000 / 40 = 25); it stops at 17.
    X, _ = patches(n=1000, seed=5)
    kw = dict(n_components=32, alpha=0.1, batch_size=64, max_iter=5, tol=10.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMBDL(**kw).fit(X)
    seen = []
    ours = mlcsc.MiniBatchDictionaryLearning(**kw, callback=lambda env: seen.append(env["i"]))
    ours.fit(X)
    assert ours.n_steps_ == theirs.n_steps_ == 17
    assert ours.n_iter_ == theirs.n_iter_ == 2
    assert seen == list(range(17))
    # off (tol = 0, max_no_improvement = None): every epoch runs
    full = mlcsc.MiniBatchDictionaryLearning(**dict(kw, tol=0, max_no_improvement=None)).fit(X)
    assert full.n_steps_ == 5 * 16 and full.n_iter_ == 5
    # an exception in the callback stops learning and reaches the caller
    def fail(env):
        raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        mlcsc.MiniBatchDictionaryLearning(**kw, callback=fail).fit(X)
    with pytest.raises(ValueError, match="callback must be callable"):
        mlcsc.MiniBatchDictionaryLearning(**kw, callback=3).fit(X)


def test_online_step_checks_its_state():
    X, D = patches(n=50, seed=6)
    D = D[:20].copy()
    A, B = np.zeros((20, 20)), np.zeros((20, 64))
    obj = mlcsc.online_step(X, D, A, B, 0, alpha=0.1)
    assert obj > 0 and np.allclose(A, A.T) and np.trace(A) > 0
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1, atol=1e-12)
    frozen = B.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="'B' must be a writeable"):
        mlcsc.online_step(X, D, A, frozen, 1)
    with pytest.raises(ValueError, match="'A' must be 20 x 20, got 20 x 64"):
        mlcsc.online_step(X, D, B, B, 1)
    with pytest.raises(ValueError, match="'X' must have 64 columns"):
        mlcsc.online_step(X[:, :8], D, A, B, 1)
    with pytest.raises(ValueError, match="'steps'"):
        mlcsc.online_step(X, D, A, B, -1)
