"""SequencePooling: (batch, time, features) -> (batch, features) by mean, first or last step,
with an optional padding mask; gradients, dtypes, configs and bad input."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients

from nnx import NnxError, layers

MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]])  # right, left, none


def built(mode, dtype="float64"):
    layer = layers.SequencePooling(mode)
    layer.dtype = np.dtype(dtype)
    layer.build((5, 4))
    return layer


def inputs(seed=1):
    return np.random.default_rng(seed).standard_normal((3, 5, 4))


@pytest.mark.parametrize("mode", ["mean", "first", "last"])
@pytest.mark.parametrize("mask", [None, MASK])
def test_gradients(mode, mask):
    layer = built(mode)
    layer.mask = mask
    assert set(check_layer_gradients(layer, inputs())) == {"x"}


def test_values_without_and_with_a_mask():
    x = inputs()
    expected = {"mean": x.mean(axis=1), "first": x[:, 0], "last": x[:, -1]}
    for mode, value in expected.items():
        np.testing.assert_allclose(built(mode).forward(x), value, rtol=1e-12)
    masked = {"mean": [x[0, :3].mean(0), x[1, 2:].mean(0), np.zeros(4)],
              "first": [x[0, 0], x[1, 2], np.zeros(4)],
              "last": [x[0, 2], x[1, 4], np.zeros(4)]}
    for mode, rows in masked.items():
        layer = built(mode)
        layer.mask = MASK
        np.testing.assert_allclose(layer.forward(x), np.stack(rows), rtol=1e-12, atol=1e-15)


def test_float32_config_and_shape():
    layer = built("mean", dtype="float32")
    assert layer.output_shape == (4,)
    y = layer.forward(inputs().astype(np.float32), training=True)
    assert y.dtype == layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.get_config() == {"mode": "mean"}
    assert layers.from_config({"type": "sequence_pooling", "mode": "last"}).mode == "last"


def test_bad_input_is_named():
    with pytest.raises(NnxError, match="sequence_pooling: mode must be one of mean, first, "
                                       "last, got 'max'"):
        layers.SequencePooling("max")
    with pytest.raises(NnxError, match=r"layer 'sequence_pooling' expects inputs of shape "
                                       r"\(batch, time, features\), got \(batch, 4\)"):
        layers.SequencePooling().build((4,))
    layer = built("mean")
    layer.mask = np.ones((3, 4))
    with pytest.raises(NnxError, match=r"mask of shape \(3, 4\) does not fit inputs of shape "
                                       r"\(3, 5, 4\)"):
        layer.forward(inputs())
