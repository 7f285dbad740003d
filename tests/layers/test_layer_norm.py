"""LayerNormalization: PyTorch's nn.LayerNorm(D) over the last axis (biased variance, eps in
the square root, no running statistics); finite-difference gradients, dtypes, configs and
bad input. PyTorch's own numbers are in test_attention_golden.py."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients
from layer_checks import built_norm, norm_inputs

from nnx import NnxError, layers


def built(shape, dtype="float64", **kwargs):
    return built_norm(layers.LayerNormalization, shape, dtype, **kwargs)


inputs = norm_inputs


@pytest.mark.parametrize("shape,batch", [((6,), 4), ((5, 8), 2), ((2, 3, 4), 2), ((1,), 3)])
def test_gradients(shape, batch):
    errors = check_layer_gradients(built(shape), inputs((batch,) + shape))
    assert set(errors) == {"x", "gamma", "beta"}


def test_normalizes_each_row_of_the_last_axis():
    layer = built((5, 8), eps=1e-3)
    x = inputs((3, 5, 8))
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * layer.params["gamma"] + layer.params["beta"]
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_array_equal(layer.forward(x), layer.forward(x, training=True))


def test_float32_in_float32_out():
    layer = built((5, 8), dtype="float32")
    x = (inputs((4, 5, 8)) * 100 + 1000).astype(np.float32)  # a large offset keeps its digits
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert layer.grads["gamma"].dtype == layer.grads["beta"].dtype == np.float32
    ref = built((5, 8))
    np.testing.assert_allclose(y, ref.forward(x.astype(np.float64)), rtol=1e-4, atol=1e-4)


def test_defaults_config_and_any_number_of_steps():
    layer = layers.LayerNormalization()
    layer.build((5, 3))
    assert layer.get_config() == {"eps": 1e-5}
    np.testing.assert_array_equal(layer.params["gamma"], np.ones(3))
    np.testing.assert_array_equal(layer.params["beta"], np.zeros(3))
    assert layer.forward(np.ones((2, 9, 3), np.float32)).shape == (2, 9, 3)
    again = layers.from_config({"type": "layer_normalization", "eps": 1e-3})
    assert again.eps == 1e-3


@pytest.mark.parametrize("eps", [0, -1e-5, "small", True])
def test_bad_eps_is_named(eps):
    with pytest.raises(NnxError) as err:
        layers.LayerNormalization(eps=eps)
    assert str(err.value) == f"layer_normalization: eps must be a positive number, got {eps!r}"


def test_wrong_shapes_are_named():
    with pytest.raises(NnxError, match=r"layer 'layer_normalization' expects inputs with a "
                                       r"feature axis, got input shape \(\)"):
        layers.LayerNormalization().build(())
    layer = built((5, 8))
    with pytest.raises(NnxError, match=r"layer 'layer_normalization' expects inputs of shape "
                                       r"\(batch, \.\.\., 8\), got \(2, 5, 7\)"):
        layer.forward(np.zeros((2, 5, 7)))
    with pytest.raises(NnxError, match=r"got \(2, 8\)"):
        layer.forward(np.zeros((2, 8)))
