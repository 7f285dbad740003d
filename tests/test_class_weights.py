"""Class and sample weights through `fit`: the epoch loss against a hand-computed weighted
loss (sum_i w_i l_i / N) and the parameter gradients against its finite differences, in
float64, for every loss, fused (softmax/sigmoid + cross-entropy) or not; "balanced";
several outputs; validation and metrics unweighted; bad weights refused."""

import re

import numpy as np
import pytest
from gradcheck import max_rel_error, numeric_grad
from scipy.special import expit, log_softmax, softmax

import nnx
from nnx import layers, optimizers
from nnx.errors import NnxError

RNG = np.random.default_rng(11)
X = RNG.standard_normal((24, 4))
LABELS = np.array([0, 1, 2, 2, 2, 2] * 4)  # class 2 is the common one
BITS = (np.arange(24) % 4 == 0).astype(np.float64)[:, None]  # a quarter positive
CLASS_WEIGHT = {0: 0.5, 1: 3.0}  # class 2 is left out: it weighs 1, as in Keras
BINARY_WEIGHT = {0: 0.25, 1: 4.0}


def hand_huber(d):
    a = np.abs(d)
    return np.where(a <= 1.0, 0.5 * d * d, a - 0.5)


# id: (output units, output activation, loss, targets, class weights, per-row loss of the
# output layer's pre-activation z against the targets)
CASES = {
    "softmax_cce_labels_fused": (3, "softmax", "categorical_crossentropy", LABELS, CLASS_WEIGHT,
                                 lambda z, t: -log_softmax(z, axis=1)[np.arange(len(t)), t]),
    "softmax_cce_onehot_fused": (3, "softmax", "categorical_crossentropy", np.eye(3)[LABELS],
                                 CLASS_WEIGHT, lambda z, t: -np.sum(t * log_softmax(z, axis=1), 1)),
    "cce_from_logits": (3, None, {"type": "categorical_crossentropy", "from_logits": True},
                        LABELS, CLASS_WEIGHT,
                        lambda z, t: -log_softmax(z, axis=1)[np.arange(len(t)), t]),
    "sigmoid_bce_fused": (1, "sigmoid", "binary_crossentropy", BITS, BINARY_WEIGHT,
                          lambda z, t: -(t * np.log(expit(z)) + (1 - t) * np.log(expit(-z)))[:, 0]),
    "bce_from_logits": (1, None, {"type": "binary_crossentropy", "from_logits": True}, BITS,
                        BINARY_WEIGHT,
                        lambda z, t: -(t * np.log(expit(z)) + (1 - t) * np.log(expit(-z)))[:, 0]),
    "mse_on_labels": (1, "sigmoid", "mse", BITS, BINARY_WEIGHT,
                      lambda z, t: ((expit(z) - t) ** 2)[:, 0]),
    "mae_on_labels": (1, "sigmoid", "mae", BITS, BINARY_WEIGHT,
                      lambda z, t: np.abs(expit(z) - t)[:, 0]),
    "huber_on_labels": (1, "sigmoid", "huber", BITS, BINARY_WEIGHT,
                        lambda z, t: hand_huber(expit(z) - t)[:, 0]),
}
# The probability forms of the cross-entropies, not fused: a Dropout(0) after the
# activation keeps the loss away from the pre-activation.
UNFUSED = {
    "softmax_cce_probs": (3, "softmax", "categorical_crossentropy", LABELS, CLASS_WEIGHT,
                          lambda z, t: -np.log(softmax(z, axis=1)[np.arange(len(t)), t])),
    "sigmoid_bce_probs": (1, "sigmoid", "binary_crossentropy", BITS, BINARY_WEIGHT,
                          lambda z, t: -(t * np.log(expit(z))
                                         + (1 - t) * np.log(1 - expit(z)))[:, 0]),
}


def model_for(units, activation, loss, unfused=False, lr=0.1, dtype="float64"):
    stack = [layers.Dense(units, activation=activation)]
    if unfused:
        stack.append(layers.Dropout(0.0))
    model = nnx.Sequential(stack, input_shape=(4,), seed=3, dtype=dtype)
    return model.compile(optimizer=optimizers.SGD(lr=lr), loss=loss)


def codes_of(targets):
    return targets if targets.ndim == 1 and targets.dtype.kind == "i" else (
        targets.argmax(axis=1) if targets.shape[1] > 1 else targets[:, 0].astype(int))


def hand_weighted_loss(row_loss, w_matrix, b, targets, weights):
    return np.sum(weights * row_loss(X @ w_matrix + b, targets)) / len(X)


@pytest.mark.parametrize("case", [*CASES, *UNFUSED])
def test_class_weighted_loss_and_gradient_match_hand_computation(case):
    units, activation, loss, targets, class_weight, row_loss = {**CASES, **UNFUSED}[case]
    model = model_for(units, activation, loss, unfused=case in UNFUSED)
    dense = model.layers[0]
    head = model.heads[0]
    assert head.fused == (case in CASES and activation is not None
                          and loss in ("categorical_crossentropy", "binary_crossentropy"))
    w_matrix, b = dense.params["W"].copy(), dense.params["b"].copy()
    weights = np.array([class_weight.get(c, 1.0) for c in codes_of(targets)])
    want = hand_weighted_loss(row_loss, w_matrix, b, targets, weights)

    history = model.fit(X, targets, epochs=1, batch_size=None, shuffle=False,
                        class_weight=class_weight)
    assert history.history["loss"][0] == pytest.approx(want, rel=1e-12)
    point = {"W": w_matrix.copy(), "b": b.copy()}
    for name in point:
        numeric = numeric_grad(lambda: hand_weighted_loss(row_loss, point["W"], point["b"],
                                                          targets, weights), point[name])
        assert max_rel_error(dense.grads[name], numeric) < 1e-6, name


def test_balanced_is_scikit_learns_formula_on_the_training_rows():
    """n / (n_classes * count): 24 / (3 * 4) for classes 0 and 1, 24 / (3 * 16) for 2."""
    _, _, loss, targets, _, row_loss = CASES["softmax_cce_labels_fused"]
    model = model_for(3, "softmax", loss)
    dense = model.layers[0]
    want_weights = np.array([{0: 2.0, 1: 2.0, 2: 0.5}[c] for c in LABELS])
    want = hand_weighted_loss(row_loss, dense.params["W"].copy(), dense.params["b"].copy(),
                              targets, want_weights)
    history = model.fit(X, targets, epochs=1, batch_size=None, class_weight="balanced")
    assert history.history["loss"][0] == pytest.approx(want, rel=1e-12)


def test_sample_weight_times_class_weight_and_zero_weight_rows_do_not_count():
    _, _, loss, targets, class_weight, row_loss = CASES["softmax_cce_labels_fused"]
    sample_weight = RNG.uniform(0.0, 2.0, len(X))
    sample_weight[:5] = 0.0
    model = model_for(3, "softmax", loss)
    dense = model.layers[0]
    weights = sample_weight * np.array([class_weight.get(c, 1.0) for c in LABELS])
    want = hand_weighted_loss(row_loss, dense.params["W"].copy(), dense.params["b"].copy(),
                              targets, weights)
    history = model.fit(X, targets, epochs=1, batch_size=None, class_weight=class_weight,
                        sample_weight=sample_weight)
    assert history.history["loss"][0] == pytest.approx(want, rel=1e-12)
    # Rows of weight 0 change nothing: training without them gives the same weights.
    a, b = model_for(3, "softmax", loss), model_for(3, "softmax", loss)
    a.fit(X, targets, epochs=2, batch_size=None, sample_weight=sample_weight)
    b.fit(X[5:], targets[5:], epochs=2, batch_size=None, sample_weight=sample_weight[5:] * 19 / 24)
    np.testing.assert_allclose(a.layers[0].params["W"], b.layers[0].params["W"], rtol=1e-12)


def test_weights_follow_their_rows_through_shuffled_mini_batches():
    """Shuffled batches of 5: the same updates as weighting by hand through sample_weight
    (the per-row weights travel with the permutation)."""
    loss, targets = "categorical_crossentropy", LABELS
    a, b = model_for(3, "softmax", loss), model_for(3, "softmax", loss)
    a.fit(X, targets, epochs=3, batch_size=5, class_weight=CLASS_WEIGHT)
    b.fit(X, targets, epochs=3, batch_size=5,
          sample_weight=np.array([CLASS_WEIGHT.get(c, 1.0) for c in LABELS]))
    np.testing.assert_array_equal(a.layers[0].params["W"], b.layers[0].params["W"])
    c = model_for(3, "softmax", loss)
    c.fit(X, targets, epochs=3, batch_size=5)
    assert not np.allclose(a.layers[0].params["W"], c.layers[0].params["W"])


def test_validation_loss_and_metrics_stay_unweighted():
    model = model_for(3, "softmax", "categorical_crossentropy")
    model.compile(optimizer=optimizers.SGD(lr=0.1), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, LABELS, epochs=1, batch_size=None, validation_data=(X, LABELS),
                        class_weight={0: 10.0})
    plain = model.evaluate(X, LABELS)
    assert history.history["val_loss"][0] != pytest.approx(history.history["loss"][0])
    weighted = model.evaluate(X, LABELS, sample_weight=np.where(LABELS == 0, 10.0, 1.0))
    assert weighted["loss"] > plain["loss"]
    assert weighted["accuracy"] == plain["accuracy"]


def test_several_outputs_are_weighted_each_by_its_own():
    a, b = nnx.Input((4,), name="a"), nnx.Input((3,), name="b")
    h = layers.Dense(5, activation="tanh", name="trunk")(layers.Concatenate()([a, b]))
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(2, name="reg")(h)
    model = nnx.Model([a, b], [cls, reg], seed=1, dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=0.1),
                  loss={"cls": "categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5})
    x2 = RNG.standard_normal((24, 3))
    y_reg = RNG.standard_normal((24, 2))
    w_reg = RNG.uniform(0.5, 2.0, 24)
    weights = {f"{layer.name}.{key}": value.copy() for layer in model.layers
               for key, value in layer.params.items()}

    def hand(params):
        hidden = np.tanh(np.concatenate([X, x2], 1) @ params["trunk.W"] + params["trunk.b"])
        z = hidden @ params["cls.W"] + params["cls.b"]
        r = hidden @ params["reg.W"] + params["reg.b"]
        w_cls = np.array([CLASS_WEIGHT.get(c, 1.0) for c in LABELS])
        cls_loss = np.sum(w_cls * -log_softmax(z, 1)[np.arange(24), LABELS]) / 24
        reg_loss = np.sum(w_reg * np.mean((r - y_reg) ** 2, axis=1)) / 24
        return cls_loss, reg_loss

    cls_loss, reg_loss = hand(weights)
    history = model.fit([X, x2], {"cls": LABELS, "reg": y_reg}, epochs=1, batch_size=None,
                        class_weight={"cls": CLASS_WEIGHT}, sample_weight={"reg": w_reg})
    logs = {k: v[0] for k, v in history.history.items()}
    assert logs["cls_loss"] == pytest.approx(cls_loss, rel=1e-12)
    assert logs["reg_loss"] == pytest.approx(reg_loss, rel=1e-12)
    assert logs["loss"] == pytest.approx(cls_loss + 0.5 * reg_loss, rel=1e-12)
    trunk = next(layer for layer in model.layers if layer.name == "trunk")
    point = weights["trunk.W"]
    numeric = numeric_grad(lambda: (lambda c, r: c + 0.5 * r)(*hand(weights)), point)
    assert max_rel_error(trunk.grads["W"], numeric) < 1e-6


@pytest.mark.parametrize("kwargs, problem", [
    ({"class_weight": {0: 1.0, 7: 2.0}}, "class_weight names class 7, which the output does "
                                         "not have; its classes are 0..2"),
    ({"class_weight": {"cat": 2.0}}, "class_weight names class 'cat'"),
    ({"class_weight": {0: -1.0}}, "class_weight: the weight of class 0 must be a finite "
                                  "number >= 0, got -1.0"),
    ({"class_weight": {1: float("nan")}}, "the weight of class 1 must be a finite number"),
    ({"class_weight": {1: float("inf")}}, "the weight of class 1 must be a finite number"),
    ({"class_weight": "balance"}, "class_weight must be 'balanced' or a non-empty mapping"),
    ({"sample_weight": np.full(24, -0.5)}, "sample_weight[0] is -0.5"),
    ({"sample_weight": np.ones(23)}, "one weight per sample (24,), got shape (23,)"),
    ({"sample_weight": np.array(["1"] * 24)}, "sample_weight must be numbers"),
    ({"sample_weight": np.full(24, 1e39), "dtype": "float32"},
     "a loss weight of 1e+39 is beyond the float32 range"),
])
def test_bad_weights_are_refused_before_training(kwargs, problem):
    kwargs = dict(kwargs)
    model = model_for(3, "softmax", "categorical_crossentropy",
                      dtype=kwargs.pop("dtype", "float64"))
    before = model.layers[0].params["W"].copy()
    with pytest.raises(NnxError, match=re.escape(problem)):
        model.fit(X, LABELS, epochs=1, **kwargs)
    np.testing.assert_array_equal(model.layers[0].params["W"], before)


def test_class_weight_on_regression_or_multilabel_targets_is_refused():
    model = model_for(2, None, "mse")
    with pytest.raises(NnxError, match="2 columns \\(regression\\): give sample_weight"):
        model.fit(X, RNG.standard_normal((24, 2)), class_weight={0: 2.0})
    model = model_for(1, None, "mse")
    with pytest.raises(NnxError, match="class labels 0..1 as targets, found 0.3"):
        model.fit(X, np.full((24, 1), 0.3), class_weight={0: 2.0})
    model = model_for(2, "sigmoid", "binary_crossentropy")
    with pytest.raises(NnxError, match="2 columns \\(multi-label\\)"):
        model.fit(X, np.ones((24, 2)), class_weight={0: 2.0})


def test_config_class_weights_name_the_data_labels(tmp_path):
    """`train.class_weight` in the data's own labels (text in a CSV) becomes fit's
    {class code: weight}; a class left out weighs 1."""
    from nnx.experiment import prepare

    rows = "".join(f"{i % 5},{'fraud' if i % 10 == 0 else 'ok'}\n" for i in range(50))
    (tmp_path / "t.csv").write_text("amount,label\n" + rows)
    config = {"name": "t", "data": {"path": str(tmp_path / "t.csv"), "target": "label"},
              "model": {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]},
              "train": {"loss": "binary_crossentropy", "class_weight": {"fraud": 9.0}}}
    prepared = prepare(config)
    assert prepared.data.preprocessing.classes == ["fraud", "ok"]
    assert prepared.class_weight == {0: 9.0}
    assert prepared.config["train"]["class_weight"] == {"fraud": 9.0}
    config["train"]["class_weight"] = "balanced"
    assert prepare(config).class_weight == "balanced"
