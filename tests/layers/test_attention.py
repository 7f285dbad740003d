"""MultiHeadAttention: finite-difference gradients (plain, causal, padded, key_dim, with the
probabilities kept or recomputed), a plain numpy reference for the forward, masks, memory,
dtypes, configs and bad input."""

import tracemalloc

import numpy as np
import pytest
from gradcheck import check_layer_gradients
from layer_checks import assert_float32_follows_float64

from nnx import NnxError, layers

N, T, D = 2, 5, 8
PADDING = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])


def built(shape=(T, D), dtype="float64", seed=0, **kwargs):
    layer = layers.MultiHeadAttention(kwargs.pop("num_heads", 2), **kwargs)
    layer.dtype = np.dtype(dtype)
    layer.build(shape, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 7)
    for key, value in layer.params.items():
        if key.startswith("b_"):
            value[...] = rng.uniform(-0.5, 0.5, value.shape)
    return layer


def inputs(shape=(N, T, D), seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def reference(layer, x, mask=None):
    """Attention written out with numpy, head by head, in float64."""
    p = {k: v.astype(np.float64) for k, v in layer.params.items()}
    n, steps, _ = x.shape
    dk = layer.head_dim
    q, k, v = (x @ p[f"W_{c}"] + p[f"b_{c}"] for c in "qkv")
    heads = np.zeros((n, steps, layer.num_heads * dk))
    visible = np.ones((n, steps, steps), dtype=bool)
    if layer.causal:
        visible &= np.tril(np.ones((steps, steps), dtype=bool))
    if mask is not None:
        visible &= (np.asarray(mask) != 0)[:, None, :]
    for h in range(layer.num_heads):
        cols = slice(h * dk, (h + 1) * dk)
        s = np.einsum("nid,njd->nij", q[..., cols], k[..., cols]) / np.sqrt(dk)
        s = np.where(visible, s, -np.inf)
        top = np.max(s, axis=-1, keepdims=True)
        e = np.where(visible, np.exp(s - np.where(np.isfinite(top), top, 0.0)), 0.0)
        total = e.sum(axis=-1, keepdims=True)
        probs = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
        heads[..., cols] = probs @ v[..., cols]
    return heads @ p["W_o"] + p["b_o"]


def check_gradients(layer, x, tol=1e-5):
    """Finite differences for x and every parameter. dL/db_k is zero in theory (a key bias
    shifts every score of a row alike, which softmax ignores): it is checked to be ~0."""
    errors = check_layer_gradients(layer, x, tol=np.inf)
    assert np.abs(layer.grads["b_k"]).max() < 1e-12
    errors.pop("b_k")
    bad = {k: e for k, e in errors.items() if e > tol}
    assert not bad, f"gradient mismatch: {bad}"


@pytest.mark.parametrize("kwargs", [{}, {"causal": True}, {"num_heads": 1},
                                    {"num_heads": 4}, {"key_dim": 3}, {"num_heads": 3,
                                                                       "key_dim": 2}])
def test_gradients(kwargs):
    check_gradients(built(**kwargs), inputs())


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("keep_probs", [True, False])
def test_gradients_with_padding_mask(causal, keep_probs):
    layer = built(causal=causal)
    layer.mask = PADDING
    if not keep_probs:
        layer.max_cached_probs = 0  # backward recomputes the probabilities
    check_gradients(layer, inputs())


def test_recomputed_probabilities_give_the_same_gradients():
    x, dy = inputs(), inputs(seed=9)
    grads = []
    for limit in (1 << 24, 0):
        layer = built(causal=True)
        layer.mask = PADDING
        layer.max_cached_probs = limit
        layer.forward(x, training=True)
        dx = layer.backward(dy)
        grads.append({"x": dx, **{k: g.copy() for k, g in layer.grads.items()}})
    for key in grads[0]:
        np.testing.assert_allclose(grads[0][key], grads[1][key], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs,mask", [({}, None), ({"causal": True}, None),
                                         ({}, PADDING), ({"causal": True}, PADDING),
                                         ({"key_dim": 3}, PADDING)])
def test_forward_matches_a_numpy_reference(kwargs, mask):
    layer = built(**kwargs)
    layer.mask = mask
    x = inputs()
    np.testing.assert_allclose(layer.forward(x), reference(layer, x, mask), rtol=1e-12,
                               atol=1e-12)


def test_padded_keys_do_not_change_the_real_steps():
    layer = built()
    layer.mask = PADDING
    x = inputs()
    y = layer.forward(x)
    x2 = x.copy()
    x2[0, 3:] = 100.0  # new values at the padded steps of sample 0
    y2 = layer.forward(x2)
    np.testing.assert_allclose(y2[0, :3], y[0, :3], rtol=1e-12)
    np.testing.assert_array_equal(y2[1], y[1])


def test_causal_outputs_do_not_see_the_future():
    layer = built(causal=True)
    x = inputs()
    y = layer.forward(x)
    x2 = x.copy()
    x2[:, 3:] = -5.0
    np.testing.assert_allclose(layer.forward(x2)[:, :3], y[:, :3], rtol=1e-12)


def test_a_query_that_sees_no_key_outputs_the_output_bias():
    layer = built(causal=True)
    layer.mask = np.array([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1]])  # step 0 of sample 0 sees nothing
    x = inputs()
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y[0, 0], layer.params["b_o"], rtol=1e-12)
    assert np.isfinite(y).all()
    check_gradients(layer, x)


def test_any_number_of_steps_after_build():
    layer = built(causal=True)
    x = inputs((3, 9, D))
    np.testing.assert_allclose(layer.forward(x), reference(layer, x), rtol=1e-12, atol=1e-12)


def test_backward_keeps_one_block_per_head_when_probabilities_are_not_kept():
    """Numpy arrays allocated in a training step stay far below N*H*T*T when backward
    recomputes the probabilities (the kernels' own scratch is one (T, T) block)."""
    n, steps, heads = 4, 128, 4
    probs_bytes = n * heads * steps * steps * 8
    peaks = {}
    for limit in (1 << 24, 0):
        layer = built((steps, D), num_heads=heads)
        layer.max_cached_probs = limit
        x, dy = inputs((n, steps, D)), inputs((n, steps, D), seed=3)
        layer.backward(layer.forward(x, training=True))  # compile before measuring
        tracemalloc.start()
        layer.forward(x, training=True)
        layer.backward(dy)
        peaks[limit] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        layer._cache = None
    assert peaks[1 << 24] > probs_bytes
    assert peaks[0] < probs_bytes / 2


def test_float32_in_float32_out():
    assert_float32_follows_float64(lambda dtype: built(dtype=dtype, causal=True), inputs(),
                                   PADDING, 1e-5)


def test_params_layout_and_config():
    layer = layers.MultiHeadAttention(3, key_dim=4, causal=True)
    layer.build((T, D))
    shapes = {k: v.shape for k, v in layer.params.items()}
    assert shapes == {"W_q": (8, 12), "W_k": (8, 12), "W_v": (8, 12), "W_o": (12, 8),
                      "b_q": (12,), "b_k": (12,), "b_v": (12,), "b_o": (8,)}
    assert layer.output_shape == (T, D)
    config = layer.get_config()
    assert config == {"num_heads": 3, "key_dim": 4, "causal": True, "init": "glorot_uniform",
                      "bias_init": "zeros"}
    again = layers.from_config({"type": "multi_head_attention", **config})
    assert again.get_config() == config
    default = layers.MultiHeadAttention(2)
    default.build((T, D))
    assert default.head_dim == 4 and default.params["W_q"].shape == (8, 8)


@pytest.mark.parametrize("shape,message", [
    ((8,), r"layer 'multi_head_attention' expects inputs of shape \(batch, time, features\), "
           r"got \(batch, 8\)"),
    ((2, 3, 4), r"layer 'multi_head_attention' expects inputs of shape \(batch, time, "
                r"features\), got \(batch, 2, 3, 4\)"),
    ((5, 9), r"layer 'multi_head_attention': features 9 of input shape \(batch, 5, 9\) are "
             r"not divisible by num_heads=2; set key_dim"),
])
def test_bad_input_shapes_are_named(shape, message):
    with pytest.raises(NnxError, match=message):
        layers.MultiHeadAttention(2).build(shape)


def test_key_dim_allows_any_width():
    layer = layers.MultiHeadAttention(2, key_dim=5)
    layer.build((5, 9))
    assert layer.forward(np.ones((1, 5, 9), np.float32)).shape == (1, 5, 9)


def test_wrong_batch_and_mask_shapes_are_named():
    layer = built()
    with pytest.raises(NnxError, match=r"layer 'multi_head_attention' expects inputs of shape "
                                       r"\(batch, time, 8\), got \(2, 5, 7\)"):
        layer.forward(np.zeros((2, 5, 7)))
    with pytest.raises(NnxError, match=r"expects inputs of shape \(batch, time, 8\), got "
                                       r"\(5, 8\)"):
        layer.forward(np.zeros((5, 8)))
    layer.mask = np.ones((2, 4))
    with pytest.raises(NnxError, match=r"layer 'multi_head_attention': mask of shape \(2, 4\) "
                                       r"does not fit inputs of shape \(2, 5, 8\)"):
        layer.forward(inputs())


@pytest.mark.parametrize("kwargs,message", [
    ({"num_heads": 0}, "multi_head_attention: num_heads must be a positive integer, got 0"),
    ({"num_heads": 2, "key_dim": 0},
     "multi_head_attention: key_dim must be a positive integer, got 0"),
    ({"num_heads": 2, "init": "nope"}, "unknown initializer 'nope'"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(NnxError, match=message):
        layers.MultiHeadAttention(**kwargs)
