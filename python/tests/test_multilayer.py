"""mlcsc.MultiLayer (layered thresholding, layered Lasso, ML-FISTA) against the single-layer
operators it is made of, and mlcsc.learn_conv_dictionary (batch and online) from Python."""

import numpy as np
import pytest

import mlcsc


def two_layers(rng, dtype=np.float64, boundary="zero"):
    W1 = rng.standard_normal((6, 2, 3, 3)).astype(dtype)
    W2 = rng.standard_normal((8, 6, 3, 3)).astype(dtype)
    return mlcsc.MultiLayer([mlcsc.ConvDictionary(W1, boundary=boundary),
                             mlcsc.ConvDictionary(W2, boundary=boundary)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layered_thresholding_is_the_forward_pass(dtype):
    rng = np.random.default_rng(30)
    net = two_layers(rng, dtype)
    x = rng.standard_normal((3, 2, 11, 13)).astype(dtype)
    b1 = rng.uniform(0, 1, 6)
    g1, g2 = net.layered_thresholding(x, [b1, 0.5])
    D1, D2 = net.layers
    ref1 = np.maximum(D1.analyze(x) - b1[None, :, None, None].astype(dtype), 0)
    ref2 = np.maximum(D2.analyze(ref1) - dtype(0.5), 0)
    eps = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(g1, ref1, atol=eps)
    np.testing.assert_allclose(g2, ref2, atol=eps * 10)
    s1, _ = net.layered_thresholding(x, [0.3, 0.3], shrinkage="soft")
    a = D1.analyze(x)
    np.testing.assert_allclose(s1, np.sign(a) * np.maximum(np.abs(a) - dtype(0.3), 0), atol=eps)


def test_layered_lasso_and_ml_fista():
    rng = np.random.default_rng(31)
    net = two_layers(rng, boundary="circular")
    x = rng.standard_normal((2, 2, 10, 10))
    (g1, i1), (g2, i2) = net.layered_lasso(x, [0.5, 0.2], max_iter=5000, tol=1e-6)
    D1, D2 = net.layers
    c1, _ = mlcsc.lasso(D1, x, 0.5, max_iter=5000, tol=1e-6)
    c2, _ = mlcsc.lasso(D2, c1, 0.2, max_iter=5000, tol=1e-6)
    np.testing.assert_allclose(g1, c1, atol=1e-12)
    np.testing.assert_allclose(g2, c2, atol=1e-12)
    assert i1["converged"] and i2["converged"]
    codes, info = net.ml_fista(x, [0.5, 0.2], max_iter=300)
    G1, G2 = codes
    np.testing.assert_allclose(G1, D2.synthesize(G2), atol=1e-10)  # the propagated code
    obj = (0.5 * ((x - D1.synthesize(G1)) ** 2).sum() + 0.5 * np.abs(G1).sum()
           + 0.2 * np.abs(G2).sum())
    assert info["objective"] == pytest.approx(obj, rel=1e-9)
    # the codes are the C++ buffers handed over, not copies: views owned through their base
    for code in (g1, g2, G1, G2):
        assert not code.flags.owndata and code.base is not None
        assert code.flags.c_contiguous and code.flags.writeable
    with pytest.raises(ValueError, match="'lambdas'"):
        net.layered_lasso(x, [0.5, -1])
    with pytest.raises(ValueError, match="'thresholds' must hold one entry per layer"):
        net.layered_thresholding(x, [0.1])
    with pytest.raises(TypeError, match="ConvDictionary"):
        mlcsc.MultiLayer([np.zeros((2, 2, 3, 3))])


@pytest.mark.parametrize("method", ["batch", "online"])
def test_learn_conv_dictionary(method):
    rng = np.random.default_rng(32)
    images = rng.standard_normal((3, 1, 16, 18)).astype(np.float32)
    D, objective, code = mlcsc.learn_conv_dictionary(
        images, 5, 4, 0.3, iterations=30, method=method, batch_size=2, random_state=3)
    assert D.shape == (5, 1, 4, 4) and D.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(D.weights.reshape(5, -1), axis=1), 1, atol=1e-5)
    assert len(objective) == 30 and code.shape == (3, 5, 16, 18)
    if method == "batch":  # the reported objective is the returned filters' and codes'
        fit = 0.5 * ((D.synthesize(code).astype(np.float64) - images) ** 2).sum()
        assert objective[-1] == pytest.approx(fit + 0.3 * np.abs(code).astype(np.float64).sum(),
                                              rel=1e-4)
        assert objective[-1] < objective[0]
    D2, objective2, _ = mlcsc.learn_conv_dictionary(
        images, 5, 4, 0.3, iterations=30, method=method, batch_size=2, random_state=3)
    np.testing.assert_array_equal(D2.weights, D.weights)
    with pytest.raises(ValueError, match="'num_filters'"):
        mlcsc.learn_conv_dictionary(images, 0, 4, 0.3)
    with pytest.raises(ValueError, match="'method'"):
        mlcsc.learn_conv_dictionary(images, 5, 4, 0.3, method="sgd")
