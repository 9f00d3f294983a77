"""scikit-learn estimators over mlcsc's solvers: SparseCoder and MiniBatchDictionaryLearning,
with scikit-learn's parameter names, attributes and transform (docs/python.md says what
differs)."""

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _float_array, _seed, learn_dictionary, sparse_encode


class _Coding:
    """The transform shared by both estimators (scikit-learn's _BaseSparseCoding)."""

    def _encode(self, X, dictionary, alpha):
        code = sparse_encode(
            X,
            dictionary,
            algorithm=self.transform_algorithm,
            n_nonzero_coefs=self.transform_n_nonzero_coefs,
            alpha=alpha,
            max_iter=self.transform_max_iter,
            n_jobs=self.n_jobs,
            positive=self.positive_code,
        )
        if self.split_sign:  # [max(code, 0), -min(code, 0)], as scikit-learn
            code = np.hstack([np.maximum(code, 0), -np.minimum(code, 0)])
        return code

    def _input(self, X, reset):
        X = _float_array(X, "X")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return X


class SparseCoder(_Coding, TransformerMixin, BaseEstimator):
    """Sparse coding of data against a fixed dictionary (n_components, n_features), as
    ``sklearn.decomposition.SparseCoder``, solved by mlcsc.sparse_encode."""

    def __init__(
        self,
        dictionary,
        *,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        split_sign=False,
        n_jobs=None,
        positive_code=False,
        transform_max_iter=1000,
    ):
        self.dictionary = dictionary
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.split_sign = split_sign
        self.n_jobs = n_jobs
        self.positive_code = positive_code
        self.transform_max_iter = transform_max_iter

    def fit(self, X, y=None):
        """Does nothing (the dictionary is fixed) but check X; returns self."""
        self._input(X, reset=False)
        return self

    def transform(self, X, y=None):
        """The codes of the rows of X: (n_samples, n_components), or twice as many columns with
        split_sign."""
        return self._encode(self._input(X, reset=False), self.dictionary, self.transform_alpha)

    @property
    def n_components_(self):
        return np.asarray(self.dictionary).shape[0]

    @property
    def n_features_in_(self):
        return np.asarray(self.dictionary).shape[1]

    def _more_tags(self):
        return {"requires_fit": False, "preserves_dtype": [np.float64, np.float32]}


class MiniBatchDictionaryLearning(_Coding, TransformerMixin, BaseEstimator):
    """Mini-batch dictionary learning, as ``sklearn.decomposition.MiniBatchDictionaryLearning``:
    online learning (Mairal et al. 2010) with mlcsc's exact Lasso as the coding step
    (fit_algorithm 'lars' and 'cd' both name it: the Lasso has one solution).

    Differences (docs/python.md): max_iter counts epochs and all of them run (tol and
    max_no_improvement are accepted, and not used); with neither max_iter nor n_iter the
    default is scikit-learn's 1000 mini-batches, rounded up to whole epochs; batch_size
    defaults to 256 (scikit-learn 1.4's); positive_code and positive_dict must be equal
    (mlcsc learns non-negative codes and atoms together); callback is not supported.
    """

    def __init__(
        self,
        n_components=None,
        *,
        alpha=1,
        n_iter="deprecated",
        max_iter=None,
        fit_algorithm="lars",
        n_jobs=None,
        batch_size=256,
        shuffle=True,
        dict_init=None,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        verbose=False,
        split_sign=False,
        random_state=None,
        positive_code=False,
        positive_dict=False,
        transform_max_iter=1000,
        callback=None,
        tol=1e-3,
        max_no_improvement=10,
    ):
        self.n_components = n_components
        self.alpha = alpha
        self.n_iter = n_iter
        self.max_iter = max_iter
        self.fit_algorithm = fit_algorithm
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.dict_init = dict_init
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.verbose = verbose
        self.split_sign = split_sign
        self.random_state = random_state
        self.positive_code = positive_code
        self.positive_dict = positive_dict
        self.transform_max_iter = transform_max_iter
        self.callback = callback
        self.tol = tol
        self.max_no_improvement = max_no_improvement

    def fit(self, X, y=None):
        """Learns the dictionary from the rows of X; returns self."""
        X = self._input(X, reset=True)
        n_samples, n_features = X.shape
        if self.fit_algorithm not in ("lars", "cd"):
            raise ValueError(
                f"fit_algorithm must be 'lars' or 'cd', got {self.fit_algorithm!r}"
            )
        if bool(self.positive_code) != bool(self.positive_dict):
            raise ValueError(
                "mlcsc learns non-negative codes and atoms together: positive_code and "
                f"positive_dict must be equal, got {self.positive_code} and {self.positive_dict}"
            )
        if self.callback is not None:
            raise ValueError("callback is not supported by mlcsc's MiniBatchDictionaryLearning")
        n_components = n_features if self.n_components is None else int(self.n_components)
        batch_size = int(self.batch_size)
        if self.max_iter is not None:
            epochs = int(self.max_iter)
        else:
            n_iter = 1000 if self.n_iter == "deprecated" else int(self.n_iter)
            epochs = max(1, math.ceil(n_iter * batch_size / n_samples))
        dict_init = None
        if self.dict_init is not None:
            dict_init = np.asarray(self.dict_init, dtype=X.dtype)
        self.components_, self._objective = learn_dictionary(
            X,
            n_components,
            alpha=self.alpha,
            epochs=epochs,
            batch_size=min(batch_size, n_samples),
            random_state=_seed(self.random_state),
            shuffle=self.shuffle,
            positive=self.positive_dict,
            dict_init=dict_init,
            n_jobs=self.n_jobs,
        )
        self.n_iter_ = epochs
        self.n_steps_ = epochs * math.ceil(n_samples / min(batch_size, n_samples))
        return self

    def transform(self, X, y=None):
        """The codes of the rows of X over the learned components."""
        check_is_fitted(self, "components_")
        X = self._input(X, reset=False)
        alpha = self.transform_alpha
        if alpha is None and self.alpha != 1.0:  # as scikit-learn 1.2, which warns of 1.4
            warnings.warn(
                "transform_alpha is None: coding with alpha, as scikit-learn 1.4 does",
                FutureWarning,
            )
            alpha = self.alpha
        return self._encode(X, self.components_, alpha)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def _more_tags(self):
        return {"preserves_dtype": [np.float64, np.float32]}
