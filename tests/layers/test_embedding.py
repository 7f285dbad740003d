"""Embedding: row lookup, row-gradient accumulation (repeated ids add up), integral float
inputs, bad ids named with the layer, mask_zero feeding a recurrent layer, in a model."""

import numpy as np
import pytest
from gradcheck import max_rel_error, numeric_grad

import nnx
from nnx import NnxError, layers

V, D = 7, 3
IDS = np.array([[1, 2, 2, 0], [6, 1, 0, 0]])


def built(layer=None, T=4, dtype="float64"):
    layer = layer or layers.Embedding(V, D)
    layer.dtype = np.dtype(dtype)
    layer.build((T,), np.random.default_rng(0))
    return layer


def test_forward_looks_up_rows():
    layer = built()
    assert layer.params["W"].shape == (V, D) and layer.output_shape == (4, D)
    y = layer.forward(IDS)
    assert y.shape == (2, 4, D)
    np.testing.assert_array_equal(y, layer.params["W"][IDS])


def test_gradient_of_the_table_against_finite_differences():
    layer = built()
    r = np.random.default_rng(1).standard_normal((2, 4, D))
    layer.forward(IDS, training=True)
    dx = layer.backward(r.copy())
    numeric = numeric_grad(lambda: float(np.sum(layer.forward(IDS) * r)), layer.params["W"])
    assert max_rel_error(layer.grads["W"], numeric) < 1e-8
    np.testing.assert_allclose(layer.grads["W"][2], r[0, 1] + r[0, 2])  # repeated id adds up
    assert not layer.grads["W"][3:6].any()  # unused rows get no gradient
    assert dx.shape == IDS.shape and not dx.any()  # ids are not differentiable


def test_integral_floats_are_ids_and_float32_stays_float32():
    layer = built(dtype="float32")
    y = layer.forward(IDS.astype(np.float32), training=True)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, layer.params["W"][IDS])
    layer.backward(np.ones_like(y))
    assert layer.grads["W"].dtype == np.float32


@pytest.mark.parametrize("bad, message", [
    (7, r"layer 'embedding': token id 7 is outside \[0, input_dim=7\) in inputs of shape "
        r"\(2, 4\)"),
    (-1, r"token id -1 is outside \[0, input_dim=7\)"),
])
def test_out_of_range_ids_name_the_layer_the_id_and_input_dim(bad, message):
    ids = IDS.copy()
    ids[1, 2] = bad
    with pytest.raises(NnxError, match=message):
        built().forward(ids)


def test_non_integral_and_badly_shaped_inputs_are_errors():
    with pytest.raises(NnxError, match="layer 'embedding' expects integer token ids, got 1.5"):
        built().forward(np.array([[1.0, 1.5, 0.0, 0.0]]))
    with pytest.raises(NnxError, match=r"expects token ids of shape \(batch, time\) with "
                                       r"time >= 1, got \(2, 4, 1\)"):
        built().forward(IDS[..., None])
    with pytest.raises(NnxError, match=r"expects token ids of shape \(time,\), got input "
                                       r"shape \(4, 2\)"):
        layers.Embedding(V, D).build((4, 2))
    with pytest.raises(NnxError, match="embedding: input_dim must be a positive integer"):
        layers.Embedding(0, D)


def test_mask_zero_gives_the_padding_mask_for_a_recurrent_layer():
    emb = built(layers.Embedding(V, D, mask_zero=True))
    emb.forward(IDS)
    np.testing.assert_array_equal(emb.output_mask, IDS != 0)
    assert built(layers.Embedding(V, D)).forward(IDS) is not None
    lstm = layers.LSTM(5)
    lstm.dtype = np.dtype("float64")
    lstm.build((4, D), np.random.default_rng(0))
    lstm.mask = emb.output_mask
    last = lstm.forward(emb.forward(IDS))
    lstm.mask = None
    trimmed = [lstm.forward(emb.forward(IDS[i:i + 1, :n])) for i, n in enumerate([3, 2])]
    np.testing.assert_allclose(last, np.concatenate(trimmed), rtol=1e-14)


def test_config_and_a_model_learns_token_sums():
    layer = layers.Embedding(V, D, mask_zero=True, init={"type": "random_normal"})
    assert layers.from_config({"type": "embedding", **layer.get_config()}).get_config() == \
        layer.get_config()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (256, 6))
    y = (x.sum(1) > 9).astype(np.int64)
    model = nnx.Sequential([layers.Embedding(4, 8), layers.GRU(16),
                            layers.Dense(2, activation="softmax")], input_shape=(6,), seed=0)
    model.compile(optimizer=nnx.optimizers.Adam(lr=0.02), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert hist.history["accuracy"][-1] > 0.9
