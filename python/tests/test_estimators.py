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
