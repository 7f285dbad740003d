"""SimpleRNN, LSTM, GRU: gradients through time against finite differences (float64) for
every option, shapes and layouts, go_backwards, masks, float32, config, bad inputs.

The shared checker steps by 1e-6; a loss summed over every step then carries ~1e-9 of
rounding noise into the differences, up to 1e-5 relative on the smallest weight gradients
(~1e-5 themselves), so it runs at tol 1e-4 here (a wrong derivative is off by 1e-2 or more).
`test_strict_gradients` repeats the hardest cases with a 1e-5 step at tol 1e-6.
"""

import numpy as np
import pytest
from gradcheck import check_layer_gradients, max_rel_error, numeric_grad

import nnx
from nnx import NnxError, layers

N, T, F, H = 2, 5, 3, 4
KINDS = {
    "rnn_tanh": lambda **kw: layers.SimpleRNN(H, activation="tanh", **kw),
    "rnn_relu": lambda **kw: layers.SimpleRNN(H, activation="relu", **kw),
    "lstm": lambda **kw: layers.LSTM(H, **kw),
    "gru": lambda **kw: layers.GRU(H, **kw),
}
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
BIAS = {"type": "random_normal", "stddev": 0.5}
TOL = 1e-4


def built(layer, shape=(T, F), seed=0, dtype="float64"):
    layer.dtype = np.dtype(dtype)
    layer.build(shape, np.random.default_rng(seed))
    return layer


def inputs(shape=(N, T, F), seed=1):
    return np.random.default_rng(seed).uniform(-2, 2, shape)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequence"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_gradients_through_time(kind, return_sequences, go_backwards):
    layer = built(KINDS[kind](return_sequences=return_sequences, go_backwards=go_backwards,
                              bias_init=BIAS))
    errors = check_layer_gradients(layer, inputs(), tol=TOL)
    assert set(errors) == {"x", "W_ih", "W_hh", "b_ih", "b_hh"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_strict_gradients(kind):
    layer = built(KINDS[kind](return_sequences=True, go_backwards=True, bias_init=BIAS))
    x = inputs()
    r = np.random.default_rng(2).standard_normal((N, T, H))

    def loss():
        return float(np.sum(layer.forward(x) * r))

    layer.forward(x, training=True)
    analytic = {"x": layer.backward(r.copy()), **layer.grads}
    for key, value in {"x": x, **layer.params}.items():
        assert max_rel_error(analytic[key], numeric_grad(loss, value, eps=1e-5)) < 1e-6, key


@pytest.mark.parametrize("kind", list(KINDS))
def test_gradients_without_bias(kind):
    layer = built(KINDS[kind](return_sequences=True, use_bias=False))
    assert set(layer.params) == {"W_ih", "W_hh"}
    check_layer_gradients(layer, inputs(), tol=TOL)


@pytest.mark.parametrize("kind", list(KINDS))
def test_gradients_with_a_padding_mask(kind):
    layer = built(KINDS[kind](return_sequences=True, bias_init=BIAS))
    layer.mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]])
    check_layer_gradients(layer, inputs(), tol=TOL)


@pytest.mark.parametrize("kind", list(KINDS))
def test_shapes_and_pytorch_layout(kind):
    G = GATES[kind]
    last = built(KINDS[kind]())
    assert {k: v.shape for k, v in last.params.items()} == {
        "W_ih": (G * H, F), "W_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,)}
    assert last.output_shape == (H,) and last.forward(inputs()).shape == (N, H)
    seq = built(KINDS[kind](return_sequences=True))
    assert seq.output_shape == (T, H) and seq.forward(inputs()).shape == (N, T, H)


def test_simple_rnn_forward_is_the_textbook_recurrence():
    layer = built(layers.SimpleRNN(H, return_sequences=True, bias_init=BIAS))
    p, x = layer.params, inputs()
    h, expected = np.zeros((N, H)), []
    for t in range(T):
        h = np.tanh(x[:, t] @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"])
        expected.append(h)
    np.testing.assert_allclose(layer.forward(x), np.stack(expected, 1), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", list(KINDS))
def test_go_backwards_is_the_reversed_sequence_in_processing_order(kind):
    x = inputs()
    backwards = built(KINDS[kind](return_sequences=True, go_backwards=True, bias_init=BIAS))
    forwards = built(KINDS[kind](return_sequences=True, bias_init=BIAS))
    np.testing.assert_allclose(backwards.forward(x), forwards.forward(x[:, ::-1]), rtol=1e-13)


@pytest.mark.parametrize("kind", list(KINDS))
def test_last_state_is_the_last_step_of_the_sequence(kind):
    x = inputs()
    seq = built(KINDS[kind](return_sequences=True, bias_init=BIAS))
    last = built(KINDS[kind](bias_init=BIAS))
    np.testing.assert_array_equal(last.forward(x), seq.forward(x)[:, -1])


@pytest.mark.parametrize("kind", list(KINDS))
def test_float32_in_float32_out(kind):
    layer = built(KINDS[kind](return_sequences=True), dtype="float32")
    x = inputs().astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    ref = built(KINDS[kind](return_sequences=True))  # same seed, float64
    np.testing.assert_allclose(y, ref.forward(inputs()), rtol=1e-4, atol=TOL)


@pytest.mark.parametrize("kind", list(KINDS))
def test_masked_steps_carry_the_state(kind):
    """Padding after the end: the last state equals the state at each sequence's real end,
    the padded outputs repeat it, and the padded inputs get no gradient."""
    x = inputs()
    layer = built(KINDS[kind](return_sequences=True, bias_init=BIAS))
    full = layer.forward(x)
    layer.mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=bool)
    y = layer.forward(x, training=True)
    np.testing.assert_array_equal(y[0], full[0])
    np.testing.assert_array_equal(y[1, :2], full[1, :2])
    np.testing.assert_array_equal(y[1, 2:], np.repeat(full[1, 1:2], 3, axis=0))
    dx = layer.backward(np.ones_like(y))
    assert np.all(dx[1, 2:] == 0) and np.all(dx[1, :2] != 0)


def test_mask_of_the_wrong_shape_is_an_error():
    layer = built(layers.GRU(H))
    layer.mask = np.ones((N, T + 1))
    with pytest.raises(NnxError, match=r"'gru': mask of shape \(2, 6\) does not fit inputs "
                                       r"of shape \(2, 5, 3\)"):
        layer.forward(inputs())


def test_recurrent_weights_are_orthogonal_per_gate_block():
    layer = built(layers.LSTM(8), shape=(T, F))
    for block in np.split(layer.params["W_hh"], 4):
        np.testing.assert_allclose(block @ block.T, np.eye(8), atol=1e-12)
    other = built(layers.LSTM(8, recurrent_init="zeros"))
    assert not other.params["W_hh"].any()


def test_other_sequence_lengths_are_accepted():
    layer = built(layers.LSTM(H, return_sequences=True))
    assert layer.forward(inputs((N, 9, F))).shape == (N, 9, H)


@pytest.mark.parametrize("kind", list(KINDS))
def test_config_round_trip(kind):
    layer = KINDS[kind](return_sequences=True, go_backwards=True, use_bias=False)
    config = {"type": nnx.layers.base.snake_case(type(layer).__name__), **layer.get_config()}
    again = layers.from_config(config)
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert config["type"] in ("simple_rnn", "lstm", "gru")


@pytest.mark.parametrize("shape, message", [
    ((N, T), r"layer 'lstm' expects inputs of shape \(batch, time, 3\) with time >= 1, "
             r"got \(2, 5\)"),
    ((N, 0, F), r"layer 'lstm' expects inputs of shape \(batch, time, 3\) with time >= 1, "
                r"got \(2, 0, 3\)"),
    ((N, T, F + 1), r"got \(2, 5, 4\)"),
])
def test_bad_inputs_name_the_layer_and_shape(shape, message):
    layer = built(layers.LSTM(H))
    with pytest.raises(NnxError, match=message):
        layer.forward(np.zeros(shape))


def test_bad_build_shapes_and_arguments():
    with pytest.raises(NnxError, match=r"layer 'gru' expects sequences \(time, features\), "
                                       r"got input shape \(5,\)"):
        built(layers.GRU(H), shape=(5,))
    with pytest.raises(NnxError, match=r"layer 'gru' needs at least one time step, got input "
                                       r"shape \(0, 3\)"):
        built(layers.GRU(H), shape=(0, 3))
    with pytest.raises(NnxError, match="simple_rnn: activation must be 'tanh' or 'relu', "
                                       "got 'sigmoid'"):
        layers.SimpleRNN(H, activation="sigmoid")
    with pytest.raises(NnxError, match="lstm: units must be a positive integer, got 0"):
        layers.LSTM(0)
    with pytest.raises(NnxError, match="unknown initializer"):
        layers.GRU(H, recurrent_init="orthogonl")


def test_a_model_trains_a_gru_on_a_sequence_task():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (256, 8, 1)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int64)
    model = nnx.Sequential([layers.GRU(16), layers.Dense(2, activation="softmax")],
                           input_shape=(8, 1), seed=0)
    model.compile(optimizer=nnx.optimizers.Adam(lr=0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert hist.history["accuracy"][-1] > 0.9
