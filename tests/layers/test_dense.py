"""Dense: forward formula, gradients (each activation, with/without bias), kernel
regularizers (the penalty adds to the model loss and its gradient to dW)."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients, max_rel_error, numeric_grad

import nnx
from nnx import NnxError, layers, optimizers

ACTIVATIONS = ["linear", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "tanh", "softmax"]


def built(layer, shape, seed=0, dtype="float64"):
    layer.dtype = np.dtype(dtype)
    layer.build(shape, np.random.default_rng(seed))
    return layer


def inputs(shape, seed=1):
    x = np.random.default_rng(seed).uniform(-2, 2, shape)
    return np.where(np.abs(x) < 0.05, 0.3, x)


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients(activation, use_bias):
    layer = built(layers.Dense(3, activation=activation, use_bias=use_bias,
                               bias_init={"type": "random_normal", "stddev": 0.5}), (4,))
    assert ("b" in layer.params) == use_bias
    errors = check_layer_gradients(layer, inputs((6, 4)), tol=1e-6)
    assert set(errors) == {"x", "W", "b"} if use_bias else {"x", "W"}


def test_forward_is_x_at_w_plus_b_in_keras_layout():
    layer = built(layers.Dense(3, activation="relu", bias_init={"type": "constant", "value": 0.1}),
                  (4,))
    assert layer.params["W"].shape == (4, 3) and layer.params["b"].shape == (3,)
    x = inputs((5, 4))
    np.testing.assert_allclose(layer.forward(x), np.maximum(x @ layer.params["W"] + 0.1, 0),
                               rtol=1e-14)
    layer.params["W"] = np.ones((4, 3))  # the params dict is the source of truth
    np.testing.assert_allclose(layer.forward(x), np.maximum(x.sum(1, keepdims=True) + 0.1, 0)
                               * np.ones((1, 3)), rtol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_inference_keeps_z_only_where_a_fused_loss_reads_it(activation):
    layer = built(layers.Dense(3, activation=activation,
                               bias_init={"type": "random_normal", "stddev": 0.5}), (4,))
    x = inputs((6, 4))
    y_train = layer.forward(x, training=True).copy()
    z_train = layer.preactivation.copy()
    np.testing.assert_array_equal(layer.forward(x), y_train)  # activated in place
    layer.keeps_preactivation = True  # the output layer of a fused softmax/sigmoid loss
    np.testing.assert_array_equal(layer.forward(x), y_train)
    np.testing.assert_array_equal(layer.preactivation, z_train)


def test_float32_layer_computes_in_float32():
    layer = built(layers.Dense(3, activation="tanh"), (4,), dtype="float32")
    x = inputs((5, 4)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and layer.grads["W"].dtype == np.float32
    W = layer.params["W"].astype(np.float64)
    np.testing.assert_allclose(y, np.tanh(x.astype(np.float64) @ W), rtol=1e-5, atol=1e-6)


REGULARIZERS = {
    "l1": ({"type": "l1", "l1": 0.05}, lambda w: 0.05 * np.abs(w).sum(),
           lambda w: 0.05 * np.sign(w)),
    "l2": ({"type": "l2", "l2": 0.05}, lambda w: 0.05 * (w * w).sum(), lambda w: 0.1 * w),
    "l1_l2": ({"type": "l1_l2", "l1": 0.02, "l2": 0.03},
              lambda w: 0.02 * np.abs(w).sum() + 0.03 * (w * w).sum(),
              lambda w: 0.02 * np.sign(w) + 0.06 * w),
    "l2_default": ("l2", lambda w: 0.01 * (w * w).sum(), lambda w: 0.02 * w),
}


def regularized_model(reg):
    model = nnx.Sequential([
        layers.Dense(5, activation="tanh", kernel_regularizer=reg, init="glorot_normal"),
        layers.Dense(2, kernel_regularizer=reg),
    ], input_shape=(3,), seed=2, dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=0.0), loss="mse")  # train_step keeps the weights
    return model


@pytest.mark.parametrize("case", REGULARIZERS)
def test_regularizer_penalty_and_gradient(case):
    reg, penalty, grad = REGULARIZERS[case]
    x, y = inputs((8, 3)), inputs((8, 2), seed=3)
    model = regularized_model(reg)
    plain = regularized_model(None)
    plain.set_weights(model.get_weights())
    ws = [layer.params["W"] for layer in model.layers]
    want_penalty = sum(penalty(w) for w in ws)
    assert want_penalty > 0.01
    assert model.evaluate(x, y)["loss"] == pytest.approx(plain.evaluate(x, y)["loss"]
                                                         + want_penalty, rel=1e-13)

    loss, _ = model.train_step(x, y)
    plain_loss, _ = plain.train_step(x, y)
    assert loss == pytest.approx(plain_loss + want_penalty, rel=1e-13)
    analytic = [g.copy() for g in model.gradients()]
    # dW gains d penalty / dW; the bias gradient is untouched
    for layer, plain_layer, w in zip(model.layers, plain.layers, ws, strict=True):
        np.testing.assert_allclose(layer.grads["W"] - plain_layer.grads["W"], grad(w), rtol=1e-9,
                                   atol=1e-14)
        np.testing.assert_array_equal(layer.grads["b"], plain_layer.grads["b"])
    for g, p in zip(analytic, model.parameters(), strict=True):
        numeric = numeric_grad(lambda: model.evaluate(x, y)["loss"], p)
        assert max_rel_error(g, numeric) < 1e-6


def test_backward_gives_the_data_gradient_and_the_penalty_gradient_comes_apart():
    """The penalty belongs to the loss: the model adds its gradient once per step, after
    backward (a layer called twice in a graph model still adds it once)."""
    layer = built(layers.Dense(2, kernel_regularizer={"type": "l2", "l2": 0.05}), (3,))
    plain = built(layers.Dense(2), (3,))
    x, dy = inputs((4, 3)), inputs((4, 2), seed=2)
    for each in (layer, plain):
        each.forward(x, training=True)
        each.backward(dy)
    np.testing.assert_array_equal(layer.grads["W"], plain.grads["W"])
    layer.add_regularization_gradient()
    np.testing.assert_allclose(layer.grads["W"] - plain.grads["W"], 0.1 * layer.params["W"],
                               rtol=1e-12)


def test_regularizer_config_survives_get_config():
    layer = layers.Dense(3, kernel_regularizer={"type": "l1_l2", "l1": 0.1, "l2": 0.2})
    config = layer.get_config()
    assert config["kernel_regularizer"] == {"type": "l1_l2", "l1": 0.1, "l2": 0.2}
    clone = layers.from_config({"type": "dense", **config})
    assert (clone.regularizer.l1, clone.regularizer.l2) == (0.1, 0.2)


@pytest.mark.parametrize("kwargs,message", [
    (dict(units=0), "dense: units must be a positive integer, got 0"),
    (dict(units=-3), "dense: units must be a positive integer, got -3"),
    (dict(units=2.5), "dense: units must be a positive integer, got 2.5"),
    (dict(units=2, activation="rleu"), "did you mean 'relu'"),
    (dict(units=2, init="glorot_unifrom"), "did you mean 'glorot_uniform'"),
    (dict(units=2, kernel_regularizer="l3"), "unknown regularizer 'l3'"),
    (dict(units=2, kernel_regularizer={"type": "l2", "l2": -1.0}), "l2 must be a number >= 0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(NnxError) as err:
        layers.Dense(**kwargs)
    assert message in str(err.value)


def test_non_flat_input_is_refused_at_build():
    with pytest.raises(NnxError) as err:
        layers.Dense(2).build((3, 4))
    assert "put a flatten layer before it" in str(err.value)
