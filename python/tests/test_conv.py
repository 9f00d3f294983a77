"""mlcsc.ConvDictionary and mlcsc.lasso: analyze / synthesize against PyTorch's conv2d /
conv_transpose2d (zero and valid boundaries, strides, dilations) and against a naive circular
correlation; synthesize is analyze's adjoint; the convolutional Lasso's optimality conditions;
zero-copy; bad input."""

import numpy as np
import pytest

import mlcsc


def random(rng, *shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


# The tolerances: sums of C kh kw products, ~1e-13 (float64) / ~1e-5 (float32) relative to the
# magnitude of the outputs, which is about sqrt(C kh kw).
def tol(dtype):
    return 1e-11 if dtype == np.float64 else 2e-4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("boundary,stride,dilation", [
    ("zero", 1, 1), ("zero", 2, 1), ("valid", 1, 2), ("valid", (2, 3), 1), ("zero", 1, (1, 2))])
def test_analyze_synthesize_equal_pytorch(dtype, boundary, stride, dilation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(10)
    K, C, kh, kw = 5, 3, 3, 5
    W = random(rng, K, C, kh, kw, dtype=dtype)
    x = random(rng, 2, C, 17, 19, dtype=dtype)
    D = mlcsc.ConvDictionary(W, boundary=boundary, stride=stride, dilation=dilation)
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    pad = (0, 0) if boundary == "valid" else (dh * (kh - 1) // 2, dw * (kw - 1) // 2)
    g = D.analyze(x)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(W), stride=stride, padding=pad,
                   dilation=dilation).numpy()
    assert g.shape == ref.shape and g.dtype == dtype
    np.testing.assert_allclose(g, ref, atol=tol(dtype) * 10, rtol=0)
    y = D.synthesize(g, output_size=x.shape)
    ref_y = F.conv_transpose2d(torch.from_numpy(g), torch.from_numpy(W), stride=stride,
                               padding=pad, dilation=dilation,
                               output_padding=_output_padding(x.shape, g.shape, stride, pad,
                                                              (dh, dw), (kh, kw))).numpy()
    assert y.shape == x.shape
    np.testing.assert_allclose(y, ref_y, atol=tol(dtype) * 50, rtol=0)


def _output_padding(xshape, gshape, stride, pad, dil, k):
    s = (stride, stride) if isinstance(stride, int) else stride
    out = []
    for i in range(2):
        smallest = (gshape[2 + i] - 1) * s[i] - 2 * pad[i] + dil[i] * (k[i] - 1) + 1
        out.append(xshape[2 + i] - smallest)
    return tuple(out)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_circular_against_a_naive_correlation(dtype):
    rng = np.random.default_rng(11)
    K, C, kh, kw, H, Wd = 4, 2, 3, 4, 9, 11
    W = random(rng, K, C, kh, kw, dtype=dtype)
    x = random(rng, 2, C, H, Wd, dtype=dtype)
    D = mlcsc.ConvDictionary(W)
    g = D.analyze(x)
    assert g.shape == (2, K, H, Wd)
    # the tap anchor: (kh - 1) // 2, (kw - 1) // 2 (the 'same' convention of fft/filter_spectra.hpp)
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    ref = np.zeros((2, K, H, Wd))
    for u in range(kh):
        for v in range(kw):
            shifted = np.roll(x, shift=(ph - u, pw - v), axis=(2, 3)).astype(np.float64)
            ref += np.einsum("kc,nchw->nkhw", W[:, :, u, v].astype(np.float64), shifted)
    np.testing.assert_allclose(g, ref, atol=tol(dtype) * 10, rtol=0)
    # synthesize is the adjoint: <D^T x, g'> = <x, D g'>
    g2 = random(rng, 2, K, H, Wd, dtype=dtype)
    lhs = float((g.astype(np.float64) * g2).sum())
    rhs = float((x.astype(np.float64) * D.synthesize(g2)).sum())
    assert abs(lhs - rhs) <= tol(dtype) * 100 * max(1.0, abs(lhs))


@pytest.mark.parametrize("method", ["fista", "admm"])
def test_conv_lasso_optimality(method):
    # KKT of 0.5||x - D g||^2 + lambda ||g||_1: |D^T(x - D g)| <= lambda, equal to lambda sign(g)
    # where g != 0, to the solvers' tolerance (1e-6 relative change: slack 1e-3).
    rng = np.random.default_rng(12)
    W = random(rng, 4, 1, 5, 5)
    W /= np.linalg.norm(W.reshape(4, -1), axis=1)[:, None, None, None]
    x = random(rng, 2, 1, 16, 16)
    D = mlcsc.ConvDictionary(W)
    lmbda = 0.5
    g, info = mlcsc.lasso(D, x, lmbda, method=method, max_iter=5000, tol=1e-7)
    assert info["converged"] and info["iterations"] > 0
    r = D.analyze(x - D.synthesize(g))
    assert np.abs(r).max() <= lmbda + 1e-3
    nz = g != 0
    assert nz.any() and np.abs(r[nz] - lmbda * np.sign(g[nz])).max() <= 1e-3
    obj = 0.5 * ((x - D.synthesize(g)) ** 2).sum() + lmbda * np.abs(g).sum()
    assert info["objective"] == pytest.approx(obj, rel=1e-6)


def test_conv_zero_copy_and_torch_tensors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    W = random(rng, 3, 2, 3, 3, dtype=np.float32)
    x = torch.from_numpy(random(rng, 1, 2, 8, 8, dtype=np.float32))
    D = mlcsc.ConvDictionary(torch.from_numpy(W), boundary="zero")
    assert D.dtype == np.float32
    g = D.analyze(x)  # a tensor in: read through its NumPy view
    assert np.asarray(x).ctypes.data == x.numpy().ctypes.data
    assert g.flags["C_CONTIGUOUS"] and g.flags["OWNDATA"] and g.base is None
    np.testing.assert_allclose(g, D.analyze(x.numpy()), atol=0)


def test_conv_bad_input():
    rng = np.random.default_rng(14)
    W = random(rng, 3, 2, 3, 3)
    D = mlcsc.ConvDictionary(W)
    with pytest.raises(ValueError, match=r"expected a 4-D array \(N, C, H, W\)"):
        D.analyze(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="channel"):  # the C++ message: 3 channels, not 2
        D.analyze(np.zeros((1, 3, 8, 8)))
    with pytest.raises(ValueError, match="'boundary' must be"):
        mlcsc.ConvDictionary(W, boundary="reflect")
    with pytest.raises(ValueError, match="'stride'"):
        mlcsc.ConvDictionary(W, stride=0)
    bad = W.copy()
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="weights"):
        mlcsc.ConvDictionary(bad)
    with pytest.raises(ValueError, match="'method' must be"):
        mlcsc.lasso(D, np.zeros((1, 2, 8, 8)), 0.1, method="lars")
    with pytest.raises(ValueError, match="ADMM"):  # ADMM needs a circular, stride-1 dictionary
        mlcsc.lasso(mlcsc.ConvDictionary(W, boundary="zero"), np.zeros((1, 2, 8, 8)), 0.1,
                    method="admm")
    with pytest.raises(TypeError, match="Complex"):
        D.analyze(np.zeros((1, 2, 8, 8), dtype=complex))
