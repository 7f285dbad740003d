"""Dropout (mask scaling, inference identity, gradient through a fixed mask), Flatten and
Activation layers."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients, max_rel_error, numeric_grad

from nnx import NnxError, layers


def built(layer, shape, seed=0):
    layer.dtype = np.dtype("float64")
    layer.build(shape, np.random.default_rng(seed))
    return layer


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_mask_scales_kept_units_by_one_over_keep(rate):
    layer = built(layers.Dropout(rate), (100, 100))
    x = np.ones((2, 100, 100))
    y = layer.forward(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1.0 / (1.0 - rate), rtol=1e-15)
    assert kept.mean() == pytest.approx(1 - rate, abs=0.01)  # 20k draws
    assert y.mean() == pytest.approx(1.0, abs=0.03)  # inverted dropout keeps the expectation


def test_dropout_float32_stays_float32():
    layer = layers.Dropout(0.5)
    layer.build((10,), np.random.default_rng(0))
    y = layer.forward(np.ones((4, 10), np.float32), training=True)
    assert y.dtype == np.float32 and set(np.unique(y)) <= {0.0, 2.0}


def test_dropout_is_the_identity_at_inference_and_at_rate_zero():
    x = np.random.default_rng(0).standard_normal((5, 7))
    layer = built(layers.Dropout(0.5), (7,))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))
    zero = built(layers.Dropout(0.0), (7,))
    np.testing.assert_array_equal(zero.forward(x, training=True), x)


def test_dropout_masks_follow_the_generator():
    x = np.ones((3, 50))
    a = built(layers.Dropout(0.5), (50,), seed=4).forward(x, training=True)
    b = built(layers.Dropout(0.5), (50,), seed=4).forward(x, training=True)
    c = built(layers.Dropout(0.5), (50,), seed=5).forward(x, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_gradient_with_a_fixed_mask():
    layer = layers.Dropout(0.3)
    x = np.random.default_rng(1).standard_normal((4, 6))
    r = np.random.default_rng(2).standard_normal((4, 6))

    def forward():  # rebuilding with the same generator seed replays the same mask
        built(layer, (6,), seed=9)
        return layer.forward(x, training=True)

    y = forward()
    mask = np.where(y != 0, 1.0 / 0.7, 0.0)
    np.testing.assert_allclose(y, x * mask, rtol=1e-15)
    dx = layer.backward(r.copy())
    np.testing.assert_allclose(dx, r * mask, rtol=1e-15)
    numeric = numeric_grad(lambda: float(np.sum(forward() * r)), x)
    assert max_rel_error(dx, numeric) < 1e-6


@pytest.mark.parametrize("rate", [1.0, 1.5, -0.1, "half", True])
def test_dropout_rate_outside_unit_interval_is_refused(rate):
    with pytest.raises(NnxError) as err:
        layers.Dropout(rate)
    assert f"dropout: rate must be a number in [0, 1), got {rate!r}" in str(err.value)


def test_flatten_shapes_and_gradient():
    layer = built(layers.Flatten(), (2, 3, 4))
    assert layer.output_shape == (24,)
    x = np.random.default_rng(0).standard_normal((5, 2, 3, 4))
    y = layer.forward(x, training=True)
    np.testing.assert_array_equal(y, x.reshape(5, 24))
    dx = layer.backward(np.arange(120.0).reshape(5, 24))
    np.testing.assert_array_equal(dx, np.arange(120.0).reshape(5, 2, 3, 4))
    check_layer_gradients(layer, x)


@pytest.mark.parametrize("name", ["sigmoid", "relu", "elu", "gelu", "tanh", "softmax"])
def test_activation_layer_on_2d_and_3d_inputs(name):
    for shape in ((4,), (3, 4)):
        layer = built(layers.Activation(name), shape)
        assert layer.output_shape == shape and not layer.params
        x = np.random.default_rng(3).uniform(-2, 2, (5, *shape))
        x = np.where(np.abs(x) < 0.05, 0.5, x)
        check_layer_gradients(layer, x, tol=1e-6)


def test_activation_layer_config_and_bad_name():
    assert layers.from_config({"type": "activation", "activation": "tanh"}).get_config() == {
        "activation": "tanh"}
    with pytest.raises(NnxError) as err:
        layers.Activation("sigmod")
    assert "unknown activation 'sigmod'" in str(err.value)
    assert "did you mean 'sigmoid'" in str(err.value)
