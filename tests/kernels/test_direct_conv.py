"""The direct 3x3 loops give im2col + GEMM's numbers (nnx/kernels/conv.py, checked against
numpy there): outputs, weight and bias gradients and the input gradient, with an odd filter
count (a pass takes two filters), padding on all sides or none, float32 and float64."""

import numpy as np
import pytest

from nnx import activations
from nnx.kernels import columns
from nnx.kernels import conv as K
from nnx.kernels import direct_conv as D
from nnx.kernels.geometry import ConvGeometry
from nnx.kernels.threads import start_mark


@pytest.mark.parametrize("shape,pad,filters", [((1, 5, 6), 1, 3), ((3, 6, 5), 0, 4),
                                               ((2, 4, 7), 2, 5)])
@pytest.mark.parametrize("code", [activations.RELU, activations.GELU])
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_direct_loops_match_im2col(shape, pad, filters, code, dtype, rtol):
    rng = np.random.default_rng(3)
    channels, height, width = shape
    out = (height + 2 * pad - 2, width + 2 * pad - 2)
    g = ConvGeometry(3, 3, 1, 1, 1, 1, pad, pad, *out, True)
    n, (hp, wp) = 3, columns.padded_shape(g)
    x = rng.standard_normal((n,) + shape).astype(dtype)
    W = rng.standard_normal((filters, channels, 3, 3)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    dy = rng.standard_normal((n, filters) + out).astype(dtype)
    planes, span, taps = channels * hp * wp + 2, out[0] * wp, channels * 9
    results = []
    for direct in (True, False):
        z, y = np.empty((n, filters) + out, dtype), np.empty((n, filters) + out, dtype)
        dW, db, dx = np.empty_like(W), np.empty_like(b), np.empty_like(x)
        if direct:
            D.direct_forward(x, W, b, g, code, np.empty(planes, dtype), z, y, 0, n,
                             start_mark())
            D.direct_backward(W, g, code, (x, y, z), dy, (dW, db, dx),
                              (np.empty(planes, dtype), np.empty(planes, dtype)), 0, n,
                              start_mark())
        else:
            cols, zT = np.empty((1, taps, n * span), dtype), np.empty((filters, n * span), dtype)
            xp = np.empty(n * planes, dtype)
            K.conv_forward(x, W, b, g, code, (xp, cols, zT), z, y, 0, n, start_mark())
            dWT = np.empty((taps, filters), dtype)
            K.conv_backward(W, g, code, (x[:0], cols, y, z), dy, (dWT, db, dx),
                            (zT, np.empty_like(cols[0]), np.empty_like(xp), xp[:0]), 0, n,
                            start_mark())
            dW = dWT.T.reshape(W.shape)
        results.append((z, y, dW, db, dx))
    for got, want in zip(*results, strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
