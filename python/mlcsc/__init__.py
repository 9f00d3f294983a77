"""mlcsc: sparse coding with scikit-learn's signatures, solved by the C++ library.

``mlcsc.sparse_encode`` takes the arguments of ``sklearn.decomposition.sparse_encode`` and
returns the same result; ``mlcsc.SparseCoder`` and ``mlcsc.MiniBatchDictionaryLearning`` are
scikit-learn estimators with scikit-learn's parameter names (they need scikit-learn). See
docs/python.md for the migration and for what differs.

Arrays: float32 and float64 are solved in their own precision; integer and boolean arrays, and
numbers stored as objects, are converted to float64 (a copy); complex data, strings and other
dtypes raise mlcsc.DTypeError (a TypeError and a ValueError); scipy.sparse input raises
TypeError. A C-contiguous
array is read in place; any other layout is copied once into one. The result is a new
C-contiguous array of the input's dtype, written by the solver directly. Bad shapes and
NaN / Inf raise ValueError naming the argument and the shapes.
"""

import numbers
import os

import numpy as np

from . import _mlcsc

__all__ = [
    "DTypeError",
    "sparse_encode",
    "ConvDictionary",
    "lasso",
    "MultiLayer",
    "learn_conv_dictionary",
    "SparseCoder",
    "MiniBatchDictionaryLearning",
    "learn_dictionary",
    "online_step",
]

_ALGORITHMS = ("lasso_cd", "lasso_lars", "fista", "omp", "threshold")


class DTypeError(TypeError, ValueError):
    """An array of a dtype mlcsc does not code (complex, strings...): a TypeError, and a
    ValueError as scikit-learn raises for complex data."""


def _float_array(a, name, dtype=None, ndim=2, axes="(n_samples, n_features)"):
    """`a` as a C-contiguous float32 / float64 array of `ndim` dimensions (see the module's
    docstring)."""
    if hasattr(a, "toarray") and hasattr(a, "nnz"):  # scipy.sparse
        raise TypeError(
            f"{name}: a sparse matrix was passed, but dense data is required; use "
            f"{name}.toarray() to convert to a dense numpy array"
        )
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    elif a.dtype.kind == "O":  # numbers stored as objects are converted, as scikit-learn does
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise DTypeError(
                f"{name}: an object array must hold numbers (converted to float64): {e}"
            ) from None
    elif a.dtype.kind == "c":
        raise DTypeError(f"{name}: Complex data not supported (dtype {a.dtype})")
    elif a.dtype not in (np.float32, np.float64):
        raise DTypeError(
            f"{name}: expected an array of float32 or float64 (integers, booleans and numbers "
            f"stored as objects are converted to float64), got dtype {a.dtype}"
        )
    if a.ndim != ndim:
        hint = (
            f"; Reshape your data with {name}.reshape(-1, 1) if it has a single feature or "
            f"{name}.reshape(1, -1) if it is a single sample"
            if ndim == 2
            else ""
        )
        raise ValueError(f"{name}: expected a {ndim}-D array {axes}, got shape {a.shape}{hint}")
    if ndim != 2:
        if a.size == 0:
            raise ValueError(f"{name}: expected a nonempty {axes} array, got shape {a.shape}")
    elif a.shape[0] < 1:
        raise ValueError(
            f"{name}: found array with 0 sample(s) (shape={a.shape}) while a minimum of 1 is "
            f"required."
        )
    elif a.shape[1] < 1:
        raise ValueError(
            f"{name}: found array with 0 feature(s) (shape={a.shape}) while a minimum of 1 is "
            f"required."
        )
    if dtype is not None and a.dtype != dtype:
        a = a.astype(dtype)
    a = np.ascontiguousarray(a)
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or Inf (shape {a.shape})")
    return a


def _threads(n_jobs):
    """scikit-learn's n_jobs as OpenMP threads: None -> 1, -1 -> every core, -k -> all but k-1."""
    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs: expected None or a nonzero integer, got {n_jobs!r}")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))
    return int(n_jobs)


def sparse_encode(
    X,
    dictionary,
    *,
    gram=None,
    cov=None,
    algorithm="lasso_cd",
    n_nonzero_coefs=None,
    alpha=None,
    copy_cov=True,
    init=None,
    max_iter=1000,
    n_jobs=None,
    check_input=True,
    verbose=0,
    positive=False,
):
    """Sparse coding, as ``sklearn.decomposition.sparse_encode``: each row of the result is the
    code of the row of X with the same index, X ~= code @ dictionary.

    X: (n_samples, n_features); dictionary: (n_components, n_features); returns
    (n_samples, n_components) of X's dtype (float32 stays float32).

    algorithm:
      'lasso_cd', 'lasso_lars': the Lasso 0.5 ||x - dictionary.T c||^2 + alpha ||c||_1 per sample
        (scikit-learn's problem after its 1 / n_features scaling), solved exactly by mlcsc's
        coordinate descent (a tolerance of 1e-6 on the change of the code) for both names: the
        Lasso has one solution, whichever algorithm finds it;
      'fista': the same Lasso by FISTA (max_iter iterations at most);
      'omp': orthogonal matching pursuit, at most n_nonzero_coefs atoms per sample (default
        min(max(n_features / 10, 1), n_components), as scikit-learn);
      'threshold': soft thresholding of dictionary @ x at alpha (clipped at 0 when positive).
    alpha defaults to 1.0. `positive` constrains the codes to be >= 0 (not with 'omp').
    `init` warm-starts 'lasso_cd' / 'lasso_lars' / 'fista' (n_samples, n_components).
    n_jobs: OpenMP threads (None: 1; -1: every core). gram, cov, copy_cov, check_input and
    verbose are accepted so that scikit-learn calls run unchanged; the Gram matrix and the
    correlations are computed by the solvers themselves.
    'lars' (a fixed number of LARS steps) is not provided: ValueError.
    """
    if algorithm not in _ALGORITHMS:
        raise ValueError(
            f"sparse_encode: algorithm must be one of {', '.join(map(repr, _ALGORITHMS))}, "
            f"got {algorithm!r}"
        )
    X = _float_array(X, "X")
    dictionary = _float_array(dictionary, "dictionary", X.dtype)
    n_samples, n_features = X.shape
    n_components = dictionary.shape[0]
    if dictionary.shape[1] != n_features:
        raise ValueError(
            f"sparse_encode: 'dictionary' must have {n_features} columns (the features of X, "
            f"which is {n_samples} x {n_features}), got {n_components} x {dictionary.shape[1]}"
        )
    if n_components < 1 or n_samples < 1 or n_features < 1:
        raise ValueError(
            f"sparse_encode: empty input: X is {n_samples} x {n_features}, "
            f"dictionary {n_components} x {dictionary.shape[1]}"
        )
    threads = _threads(n_jobs)
    if algorithm == "omp":
        if positive:
            raise ValueError("sparse_encode: positive=True is not supported for 'omp'")
        k = n_nonzero_coefs
        if k is None:
            k = min(max(n_features / 10, 1), n_components)
        k = int(k)
        if not 1 <= k <= n_components:
            raise ValueError(
                f"sparse_encode: n_nonzero_coefs must be in [1, {n_components}] (the number of "
                f"components), got {n_nonzero_coefs!r}"
            )
        return _mlcsc.encode_omp(X, dictionary, k, threads)
    alpha = 1.0 if alpha is None else float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"sparse_encode: alpha must be finite and >= 0, got {alpha!r}")
    if algorithm == "threshold":
        return _mlcsc.encode_threshold(X, dictionary, alpha, bool(positive), threads)
    if init is not None:
        init = _float_array(init, "init", X.dtype)
        if init.shape != (n_samples, n_components):
            raise ValueError(
                f"sparse_encode: 'init' must be {n_samples} x {n_components} (n_samples x "
                f"n_components), got {init.shape[0]} x {init.shape[1]}"
            )
    if not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"sparse_encode: max_iter must be an integer >= 1, got {max_iter!r}")
    method = "fista" if algorithm == "fista" else "cd"
    return _mlcsc.encode_lasso(
        X, dictionary, alpha, bool(positive), int(max_iter), 1e-6, method, init, threads
    )


def _pair(v, name):
    """An int or a pair of ints (PyTorch's stride / dilation) as a pair, each >= 1."""
    pair = (v, v) if isinstance(v, numbers.Integral) else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, numbers.Integral) and p >= 1 for p in pair):
        raise ValueError(f"'{name}' must be an int >= 1 or a pair of them, got {v!r}")
    return int(pair[0]), int(pair[1])


class ConvDictionary:
    """A convolutional dictionary from PyTorch-layout weights (K, C, kh, kw): `analyze` is
    PyTorch's conv2d (a correlation: D^T x) and `synthesize` its conv_transpose2d (D g), on
    (N, C, H, W) arrays (a CPU torch.Tensor is read through its NumPy view, without a copy).

    boundary: 'circular' (the signal wraps around: the CSC model; SPORCO's), 'zero' (PyTorch's
    padding (k - 1) / 2 for odd kernels: 'same' at stride 1) or 'valid' (padding 0).
    stride, dilation: an int or a pair, as PyTorch's. The weights are copied into the dictionary
    (float32 weights make a float32 dictionary, which codes float32 arrays).
    """

    def __init__(self, weights, boundary="circular", stride=1, dilation=1):
        w = _float_array(weights, "weights", ndim=4, axes="(K, C, kh, kw)")
        self.stride = _pair(stride, "stride")
        self.dilation = _pair(dilation, "dilation")
        self.boundary = boundary
        cls = _mlcsc.ConvDictionary32 if w.dtype == np.float32 else _mlcsc.ConvDictionary64
        self._d = cls(w, boundary, *self.stride, *self.dilation)
        self.dtype = w.dtype

    @property
    def weights(self):
        """A copy of the weights, (K, C, kh, kw)."""
        return self._d.weights

    @property
    def shape(self):
        return self._d.weights.shape

    def code_shape(self, height, width):
        """(K, code height, code width) for signals of height x width."""
        return self._d.code_shape(int(height), int(width))

    def _maps(self, x, name):
        return _float_array(x, name, self.dtype, ndim=4, axes="(N, C, H, W)")

    def analyze(self, x, n_jobs=None):
        """D^T x: (N, C, H, W) -> (N, K, Hc, Wc), PyTorch's conv2d with these weights."""
        return self._d.analyze(self._maps(x, "x"), _threads(n_jobs))

    def synthesize(self, g, output_size=None, n_jobs=None):
        """D g: (N, K, Hc, Wc) -> (N, C, H, W), PyTorch's conv_transpose2d; output_size (H, W)
        chooses among the signal sizes a strided code fits (default: the smallest)."""
        h, w = (0, 0) if output_size is None else (int(output_size[-2]), int(output_size[-1]))
        return self._d.synthesize(self._maps(g, "g"), h, w, _threads(n_jobs))


def lasso(D, x, lmbda, *, method="fista", max_iter=1000, tol=1e-4, positive=False, n_jobs=None):
    """The convolutional Lasso 0.5 ||x - D g||^2 + lmbda ||g||_1 of every image of x
    (N, C, H, W) over the ConvDictionary D, from zero, by 'fista', 'ista' or 'admm' (circular,
    stride 1: SPORCO's ConvBPDN). Returns (code, info): code (N, K, Hc, Wc); info the iterations
    (the most any image took), whether every image converged, and the objective (summed)."""
    if not isinstance(D, ConvDictionary):
        raise TypeError(f"lasso: 'D' must be an mlcsc.ConvDictionary, got {type(D).__name__}")
    if not np.isfinite(lmbda) or lmbda < 0:
        raise ValueError(f"lasso: 'lmbda' must be finite and >= 0, got {lmbda!r}")
    x = D._maps(x, "x")
    return D._d.lasso(x, float(lmbda), method, int(max_iter), float(tol), bool(positive),
                      _threads(n_jobs))


class MultiLayer:
    """A multi-layer convolutional sparse coding model (ML-CSC): a list of ConvDictionary, the
    first reading the signal, each next one reading the previous one's K code maps as channels.
    Its pursuits return one code per layer (N, K_l, H_l, W_l); each is a new array (the C++
    pursuits own their codes: one copy each)."""

    def __init__(self, layers):
        layers = list(layers)
        if not layers or not all(isinstance(d, ConvDictionary) for d in layers):
            raise TypeError("MultiLayer: 'layers' must be a nonempty list of mlcsc.ConvDictionary")
        if len({d.dtype for d in layers}) != 1:
            raise TypeError("MultiLayer: the layers must share one dtype (float32 or float64)")
        self.layers = layers
        self.dtype = layers[0].dtype
        self._mlcsc_layers = [d._d for d in layers]

    def _lambdas(self, lambdas, name):
        v = np.broadcast_to(np.asarray(lambdas, dtype=np.float64), (len(self.layers),))
        if not np.isfinite(v).all() or (v < 0).any():
            raise ValueError(f"MultiLayer: '{name}' must be finite and >= 0, got {lambdas!r}")
        return [float(t) for t in v]

    def layered_thresholding(self, x, thresholds, shrinkage="nonneg_soft", n_jobs=None):
        """The CNN forward pass: Gamma_l = S(D_l^T Gamma_{l-1}); thresholds one per layer (a
        number, or one per filter: with 'nonneg_soft' the layer is ReLU(conv - threshold))."""
        if not isinstance(thresholds, (list, tuple)) or len(thresholds) != len(self.layers):
            raise ValueError(f"MultiLayer: 'thresholds' must hold one entry per layer "
                             f"({len(self.layers)}), got {thresholds!r}")
        thr = [[float(t) for t in np.atleast_1d(np.asarray(t, dtype=np.float64))]
               for t in thresholds]
        return _mlcsc.ml_thresholding(self._mlcsc_layers, self.layers[0]._maps(x, "x"), thr,
                                      shrinkage, _threads(n_jobs))

    def layered_lasso(self, x, lambdas, method="fista", max_iter=1000, tol=1e-4, positive=False,
                      n_jobs=None):
        """The layered Lasso: each layer's Lasso on the previous layer's code; a list of
        (code, info) per layer."""
        return _mlcsc.ml_layered_lasso(self._mlcsc_layers, self.layers[0]._maps(x, "x"),
                                       self._lambdas(lambdas, "lambdas"), bool(positive), method,
                                       int(max_iter), float(tol), _threads(n_jobs))

    def ml_fista(self, x, lambdas, max_iter=500, tol=1e-6, positive=False, n_jobs=None):
        """ML-FISTA, the multi-layer basis pursuit of Sulam et al.: (codes, info), codes the
        deepest code and its propagations D_{l+1} ... Gamma_L, one per layer."""
        return _mlcsc.ml_fista(self._mlcsc_layers, self.layers[0]._maps(x, "x"),
                               self._lambdas(lambdas, "lambdas"), bool(positive), int(max_iter),
                               float(tol), _threads(n_jobs))


def learn_conv_dictionary(images, n_filters, kernel_size, lmbda, *, iterations=100, method="batch",
                          batch_size=1, zero_mean=False, random_state=0, coding_iterations=0,
                          filter_iterations=0, initial_weights=None, n_jobs=None):
    """A circular convolutional dictionary learned from images (N, C, H, W), as SPORCO's
    ConvBPDNDictLearn ('batch') or OnlineConvBPDNDictLearn ('online'): returns
    (ConvDictionary, objective per iteration, codes (N, K, H, W)). kernel_size: an int or
    (kh, kw). 0 for coding_iterations / filter_iterations: the method's defaults (C++
    ConvDictLearnParams). The images are read in place (a C-contiguous array of the dtype)."""
    x = _float_array(images, "images", ndim=4, axes="(N, C, H, W)")
    kh, kw = _pair(kernel_size, "kernel_size")
    init = None
    if initial_weights is not None:
        init = _float_array(initial_weights, "initial_weights", x.dtype, ndim=4,
                            axes="(K, C, kh, kw)")
    weights, objective, code = _mlcsc.learn_conv_dictionary(
        x, int(n_filters), kh, kw, float(lmbda), int(iterations), _seed(random_state), method,
        int(batch_size), bool(zero_mean), int(coding_iterations), int(filter_iterations), init,
        _threads(n_jobs))
    return ConvDictionary(weights), np.asarray(objective, dtype=x.dtype), code


def learn_dictionary(
    X,
    n_components,
    *,
    alpha=1.0,
    epochs=1,
    batch_size=256,
    random_state=0,
    shuffle=True,
    positive=False,
    dict_init=None,
    tol=0.0,
    max_no_improvement=0,
    forgetting=8.0,
    step_callback=None,
    return_state=False,
    n_jobs=None,
):
    """Online dictionary learning (Mairal et al. 2010) on the rows of X with mlcsc's exact Lasso
    codes: returns (components, objective), components (n_components, n_features) with unit
    rows, objective the Lasso objective of all of X after each epoch (the last one: of the
    final components). `positive` makes codes and atoms non-negative.

    Early stopping as scikit-learn's MiniBatchDictionaryLearning (0 switches a rule off): after
    the first min(100, n_samples / batch_size) mini-batches, stop when a step moves the
    components by at most `tol` (Frobenius norm / n_components) or when the averaged mini-batch
    objective has not improved for `max_no_improvement` mini-batches. `forgetting` is rho of
    Mairal et al. 3.4.2 (1: scikit-learn's weights; mlcsc's default 8 forgets faster).
    `step_callback(step, batch_objective)` is called after every mini-batch; returning False
    stops. With `return_state`, returns (components, objective, state), state a dict with
    'steps', 'converged' and the statistics 'A' (n_components, n_components) and 'B'
    (n_components, n_features) that online_step continues from."""
    X = _float_array(X, "X")
    dtype = X.dtype
    if dict_init is not None:
        dict_init = _float_array(dict_init, "dict_init", dtype)
        if dict_init.shape != (n_components, X.shape[1]):
            raise ValueError(
                f"learn_dictionary: 'dict_init' must be {n_components} x {X.shape[1]}, "
                f"got {dict_init.shape[0]} x {dict_init.shape[1]}"
            )
    if step_callback is not None and not callable(step_callback):
        raise TypeError(f"learn_dictionary: 'step_callback' must be callable or None, got "
                        f"{type(step_callback).__name__}")
    components, objective, steps, converged, A, B = _mlcsc.learn_dictionary(
        X,
        int(n_components),
        float(alpha),
        int(epochs),
        int(batch_size),
        _seed(random_state),
        bool(shuffle),
        bool(positive),
        dict_init,
        float(tol),
        int(max_no_improvement),
        float(forgetting),
        step_callback,
        _threads(n_jobs),
    )
    objective = np.asarray(objective, dtype=dtype)
    if return_state:
        return components, objective, dict(steps=steps, converged=converged, A=A, B=B)
    return components, objective


def online_step(X, components, A, B, steps, *, alpha=1.0, positive=False, forgetting=8.0,
                n_jobs=None):
    """One step of online dictionary learning on the mini-batch X (n_samples, n_features), as
    scikit-learn's MiniBatchDictionaryLearning.partial_fit: codes X by the exact Lasso with
    `components` (n_components, n_features), updates the statistics A (n_components,
    n_components) and B (n_components, n_features), weighing X as the mini-batch after `steps`
    others, and moves every component; components, A and B are updated in place (C-contiguous
    writeable arrays of X's dtype). Returns the mini-batch's Lasso objective (summed over its
    rows) with the components it was coded with."""
    X = _float_array(X, "X")
    m, n = np.shape(components)
    if X.shape[1] != n:
        raise ValueError(f"online_step: 'X' must have {n} columns (the components' "
                         f"{m} x {n}), got {X.shape[0]} x {X.shape[1]}")
    for name, a, shape in (("components", components, (m, n)), ("A", A, (m, m)),
                           ("B", B, (m, n))):
        if not (isinstance(a, np.ndarray) and a.dtype == X.dtype and a.flags.c_contiguous
                and a.flags.writeable):
            raise ValueError(f"online_step: '{name}' must be a writeable C-contiguous "
                             f"{X.dtype} array (it is updated in place)")
        if a.shape != shape:
            raise ValueError(f"online_step: '{name}' must be {shape[0]} x {shape[1]}, got "
                             f"{' x '.join(map(str, a.shape))}")
    return _mlcsc.online_step(X, components, A, B, int(steps), float(alpha), bool(positive),
                              float(forgetting), _threads(n_jobs))


def _seed(random_state):
    """A 32-bit seed from scikit-learn's random_state (None: drawn from NumPy's global state)."""
    if random_state is None:
        return int(np.random.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral):
        return int(random_state) & 0xFFFFFFFF
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise ValueError(
        f"random_state: expected None, an int or a numpy RandomState, got {random_state!r}"
    )


def __getattr__(name):
    # the estimators need scikit-learn: imported on first use only
    if name in ("SparseCoder", "MiniBatchDictionaryLearning"):
        from . import _estimators

        return getattr(_estimators, name)
    raise AttributeError(f"module 'mlcsc' has no attribute {name!r}")
