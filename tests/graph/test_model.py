"""The functional Model on the shared training engine: a chain graph trains bit for bit like
the same Sequential; several inputs and outputs (lists, dicts, weighted losses, history
keys); predict to a named node; submodels sharing weights; summary; callbacks."""

import numpy as np
import pytest

import nnx
from nnx import callbacks, layers, optimizers
from nnx.diagnostics import Diagnostics

RNG = np.random.default_rng(3)
X = RNG.standard_normal((40, 4))
Y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
X2 = RNG.standard_normal((40, 3))
R = X[:, :2] * 2.0 - X2[:, :2]


def chain_layers():
    return [layers.GaussianNoise(0.1), layers.Dense(8, activation="relu"), layers.Dropout(0.2),
            layers.Dense(3, activation="softmax")]


def compiled(model):
    return model.compile(optimizer=optimizers.Adam(lr=0.01), loss="categorical_crossentropy",
                         metrics=["accuracy"])


def test_a_chain_graph_trains_exactly_like_the_same_sequential():
    seq = compiled(nnx.Sequential(chain_layers(), input_shape=(4,), seed=5))
    x = nnx.Input((4,))
    h = x
    for layer in chain_layers():
        h = layer(h)
    graph = compiled(nnx.Model(x, h, seed=5))
    runs = [m.fit(X, Y, epochs=3, batch_size=8, validation_split=0.25).history
            for m in (seq, graph)]
    assert runs[0] == runs[1]
    for a, b in zip(seq.parameters(), graph.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(seq.predict(X), graph.predict(X))
    assert seq.evaluate(X, Y) == graph.evaluate(X, Y)


def two_in_two_out(seed=0):
    a, b = nnx.Input((4,), name="a"), nnx.Input((3,), name="b")
    h = layers.Dense(8, activation="tanh", name="trunk")(layers.Concatenate()([a, b]))
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(2, name="reg")(layers.Concatenate()([h, b]))
    return nnx.Model([a, b], [cls, reg], seed=seed, name="multi")


def test_several_inputs_and_outputs_history_keys_and_weighted_loss():
    model = two_in_two_out()
    model.compile(optimizer="adam", loss={"cls": "categorical_crossentropy", "reg": "mse"},
                  loss_weights=[1.0, 0.5], metrics={"cls": ["accuracy"], "reg": ["mae"]})
    hist = model.fit([X, X2], [Y, R], epochs=2, batch_size=16, validation_split=0.25)
    assert set(hist.history) == {
        "loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae", "lr",
        "val_loss", "val_cls_loss", "val_reg_loss", "val_cls_accuracy", "val_reg_mae"}
    result = model.evaluate({"a": X, "b": X2}, {"reg": R, "cls": Y})
    assert result["loss"] == pytest.approx(result["cls_loss"] + 0.5 * result["reg_loss"],
                                           rel=1e-6)
    probs, values = model.predict([X, X2])
    assert probs.shape == (40, 3) and values.shape == (40, 2)
    assert result["reg_mae"] == pytest.approx(np.mean(np.abs(values - R)), rel=1e-5)
    assert result["cls_accuracy"] == pytest.approx(np.mean(probs.argmax(1) == Y))


def test_one_loss_and_metric_list_apply_to_every_output():
    model = two_in_two_out()
    model.compile(optimizer="sgd", loss="mse", metrics=["mse"])
    assert len(model.heads) == 2 and model.heads[0].loss is not model.heads[1].loss
    onehot = np.eye(3)[Y]
    result = model.evaluate([X, X2], [onehot, R])
    assert set(result) == {"loss", "cls_loss", "reg_loss", "cls_mse", "reg_mse"}
    assert result["cls_mse"] == pytest.approx(result["cls_loss"], rel=1e-6)
    assert result["loss"] == pytest.approx(result["cls_loss"] + result["reg_loss"], rel=1e-6)


def test_training_reduces_both_losses():
    model = two_in_two_out(seed=1)
    model.compile(optimizer=optimizers.Adam(lr=0.02),
                  loss=["categorical_crossentropy", "mse"])
    hist = model.fit([X, X2], [Y, R], epochs=30, batch_size=8)
    for key in ("cls_loss", "reg_loss"):
        assert hist.history[key][-1] < 0.5 * hist.history[key][0]


def autoencoder(seed=0):
    x = nnx.Input((6,), name="x")
    code = layers.Dense(2, name="code")(layers.Dense(5, activation="tanh")(x))
    out = layers.Dense(6, name="recon")(layers.Dense(5, activation="tanh")(code))
    model = nnx.Model(x, out, seed=seed)
    model.compile(optimizer=optimizers.Adam(lr=0.01), loss="mse")
    return model, x, code


def test_predict_a_named_node_and_the_encoder_submodel_share_weights():
    model, x, code = autoencoder()
    data = RNG.standard_normal((30, 6))
    model.fit(data, data, epochs=3, batch_size=10)
    codes = model.predict(data, output="code")
    assert codes.shape == (30, 2)
    encoder = model.submodel("code")
    np.testing.assert_array_equal(encoder.predict(data), codes)
    np.testing.assert_array_equal(nnx.Model(x, code).predict(data), codes)  # same layers
    np.testing.assert_array_equal(model.predict(data, batch_size=7, output="code"), codes)
    both = model.predict(data, output=["code", "recon"])
    np.testing.assert_array_equal(both[1], model.predict(data))
    model.fit(data, data, epochs=1)  # the encoder sees the new weights
    assert not np.array_equal(encoder.predict(data), codes)
    np.testing.assert_array_equal(encoder.predict(data), model.predict(data, output="code"))


def test_training_a_model_that_shares_layers_does_not_change_the_other_s_backward():
    """The decoder trained on its own needs no input gradient at its first layer; the
    autoencoder does (the encoder lies below): each model sets what it needs."""
    data = RNG.standard_normal((30, 6)).astype(np.float32)
    a, _, _ = autoencoder()
    b, _, code = autoencoder()
    z = nnx.Input((2,))
    first, second = (node.layer for node in b._nodes[-2:])
    decoder = nnx.Model(z, second(first(z))).compile(optimizer=optimizers.SGD(lr=0.0),
                                                     loss="mse")
    decoder.train_step(np.ascontiguousarray(data[:, :2]), data)
    assert first.needs_input_grad is False
    b.set_weights(a.get_weights())
    a.fit(data, data, epochs=2, batch_size=10, shuffle=False)
    b.fit(data, data, epochs=2, batch_size=10, shuffle=False)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


def test_sequential_predicts_a_named_layer_too():
    model = nnx.Sequential([layers.Dense(5, activation="relu", name="hidden"),
                            layers.Dense(2)], input_shape=(4,), seed=0)
    hidden = model.predict(X, output="hidden")
    want = np.maximum(X.astype(np.float32) @ model.layers[0].params["W"]
                      + model.layers[0].params["b"], 0)
    np.testing.assert_allclose(hidden, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(model.predict(X, output=0), hidden)
    np.testing.assert_array_equal(model.predict(X, output="0.hidden"), hidden)
    np.testing.assert_array_equal(model.predict(X, output=-1), model.predict(X))


def test_summary_shows_nodes_shapes_params_and_inputs():
    a, b = nnx.Input((4,), name="a"), nnx.Input((4,), name="b")
    shared = layers.Dense(3)
    out = layers.Add()([shared(a), shared(b)])
    text = nnx.Model([a, b], out).summary()
    lines = text.splitlines()
    assert lines[0].split() == ["node", "type", "output", "shape", "params", "inputs"]
    assert lines[3].split() == ["dense", "dense", "(3,)", "15", "a"]
    assert lines[4].split() == ["dense_call2", "dense", "(shares", "dense)", "(3,)", "0", "b"]
    assert lines[5].split() == ["add", "add", "(3,)", "0", "dense,", "dense_call2"]
    assert lines[-2:] == ["outputs: add", "total parameters: 15"]


def test_default_layer_names_are_made_unique_explicit_ones_kept():
    x = nnx.Input((3,))
    first, second = layers.Dense(3), layers.Dense(3)
    named = layers.Dense(2, name="head")
    model = nnx.Model(x, named(second(first(x))))
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "head"]
    assert model.input_names == ["input"] and model.output_names == ["head"]


def test_same_seed_same_run_with_noise_dropout_and_shuffle():
    def run(seed):
        x = nnx.Input((4,))
        h = layers.Dropout(0.3)(layers.Dense(8, activation="relu")(layers.GaussianNoise(0.3)(x)))
        model = compiled(nnx.Model(x, layers.Dense(3, activation="softmax")(h), seed=seed))
        return model.fit(X, Y, epochs=2, batch_size=8).history["loss"]

    assert run(1) == run(1) and run(1) != run(2)


def test_callbacks_and_diagnostics_see_the_graph(tmp_path):
    model = two_in_two_out(seed=2)
    model.compile(optimizer=optimizers.Adam(lr=0.01),
                  loss=["categorical_crossentropy", "mse"], metrics={"cls": ["accuracy"]})
    stop = callbacks.EarlyStopping(monitor="val_reg_loss", patience=2)
    check = callbacks.ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss")
    diagnostics = Diagnostics("basic")
    hist = model.fit([X, X2], [Y, R], epochs=6, batch_size=8, validation_split=0.25,
                     callbacks=[stop, check, diagnostics])
    assert hist.status == "completed"
    assert set(diagnostics.per_epoch) == {"1.trunk", "2.cls", "4.reg"}
    assert len(diagnostics.per_epoch["1.trunk"]["grad_norm"]) == len(hist.epoch)
    best = nnx.load_model(tmp_path / "best.npz")
    assert best.output_names == ["cls", "reg"]


def test_divergence_restores_finite_weights_in_a_graph():
    model = two_in_two_out(seed=0)
    model.compile(optimizer=optimizers.SGD(lr=1e4), loss=["categorical_crossentropy", "mse"])
    hist = model.fit([X, X2], [Y, 1e3 * R], epochs=20, batch_size=None)
    assert hist.status == "diverged"
    assert all(np.isfinite(p).all() for p in model.parameters())
