"""Sequential hands an Embedding's padding mask (mask_zero=True) to the layers above it."""

import numpy as np
import pytest

import nnx
from nnx import layers


def _tokens():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, (6, 5)).astype(np.float64)
    x[:3, 3:] = 0  # the first three sequences are 3 real tokens long, then padding
    return x


def _copy_weights(source, target):
    for a, b in zip(target.layers, source.layers):
        for key in a.params:
            a.params[key][...] = b.params[key]


@pytest.mark.parametrize("middle", [
    lambda: [layers.GRU(3)],
    lambda: [layers.LSTM(3, return_sequences=True), layers.SequencePooling("mean")],
    lambda: [layers.TransformerEncoderBlock(2, 8), layers.SequencePooling("mean")],
], ids=["gru", "lstm-mean", "transformer-mean"])
def test_padded_sequences_equal_the_truncated_ones(middle):
    x = _tokens()
    masked = nnx.Sequential([layers.Embedding(10, 4, mask_zero=True), *middle(),
                             layers.Dense(2, activation="softmax")],
                            input_shape=(5,), seed=0, dtype="float64")
    plain = nnx.Sequential([layers.Embedding(10, 4), *middle(),
                            layers.Dense(2, activation="softmax")],
                           input_shape=(3,), seed=0, dtype="float64")
    _copy_weights(masked, plain)
    np.testing.assert_allclose(masked.predict(x)[:3], plain.predict(x[:3, :3]), rtol=1e-12)
    # Rows without padding give what the same model without mask_zero gives.
    unmasked = nnx.Sequential([layers.Embedding(10, 4), *middle(),
                               layers.Dense(2, activation="softmax")],
                              input_shape=(5,), seed=0, dtype="float64")
    _copy_weights(masked, unmasked)
    np.testing.assert_allclose(masked.predict(x)[3:], unmasked.predict(x[3:]), rtol=1e-12)
    assert not np.allclose(masked.predict(x)[:3], unmasked.predict(x[:3]))  # padding matters


def test_masked_model_trains_and_the_mask_stops_at_the_last_state():
    x = _tokens()
    y = np.array([0, 1, 0, 1, 0, 1])
    model = nnx.Sequential([layers.Embedding(10, 4, mask_zero=True), layers.GRU(3),
                            layers.Dense(2, activation="softmax")], input_shape=(5,), seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=4)
    assert history.status == "completed" and len(history.history["loss"]) == 3
    assert model.layers[1].mask.shape == (2, 5)  # the last batch's mask reached the GRU


def test_without_mask_zero_no_mask_is_handed_on():
    model = nnx.Sequential([layers.Embedding(10, 4), layers.GRU(3)], input_shape=(5,), seed=0)
    model.predict(_tokens())
    assert model.layers[1].mask is None
