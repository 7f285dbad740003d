"""Bidirectional: gradients (concat and sum, sequence and last state, every recurrent kind),
the merge against the two directions run by hand, flat param names, config forms, errors."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients

import nnx
from nnx import NnxError, layers

N, T, F, H = 2, 5, 3, 4
TOL = 1e-4  # see tests/layers/test_recurrent.py: the 1e-6 step is noisy through time
KINDS = ["simple_rnn", "lstm", "gru"]


def built(layer, dtype="float64"):
    layer.dtype = np.dtype(dtype)
    layer.build((T, F), np.random.default_rng(0))
    return layer


def inputs(seed=1):
    return np.random.default_rng(seed).uniform(-2, 2, (N, T, F))


def bidirectional(kind, merge_mode="concat", **kw):
    return layers.Bidirectional({"type": kind, "units": H, **kw}, merge_mode=merge_mode)


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequence"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
@pytest.mark.parametrize("kind", KINDS)
def test_gradients(kind, merge_mode, return_sequences):
    layer = built(bidirectional(kind, merge_mode, return_sequences=return_sequences,
                                bias_init={"type": "random_normal", "stddev": 0.5}))
    errors = check_layer_gradients(layer, inputs(), tol=TOL)
    assert set(errors) == {"x"} | {f"{d}.{p}" for d in ("forward", "backward")
                                   for p in ("W_ih", "W_hh", "b_ih", "b_hh")}


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_merges_the_two_directions_in_time_order(merge_mode):
    layer = built(bidirectional("gru", merge_mode, return_sequences=True))
    x = inputs()
    y = layer.forward(x)
    fwd, bwd = (built(layers.GRU(H, return_sequences=True)) for _ in range(2))
    for key in fwd.params:
        fwd.params[key] = layer.params["forward." + key]
        bwd.params[key] = layer.params["backward." + key]
    y_f, y_b = fwd.forward(x), bwd.forward(x[:, ::-1])[:, ::-1]
    expected = np.concatenate([y_f, y_b], -1) if merge_mode == "concat" else y_f + y_b
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    assert layer.output_shape == ((T, 2 * H) if merge_mode == "concat" else (T, H))


def test_params_dict_is_the_source_of_truth():
    layer = built(bidirectional("lstm"))
    x = inputs()
    before = layer.forward(x)
    layer.params["backward.W_ih"] = np.zeros_like(layer.params["backward.W_ih"])
    after = layer.forward(x)
    np.testing.assert_array_equal(after[:, :H], before[:, :H])
    assert not np.allclose(after[:, H:], before[:, H:])


def test_float32_in_float32_out_after_a_cast():
    layer = built(bidirectional("lstm", return_sequences=True))
    layer.cast("float32")
    y = layer.forward(inputs().astype(np.float32), training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_accepts_a_layer_or_a_config_and_round_trips():
    from_layer = layers.Bidirectional(layers.LSTM(8), merge_mode="sum")
    config = {"type": "bidirectional", **from_layer.get_config()}
    assert config == {"type": "bidirectional", "merge_mode": "sum",
                      "layer": {"type": "lstm", **layers.LSTM(8).get_config()}}
    again = layers.from_config(config)
    assert again.get_config() == from_layer.get_config()
    short = layers.from_config({"type": "bidirectional", "layer": {"type": "lstm", "units": 8}})
    assert short.get_config()["layer"] == {"type": "lstm", "units": 8}
    assert short.directions["backward"].go_backwards


def test_bad_arguments():
    with pytest.raises(NnxError, match=r"bidirectional wraps a recurrent layer \(simple_rnn, "
                                       r"lstm, gru\) or its config .*got Dense"):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(NnxError, match="unknown recurrent layer type 'lstn'"):
        layers.Bidirectional({"type": "lstn", "units": 8})
    with pytest.raises(NnxError, match="merge_mode must be one of concat, sum, got 'mul'"):
        layers.Bidirectional(layers.GRU(4), merge_mode="mul")
    with pytest.raises(NnxError, match=r"expects inputs of shape \(batch, time, 3\)"):
        built(bidirectional("gru")).forward(np.zeros((N, T)))


def test_in_a_model_with_a_saved_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 6, 2)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.int64)
    model = nnx.Sequential([layers.Bidirectional(layers.GRU(8)),
                            layers.Dense(2, activation="softmax")], input_shape=(6, 2), seed=0)
    model.compile(optimizer=nnx.optimizers.Adam(lr=0.01), loss="categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "m.npz")
    keys = set(np.load(tmp_path / "m.npz").files)
    assert "layers/0.bidirectional/forward.W_ih" in keys
    np.testing.assert_array_equal(nnx.load_model(tmp_path / "m.npz").predict(x), model.predict(x))
