"""The float32 exp that loops vectorize (within 1 ulp of the exact value, the special values
of libm) and the strided BLAS product (sub-matrices at an offset and pitch, transposes,
alpha and beta) against numpy."""

import numpy as np
import pytest

from nnx.kernels.blas import gemm
from nnx.kernels.jit import kernel
from nnx.kernels.scalar import exp


@kernel
def exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


def test_float32_exp_is_within_one_ulp_of_the_exact_value():
    x = np.linspace(-87.3, 88.7, 2_000_001, dtype=np.float32)
    y = np.empty_like(x)
    exp_all(x, y)
    exact = np.exp(x.astype(np.float64))
    ulps = np.abs(y - exact) / np.spacing(exact.astype(np.float32))
    assert y.dtype == np.float32 and ulps.max() <= 1.0


def test_float32_exp_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 88.73, -87.34, -200.0], np.float32)
    y = np.empty_like(x)
    exp_all(x, y)
    np.testing.assert_array_equal(y, [np.nan, np.inf, 0.0, 1.0, 1.0, np.inf, 0.0, 0.0])


def test_float64_exp_is_libm():
    x = np.linspace(-700, 700, 10_001)
    y = np.empty_like(x)
    exp_all(x, y)
    np.testing.assert_allclose(y, np.exp(x), rtol=3e-16)  # numpy and libm: within 1 ulp


def view(buffer, start, shape, pitch):
    return np.lib.stride_tricks.as_strided(buffer[start:], shape, (pitch * buffer.itemsize,
                                                                  buffer.itemsize))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True),
                                             (True, True)])
def test_gemm_on_strided_sub_matrices(dtype, trans_a, trans_b):
    rng = np.random.default_rng(0)
    m, n, k = 4, 5, 3
    a_buf, b_buf = rng.standard_normal(200).astype(dtype), rng.standard_normal(300).astype(dtype)
    c_buf = rng.standard_normal(100).astype(dtype)
    a = view(a_buf, 10, (k, m) if trans_a else (m, k), 7)
    b = view(b_buf, 20, (n, k) if trans_b else (k, n), 9)
    c = view(c_buf, 3, (m, n), 8)
    want = 2.0 * (a.T if trans_a else a) @ (b.T if trans_b else b) + 0.5 * c
    untouched = c_buf.copy()
    gemm(a_buf, (10, 7, trans_a), b_buf, (20, 9, trans_b), c_buf, (3, 8, False), (m, n, k),
         2.0, 0.5)
    np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-13)
    outside = np.ones(100, bool)
    for row in range(m):
        outside[3 + row * 8:3 + row * 8 + n] = False
    np.testing.assert_array_equal(c_buf[outside], untouched[outside])
