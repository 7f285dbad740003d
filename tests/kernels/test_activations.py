"""Activation kernels: forward against numpy/scipy formulas, derivatives against central
finite differences in float64, directly and through the Dense and Activation layers."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients, max_rel_error, numeric_grad
from scipy.special import erf, expit, softmax

from nnx import activations
from nnx.kernels import activations as K
from nnx.layers import Activation, Dense

NAMES = ["linear", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "tanh", "softmax"]

REFERENCE = {
    "linear": lambda z: z,
    "sigmoid": expit,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "gelu": lambda z: 0.5 * z * (1.0 + erf(z / np.sqrt(2.0))),
    "tanh": np.tanh,
    "softmax": lambda z: softmax(z, axis=-1),
}


def points(shape, seed=0):
    """Float64 inputs in [-3, 3], kept 0.05 away from the kinks of relu-like activations
    (0) and from gelu's stationary point (-0.7518), where a relative error is meaningless."""
    z = np.random.default_rng(seed).uniform(-3.0, 3.0, shape)
    z = np.where(np.abs(z) < 0.05, z + np.copysign(0.1, z), z)
    return np.where(np.abs(z + 0.7518) < 0.05, z + 0.2, z)


def activate(name, z):
    y = np.empty_like(z)
    K.activate(z, activations.code(name), y)
    return y


def built(layer, shape, seed=0):
    layer.dtype = np.dtype("float64")
    layer.build(shape, np.random.default_rng(seed))
    return layer


@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_reference_formula(name):
    z = points((6, 5))
    np.testing.assert_allclose(activate(name, z), REFERENCE[name](z), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_forward_float32_stays_float32_and_close(name):
    z = points((6, 5)).astype(np.float32)
    y = activate(name, z)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, REFERENCE[name](z.astype(np.float64)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_finite_differences(name):
    z = points((3, 4), seed=1)
    r = np.random.default_rng(2).standard_normal(z.shape)  # L = sum(act(z) * r)
    code = activations.code(name)
    dz = np.empty_like(z)
    K.activation_grad(r.copy(), activate(name, z), z.copy(), code, dz)
    numeric = numeric_grad(lambda: float(np.sum(activate(name, z) * r)), z)
    assert max_rel_error(dz, numeric) < 1e-6


def test_derivatives_are_the_textbook_ones():
    """The analytic derivative values themselves (not only their agreement with differences)."""
    z = points((4, 5), seed=3)
    ones = np.ones_like(z)
    expected = {
        "linear": np.ones_like(z),
        "sigmoid": expit(z) * (1 - expit(z)),
        "relu": (z > 0).astype(float),
        "leaky_relu": np.where(z > 0, 1.0, 0.01),
        "elu": np.where(z > 0, 1.0, np.exp(z)),
        "gelu": 0.5 * (1 + erf(z / np.sqrt(2))) + z * np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
        "tanh": 1 - np.tanh(z) ** 2,
    }
    for name, want in expected.items():
        dz = np.empty_like(z)
        K.activation_grad(ones.copy(), activate(name, z), z.copy(), activations.code(name), dz)
        np.testing.assert_allclose(dz, want, rtol=1e-12, atol=1e-15, err_msg=name)


def test_softmax_rows_sum_to_one_and_jacobian_vector_product():
    z = points((4, 5), seed=4)
    y = activate("softmax", z)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-14)
    dy = np.random.default_rng(5).standard_normal(z.shape)
    dz = np.empty_like(z)
    K.activation_grad(dy, y, z, activations.SOFTMAX, dz)
    for i in range(len(z)):  # J = diag(s) - s s^T, symmetric
        jac = np.diag(y[i]) - np.outer(y[i], y[i])
        np.testing.assert_allclose(dz[i], jac @ dy[i], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softmax_are_stable_for_huge_inputs(dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]], dtype=dtype)
    s = activate("sigmoid", z)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s, [[1.0, 0.0, 0.5], [0.0, 0.0, 0.0]], atol=1e-30)
    p = activate("softmax", z)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6, atol=1e-30)
    for name in ("sigmoid", "softmax", "tanh", "elu", "gelu"):
        y = activate(name, z)
        dz = np.empty_like(z)
        K.activation_grad(np.ones_like(z), y, z.copy(), activations.code(name), dz)
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(dz)), name


def test_bias_activate_adds_bias_then_activates():
    z = points((3, 4), seed=6)
    b = np.array([0.5, -0.25, 1.0, 2.0])
    y = np.empty_like(z)
    expected = np.tanh(z + b)
    K.bias_activate(z, b, activations.TANH, y)
    np.testing.assert_allclose(y, expected, rtol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_dense_layer_gradients_with_each_activation(name):
    layer = built(Dense(4, activation=name, init="glorot_normal", bias_init="random_normal"),
                  (3,))
    check_layer_gradients(layer, points((5, 3), seed=7), tol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_dense_layer_forward_matches_formula(name):
    layer = built(Dense(4, activation=name, bias_init="random_normal"), (3,))
    x = points((5, 3), seed=8)
    want = REFERENCE[name](x @ layer.params["W"] + layer.params["b"])
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_activation_layer_gradients(name):
    layer = built(Activation(name), (2, 5))
    x = points((3, 2, 5), seed=9)  # 3-D input: softmax runs over the last axis
    np.testing.assert_allclose(layer.forward(x), REFERENCE[name](x), rtol=1e-14, atol=1e-15)
    check_layer_gradients(layer, x, tol=1e-6)
