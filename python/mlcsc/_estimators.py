"""scikit-learn estimators over mlcsc's solvers: SparseCoder and MiniBatchDictionaryLearning,
with scikit-learn's parameter names, attributes and transform (docs/python.md says what
differs)."""

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _float_array, _mlcsc, _seed, learn_dictionary, online_step, sparse_encode


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

    Differences (docs/python.md): max_iter counts epochs (scikit-learn's early stopping by tol
    and max_no_improvement applies, as scikit-learn's, when max_iter is given); with neither
    max_iter nor n_iter the default is scikit-learn's 1000 mini-batches, rounded up to whole
    epochs; batch_size defaults to 256 (scikit-learn 1.4's); positive_code and positive_dict
    must be equal (mlcsc learns non-negative codes and atoms together); callback gets a dict
    with 'self', 'i' and 'batch_objective' rather than fit's locals().
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

    def _check_params(self, n_features):
        if self.fit_algorithm not in ("lars", "cd"):
            raise ValueError(
                f"fit_algorithm must be 'lars' or 'cd', got {self.fit_algorithm!r}"
            )
        if bool(self.positive_code) != bool(self.positive_dict):
            raise ValueError(
                "mlcsc learns non-negative codes and atoms together: positive_code and "
                f"positive_dict must be equal, got {self.positive_code} and {self.positive_dict}"
            )
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback must be callable or None, got {self.callback!r}")
        return n_features if self.n_components is None else int(self.n_components)

    def _step_callback(self):
        """scikit-learn calls callback(locals()) after every mini-batch of fit; mlcsc's gets a
        dict with the estimator ('self'), the mini-batch's index ('i', from 0) and its Lasso
        objective summed over its rows ('batch_objective')."""
        if self.callback is None:
            return None

        def step(i, objective):
            self.callback({"self": self, "i": i - 1, "batch_objective": objective})
            return True

        return step

    def fit(self, X, y=None):
        """Learns the dictionary from the rows of X; returns self."""
        X = self._input(X, reset=True)
        n_samples, n_features = X.shape
        n_components = self._check_params(n_features)
        batch_size = min(int(self.batch_size), n_samples)
        steps_per_epoch = math.ceil(n_samples / batch_size)
        if self.max_iter is not None:  # scikit-learn's early stopping applies
            epochs = int(self.max_iter)
            tol = float(self.tol)
            max_no_improvement = (0 if self.max_no_improvement is None
                                  else int(self.max_no_improvement))
        else:
            n_iter = 1000 if self.n_iter == "deprecated" else int(self.n_iter)
            epochs = max(1, math.ceil(n_iter / steps_per_epoch))
            tol, max_no_improvement = 0.0, 0
        dict_init = None
        if self.dict_init is not None:
            dict_init = np.asarray(self.dict_init, dtype=X.dtype)
        self.components_, self._objective, state = learn_dictionary(
            X,
            n_components,
            alpha=self.alpha,
            epochs=epochs,
            batch_size=batch_size,
            random_state=_seed(self.random_state),
            shuffle=self.shuffle,
            positive=self.positive_dict,
            dict_init=dict_init,
            tol=tol,
            max_no_improvement=max_no_improvement,
            step_callback=self._step_callback(),
            return_state=True,
            n_jobs=self.n_jobs,
        )
        self._inner_stats = (state["A"], state["B"])
        self.n_steps_ = state["steps"]
        self.n_iter_ = math.ceil(self.n_steps_ / steps_per_epoch)
        return self

    def partial_fit(self, X, y=None):
        """One online step on the rows of X as a mini-batch (scikit-learn's partial_fit): the
        first call starts from dict_init or n_components rows of X drawn with random_state;
        later calls continue from components_ and the statistics of every earlier step (of fit
        too). Returns self."""
        fitted = hasattr(self, "components_")
        X = self._input(X, reset=not fitted)
        if not fitted:
            n_components = self._check_params(X.shape[1])
            if self.dict_init is not None:
                components = _float_array(self.dict_init, "dict_init", X.dtype)
                if components.shape != (n_components, X.shape[1]):
                    raise ValueError(
                        f"dict_init must be {n_components} x {X.shape[1]}, got "
                        f"{components.shape[0]} x {components.shape[1]}"
                    )
                components = components.copy()
            else:
                components = _mlcsc.initial_atoms(X, n_components, _seed(self.random_state),
                                                  bool(self.positive_dict))
            self._inner_stats = (np.zeros((n_components, n_components), X.dtype),
                                 np.zeros((n_components, X.shape[1]), X.dtype))
            self.n_steps_ = 0
        else:
            components = np.array(self.components_, copy=True, order="C")
            X = X.astype(components.dtype, copy=False)
        A, B = (np.array(a, dtype=components.dtype, order="C") for a in self._inner_stats)
        online_step(X, components, A, B, self.n_steps_, alpha=self.alpha,
                    positive=self.positive_dict, n_jobs=self.n_jobs)
        self.components_, self._inner_stats = components, (A, B)
        self.n_steps_ += 1
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
