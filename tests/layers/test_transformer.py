"""TransformerEncoderBlock: finite-difference gradients (post- and pre-norm, relu and gelu,
causal and padding masks), the flat prefixed parameter keys that models, optimizers and the
model file see, dropout, dtypes, configs, bad input, and a small transformer that learns an
order-dependent task (and cannot without positions). PyTorch's numbers are in
test_attention_golden.py."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients
from layer_checks import assert_float32_follows_float64

import nnx
from nnx import NnxError, layers, optimizers

N, T, D = 2, 5, 8
PADDING = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
KEYS = ["attention.W_q", "attention.W_k", "attention.W_v", "attention.W_o", "attention.b_q",
        "attention.b_k", "attention.b_v", "attention.b_o", "norm1.gamma", "norm1.beta",
        "ff1.W", "ff1.b", "ff2.W", "ff2.b", "norm2.gamma", "norm2.beta"]


def built(dtype="float64", seed=0, **kwargs):
    layer = layers.TransformerEncoderBlock(kwargs.pop("num_heads", 2), kwargs.pop("ff_dim", 6),
                                           **kwargs)
    layer.dtype = np.dtype(dtype)
    layer.build((T, D), np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 7)
    for key, value in layer.params.items():
        if not key.endswith((".W", "W_q", "W_k", "W_v", "W_o")):
            value[...] += rng.uniform(-0.3, 0.3, value.shape)  # biases, gamma, beta
    return layer


def inputs(shape=(N, T, D), seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation,causal,mask", [("gelu", False, None),
                                                    ("relu", True, None),
                                                    ("gelu", True, PADDING)])
def test_gradients(norm_first, activation, causal, mask):
    layer = built(norm_first=norm_first, activation=activation, causal=causal)
    layer.mask = mask
    # eps 1e-5: a few elements of W_k are ~1e-5, where the rounding noise of central
    # differences (~1e-16 |L| / eps) reached 1e-4 of their value with eps 1e-6
    errors = check_layer_gradients(layer, inputs(), tol=np.inf, eps=1e-5)
    # dL/d attention.b_k is zero in theory (softmax ignores a per-row shift): check it is ~0
    assert np.abs(layer.grads["attention.b_k"]).max() < 1e-12
    errors.pop("attention.b_k")
    bad = {k: e for k, e in errors.items() if e > 2e-5}
    assert not bad, f"gradient mismatch: {bad}"
    assert set(errors) == {"x", *KEYS} - {"attention.b_k"}


@pytest.mark.parametrize("norm_first", [False, True])
def test_the_lowest_layer_skips_dx_with_the_same_parameter_gradients(norm_first):
    layer, x = built(norm_first=norm_first), inputs()
    dy = np.random.default_rng(3).standard_normal(x.shape)
    layer.forward(x, training=True)
    assert layer.backward(dy).shape == x.shape
    full = {key: grad.copy() for key, grad in layer.grads.items()}
    layer.needs_input_grad = False
    layer.forward(x, training=True)
    assert layer.backward(dy) is None
    for key, grad in layer.grads.items():
        np.testing.assert_array_equal(grad, full[key], err_msg=key)


def test_params_are_the_parts_arrays_under_flat_keys():
    layer = built()
    assert list(layer.params) == KEYS and list(layer.grads) == KEYS
    assert layer.params["attention.W_q"] is layer.attention.params["W_q"]
    assert layer.params["ff1.W"].shape == (D, 6) and layer.params["ff2.W"].shape == (6, D)
    assert layer.params["norm2.gamma"].shape == (D,)
    assert layer.count_params() == 4 * (D * D + D) + 2 * D * 6 + 6 + D + 4 * D


@pytest.mark.parametrize("norm_first", [False, True])
def test_forward_matches_the_parts_composed_by_hand(norm_first):
    layer = built(norm_first=norm_first)
    x = inputs()
    y = layer.forward(x)
    attn, n1, n2 = layer.attention, layer.norm1, layer.norm2

    def ff(h):
        flat = h.reshape(-1, D)
        return layer.ff2.forward(layer.ff1.forward(flat)).reshape(h.shape)

    if norm_first:
        h = x + attn.forward(n1.forward(x))
        expected = h + ff(n2.forward(h))
    else:
        h = n1.forward(x + attn.forward(x))
        expected = n2.forward(h + ff(h))
    np.testing.assert_allclose(y, expected, rtol=1e-13, atol=1e-13)


def test_replaced_arrays_are_used():
    """The params dict is the source of truth: a replaced array (a cast) reaches the parts."""
    layer = built()
    x = inputs()
    before = layer.forward(x)
    layer.params["norm2.beta"] = layer.params["norm2.beta"] + 1.0
    assert not np.allclose(layer.forward(x), before)
    layer.cast("float32")
    y = layer.forward(x.astype(np.float32), training=True)
    assert y.dtype == np.float32 and layer.ff1.params["W"].dtype == np.float32
    layer.backward(np.ones_like(y))
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    assert layer.attention.grads["W_q"] is layer.grads["attention.W_q"]


def test_float32_in_float32_out():
    assert_float32_follows_float64(lambda dtype: built(dtype=dtype, causal=True), inputs(),
                                   PADDING, 1e-4)


def test_dropout_acts_only_in_training_and_follows_the_seed():
    x = inputs()
    a, b = built(dropout=0.5), built(dropout=0.5)
    np.testing.assert_array_equal(a.forward(x), built().forward(x))  # inference: no dropout
    ya = a.forward(x, training=True)
    np.testing.assert_array_equal(ya, b.forward(x, training=True))  # same seed, same masks
    assert not np.allclose(ya, a.forward(x))
    assert a.backward(np.ones_like(ya)).shape == x.shape


def test_a_model_of_blocks_saves_and_loads(tmp_path):
    model = nnx.Sequential([layers.TransformerEncoderBlock(2, 16, norm_first=True),
                            layers.TransformerEncoderBlock(2, 16, causal=True),
                            layers.SequencePooling(), layers.Dense(3, activation="softmax")],
                           input_shape=(T, D), seed=3)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x, y = inputs((12, T, D)).astype(np.float32), np.arange(12) % 3
    model.fit(x, y, epochs=1, batch_size=4)
    assert len(model.parameters()) == len(model.gradients()) == 2 * 16 + 2
    model.save(tmp_path / "m.npz")
    again = nnx.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.layers[1].get_config() == model.layers[1].get_config()


def test_config_round_trip():
    layer = layers.TransformerEncoderBlock(4, 32, dropout=0.1, norm_first=True,
                                           activation="gelu", causal=True)
    config = layer.get_config()
    assert config == {"num_heads": 4, "ff_dim": 32, "dropout": 0.1, "norm_first": True,
                      "activation": "gelu", "key_dim": None, "causal": True, "eps": 1e-5}
    again = layers.from_config({"type": "transformer_encoder_block", **config})
    assert again.get_config() == config


def test_bad_input_is_named():
    with pytest.raises(NnxError, match=r"layer 'transformer_encoder_block' expects inputs of "
                                       r"shape \(batch, time, features\), got \(batch, 8\)"):
        layers.TransformerEncoderBlock(2, 8).build((8,))
    with pytest.raises(NnxError, match=r"layer 'transformer_encoder_block': features 9 of "
                                       r"input shape \(batch, 5, 9\) are not divisible by "
                                       r"num_heads=2; set key_dim"):
        layers.TransformerEncoderBlock(2, 8).build((5, 9))
    layer = built()
    with pytest.raises(NnxError, match=r"layer 'transformer_encoder_block' expects inputs of "
                                       r"shape \(batch, time, 8\), got \(2, 8\)"):
        layer.forward(np.zeros((2, 8)))


@pytest.mark.parametrize("kwargs,message", [
    ({"num_heads": 0, "ff_dim": 8},
     "transformer_encoder_block: num_heads must be a positive integer, got 0"),
    ({"num_heads": 2, "ff_dim": 2.5},
     "transformer_encoder_block: ff_dim must be a positive integer, got 2.5"),
    ({"num_heads": 2, "ff_dim": 8, "dropout": 1.0},
     r"transformer_encoder_block: dropout must be a number in \[0, 1\), got 1.0"),
    ({"num_heads": 2, "ff_dim": 8, "activation": "softmax"},
     "transformer_encoder_block: activation must be element-wise, got 'softmax'"),
    ({"num_heads": 2, "ff_dim": 8, "activation": "relux"}, "unknown activation 'relux'"),
    ({"num_heads": 2, "ff_dim": 8, "eps": 0},
     "transformer_encoder_block: eps must be a positive number, got 0"),
    ({"num_heads": 2, "ff_dim": 8, "key_dim": -1},
     "transformer_encoder_block: key_dim must be a positive integer, got -1"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(NnxError, match=message):
        layers.TransformerEncoderBlock(**kwargs)


def which_comes_first(n, seed, steps=8, vocab=8):
    """Token sequences holding token 1 and token 2 once each among fillers 3..vocab-1;
    the label is 1 when token 1 comes first."""
    rng = np.random.default_rng(seed)
    x = rng.integers(3, vocab, (n, steps))
    where = np.argsort(rng.random((n, steps)), axis=1)[:, :2]
    x[np.arange(n), where[:, 0]] = 1
    x[np.arange(n), where[:, 1]] = 2
    return x, (where[:, 0] < where[:, 1]).astype(np.int64)


@pytest.mark.parametrize("positions", ["encoding", "embedding", None])
def test_a_small_transformer_learns_which_token_comes_first(positions):
    """Well above chance with positions; without them a mean-pooled encoder cannot see order
    (it is permutation invariant), so it stays at chance."""
    x, y = which_comes_first(1200, seed=0)
    xv, yv = which_comes_first(400, seed=1)
    stack = [layers.Embedding(8, 16)]
    if positions == "encoding":
        stack.append(layers.PositionalEncoding())
    elif positions == "embedding":
        stack.append(layers.PositionalEmbedding())
    stack += [layers.TransformerEncoderBlock(2, 32), layers.SequencePooling(),
              layers.Dense(2, activation="softmax")]
    model = nnx.Sequential(stack, input_shape=(8,), seed=0)
    model.compile(optimizer=optimizers.Adam(lr=3e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=10, batch_size=32)
    accuracy = model.evaluate(xv, yv)["accuracy"]
    if positions is None:
        assert 0.4 < accuracy < 0.6
    else:
        assert accuracy > 0.9
