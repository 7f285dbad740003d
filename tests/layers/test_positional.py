"""PositionalEncoding (fixed sinusoids, no parameters) and PositionalEmbedding (a learnt
table): values, gradients, dtypes, configs and bad input."""

import math

import numpy as np
import pytest
from gradcheck import check_layer_gradients

from nnx import NnxError, layers


def built(layer, shape=(5, 6), dtype="float64"):
    layer.dtype = np.dtype(dtype)
    layer.build(shape, np.random.default_rng(0))
    return layer


def inputs(shape=(2, 5, 6), seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("features", [6, 7])
def test_sinusoids_follow_the_paper(features):
    layer = built(layers.PositionalEncoding(), (5, features))
    pe = layer.forward(np.zeros((1, 5, features)))[0]
    for t in range(5):
        for i in range(features):
            angle = t / 10000 ** (2 * (i // 2) / features)
            expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert pe[t, i] == pytest.approx(expected, abs=1e-12)
    assert layer.params == {} and layer.get_config() == {}


def test_encoding_adds_and_passes_the_gradient_through():
    layer = built(layers.PositionalEncoding())
    x = inputs()
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y - x, np.broadcast_to(y[0] - x[0], x.shape), atol=1e-15)
    assert set(check_layer_gradients(layer, x)) == {"x"}


def test_embedding_gradients_and_rows_past_the_input():
    layer = built(layers.PositionalEmbedding(max_length=8))
    assert layer.params["W"].shape == (8, 6)
    errors = check_layer_gradients(layer, inputs())
    assert set(errors) == {"x", "W"}
    np.testing.assert_array_equal(layer.grads["W"][5:], 0.0)
    x = inputs()
    np.testing.assert_allclose(layer.forward(x), x + layer.params["W"][:5], rtol=1e-15)


def test_embedding_length_defaults_to_the_input():
    layer = built(layers.PositionalEmbedding())
    assert layer.params["W"].shape == (5, 6)
    assert layer.get_config() == {"max_length": None, "init": "random_uniform"}


@pytest.mark.parametrize("make", [layers.PositionalEncoding, layers.PositionalEmbedding])
def test_float32_in_float32_out(make):
    layer = built(make(), dtype="float32")
    x = inputs().astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_bad_input_is_named():
    with pytest.raises(NnxError, match=r"layer 'positional_encoding' expects inputs of shape "
                                       r"\(batch, time, features\), got \(batch, 6\)"):
        layers.PositionalEncoding().build((6,))
    with pytest.raises(NnxError, match=r"layer 'positional_embedding': inputs of shape "
                                       r"\(batch, 9, 6\) have 9 steps, more than max_length=8"):
        layers.PositionalEmbedding(8).build((9, 6))
    with pytest.raises(NnxError, match="positional_embedding: max_length must be a positive "
                                       "integer, got 0"):
        layers.PositionalEmbedding(0)
    layer = built(layers.PositionalEncoding())
    with pytest.raises(NnxError, match=r"expects inputs of shape \(batch, 5, 6\), got "
                                       r"\(2, 4, 6\)"):
        layer.forward(np.zeros((2, 4, 6)))
