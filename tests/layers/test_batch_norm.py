"""BatchNormalization: PyTorch's conventions (biased variance to normalize, unbiased for the
running variance, momentum 0.1), per feature after dense and per channel after conv;
finite-difference gradients in training mode, inference from the running statistics,
dtypes, configs and bad arguments."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients
from layer_checks import built_norm, norm_inputs

from nnx import NnxError, layers


def built(shape, dtype="float64", **kwargs):
    return built_norm(layers.BatchNormalization, shape, dtype, **kwargs)


inputs = norm_inputs


@pytest.mark.parametrize("shape,batch", [((4,), 6), ((3, 5), 2), ((2, 3, 4), 2), ((3, 1), 3)])
def test_gradients(shape, batch):
    layer = built(shape)
    errors = check_layer_gradients(layer, inputs((batch,) + shape))
    assert set(errors) == {"x", "gamma", "beta"}


@pytest.mark.parametrize("shape,axes", [((4,), (0,)), ((3, 5), (0, 2)), ((2, 3, 4), (0, 2, 3))])
def test_training_normalizes_per_channel_and_moves_running_stats(shape, axes):
    layer = built(shape, momentum=0.25, eps=1e-3)
    x = inputs((5,) + shape)
    y = layer.forward(x, training=True)
    keep = [1 if a in axes else s for a, s in enumerate(x.shape)]
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    expected = ((x - mean.reshape(keep)) / np.sqrt(var.reshape(keep) + 1e-3)
                * layer.params["gamma"].reshape(keep) + layer.params["beta"].reshape(keep))
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    count = x.size // shape[0]
    np.testing.assert_allclose(layer.state["running_mean"], 0.25 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.state["running_var"],
                               0.75 + 0.25 * var * count / (count - 1), rtol=1e-12)


def test_inference_uses_the_running_statistics():
    layer = built((3, 2))
    layer.state["running_mean"][...] = [0.5, -1.0, 2.0]
    layer.state["running_var"][...] = [4.0, 0.25, 1.0]
    x = inputs((4, 3, 2))
    y = layer.forward(x)
    keep = (1, 3, 1)
    expected = ((x - layer.state["running_mean"].reshape(keep))
                / np.sqrt(layer.state["running_var"].reshape(keep) + 1e-5)
                * layer.params["gamma"].reshape(keep) + layer.params["beta"].reshape(keep))
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.state["running_mean"], [0.5, -1.0, 2.0])


def test_defaults_and_initial_state():
    layer = layers.BatchNormalization()
    layer.build((3,))
    assert layer.get_config() == {"momentum": 0.1, "eps": 1e-5}
    np.testing.assert_array_equal(layer.params["gamma"], np.ones(3))
    np.testing.assert_array_equal(layer.params["beta"], np.zeros(3))
    np.testing.assert_array_equal(layer.state["running_mean"], np.zeros(3))
    np.testing.assert_array_equal(layer.state["running_var"], np.ones(3))
    assert layer.params["gamma"].dtype == layer.state["running_var"].dtype == np.float32


def test_float32_in_float32_out():
    layer = built((4, 3, 3), dtype="float32")
    x = inputs((8, 4, 3, 3)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32 and layer.state["running_var"].dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and layer.grads["gamma"].dtype == np.float32
    assert layer.forward(x).dtype == np.float32
    ref = built((4, 3, 3))
    np.testing.assert_allclose(y, ref.forward(x.astype(np.float64), training=True),
                               rtol=1e-5, atol=1e-5)


def test_a_single_value_per_channel_cannot_train():
    layer = built((3,))
    with pytest.raises(NnxError, match=r"layer 'batch_normalization' needs more than one value "
                                       r"per channel to train, got a batch of shape \(1, 3\)"):
        layer.forward(np.ones((1, 3)), training=True)
    assert layer.forward(np.ones((1, 3))).shape == (1, 3)  # inference is fine


@pytest.mark.parametrize("kwargs,message", [
    ({"momentum": 1.5}, "batch_normalization: momentum must be a number in [0, 1], got 1.5"),
    ({"eps": 0}, "batch_normalization: eps must be a positive number, got 0"),
    ({"eps": "small"}, "batch_normalization: eps must be a positive number, got 'small'"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(NnxError) as err:
        layers.BatchNormalization(**kwargs)
    assert str(err.value) == message


def test_wrong_shape_at_forward_is_named():
    layer = built((3, 4))
    with pytest.raises(NnxError, match=r"layer 'batch_normalization' expects inputs of shape "
                                       r"\(batch, 3, 4\), got \(2, 4, 3\)"):
        layer.forward(np.zeros((2, 4, 3)))
