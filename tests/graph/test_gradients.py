"""Graph models against finite differences in float64: whole-model gradients (skip
connections, shared layers, several inputs and outputs, fused and unfused losses) through
`model.gradients()` vs numeric differences of the evaluated loss, and each merge layer's
backward against finite differences of its forward."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients, max_rel_error, numeric_grad

import nnx
from nnx import layers, optimizers

RNG = np.random.default_rng(0)
XA, XB = RNG.standard_normal((9, 5)), RNG.standard_normal((9, 5))
LABELS = np.arange(9) % 3
REG_Y = RNG.standard_normal((9, 4))
BIAS = {"type": "random_normal", "stddev": 0.3}


def D(units, activation=None, **kw):
    return layers.Dense(units, activation=activation, bias_init=BIAS, **kw)


def siamese_residual():
    """Two inputs through one shared (regularized) layer, a skip connection around a dense
    layer, a concatenation, a multiplicative gate and a softmax output."""
    a, b = nnx.Input((5,), name="a"), nnx.Input((5,), name="b")
    shared = D(4, "tanh", kernel_regularizer={"type": "l1_l2", "l1": 0.01, "l2": 0.02})
    ha, hb = shared(a), shared(b)
    skip = layers.Add()([D(5, "elu")(layers.Add()([ha, hb])), a])
    joined = layers.Concatenate()([skip, hb])
    gated = layers.Multiply()([D(9, "sigmoid")(joined), joined])
    return [a, b], D(3, "softmax", name="probs")(gated), [XA, XB], LABELS


def shared_twice_in_a_chain():
    """The same layer applied twice in a row (weights tied across depth)."""
    x = nnx.Input((5,))
    tied = D(5, "gelu")
    h = tied(tied(D(5, "tanh")(x)))
    return x, D(4)(layers.Add()([h, x])), XA, REG_Y


def two_outputs_one_feeding_the_other():
    """Output `code` also feeds the second output: its gradient is loss + downstream."""
    x = nnx.Input((5,), name="x")
    code = D(3, "softmax", name="code")(D(6, "relu")(x))
    recon = D(5, name="recon")(layers.Concatenate()([code, x]))
    return x, [code, recon], XA, [LABELS, XB]


def conv_shared_with_upsampling():
    """A shared Conv2D on two inputs (its im2col cache is kept per call), pooling and
    nearest-neighbour upsampling back to the input size."""
    a, b = nnx.Input((2, 4, 4)), nnx.Input((2, 4, 4))
    conv = layers.Conv2D(3, 3, padding="same", activation="tanh", bias_init=BIAS)
    merged = layers.Add()([conv(a), conv(b)])
    up = layers.UpSampling2D(2)(layers.MaxPool2D(2)(merged))
    out = layers.Conv2D(2, 3, padding="same", bias_init=BIAS)(up)
    rng = np.random.default_rng(1)
    xa, xb = (rng.standard_normal((3, 2, 4, 4)) for _ in range(2))
    return [a, b], out, [xa, xb], rng.standard_normal((3, 2, 4, 4))


def shared_sequence_layers():
    """Siamese sequences: a shared LSTM and a shared transformer block (a layer made of
    layers: its parts' caches are kept per call too)."""
    a, b = nnx.Input((4, 3)), nnx.Input((4, 3))
    block = layers.TransformerEncoderBlock(num_heads=1, ff_dim=5)
    lstm = layers.LSTM(4, return_sequences=True)
    pooled = [layers.SequencePooling()(lstm(block(x))) for x in (a, b)]
    out = layers.Dense(2)(layers.Multiply()(pooled))
    rng = np.random.default_rng(2)
    xa, xb = (rng.standard_normal((3, 4, 3)) for _ in range(2))
    return [a, b], out, [xa, xb], rng.standard_normal((3, 2))


CASES = {
    "skip_shared_two_inputs_fused_softmax": (siamese_residual, "categorical_crossentropy", None),
    "shared_twice_in_a_chain_huber": (shared_twice_in_a_chain, "huber", None),
    "two_outputs_weighted": (two_outputs_one_feeding_the_other,
                             ["categorical_crossentropy", "mse"], [0.3, 2.0]),
    "conv_shared_upsampling": (conv_shared_with_upsampling, "mse", None),
    "shared_lstm_and_transformer": (shared_sequence_layers, "mse", None),
}


def graph_model(case, seed=1):
    make, loss, weights = CASES[case]
    inputs, outputs, x, y = make()
    model = nnx.Model(inputs, outputs, seed=seed, dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=0.0), loss=loss, loss_weights=weights)
    return model, x, y


@pytest.mark.parametrize("case", CASES)
def test_graph_gradients_match_finite_differences_of_the_loss(case):
    model, x, y = graph_model(case)
    loss, _ = model.train_step(x, y)
    assert loss == pytest.approx(model.evaluate(x, y)["loss"], rel=1e-12)
    analytic = [g.copy() for g in model.gradients()]
    assert [g.shape for g in analytic] == [p.shape for p in model.parameters()]
    # Relative, with an absolute floor for the entries that are zero by symmetry (a key
    # bias does not change attention), where the numeric value is rounding noise.
    for g, p in zip(analytic, model.parameters(), strict=True):
        numeric = numeric_grad(lambda: model.evaluate(x, y)["loss"], p, eps=1e-5)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-9)


def test_the_shared_layer_is_one_layer_with_summed_gradients():
    model, x, y = graph_model("skip_shared_two_inputs_fused_softmax")
    shared = model.layers[0]
    assert sum(layer is shared for layer in model.layers) == 1
    assert [node.layer for node in model._nodes].count(shared) == 2
    assert model.heads[0].fused  # the softmax output fuses with its cross-entropy


def test_fused_and_unfused_outputs_give_the_same_gradients():
    """`code` feeds another layer, so it is not fused; a lone softmax output is."""
    model, x, y = graph_model("two_outputs_weighted")
    assert [head.fused for head in model.heads] == [False, False]
    x_in = nnx.Input((5,))
    hidden = D(6, "relu")
    fused = nnx.Model(x_in, D(3, "softmax")(hidden(x_in)), dtype="float64", seed=2)
    plain = nnx.Model(x_in, layers.Flatten()(fused.outputs[0]), dtype="float64", seed=2)
    for m in (fused, plain):
        m.compile(optimizer=optimizers.SGD(lr=0.0), loss="categorical_crossentropy")
    assert fused.heads[0].fused and not plain.heads[0].fused
    la, _ = fused.train_step(XA, LABELS)
    ga = [g.copy() for g in fused.gradients()]
    lb, _ = plain.train_step(XA, LABELS)
    assert la == pytest.approx(lb, rel=1e-12)
    for a, b in zip(ga, plain.gradients(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-14)


def check_merge_gradients(layer, xs, seed=0, tol=1e-6):
    """Finite differences of L = sum(forward(xs) * r) for each input of a merge layer."""
    layer.cast("float64")
    layer.build([x.shape[1:] for x in xs])
    r = np.random.default_rng(seed).standard_normal(layer.forward(xs, training=True).shape)
    dxs = layer.backward(r.copy())
    assert len(dxs) == len(xs)
    for x, dx in zip(xs, dxs, strict=True):
        numeric = numeric_grad(lambda: float(np.sum(layer.forward(xs, training=True) * r)), x,
                               eps=1e-5)
        assert max_rel_error(dx, numeric) < tol


@pytest.mark.parametrize("make,shapes", [
    (layers.Add, [(3, 4)] * 3),
    (layers.Multiply, [(3, 4)] * 3),
    (layers.Concatenate, [(2, 3), (2, 5)]),
    (lambda: layers.Concatenate(axis=1), [(2, 3), (4, 3), (1, 3)]),
    (lambda: layers.Concatenate(axis=-2), [(2, 2, 3), (2, 1, 3)]),
])
def test_merge_layer_gradients(make, shapes):
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal((4,) + s) for s in shapes]
    check_merge_gradients(make(), xs)


def test_merge_forward_values():
    a, b, c = (RNG.standard_normal((2, 3)) for _ in range(3))
    add, mul, cat = layers.Add(), layers.Multiply(), layers.Concatenate(axis=0 + 1)
    for layer in (add, mul, cat):
        layer.build([(3,)] * 3)
    np.testing.assert_array_equal(add.forward([a, b, c]), a + b + c)
    np.testing.assert_array_equal(mul.forward([a, b, c]), a * b * c)
    np.testing.assert_array_equal(cat.forward([a, b, c]), np.concatenate([a, b, c], axis=1))


@pytest.mark.parametrize("make,x", [
    (lambda: layers.UpSampling2D(2), RNG.standard_normal((2, 3, 2, 3))),
    (lambda: layers.UpSampling2D([1, 3]), RNG.standard_normal((2, 1, 2, 2))),
    (lambda: layers.GaussianNoise(0.0), RNG.standard_normal((3, 4))),
])
def test_upsampling_and_noise_gradients(make, x):
    layer = make()
    layer.cast("float64")
    layer.build(x.shape[1:], np.random.default_rng(0))
    check_layer_gradients(layer, x.copy())


def test_upsampling_copies_each_pixel_into_a_block():
    layer = layers.UpSampling2D([2, 3])
    layer.build((1, 2, 2))
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    want = np.kron(x[0, 0], np.ones((2, 3)))
    np.testing.assert_array_equal(layer.forward(x)[0, 0], want)
    assert layer.output_shape == (1, 4, 6)


def test_gaussian_noise_acts_only_while_training_and_follows_the_seed():
    def noisy(seed):
        layer = layers.GaussianNoise(0.5)
        layer.build((1000,), np.random.default_rng(seed))
        return layer

    x = np.zeros((4, 1000))
    layer = noisy(0)
    assert layer.forward(x) is x
    out = layer.forward(x, training=True)
    assert abs(out.std() - 0.5) < 0.02 and abs(out.mean()) < 0.02
    np.testing.assert_array_equal(noisy(0).forward(x, training=True), out)
    assert not np.array_equal(noisy(1).forward(x, training=True), out)
    np.testing.assert_array_equal(layer.backward(np.ones((4, 1000))), np.ones((4, 1000)))
