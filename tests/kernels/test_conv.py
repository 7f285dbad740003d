"""Convolution kernels: im2col and col2im (both column layouts, and both loop orders of the
gathered one: with fewer samples than output columns and with more) are adjoint and zero-fill
the padding, the fused forward/backward equal their plain numpy equivalents, float32 stays
float32, and the activation code does not multiply the compiled versions."""

import numpy as np
import pytest

from nnx import activations
from nnx.kernels import columns
from nnx.kernels import conv as K
from nnx.kernels.geometry import ConvGeometry
from nnx.kernels.threads import start_mark

GEOMETRIES = [  # (C, H, W), (kh, kw), stride, dilation, pads (top, left), output (Ho, Wo)
    ((2, 5, 6), (3, 3), (1, 1), (1, 1), (0, 0), (3, 4)),
    ((2, 5, 6), (3, 3), (1, 1), (1, 1), (1, 1), (5, 6)),
    ((3, 7, 8), (3, 2), (2, 3), (1, 1), (1, 0), (4, 3)),
    ((1, 9, 9), (3, 3), (2, 2), (2, 2), (2, 2), (5, 5)),
    ((2, 1, 11), (1, 4), (1, 3), (1, 2), (0, 3), (1, 5)),
    ((2, 6, 7), (2, 3), (1, 1), (2, 1), (1, 2), (5, 8)),
]
FLAT = [0, 1, 5]  # the stride-1 geometries, which can also use the flat layout
LAYOUTS = [(i, False) for i in range(len(GEOMETRIES))] + [(i, True) for i in FLAT]


def geom(kernel, stride, dilation, pads, out, flat=False):
    return ConvGeometry(*kernel, *stride, *dilation, *pads, *out, flat)


def columns_by_definition(x, g):
    """cols (C*kh*kw, N*Ho*Wo) from np.pad and strided slices (bottom/right padded enough)."""
    kh, kw, sh, sw, dh, dw, pt, pl, ho, wo = g[:10]
    xp = np.pad(x, ((0, 0), (0, 0), (pt, ho * sh + kh * dh), (pl, wo * sw + kw * dw)))
    n, c = x.shape[:2]
    cols = np.empty((c, kh, kw, n, ho, wo))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * dh:i * dh + (ho - 1) * sh + 1:sh,
                       j * dw:j * dw + (wo - 1) * sw + 1:sw]
            cols[:, i, j] = patch.transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * ho * wo)


def padded_size(g, samples, channels):
    """The flat layout's xp size (as the layer computes it); 0 for the gathered layout."""
    hp, wp = columns.padded_shape(g)
    return samples * channels * hp * wp + (g.kernel_w - 1) * g.dilation_w if g.flat else 0


def span(g):
    return int(g.out_h * columns.pitch(g))


def kept_columns(cols, g, n):
    """The columns of real output positions, in the gathered layout's order."""
    ho, wo = g.out_h, g.out_w
    return cols.reshape(cols.shape[0], n, ho, -1)[..., :wo].reshape(cols.shape[0], -1)


def gather(x, g, cols):
    xp = np.full(padded_size(g, x.shape[0], x.shape[1]), np.nan)
    if g.flat:
        columns.pad_planes(x, 0, x.shape[0], g, xp)
        columns.im2col_flat(xp, g, cols)
    else:
        columns.im2col(x, 0, g, cols)


def scatter(d, g, dx):
    if g.flat:
        columns.col2im_flat(d, g, np.full(padded_size(g, dx.shape[0], dx.shape[1]), np.nan), dx, 0)
    else:
        columns.col2im(d, g, dx, 0)


@pytest.mark.parametrize("samples", [2, 9])
@pytest.mark.parametrize("index,flat", LAYOUTS)
def test_im2col_matches_the_definition_and_col2im_is_its_adjoint(index, flat, samples):
    shape, kernel, stride, dilation, pads, out = GEOMETRIES[index]
    rng = np.random.default_rng(0)
    g = geom(kernel, stride, dilation, pads, out, flat)
    x = rng.standard_normal((samples,) + shape)
    cols = np.full((shape[0] * kernel[0] * kernel[1], samples * span(g)), np.nan)
    gather(x, g, cols)
    assert not np.isnan(cols).any()
    np.testing.assert_array_equal(kept_columns(cols, g, samples), columns_by_definition(x, g))
    d = rng.standard_normal(cols.shape)
    dx = np.full_like(x, np.nan)
    scatter(d, g, dx)
    assert np.isclose(np.sum(cols * d), np.sum(x * dx), rtol=1e-13)  # <Ax, d> == <x, A'd>


def reference_forward_backward(x, W, b, g, dy, code):
    cols = columns_by_definition(x, g)
    n, f = x.shape[0], W.shape[0]
    ho, wo = g.out_h, g.out_w
    z = (W.reshape(f, -1) @ cols).reshape(f, n, ho, wo).transpose(1, 0, 2, 3) + b[:, None, None]
    y = np.tanh(z) if code == activations.TANH else z
    dz = dy * (1 - y * y) if code == activations.TANH else dy
    dzT = dz.transpose(1, 0, 2, 3).reshape(f, -1)
    return z, y, dzT @ cols.T, dz.sum(axis=(0, 2, 3)), W.reshape(f, -1).T @ dzT


@pytest.mark.parametrize("index,flat,n", [(2, False, 3), (2, False, 5), (5, True, 3)])
@pytest.mark.parametrize("code", [activations.LINEAR, activations.TANH])
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_forward_and_backward_match_numpy(index, flat, n, code, dtype, rtol):
    rng = np.random.default_rng(1)
    shape, kernel, stride, dilation, pads, out = GEOMETRIES[index]
    g = geom(kernel, stride, dilation, pads, out, flat)
    f, k, s = 4, shape[0] * kernel[0] * kernel[1], span(g)
    x = rng.standard_normal((n,) + shape).astype(dtype)
    W = rng.standard_normal((f, shape[0]) + kernel).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    dy = rng.standard_normal((n, f) + out).astype(dtype)
    xp = np.empty(padded_size(g, n, shape[0]), dtype)
    cols, zT = np.empty((1, k, n * s), dtype), np.empty((f, n * s), dtype)
    z, y = np.empty((n, f) + out, dtype), np.empty((n, f) + out, dtype)
    K.conv_forward(x, W, b, g, code, (xp, cols, zT), z, y, 0, n, start_mark())
    dWT, db, dcols, dx = np.empty((k, f), dtype), np.empty_like(b), np.empty_like(cols[0]), \
        np.empty_like(x)
    K.conv_backward(W, g, code, (x[:0], cols, y, z), dy, (dWT, db, dx),
                    (np.empty_like(zT), dcols, np.empty_like(xp), xp[:0]), 0, n, start_mark())
    ref = reference_forward_backward(*(a.astype(np.float64) for a in (x, W, b)), g,
                                     dy.astype(np.float64), code)
    for got, want in zip((z, y, dWT.T, db), ref[:4], strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    want_dx = np.empty(x.shape)
    columns.col2im(ref[4], g, want_dx, 0)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, want_dx, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("index,flat", [(3, False), (1, True)])
def test_forward_in_chunks_equals_one_pass(index, flat):
    """Inference gathers a few samples at a time into one small block of cols, training
    into a block per chunk: same numbers."""
    rng = np.random.default_rng(4)
    shape, kernel, stride, dilation, pads, out = GEOMETRIES[index]
    g = geom(kernel, stride, dilation, pads, out, flat)
    n, f, k, s = 7, 3, shape[0] * kernel[0] * kernel[1], span(g)
    x, W = rng.standard_normal((n,) + shape), rng.standard_normal((f, shape[0]) + kernel)
    b = rng.standard_normal(f)
    results = []
    for chunk, blocks in ((n, 1), (3, 1), (1, 1), (3, 3)):
        z, y = np.empty((n, f) + out), np.empty((n, f) + out)
        scratch = (np.empty(padded_size(g, chunk, shape[0])), np.empty((blocks, k, chunk * s)),
                   np.empty((f, chunk * s)))
        K.conv_forward(x, W, b, g, activations.ELU, scratch, z, y, 0, n, start_mark())
        results.append((z, y))
    for z, y in results[1:]:
        np.testing.assert_array_equal(z, results[0][0])
        np.testing.assert_array_equal(y, results[0][1])


def test_empty_bias_and_empty_dx_are_skipped():
    rng = np.random.default_rng(2)
    g = geom((3, 3), (1, 1), (1, 1), (1, 1), (4, 4))
    x, W = rng.standard_normal((2, 1, 4, 4)), rng.standard_normal((2, 1, 3, 3))
    cols, zT, z = np.empty((1, 9, 32)), np.empty((2, 32)), np.empty((2, 2, 4, 4))
    K.conv_forward(x, W, np.empty(0), g, activations.LINEAR, (np.empty(0), cols, zT), z, z,
                   0, 2, start_mark())
    dWT = np.empty((9, 2))
    K.conv_backward(W, g, activations.LINEAR, (x[:0], cols, z, z), np.ones_like(z),
                    (dWT, np.empty(0), np.empty((0, 0, 0, 0))),
                    (np.empty_like(zT), np.empty((0, 0)), np.empty(0), np.empty(0)), 0, 2,
                    start_mark())
    np.testing.assert_allclose(dWT.T, np.ones((2, 32)) @ cols[0].T)


def test_activation_codes_share_one_compiled_version():
    rng = np.random.default_rng(3)
    g = geom((3, 3), (1, 1), (1, 1), (0, 0), (2, 2))
    x, W, b = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((3, 2, 3, 3)), np.zeros(3)
    before = len(K.conv_forward.signatures)
    for name in ("relu", "tanh", "gelu", "elu"):
        z, y = np.empty((1, 3, 2, 2)), np.empty((1, 3, 2, 2))
        K.conv_forward(x, W, b, g, activations.code(name),
                       (np.empty(0), np.empty((1, 18, 4)), np.empty((3, 4))), z, y, 0, 1,
                       start_mark())
    assert len(K.conv_forward.signatures) <= before + 1
