"""Pooling and batch-norm kernels: both max-pool paths find the first argmax (the last NaN),
float32 stays float32, and batch statistics keep their digits on large float32 batches."""

import numpy as np
import pytest

from nnx.kernels import batch_norm, pool
from nnx.kernels.geometry import PoolGeometry


@pytest.mark.parametrize("geom", [[2, 2, 2, 2], [3, 2, 2, 2], [2, 2, 2, 1]])
def test_max_pool_argmax_is_the_flat_position_in_the_plane(geom):
    """The two-pass 2x2 stride-2 path and the general one agree with a numpy search."""
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 6)).astype(np.float32)
    g = PoolGeometry(*geom)
    kh, kw, sh, sw = geom
    ho, wo = (5 - kh) // sh + 1, (6 - kw) // sw + 1
    y, argmax = np.empty((2, 3, ho, wo), np.float32), np.empty((2, 3, ho, wo), np.int32)
    pool.max_pool_forward(x, g, y, argmax, 0, len(x))
    for oh in range(ho):
        for ow in range(wo):
            window = x[:, :, oh * sh:oh * sh + kh, ow * sw:ow * sw + kw].reshape(2, 3, -1)
            k = window.argmax(-1)
            np.testing.assert_array_equal(y[:, :, oh, ow], window.max(-1))
            np.testing.assert_array_equal(argmax[:, :, oh, ow],
                                          (oh * sh + k // kw) * 6 + ow * sw + k % kw)
    dx = np.full_like(x, np.nan)
    pool.max_pool_backward(np.ones_like(y), argmax, dx, 0, len(dx))
    assert dx.dtype == np.float32 and dx.sum() == y.size


def sequential_winner(window):
    """The position the scan rule picks: a later value wins if larger or NaN."""
    best = 0
    for k in range(1, len(window)):
        if window[k] > window[best] or np.isnan(window[k]):
            best = k
    return best


@pytest.mark.parametrize("geom,size", [([2, 2, 2, 2], (6, 6)), ([2, 2, 2, 2], (7, 8)),
                                       ([2, 2, 2, 2], (6, 7)), ([2, 2, 1, 1], (6, 6))])
def test_max_pool_ties_and_nans_follow_the_sequential_scan(geom, size):
    """The 2x2 stride-2 path over an even width reduces row pairs, then rows, as a tree; on
    ties (small integers) and NaNs it still picks what a left-to-right, top-to-bottom scan
    picks, as the general path does (odd width)."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, (4, 3) + size).astype(np.float64)
    x[rng.random(x.shape) < 0.15] = np.nan
    g = PoolGeometry(*geom)
    kh, kw, sh, sw = geom
    height, width = size
    ho, wo = (height - kh) // sh + 1, (width - kw) // sw + 1
    y, argmax = np.empty((4, 3, ho, wo)), np.empty((4, 3, ho, wo), np.int32)
    pool.max_pool_forward(x, g, y, argmax, 0, len(x))
    for n, c, oh, ow in np.ndindex(y.shape):
        window = x[n, c, oh * sh:oh * sh + kh, ow * sw:ow * sw + kw].ravel()
        k = sequential_winner(window)
        assert argmax[n, c, oh, ow] == (oh * sh + k // kw) * width + ow * sw + k % kw
        np.testing.assert_array_equal(y[n, c, oh, ow], window[k])


def test_avg_pool_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    y = np.empty((2, 3, 3, 2), np.float32)
    g = PoolGeometry(2, 3, 2, 3)
    pool.avg_pool_forward(x, g, y, 0, len(x))
    want = x.astype(np.float64).reshape(2, 3, 3, 2, 2, 3).mean(axis=(3, 5))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-7)
    dx = np.empty_like(x)
    pool.avg_pool_backward(np.ones_like(y), g, dx, 0, len(dx))
    np.testing.assert_allclose(dx, np.full(x.shape, 1 / 6), rtol=1e-7)


def test_batch_norm_statistics_of_a_large_offset_float32_batch():
    rng = np.random.default_rng(1)
    x64 = 1000.0 + rng.standard_normal((4096, 2, 8))
    x = x64.astype(np.float32)
    c = 2
    gamma, beta = np.ones(c, np.float32), np.zeros(c, np.float32)
    mean, var = np.zeros(c, np.float32), np.ones(c, np.float32)
    xhat, invstd, y = np.empty_like(x), np.empty(c, np.float32), np.empty_like(x)
    batch_norm.batch_norm_train(x, gamma, beta, 1e-5, 1.0, mean, var, xhat, invstd, y)
    xd = x.astype(np.float64)
    np.testing.assert_allclose(mean, xd.mean(axis=(0, 2)), rtol=1e-7)
    np.testing.assert_allclose(var, xd.var(axis=(0, 2), ddof=1), rtol=1e-6)
    assert y.dtype == np.float32 and abs(float(y.mean())) < 1e-5
    dx, dgamma, dbeta = np.empty_like(x), np.empty(c, np.float32), np.empty(c, np.float32)
    batch_norm.batch_norm_backward(np.ones_like(y), xhat, gamma, invstd, dgamma, dbeta, dx)
    assert np.abs(dx).max() < 1e-4  # a constant upstream gradient is normalized away
    np.testing.assert_allclose(dbeta, [x[:, 0].size] * 2)
