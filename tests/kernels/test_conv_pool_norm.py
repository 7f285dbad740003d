"""Pooling and batch-norm kernels: both max-pool kernels find the first argmax (the last NaN)
and agree bit for bit, float32 stays float32, and batch statistics keep their digits on large
float32 batches."""

import numpy as np
import pytest

from nnx.kernels import batch_norm, pool
from nnx.kernels.geometry import PoolGeometry
from nnx.kernels.threads import start_mark


@pytest.mark.parametrize("geom", [[2, 2, 2, 2], [3, 2, 2, 2], [2, 2, 2, 1]])
def test_max_pool_argmax_is_the_flat_position_in_the_plane(geom):
    """The general kernel (also on the 2x2 stride-2 window) agrees with a numpy search."""
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 6)).astype(np.float32)
    g = PoolGeometry(*geom)
    kh, kw, sh, sw = geom
    ho, wo = (5 - kh) // sh + 1, (6 - kw) // sw + 1
    y, argmax = np.empty((2, 3, ho, wo), np.float32), np.empty((2, 3, ho, wo), np.int32)
    pool.max_pool_forward(x, g, y, argmax, 0, len(x), start_mark())
    for oh in range(ho):
        for ow in range(wo):
            window = x[:, :, oh * sh:oh * sh + kh, ow * sw:ow * sw + kw].reshape(2, 3, -1)
            k = window.argmax(-1)
            np.testing.assert_array_equal(y[:, :, oh, ow], window.max(-1))
            np.testing.assert_array_equal(argmax[:, :, oh, ow],
                                          (oh * sh + k // kw) * 6 + ow * sw + k % kw)
    dx = np.full_like(x, np.nan)
    pool.max_pool_backward(np.ones_like(y), argmax, dx, 0, len(dx), start_mark())
    assert dx.dtype == np.float32 and dx.sum() == y.size


def sequential_winner(window):
    """The position the scan rule picks: a later value wins if larger or NaN."""
    best = 0
    for k in range(1, len(window)):
        if window[k] > window[best] or np.isnan(window[k]):
            best = k
    return best


def pair_positions(corner, width):
    """The flat positions in the plane of max_pool_pairs_forward's corners (2 * row + column)."""
    oh, ow = np.indices(corner.shape[2:])
    return (2 * oh + corner // 2) * width + 2 * ow + corner % 2


def max_pool(x, geom, pairs):
    """(y, argmax as flat positions) from the general kernel or the 2x2 stride-2 one."""
    kh, kw, sh, sw = geom
    shape = x.shape[:2] + ((x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1)
    y = np.empty(shape, x.dtype)
    if pairs:
        corner = np.empty(shape, np.uint8)
        pool.max_pool_pairs_forward(x, y, corner, 0, len(x), start_mark())
        return y, pair_positions(corner, x.shape[3])
    argmax = np.empty(shape, np.int32)
    pool.max_pool_forward(x, PoolGeometry(*geom), y, argmax, 0, len(x), start_mark())
    return y, argmax


@pytest.mark.parametrize("geom,size,pairs", [
    ([2, 2, 2, 2], (6, 6), True), ([2, 2, 2, 2], (7, 8), True), ([2, 2, 2, 2], (6, 7), True),
    ([2, 2, 2, 2], (6, 6), False), ([2, 2, 1, 1], (6, 6), False)])
def test_max_pool_ties_and_nans_follow_the_sequential_scan(geom, size, pairs):
    """The 2x2 kernel reduces a window as a tree; on ties (small integers) and NaNs it still
    picks what the general kernel's left-to-right, top-to-bottom scan picks."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, (4, 3) + size).astype(np.float64)
    x[rng.random(x.shape) < 0.15] = np.nan
    kh, kw, sh, sw = geom
    y, argmax = max_pool(x, geom, pairs)
    for n, c, oh, ow in np.ndindex(y.shape):
        window = x[n, c, oh * sh:oh * sh + kh, ow * sw:ow * sw + kw].ravel()
        k = sequential_winner(window)
        assert argmax[n, c, oh, ow] == (oh * sh + k // kw) * size[1] + ow * sw + k % kw
        np.testing.assert_array_equal(y[n, c, oh, ow], window[k])


@pytest.mark.parametrize("size", [(16, 16), (7, 14), (8, 9)])
def test_max_pool_pairs_kernels_match_the_general_ones_bit_for_bit(size):
    """float32 with ties, NaNs and signed zeros; dx keeps an odd last row or column 0."""
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, (3, 4) + size).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[x == 0] = np.where(rng.random((x == 0).sum()) < 0.5, 0.0, -0.0)
    y, argmax = max_pool(x, [2, 2, 2, 2], False)
    y2, positions = max_pool(x, [2, 2, 2, 2], True)
    np.testing.assert_array_equal(y2.view(np.int32), y.view(np.int32))
    np.testing.assert_array_equal(positions, argmax)
    corner = np.empty(y.shape, np.uint8)
    pool.max_pool_pairs_forward(x, y2, corner, 0, len(x), start_mark())
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dy[rng.random(dy.shape) < 0.1] = -0.0
    dx, dx2 = np.full_like(x, np.nan), np.full_like(x, np.nan)
    pool.max_pool_backward(dy, argmax, dx, 0, len(x), start_mark())
    pool.max_pool_pairs_backward(dy, corner, dx2, 0, len(x), start_mark())
    np.testing.assert_array_equal(dx2.view(np.int32), dx.view(np.int32))


def test_avg_pool_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    y = np.empty((2, 3, 3, 2), np.float32)
    g = PoolGeometry(2, 3, 2, 3)
    pool.avg_pool_forward(x, g, y, 0, len(x), start_mark())
    want = x.astype(np.float64).reshape(2, 3, 3, 2, 2, 3).mean(axis=(3, 5))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-7)
    dx = np.empty_like(x)
    pool.avg_pool_backward(np.ones_like(y), g, dx, 0, len(dx), start_mark())
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
